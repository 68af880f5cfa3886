"""Evaluating a classifier on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.fit.metrics import classification_report
from stance.io.data import load_labelled


def evaluate_file(
    classifier,
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    label_map: dict[str, str] | None = None,
    f1_over: list[str] | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class figures and the confusion matrix of ``classifier`` on ``path``.

    ``label_map`` renames the data's labels to the model's (every key must occur
    in the data); labels the model does not know are refused with the list of
    known ones.
    """
    label_map = label_map or {}
    data = load_labelled(path, text_column=text_column, label_column=label_column, min_classes=1)
    present = set(data.labels)
    unused = [k for k in label_map if k not in present]
    if unused:
        raise StanceError(f"--label-map names {unused} which never occur in {path} (its labels: {sorted(present)})")
    gold = [label_map.get(lab, lab) for lab in data.labels]
    known = set(classifier.labels)
    unknown = sorted(set(gold) - known)
    if unknown:
        raise StanceError(
            f"{path}: labels {unknown} are not the model's ({', '.join(classifier.labels)}): "
            "map them with --label-map, e.g. --label-map NEG=negative,POS=positive"
        )
    if f1_over:
        bad = [lab for lab in f1_over if lab not in known]
        if bad:
            raise StanceError(f"--f1-over names {bad}, not labels of the model ({', '.join(classifier.labels)})")
    results = classifier.predict(data.texts, batch_size=batch_size)
    pred = [r["label"] for r in results]
    return classification_report(gold, pred, classifier.labels, f1_over=f1_over)
