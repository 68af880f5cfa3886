"""The accuracy guard's check for fast inference paths (bf16, int8, ONNX Runtime).

A fast path is only worth having if it gives the same answers. ``check`` runs
a model on a labelled file in fp32 (PyTorch) and on the fast path, and passes
when the labels agree on at least 99.5 % of rows and macro-F1 moves by at most
0.005. ``stance check-precision`` records the result in the model folder
(``precision_check.json``); ``--precision auto`` uses bf16 only on CPUs with
native bf16 units *and* when that record says bf16 passed, else fp32.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stance.modeling.precision import GUARD_FILE, read_guard

logger = logging.getLogger(__name__)

MIN_AGREEMENT = 0.995
MAX_F1_DROP = 0.005


@dataclass
class GuardResult:
    """How a fast path compares with fp32 on a labelled file."""

    path: str
    rows: int
    agreement: float
    macro_f1_fp32: float
    macro_f1_fast: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def path_name(precision: str, runtime: str = "torch") -> str:
    return "onnx" if runtime == "onnx" else precision


def check(
    model: str | Path,
    data: str | Path,
    precision: str = "bf16",
    runtime: str = "torch",
    text_column: str = "text",
    label_column: str = "label",
) -> GuardResult:
    """Compare the fast path with fp32 (PyTorch) on a labelled file in the model's label set.

    Both sides run the neural model alone: a lexical half (identical on both
    paths) would only dilute the differences the guard is there to catch.
    """
    from stance.fit.metrics import classification_report
    from stance.inference.classifier import Classifier
    from stance.io.data import load_labelled

    rows = load_labelled(data, text_column=text_column, label_column=label_column, min_classes=1)
    reference = Classifier.load(model, precision="fp32", lexical=False)
    ref_labels = [r["label"] for r in reference.predict(rows.texts)]
    del reference
    fast = Classifier.load(model, precision=precision, runtime=runtime, lexical=False)
    fast_labels = [r["label"] for r in fast.predict(rows.texts)]
    agreement = sum(a == b for a, b in zip(ref_labels, fast_labels)) / max(1, len(rows.texts))
    f1_ref = classification_report(rows.labels, ref_labels, fast.labels)["macro_f1"]
    f1_fast = classification_report(rows.labels, fast_labels, fast.labels)["macro_f1"]
    passed = agreement >= MIN_AGREEMENT and f1_ref - f1_fast <= MAX_F1_DROP
    return GuardResult(path_name(precision, runtime), len(rows.texts), agreement, f1_ref, f1_fast, passed)


def write_guard(folder: str | Path, result: GuardResult, data: str) -> Path:
    record = read_guard(folder)
    record[result.path] = {**result.to_dict(), "data": str(data)}
    path = Path(folder) / GUARD_FILE
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
