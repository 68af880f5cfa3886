"""Text: Arabic normalisation, sentence splitting and actor tagging (the lowest layer; imports nothing above it)."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "ActorTagger": "actors",
        "NormalizationConfig": "normalize",
        "Normalizer": "normalize",
        "split_sentences": "sentences",
        "tag_actors": "actors",
    },
)
