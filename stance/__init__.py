"""arabic-stance: stance (conciliatory / hostile / neutral) and sentiment of Arabic news statements."""

from stance import _moved
from stance.errors import StanceError
from stance.text.normalize import NormalizationConfig, Normalizer

__version__ = "0.1.0"

_moved.install()
__all__ = ["Classifier", "NormalizationConfig", "Normalizer", "StanceError", "__version__"]


def __getattr__(name: str):
    # Classifier pulls in torch and transformers: import it only when asked for.
    if name == "Classifier":
        from stance.inference.classifier import Classifier

        return Classifier
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
