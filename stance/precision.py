"""Choosing the numeric precision for CPU inference and training."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8")


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
    allows it (see :mod:`stance.precision_guard`), else ``fp32``."""
    if name not in PRECISIONS:
        from stance.errors import StanceError

        raise StanceError(f"unknown precision {name!r}: use one of {', '.join(PRECISIONS)}")
    if name != "auto":
        return name
    if not cpu_has_fast_bf16():
        return "fp32"
    from stance.precision_guard import guard_allows

    if guard_allows(model_folder, "bf16"):
        return "bf16"
    logger.info("bf16 not used: no passing accuracy check for this model (run stance check-precision)")
    return "fp32"
