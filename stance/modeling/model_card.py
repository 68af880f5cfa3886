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
    if spec.pooling == "mean":
        method += "; read through the mean of its token vectors, computed by a fixed extra encoder layer"
    select = report.get("selected_on", "dev")
    dev_sets = report.get("dev_sets") or {select: report}
    set_names = list(dev_sets)
    # the set the neural checkpoint was chosen on (older runs evaluated that one alone)
    neural_select = config.selection_set if hasattr(config, "selection_set") else select
    history_names = list(dict.fromkeys([*set_names, neural_select]))
    history = "\n".join(
        f"| {h['step']} | {h['epoch']} | "
        + " | ".join(_history_value(h, n, neural_select) for n in history_names)
        + " |"
        for h in report.get("history", [])
    )
    history_header = "| step | epoch | " + " | ".join(f"macro-F1 {n}" for n in history_names) + " |"
    history_sep = "|---" * (2 + len(history_names)) + "|"
    train_files = [config.train_file] if isinstance(config.train_file, str) else list(config.train_file)
    dev_files = report.get("dev_files") or (config.named_dev_files() if hasattr(config, "named_dev_files") else {})
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
with `{spec.text_prefix!r}` before tokenisation{_source_note(config, spec)}; `stance_config.json` records this and
`stance.Classifier` applies it again at inference.

## Data
- train: {", ".join(f"`{Path(f).name}`" for f in train_files)} ({report.get("train_rows", "?")} rows used)
{_dev_lines(dev_sets, dev_files, neural_select, select if "parts" in report else neural_select)}{_lexical_data_line(report, train_files)}

## Training parameters
epochs {config.epochs}, batch size {config.batch_size}, learning rate {config.learning_rate}, warm-up {config.warmup_ratio},
max length {config.max_length}, class weights {config.class_weights}, label smoothing {config.label_smoothing}{_run_line(config, report)}

## Dev figures
On every dev set ({"averaged model" if "parts" in report else "the model"}; {_chosen_line(report, select, neural_select)}):

{_dev_sets_table(dev_sets, labels)}
Details on `{select}`: {headline} on {report["n"]} rows{" (neural and lexical models averaged, as `stance.Classifier` answers)" if "parts" in report else ""}.
{_parts_table(report, f"neural ({spec.base_model}, {method})")}
| class | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}

Confusion matrix (rows gold, columns predicted; image: `confusion.png`):

{header}
{sep}
{rows}

{_soup_table(report["soup"]) if report.get("soup") else _history_section(history_header, history_sep, history)}
{extra}
"""
    path = out / "README.md"
    path.write_text(card, encoding="utf-8")
    return path


def _run_line(config, report: dict[str, Any]) -> str:
    """Seed, chosen step and time of one run; for a soup, how its inputs were combined."""
    soup = report.get("soup")
    if not soup:
        return (
            f",\nseed {config.seed}; best dev checkpoint at step {report.get('best_step', '?')} of "
            f"{report.get('steps', '?')};\ntraining time {report.get('train_seconds', '?')} s."
        )
    return (
        ".\nThese are the first input's parameters. A weight average (`training/soup.py`) of "
        f"{len(soup['inputs'])} models of one recipe (labels, base, pooling, prefix, max length and "
        "normalisation checked equal): their LoRA weight changes averaged exactly into one adapter of rank "
        f"{soup.get('rank', '?')} stored in "
        f"{soup.get('dtype', '?')}, the classification heads averaged (inputs below)."
    )


def _history_section(header: str, sep: str, history: str) -> str:
    return f"Evaluations during training:\n\n{header}\n{sep}\n{history}"


def _soup_table(soup: dict[str, Any]) -> str:
    """One row per averaged model: its seed, step, training time and neural dev figures at that step."""
    inputs = soup.get("inputs", [])
    names = list(dict.fromkeys(n for i in inputs for n in i.get("dev_macro_f1", {})))
    rows = [["model", "weight", "seed", "step", "training time", *(f"macro-F1 {n}" for n in names)]]
    for item in inputs:
        step = str(item.get("step", "–")) + (f" of {item['steps']}" if "step" in item and "steps" in item else "")
        if "soup_of" in item:
            step = "soup of " + ", ".join(item["soup_of"])
        figures = item.get("dev_macro_f1", {})
        rows.append(
            [
                f"`{item.get('name', '?')}`",
                f"{item['weight']:.3g}" if "weight" in item else "–",
                str(item.get("seed", "–")),
                step,
                f"{item['train_seconds']:.0f} s" if "train_seconds" in item else "–",
                *(f"{figures[n]:.4f}" if n in figures else "–" for n in names),
            ]
        )
    lines = ["| " + " | ".join(cells) + " |" for cells in rows]
    lines.insert(1, "|---" * len(rows[0]) + "|")
    caption = "Averaged models (each one's neural dev macro-F1 at that step, as its own run measured it):"
    return caption + "\n\n" + "\n".join(lines)


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


def _dev_lines(dev_sets: dict[str, Any], files: dict[str, str], neural_select: str, lexical_select: str) -> str:
    lines = []
    for name, rep in dev_sets.items():
        source = f"`{Path(files[name]).name}`" if name in files else "held-out split of train"
        roles = ["the checkpoint"] if name == neural_select else []
        if name == lexical_select and lexical_select != neural_select:
            roles.append("the lexical weight")
        chosen = f" (chooses {' and '.join(roles)})" if roles else ""
        lines.append(f"- dev `{name}`: {source} ({rep.get('n', '?')} rows){chosen}")
    return "\n".join(lines)


def _dev_sets_table(dev_sets: dict[str, Any], labels: list[str]) -> str:
    lines = [
        "| dev set | rows | macro-F1 | accuracy | " + " | ".join(f"F1 {lab}" for lab in labels) + " |",
        "|---" * (4 + len(labels)) + "|",
    ]
    for name, rep in dev_sets.items():
        f1s = " | ".join(f"{rep['per_class'][lab]['f1']:.4f}" for lab in labels)
        lines.append(f"| {name} | {rep['n']} | {rep['macro_f1']:.4f} | {rep['accuracy']:.4f} | {f1s} |")
    return "\n".join(lines) + "\n"


def history_figures(entry: dict[str, Any], neural_select: str) -> dict[str, float]:
    """Macro-F1 per dev set of one evaluation during training (older runs measured the choosing set alone)."""
    return entry.get("dev_sets") or {neural_select: entry["macro_f1"]}


def _history_value(entry: dict[str, Any], name: str, neural_select: str) -> str:
    values = history_figures(entry, neural_select)
    return f"{values[name]:.4f}" if name in values else "–"


def _chosen_line(report: dict[str, Any], select: str, neural_select: str) -> str:
    if "parts" in report and neural_select != select:
        return f"the neural checkpoint was chosen on `{neural_select}`, the lexical weight on `{select}`"
    return f"chosen on `{select}`"


def _source_note(config, spec) -> str:
    if not spec.source_tag:
        return ""
    return (
        f" (training rows carried their own data set's tag from column `{config.source_column}`; "
        f"inference uses the `{spec.source_tag}` convention)"
    )


def _lexical_data_line(report: dict[str, Any], train_files: list[str]) -> str:
    data = (report.get("parts") or {}).get("lexical_data")
    if not data or [Path(f).name for f in data["train_files"]] == [Path(f).name for f in train_files]:
        return ""
    names = ", ".join(f"`{Path(f).name}`" for f in data["train_files"])
    return f"\n- the lexical half was fitted on {names} ({data['rows']} rows); its weight was chosen on `{data['weight_chosen_on']}`"
