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
from stance.modeling.folder import ModelSpec
from stance.modeling.lexical import LexicalConfig, LexicalModel

logger = logging.getLogger(__name__)


def attach_lexical(
    folder: str | Path,
    config,
    settings: LexicalConfig,
    neural_dev_probs: np.ndarray | None = None,
) -> dict[str, Any]:
    """Fit the lexical model on ``config``'s training data, save it in ``folder`` and rewrite the dev figures.

    ``config`` is the folder's :class:`stance.fit.trainer.TrainingConfig`;
    ``neural_dev_probs`` (dev rows × labels) saves recomputing the neural
    model's dev probabilities. Returns the combined dev report.
    """
    from stance.fit.metrics import classification_report, plot_confusion, task_f1_over
    from stance.fit.splits import load_splits
    from stance.modeling.model_card import write_model_card

    folder = Path(folder)
    spec = ModelSpec.load(folder)
    train_data, dev_data = load_splits(config)
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

        neural_dev_probs = Classifier.load(folder, precision="fp32", lexical=False).predict_proba(dev_data.texts)
    if len(neural_dev_probs) != len(dev_data):
        raise StanceError(f"{len(neural_dev_probs)} neural dev probabilities for {len(dev_data)} dev rows")
    lexical_probs = lexical.predict_proba(spec.normalize(dev_data.texts))
    combined = (1.0 - lexical.weight) * neural_dev_probs + lexical.weight * lexical_probs
    labels, f1_over = list(spec.labels), task_f1_over(spec.task, spec.labels)

    def report_of(probs: np.ndarray) -> dict[str, Any]:
        pred = [labels[i] for i in probs.argmax(axis=1)]
        return classification_report(dev_data.labels, pred, labels, f1_over=f1_over)

    metrics_path = folder / "metrics.json"
    previous = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    neural = report_of(neural_dev_probs)
    lexical_report = {**report_of(lexical_probs), "fit_seconds": round(fit_seconds, 1), "features": lexical.n_features}
    report = report_of(combined)
    for key in ("best_step", "steps", "history", "train_rows", "dev_rows", "train_seconds", "trainable_parameters"):
        if key in previous:
            report[key] = previous[key]
    report["dev_rows"] = len(dev_data)
    report["parts"] = {"neural": neural, "lexical": lexical_report, "lexical_weight": lexical.weight}
    lexical.save(folder)
    metrics_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    plot_confusion(report, str(folder / "confusion.png"), title=f"{spec.task or 'dev'}: confusion matrix (dev)")
    write_model_card(folder, spec, config, report)
    logger.info(
        "dev macro-F1: neural %.4f, lexical %.4f, combined %.4f",
        neural["macro_f1"],
        lexical_report["macro_f1"],
        report["macro_f1"],
    )
    return report
