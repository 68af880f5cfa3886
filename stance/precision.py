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


def resolve_precision(name: str) -> str:
    """Map ``auto`` to ``bf16`` on CPUs with native bf16 matmuls, else ``fp32``."""
    if name not in PRECISIONS:
        from stance.errors import StanceError

        raise StanceError(f"unknown precision {name!r}: use one of {', '.join(PRECISIONS)}")
    if name == "auto":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return name
