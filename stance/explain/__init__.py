"""Explanations for users: the ``stance explain`` command, human-readable marked words and the deletion test.

The attributions themselves are computed at the inference layer
(:mod:`stance.inference.explain`, behind :meth:`stance.Classifier.explain`).
"""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "add_explain": "command",
        "deletion_texts": "faithfulness",
        "deletion_drop": "faithfulness",
        "format_explanation": "format",
        "format_explained_article": "format",
        "mark_words": "format",
    },
)
