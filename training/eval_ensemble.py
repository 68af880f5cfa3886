"""Dev figures of several trained models and of their probability average.

    python training/eval_ensemble.py runs/stance-lora runs/stance-lr5e4-s13 --data ../shared/data/stance/dev.tsv

Prints macro-F1, per-class F1 and accuracy of each model and of the ensemble
(mean of the class probabilities). Models must share one label set. With
``--tfidf-train FILE`` the TF-IDF + linear SVM baseline (probabilities from
3-fold sigmoid calibration) is trained on FILE and also averaged in, with
equal weight (fixed in advance, not tuned on dev).
"""

from __future__ import annotations

import argparse

import numpy as np

from stance.fit.metrics import classification_report
from stance.inference.classifier import Classifier
from stance.io.data import load_labelled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", required=True)
    parser.add_argument("--tfidf-train", help="also train the TF-IDF baseline on this file and ensemble it")
    parser.add_argument("--f1-over", default="", help="also report mean F1 over these labels, e.g. positive,negative")
    args = parser.parse_args()
    f1_over = [x for x in args.f1_over.split(",") if x] or None
    rows = load_labelled(args.data, min_classes=1)
    probs, labels = [], None
    for folder in args.models:
        clf = Classifier.load(folder, precision="fp32")
        if labels is not None and clf.labels != labels:
            raise SystemExit(f"{folder}: labels {clf.labels} differ from {labels}")
        labels = clf.labels
        probs.append(clf.predict_proba(rows.texts))
        show(folder, rows.labels, probs[-1], labels, f1_over)
    if len(probs) > 1:
        show("ensemble (mean probability)", rows.labels, np.mean(probs, axis=0), labels, f1_over)
    if args.tfidf_train:
        tfidf = tfidf_probs(args.tfidf_train, rows.texts, labels)
        show("tfidf-svm (calibrated)", rows.labels, tfidf, labels, f1_over)
        show("neural mean + tfidf, equal weight", rows.labels, (np.mean(probs, axis=0) + tfidf) / 2, labels, f1_over)


def tfidf_probs(train_file: str, texts: list[str], labels: list[str]) -> np.ndarray:
    from baseline_tfidf import build_pipeline
    from sklearn.calibration import CalibratedClassifierCV

    from stance.text.normalize import NormalizationConfig, Normalizer

    train = load_labelled(train_file, min_classes=1)
    normalize = Normalizer(NormalizationConfig())
    pipe = build_pipeline()
    svm = pipe.steps[-1][1]
    pipe.steps[-1] = (pipe.steps[-1][0], CalibratedClassifierCV(svm, cv=3, method="sigmoid"))
    pipe.fit(normalize.batch(train.texts), train.labels)
    classes = list(pipe.classes_)
    raw = pipe.predict_proba(normalize.batch(texts))
    return raw[:, [classes.index(lab) for lab in labels]]


def show(name: str, gold: list[str], probs: np.ndarray, labels: list[str], f1_over: list[str] | None) -> None:
    pred = [labels[i] for i in probs.argmax(axis=1)]
    report = classification_report(gold, pred, labels, f1_over=f1_over)
    per_class = "  ".join(f"{lab} {report['per_class'][lab]['f1']:.4f}" for lab in labels)
    extra = f"  F1-PN {report['f1_over']['f1']:.4f}" if "f1_over" in report else ""
    print(
        f"{name}: macro-F1 {report['macro_f1']:.4f}{extra}  accuracy {report['accuracy']:.4f}  {per_class}", flush=True
    )


if __name__ == "__main__":
    main()
