"""Old flat module names (``stance.normalize``, ``stance.ray_engine``, ...) kept importable.

The package was split into subpackages by job; code written against the old
names keeps working and is told, once, where the module lives now.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "article": "inference.article",
    "bases": "modeling.bases",
    "batch_files": "io.batch_files",
    "batcher": "serving.batcher",
    "classifier": "inference.classifier",
    "data": "io.data",
    "e5": "modeling.e5",
    "engine": "inference.engine",
    "evaluation": "fit.evaluation",
    "lexical": "modeling.lexical",
    "lexical_fit": "fit.lexical_fit",
    "metrics": "fit.metrics",
    "model_card": "modeling.model_card",
    "normalize": "text.normalize",
    "onnx_runtime": "inference.onnx_runtime",
    "precision": "modeling.precision",
    "precision_guard": "fit.precision_check",
    "ray_engine": "scale.ray_engine",
    "server": "serving.app",
    "server_cli": "serving.command",
    "shipped": "modeling.shipped",
    "trainer": "fit.trainer",
}


class _MovedLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        return None


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Resolves ``stance.<old>`` to the module's new home, with a DeprecationWarning."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.partition(".")
        if package != "stance" or name not in MOVED:
            return None
        new = f"stance.{MOVED[name]}"
        warnings.warn(f"{fullname} moved to {new}: import it from there", DeprecationWarning, stacklevel=2)
        return importlib.util.spec_from_loader(fullname, _MovedLoader(new))


def install() -> None:
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
