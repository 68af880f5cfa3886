"""arabic-stance: stance (conciliatory / hostile / neutral) and sentiment of Arabic news statements."""

from stance.errors import StanceError
from stance.normalize import NormalizationConfig, Normalizer

__version__ = "0.1.0"
__all__ = ["Classifier", "NormalizationConfig", "Normalizer", "StanceError", "__version__"]


def __getattr__(name: str):
    # Classifier pulls in torch and transformers: import it only when asked for.
    if name == "Classifier":
        from stance.classifier import Classifier

        return Classifier
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
