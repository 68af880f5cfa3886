"""Text: Arabic normalisation and sentence splitting (the lowest layer; imports nothing above it)."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {"NormalizationConfig": "normalize", "Normalizer": "normalize", "split_sentences": "sentences"},
)
