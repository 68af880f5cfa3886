"""Fit a class-prior correction for a trained model on a dev set and record it in the model folder.

The model's probabilities (both halves, as :class:`stance.Classifier` averages
them, without any correction it already has) are scaled per class and
renormalised; the scales maximise ``--objective`` on the dev rows. Printed:
the figures before, the out-of-fold (cross-fitted) figures — the honest
estimate, since scales fitted on a set flatter that set — and the figures of
the scales fitted on all the rows. ``--write`` stores those scales as
``class_scale`` in ``stance_config.json`` and a ``calibration`` section in
``metrics.json``; ``Classifier`` then applies them. ``--clear`` removes them.

    python training/calibrate.py runs/sent-d-lora --dev runs/data/sent-d/dev.tsv --objective macro_f1 --write
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from stance.fit.calibration import CalibrationSettings, cross_fitted_predictions, fit_class_scale
from stance.fit.metrics import classification_report, summary_line, task_f1_over
from stance.inference.classifier import Classifier
from stance.io.data import load_labelled
from stance.modeling.folder import STANCE_CONFIG, ModelSpec, apply_class_scale


def _figures(name: str, gold: list[str], pred: list[str], labels: list[str], task: str) -> dict:
    report = classification_report(gold, pred, labels, task_f1_over(task, labels))
    print(f"{name:<28} {summary_line(report)}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a trained model folder")
    parser.add_argument("--dev", help="labelled dev file (default: the folder's training_config dev_file)")
    parser.add_argument("--objective", default="macro_f1", choices=["macro_f1", "f1_pn"])
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="record the scales in the model folder")
    parser.add_argument("--clear", action="store_true", help="remove a recorded correction and stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    folder = Path(args.model)
    spec = ModelSpec.load(folder)
    if args.clear:
        spec.class_scale = None
        spec.save(folder)
        print(f"{folder}: class scale removed")
        return
    dev_file = args.dev or json.loads((folder / "training_config.json").read_text()).get("dev_file")
    if not dev_file:
        raise SystemExit("no dev file: pass --dev FILE")
    dev = load_labelled(dev_file, min_classes=1)
    clf = Classifier.load(folder)
    clf.spec.class_scale = None  # fit on the uncorrected probabilities
    probs = clf.predict_proba(dev.texts)
    labels = clf.labels
    gold = np.array([labels.index(lab) for lab in dev.labels])
    settings = CalibrationSettings(objective=args.objective, folds=args.folds)
    print(f"{folder} on {dev_file} ({len(gold)} rows), objective {args.objective}")
    before = _figures("before", dev.labels, [labels[i] for i in probs.argmax(1)], labels, spec.task)
    held = cross_fitted_predictions(probs, gold, labels, settings)
    crossed = _figures(f"cross-fitted ({args.folds} folds)", dev.labels, [labels[i] for i in held], labels, spec.task)
    scale = fit_class_scale(probs, gold, labels, settings)
    fitted_pred = apply_class_scale(probs, scale).argmax(1)
    fitted = _figures("fitted on all rows", dev.labels, [labels[i] for i in fitted_pred], labels, spec.task)
    scales = {lab: round(float(s), 4) for lab, s in zip(labels, scale)}
    print("class scale:", scales)
    if not args.write:
        return
    spec.class_scale = scales
    spec.save(folder)
    metrics_path = folder / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    metrics["calibration"] = {
        "class_scale": scales,
        "objective": args.objective,
        "dev_file": str(dev_file),
        "before": before,
        "cross_fitted": crossed,
        "fitted": fitted,
    }
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote class_scale to {folder / STANCE_CONFIG} and the figures to {metrics_path}")


if __name__ == "__main__":
    main()
