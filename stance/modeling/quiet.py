"""Keep library chatter (transformers, peft, torch, huggingface_hub) away from users while models load.

Inside :func:`quiet_libraries` every log record of those libraries and every
Python warning is re-logged by the ``stance.library`` logger at DEBUG level, and
transformers' progress bars are off. Users therefore see only our own messages;
``stance -v`` (DEBUG logging) shows the libraries' lines too, prefixed with the
logger or warning they came from.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LIBRARIES = ("transformers", "peft", "torch", "huggingface_hub", "safetensors", "accelerate")
relay_logger = logging.getLogger("stance.library")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Relay(logging.Handler):
    """Re-log a library's record as one DEBUG record of ``stance.library``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's malformed log call must not break loading
            message = str(record.msg)
        relay_logger.debug("%s %s: %s", record.levelname, record.name, _ANSI.sub("", message))


def _relay_warning(message, category, filename, lineno, file=None, line=None) -> None:
    relay_logger.debug("%s: %s (%s:%s)", category.__name__, message, filename, lineno)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Route library logs and warnings to DEBUG (``stance.library``) and hide progress bars for the block.

    torch and transformers are imported on entry, so their own logging set-up
    (transformers adds a stderr handler on import) is in place and is set aside
    here, then restored.
    """
    import torch  # noqa: F401  (torch and transformers set up their loggers on import: do that first)

    try:
        import transformers.utils.logging  # noqa: F401
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass
    verbose = relay_logger.isEnabledFor(logging.DEBUG)
    relay = _Relay()
    saved = []
    for name in LIBRARIES:
        lib = logging.getLogger(name)
        saved.append((lib, lib.handlers[:], lib.propagate, lib.level))
        lib.handlers = [relay]
        lib.propagate = False
        lib.setLevel(logging.DEBUG if verbose else logging.WARNING)
    bars = sys.modules.get("transformers.utils.logging")
    bars_were_on = bool(bars and bars.is_progress_bar_enabled())
    if bars_were_on and not verbose:
        bars.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _relay_warning
            yield
    finally:
        if bars_were_on and not verbose:
            bars.enable_progress_bar()
        for lib, handlers, propagate, level in saved:
            lib.handlers = handlers
            lib.propagate = propagate
            lib.setLevel(level)
