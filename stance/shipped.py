"""Names of the shipped models (``stance``, ``sentiment``) and where their folders are."""

from __future__ import annotations

import os
from pathlib import Path

from stance.errors import StanceError

SHIPPED = ("stance", "sentiment")


def models_dir() -> Path:
    """``$STANCE_MODELS_DIR``, else the ``models/`` folder of this source checkout."""
    override = os.environ.get("STANCE_MODELS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "models"


def resolve_model_path(name_or_path: str | os.PathLike) -> Path:
    """A shipped model name or a folder path, as a folder that exists."""
    text = str(name_or_path)
    if text in SHIPPED:
        folder = models_dir() / text
        if not (folder / "stance_config.json").exists():
            raise StanceError(
                f"the shipped model {text!r} is not in {folder}: use a source checkout of arabic-stance, "
                "set STANCE_MODELS_DIR, or pass --model with a model folder"
            )
        return folder
    path = Path(text).expanduser()
    if not path.exists():
        raise StanceError(f"{text}: no such model folder or shipped name (shipped: {', '.join(SHIPPED)})")
    if not path.is_dir():
        raise StanceError(f"{text}: a model is a folder (config and safetensors weights), not a file")
    return path
