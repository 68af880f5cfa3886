"""The model card (``README.md``) written next to every trained model, from what training measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_model_card(out: Path, spec, config, report: dict[str, Any], extra: str = "") -> Path:
    """Render a card: base, data, parameters, dev figures, per-class table, confusion matrix."""
    labels = report["labels"]
    per_class = "\n".join(
        f"| {lab} | {report['per_class'][lab]['precision']:.3f} | {report['per_class'][lab]['recall']:.3f} "
        f"| {report['per_class'][lab]['f1']:.3f} | {report['per_class'][lab]['support']} |"
        for lab in labels
    )
    header = "| gold \\ predicted | " + " | ".join(labels) + " |"
    sep = "|---" * (len(labels) + 1) + "|"
    rows = "\n".join(
        f"| {lab} | " + " | ".join(str(v) for v in row) + " |" for lab, row in zip(labels, report["confusion_matrix"])
    )
    method = f"LoRA r={config.lora_r}, alpha={config.lora_alpha}" if config.lora else "full fine-tuning"
    history = "\n".join(
        f"| {h['step']} | {h['epoch']} | {h['macro_f1']:.4f} | {h['accuracy']:.4f} |" for h in report.get("history", [])
    )
    headline = f"accuracy **{report['accuracy']:.4f}**, macro-F1 **{report['macro_f1']:.4f}**"
    if "f1_over" in report:
        over = report["f1_over"]
        headline += f", F1-{''.join(x[0].upper() for x in over['labels'])} **{over['f1']:.4f}**"
    card = f"""---
library_name: transformers
pipeline_tag: text-classification
language: ar
tags: [arabic-stance, {spec.task or "classification"}]
---

# arabic-stance model: {spec.task or "classifier"}

Labels: {", ".join(labels)}. Base encoder: `{spec.base_model}` ({method}).
Inputs are normalised ({", ".join(k for k, v in spec.normalization.to_dict().items() if v is True)}) and prefixed
with `{spec.input_prefix!r}` before tokenisation; `stance_config.json` records this and
`stance.Classifier` applies it again at inference.

## Data
- train: `{Path(config.train_file).name}` ({report.get("train_rows", "?")} rows used)
- dev: `{Path(config.dev_file).name if config.dev_file else "held-out split of train"}` ({report.get("dev_rows", "?")} rows)

## Training parameters
epochs {config.epochs}, batch size {config.batch_size}, learning rate {config.learning_rate}, warm-up {config.warmup_ratio},
max length {config.max_length}, class weights {config.class_weights}, label smoothing {config.label_smoothing},
seed {config.seed}; best dev checkpoint at step {report.get("best_step", "?")} of {report.get("steps", "?")};
training time {report.get("train_seconds", "?")} s.

## Dev figures
{headline} on {report["n"]} rows{" (neural and lexical models averaged, as `stance.Classifier` answers)" if "parts" in report else ""}.
{_parts_table(report, f"neural ({spec.base_model}, {method})")}
| class | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}

Confusion matrix (rows gold, columns predicted; image: `confusion.png`):

{header}
{sep}
{rows}

Evaluations during training:

| step | epoch | dev macro-F1 | dev accuracy |
|---|---|---|---|
{history}
{extra}
"""
    path = out / "README.md"
    path.write_text(card, encoding="utf-8")
    return path


def _parts_table(report: dict[str, Any], neural_name: str) -> str:
    """Dev figures of the neural and lexical halves, when the model averages both."""
    parts = report.get("parts")
    if not parts:
        return ""
    labels = report["labels"]
    weight = parts.get("lexical_weight", 0.5)
    lines = [
        "",
        f"The probabilities average the neural model (weight {1 - weight:g}) and the lexical n-gram model "
        f"(`lexical/`, weight {weight:g}; {parts['lexical'].get('features', '?')} n-gram features). Each on its own:",
        "",
        "| model | macro-F1 | accuracy | " + " | ".join(f"F1 {lab}" for lab in labels) + " |",
        "|---" * (3 + len(labels)) + "|",
    ]
    rows = [(neural_name, parts["neural"]), ("lexical (TF-IDF + SVM)", parts["lexical"]), ("average", report)]
    for name, part in rows:
        f1s = " | ".join(f"{part['per_class'][lab]['f1']:.4f}" for lab in labels)
        lines.append(f"| {name} | {part['macro_f1']:.4f} | {part['accuracy']:.4f} | {f1s} |")
    lines.append(
        "\n`transformers.pipeline` on a merged export (`stance export`) runs the neural model alone; "
        "`Classifier.load(..., lexical=False)` does the same in this library."
    )
    return "\n".join(lines) + "\n"
