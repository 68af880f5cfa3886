"""Labelling your own statements: a SQLite project, active learning, a web page and the ``stance annotate`` command."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "Project": "store",
        "Scorer": "scoring",
        "ScorerSettings": "scoring",
        "uncertainty": "scoring",
        "AnnotateSettings": "app",
        "create_annotate_app": "app",
        "agreement": "agreement",
        "fleiss_kappa": "agreement",
        "add_annotate": "command",
    },
)
