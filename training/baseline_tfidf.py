"""TF-IDF + linear SVM baseline on the same split as the neural models.

Character 2-5-gram and word 1-2-gram TF-IDF features, a class-balanced linear
SVM, the same normalisation as the shipped models. Prints the dev report.

    python training/baseline_tfidf.py --train ../shared/data/stance/train.tsv --dev ../shared/data/stance/dev.tsv
"""

from __future__ import annotations

import argparse
import json
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from stance.fit.metrics import classification_report, format_report
from stance.io.data import load_labelled
from stance.text.normalize import NormalizationConfig, Normalizer


def build_pipeline(c: float = 0.5):
    return make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=300_000),
            TfidfVectorizer(
                analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
            ),
        ),
        LinearSVC(C=c, class_weight="balanced"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--label-map", default="", help="e.g. NEG=negative,POS=positive")
    parser.add_argument("--f1-over", default="", help="e.g. positive,negative")
    parser.add_argument("--C", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    label_map = dict(p.split("=", 1) for p in args.label_map.split(",") if p)
    common = dict(text_column=args.text_column, label_column=args.label_column, label_map=label_map or None)
    train, dev = load_labelled(args.train, **common), load_labelled(args.dev, **common)
    normalize = Normalizer(NormalizationConfig())
    started = time.time()
    model = build_pipeline(args.C).fit(normalize.batch(train.texts), train.labels)
    seconds = time.time() - started
    pred = list(model.predict(normalize.batch(dev.texts)))
    labels = sorted(set(train.labels))
    report = classification_report(dev.labels, pred, labels, f1_over=args.f1_over.split(",") if args.f1_over else None)
    report["train_seconds"] = round(seconds, 1)
    print(json.dumps(report, indent=2) if args.json else format_report(report) + f"\n\ntrain time: {seconds:.1f} s")


if __name__ == "__main__":
    main()
