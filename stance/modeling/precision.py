"""Choosing the numeric precision for CPU inference and training."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8")
# The accuracy guard's record in a model folder, written by ``stance check-precision``
# (:mod:`stance.fit.precision_check`) and read here.
GUARD_FILE = "precision_check.json"


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix units (AMX or AVX512-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(name: str, model_folder: str | Path | None = None) -> str:
    """Map ``auto`` to ``bf16`` on CPUs with native bf16 matmuls when the model's accuracy guard
    allows it (see :mod:`stance.fit.precision_check`), else ``fp32``."""
    if name not in PRECISIONS:
        from stance.errors import StanceError

        raise StanceError(f"unknown precision {name!r}: use one of {', '.join(PRECISIONS)}")
    if name != "auto":
        return name
    if not cpu_has_fast_bf16():
        return "fp32"
    if guard_allows(model_folder, "bf16"):
        return "bf16"
    logger.info("bf16 not used: no passing accuracy check for this model (run stance check-precision)")
    return "fp32"


def read_guard(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / GUARD_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        logger.warning("%s is unreadable: treating every fast path as unchecked", path)
        return {}


def guard_allows(folder: str | Path | None, fast_path: str) -> bool:
    """True when the model folder holds a passing check for ``fast_path``."""
    if not folder:
        return False
    entry = read_guard(folder).get(fast_path)
    return bool(entry and entry.get("passed"))
