"""Classification figures: accuracy, macro-F1, per-class table, confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np


def task_f1_over(task: str, labels: list[str]) -> list[str] | None:
    """Sentiment models are also judged on F1-PN, the mean F1 of positive and negative (WANLP 2021)."""
    if task == "sentiment" and {"positive", "negative"} <= set(labels):
        return ["positive", "negative"]
    return None


def classification_report(
    gold: list[str], pred: list[str], labels: list[str], f1_over: list[str] | None = None
) -> dict[str, Any]:
    """Figures with the JSON keys ``accuracy``, ``macro_f1``, ``per_class``, ``confusion_matrix``, ``labels``, ``n``.

    ``confusion_matrix[i][j]`` counts rows of gold ``labels[i]`` predicted as
    ``labels[j]``. ``f1_over`` adds ``f1_over`` (mean F1 of those classes,
    e.g. F1-PN over positive and negative).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    matrix = confusion_matrix(gold, pred, labels=labels)
    n = len(gold)
    report: dict[str, Any] = {
        "n": n,
        "accuracy": float(np.mean([g == p for g, p in zip(gold, pred)])) if n else 0.0,
        "macro_f1": float(np.mean(f1)) if len(labels) else 0.0,
        "labels": list(labels),
        "per_class": {
            lab: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, lab in enumerate(labels)
        },
        "confusion_matrix": matrix.tolist(),
    }
    if f1_over:
        report["f1_over"] = {
            "labels": list(f1_over),
            "f1": float(np.mean([report["per_class"][lab]["f1"] for lab in f1_over])),
        }
    return report


def summary_line(report: dict[str, Any]) -> str:
    """One line: F1-PN (when the report has it), macro-F1, accuracy and the recall of every class."""
    pn = f"F1-PN {report['f1_over']['f1']:.4f}  " if "f1_over" in report else ""
    recall = " ".join(f"{lab} {report['per_class'][lab]['recall']:.3f}" for lab in report["labels"])
    return f"{pn}macro-F1 {report['macro_f1']:.4f}  accuracy {report['accuracy']:.4f}  recall: {recall}"


def format_report(report: dict[str, Any]) -> str:
    """A plain-text rendering: headline figures, per-class table, confusion matrix."""
    labels = report["labels"]
    width = max(12, *(len(lab) for lab in labels))
    lines = [f"rows: {report['n']}   accuracy: {report['accuracy']:.4f}   macro-F1: {report['macro_f1']:.4f}"]
    if "f1_over" in report:
        lines.append(f"mean F1 over {','.join(report['f1_over']['labels'])}: {report['f1_over']['f1']:.4f}")
    lines += ["", f"{'class':<{width}} precision  recall     f1  support"]
    for lab in labels:
        row = report["per_class"][lab]
        lines.append(
            f"{lab:<{width}} {row['precision']:9.4f} {row['recall']:7.4f} {row['f1']:6.4f} {row['support']:8d}"
        )
    lines += [
        "",
        "confusion matrix (rows: gold, columns: predicted)",
        " " * width + "".join(f"{lab[:10]:>11}" for lab in labels),
    ]
    for lab, row in zip(labels, report["confusion_matrix"]):
        lines.append(f"{lab:<{width}}" + "".join(f"{v:>11d}" for v in row))
    return "\n".join(lines)


def plot_confusion(report: dict[str, Any], path: str, title: str = "Confusion matrix") -> str:
    """Save the confusion matrix as a PNG (row-normalised colours, counts in cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = report["labels"]
    matrix = np.array(report["confusion_matrix"], dtype=float)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.4 + 1.2 * len(labels), 1.0 + 1.1 * len(labels)), dpi=100)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{int(matrix[i, j])}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
                fontsize=9,
            )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
