"""TF-IDF + linear SVM baseline on the same split as the neural models.

Character 2-5-gram and word 1-2-gram TF-IDF features, a class-balanced linear
SVM, the same normalisation as the shipped models. Prints the dev report, or
with several named dev sets one line per set. ``--source-column`` with
``--source-tag`` trains each row as ``[source] text`` and reads dev as
``[tag] text``, like a source-tagged neural model.

    python training/baseline_tfidf.py --train ../shared/data/stance/train.tsv --dev ../shared/data/stance/dev.tsv
    python training/baseline_tfidf.py --train runs/data/sent-c/train.tsv --f1-over positive,negative \
        --dev dev=runs/data/sent-c/dev.tsv marsa=runs/data/sent-c/dev_marsa.tsv arsas=runs/data/sent-c/dev_arsas.tsv
"""

from __future__ import annotations

import argparse
import json
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from stance.fit.metrics import classification_report, format_report, summary_line
from stance.io.data import load_labelled
from stance.modeling.folder import source_prefix
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
    parser.add_argument("--dev", required=True, nargs="+", metavar="[NAME=]FILE")
    parser.add_argument("--source-column", help="train each row as [source] text")
    parser.add_argument("--source-tag", default="", help="the tag dev texts are read with")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--label-map", default="", help="e.g. NEG=negative,POS=positive")
    parser.add_argument("--f1-over", default="", help="e.g. positive,negative")
    parser.add_argument("--C", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    label_map = dict(p.split("=", 1) for p in args.label_map.split(",") if p)
    common = dict(text_column=args.text_column, label_column=args.label_column, label_map=label_map or None)
    train = load_labelled(args.train, source_column=args.source_column, **common)
    devs = {}
    for entry in args.dev:
        name, sep, path = entry.partition("=")
        name, path = (name, path) if sep else ("dev", entry)
        devs[name] = load_labelled(path, min_classes=1, **common)
    normalize = Normalizer(NormalizationConfig())
    train_texts = normalize.batch(train.texts)
    if train.sources:
        train_texts = [source_prefix(s) + t for s, t in zip(train.sources, train_texts, strict=True)]
    started = time.time()
    model = build_pipeline(args.C).fit(train_texts, train.labels)
    seconds = time.time() - started
    labels = sorted(set(train.labels))
    f1_over = args.f1_over.split(",") if args.f1_over else None
    reports = {}
    for name, dev in devs.items():
        pred = list(model.predict([source_prefix(args.source_tag) + t for t in normalize.batch(dev.texts)]))
        reports[name] = classification_report(dev.labels, pred, labels, f1_over=f1_over)
        reports[name]["train_seconds"] = round(seconds, 1)
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[next(iter(reports))], indent=2))
    elif len(reports) == 1:
        print(format_report(next(iter(reports.values()))) + f"\n\ntrain time: {seconds:.1f} s")
    else:
        print(f"{len(train)} training rows, train time {seconds:.1f} s")
        for name, report in reports.items():
            print(f"  {name:<8} {summary_line(report)}")


if __name__ == "__main__":
    main()
