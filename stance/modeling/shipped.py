"""Names of the shipped models (``stance``, ``sentiment``) and where their folders are."""

from __future__ import annotations

import os
import re
from pathlib import Path

from stance.errors import StanceError

SHIPPED = ("stance", "sentiment")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def models_dir() -> Path:
    """``$STANCE_MODELS_DIR``, else the ``models/`` folder of this source checkout."""
    override = os.environ.get("STANCE_MODELS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "models"


def resolve_model_path(name_or_path: str | os.PathLike) -> Path:
    """A shipped model name or a folder path, as a folder that exists."""
    text = str(name_or_path)
    if text in SHIPPED:
        folder = resolve_named_model(text, models_dir())
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


def resolve_named_model(name: str, root: str | os.PathLike) -> Path:
    """The folder of model ``name`` inside ``root``; names that could leave ``root`` are refused.

    A name is one path component of letters, digits, ``.``, ``_`` and ``-``
    (not starting with ``.``), and the resolved folder, symbolic links followed,
    must still lie inside ``root``.
    """
    if not _NAME.match(name) or name in (".", ".."):
        raise StanceError(
            f"model name {name!r} is not allowed: names in a models folder are letters, digits, '.', '_' and '-' "
            "(no paths)"
        )
    base = Path(root).expanduser().resolve()
    folder = (base / name).resolve()
    if not folder.is_relative_to(base):
        raise StanceError(f"model name {name!r} leads outside the models folder {base} (symbolic link): refused")
    return folder
