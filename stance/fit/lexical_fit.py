"""Fit a model folder's lexical half (:mod:`stance.modeling.lexical`) and re-measure the folder on dev.

Used at the end of ``stance train`` when the training config has a
``lexical`` section, and by ``training/fit_lexical.py`` for a model that is
already trained. The folder's ``metrics.json``, ``confusion.png`` and model card
then describe what :class:`stance.Classifier` answers (the probability average),
with the neural and lexical parts reported on their own next to it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import StanceError
from stance.modeling.folder import ModelSpec, read_soup_record
from stance.modeling.lexical import LexicalConfig, LexicalModel

logger = logging.getLogger(__name__)


def attach_lexical(
    folder: str | Path,
    config,
    settings: LexicalConfig,
    neural_dev_probs: dict[str, np.ndarray] | None = None,
    neural_config=None,
) -> dict[str, Any]:
    """Fit the lexical model on ``config``'s training data, save it in ``folder`` and rewrite the dev figures.

    ``config`` is the folder's :class:`stance.fit.config.TrainingConfig`;
    ``neural_dev_probs`` (dev set name → rows × labels) saves recomputing the
    neural model's dev probabilities. With ``settings.weight_grid`` the
    averaging weight is chosen on the selection dev set; when 0 wins, no
    lexical half is saved and the folder stays neural-only. Returns the dev
    report of what :class:`stance.Classifier` then answers.

    ``neural_config``: the config the neural half was trained with, when the
    lexical half is fitted on other data (``training/fit_lexical.py
    --data-config``); the card then names both.
    """
    import dataclasses
    import shutil

    from stance.fit.metrics import classification_report, plot_confusion, task_f1_over
    from stance.fit.splits import load_splits
    from stance.modeling.lexical import LEXICAL_DIR
    from stance.modeling.model_card import write_model_card

    folder = Path(folder)
    spec = ModelSpec.load(folder)
    train_data, devs = load_splits(config)
    select = config.selection_set
    started = time.time()
    weights = np.asarray(train_data.weights, dtype=np.float64) if train_data.weights else None
    lexical = LexicalModel.fit(
        spec.normalize(train_data.texts),
        train_data.labels,
        settings,
        label_order=list(spec.labels),
        sample_weight=weights,
        groups=train_data.groups,
    )
    fit_seconds = time.time() - started
    if neural_dev_probs is None:
        from stance.inference.classifier import Classifier

        neural = Classifier.load(folder, precision="fp32", lexical=False)
        neural.spec.class_scale = None  # the halves are averaged before any class-prior correction
        neural_dev_probs = {name: neural.predict_proba(dev.texts) for name, dev in devs.items()}
    for name, dev in devs.items():
        if name not in neural_dev_probs or len(neural_dev_probs[name]) != len(dev):
            raise StanceError(f"the neural dev probabilities do not match dev set {name!r} ({len(dev)} rows)")
    lexical_probs = {name: lexical.predict_proba(spec.normalize(dev.texts)) for name, dev in devs.items()}
    labels, f1_over = list(spec.labels), task_f1_over(spec.task, spec.labels)

    def report_of(name: str, probs: np.ndarray) -> dict[str, Any]:
        pred = [labels[i] for i in probs.argmax(axis=1)]
        return classification_report(devs[name].labels, pred, labels, f1_over=f1_over)

    def averaged(name: str, weight: float) -> np.ndarray:
        return (1.0 - weight) * neural_dev_probs[name] + weight * lexical_probs[name]

    grid: dict[str, dict[str, float]] = {}
    if settings.weight_grid:
        for w in settings.weight_grid:
            grid[f"{w:g}"] = {name: report_of(name, averaged(name, w))["macro_f1"] for name in devs}
        best = max(settings.weight_grid, key=lambda w: (grid[f"{w:g}"][select], -w))
        lexical.config = dataclasses.replace(lexical.config, weight=float(best))
        logger.info("lexical weight %g chosen on %s from %s", best, select, list(settings.weight_grid))
    weight = lexical.weight

    metrics_path = folder / "metrics.json"
    previous = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    neural_reports = {name: report_of(name, neural_dev_probs[name]) for name in devs}
    lexical_reports = {name: report_of(name, lexical_probs[name]) for name in devs}
    combined = {name: report_of(name, averaged(name, weight)) for name in devs}
    report = dict(combined[select])
    for key in ("best_step", "steps", "history", "train_rows", "dev_rows", "train_seconds", "trainable_parameters"):
        if key in previous:
            report[key] = previous[key]
    report["dev_rows"] = len(devs[select])
    soup_record = read_soup_record(folder) or previous.get("soup")
    if soup_record:  # a weight average: the card lists what went in, not one run's history
        report["soup"] = soup_record
        rows = {i.get("train_rows") for i in soup_record["inputs"]}
        if len(rows) == 1 and None not in rows:
            report["train_rows"] = rows.pop()
    report["selected_on"] = select
    report["dev_sets"] = combined
    report["dev_files"] = config.named_dev_files()
    lexical_part = {
        **lexical_reports[select],
        "fit_seconds": round(fit_seconds, 1),
        "features": lexical.n_features,
        "dev_sets": lexical_reports,
    }
    parts = {"neural": {**neural_reports[select], "dev_sets": neural_reports}, "lexical": lexical_part}
    parts["lexical_weight"] = weight
    if grid:
        parts["lexical_weight_grid"] = grid
    parts["lexical_data"] = {"train_files": config.train_files, "rows": len(train_data), "weight_chosen_on": select}
    report["parts"] = parts
    if weight > 0:
        lexical.save(folder)
    else:
        shutil.rmtree(folder / LEXICAL_DIR, ignore_errors=True)
        logger.info("weight 0 won on %s: the model keeps no lexical half", select)
    metrics_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    plot_confusion(report, str(folder / "confusion.png"), title=f"{spec.task or 'dev'}: confusion matrix ({select})")
    write_model_card(folder, spec, neural_config or config, report)
    logger.info(
        "dev macro-F1 on %s: neural %.4f, lexical %.4f, combined (weight %g) %.4f",
        select,
        neural_reports[select]["macro_f1"],
        lexical_reports[select]["macro_f1"],
        weight,
        report["macro_f1"],
    )
    return report
