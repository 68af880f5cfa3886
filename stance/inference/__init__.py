"""Inference: the PyTorch and ONNX Runtime engines, the user-facing :class:`Classifier` and article mode."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "Classifier": "classifier",
        "InferenceEngine": "engine",
        "OnnxEngine": "onnx_runtime",
        "classify_article": "article",
        "format_article": "article",
    },
)
