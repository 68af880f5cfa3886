"""Sweep the lexical n-gram model's size and calibration, alone and averaged with a neural model.

    python training/sweep_lexical.py --model models/stance --train ../shared/data/stance/train.tsv \\
        --dev ../shared/data/stance/dev.tsv --group-column doc --weight-column confidence --weight-map low=0.6
    python training/sweep_lexical.py --model models/sentiment --train runs/data/sentiment/train.tsv \\
        --dev runs/data/sentiment/dev.tsv --f1-over positive,negative

For each feature budget (character + word n-grams) it fits the shipped
recipe (:class:`stance.modeling.lexical.LexicalModel`: linear SVM, softmax temperature
from grouped cross-validation) and, for comparison, the SVM with scikit-learn's
3-fold one-vs-rest sigmoid calibration; prints dev macro-F1 (and F1-PN) of each
alone and of its equal-weight average with the neural model (run with
``lexical=False``). The weight 0.5 is fixed in advance, not tuned on dev.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from stance.fit.metrics import classification_report
from stance.inference.classifier import Classifier
from stance.io.data import load_labelled
from stance.modeling.lexical import LexicalConfig, LexicalModel

BUDGETS = ((300_000, 200_000), (100_000, 50_000), (50_000, 25_000), (30_000, 15_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="neural model folder to average with")
    parser.add_argument("--train", required=True)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--group-column")
    parser.add_argument("--weight-column")
    parser.add_argument("--weight-map", default="", help="e.g. low=0.6")
    parser.add_argument("--f1-over", default="", help="e.g. positive,negative")
    args = parser.parse_args()
    weight_map = {k: float(v) for k, v in (p.split("=", 1) for p in args.weight_map.split(",") if p)}
    train = load_labelled(
        args.train, group_column=args.group_column, weight_column=args.weight_column, weight_map=weight_map
    )
    dev = load_labelled(args.dev, min_classes=1)
    clf = Classifier.load(args.model, precision="fp32", lexical=False)
    labels, f1_over = clf.labels, [x for x in args.f1_over.split(",") if x] or None
    neural = clf.predict_proba(dev.texts)
    train_texts, dev_texts = clf.normalize(train.texts), clf.normalize(dev.texts)
    weights = np.asarray(train.weights, dtype=np.float64) if train.weights else None

    def show(name: str, probs: np.ndarray) -> None:
        parts = []
        for tag, p in (("alone", probs), ("+ neural", 0.5 * probs + 0.5 * neural)):
            pred = [labels[i] for i in p.argmax(axis=1)]
            report = classification_report(dev.labels, pred, labels, f1_over=f1_over)
            over = f" F1-PN {report['f1_over']['f1']:.4f}" if f1_over else ""
            parts.append(f"{tag}: macro-F1 {report['macro_f1']:.4f}{over}")
        print(f"{name:<44} " + " | ".join(parts), flush=True)

    show("neural alone (reference)", neural)
    for chars, words in BUDGETS:
        config = LexicalConfig(max_char_features=chars, max_word_features=words)
        start = time.time()
        model = LexicalModel.fit(
            train_texts, train.labels, config, label_order=labels, sample_weight=weights, groups=train.groups
        )
        seconds = time.time() - start
        show(f"{model.n_features} n-grams, temperature ({seconds:.0f} s)", model.predict_proba(dev_texts))
        show(
            f"{model.n_features} n-grams, sigmoid OvR", sigmoid_calibrated(model, train_texts, train.labels, dev_texts)
        )


def sigmoid_calibrated(model: LexicalModel, train_texts, train_labels, dev_texts) -> np.ndarray:
    """The same features and SVM with scikit-learn's 3-fold one-vs-rest sigmoid calibration."""
    from scipy.sparse import hstack
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    def features(texts):
        return hstack([model.char.transform(texts), model.word.transform(texts)]).tocsr()

    svm = LinearSVC(C=model.config.c, class_weight="balanced")
    calibrated = CalibratedClassifierCV(svm, cv=3, method="sigmoid").fit(features(train_texts), train_labels)
    raw = calibrated.predict_proba(features(dev_texts))
    classes = list(calibrated.classes_)
    return raw[:, [classes.index(lab) for lab in model.labels]]


if __name__ == "__main__":
    main()
