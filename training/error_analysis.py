"""Error analysis of a stance model on a dev file with an ``outlet`` column (e.g. dev_outlets.tsv).

Prints markdown: macro-F1 and per-class F1 per outlet, the confusion matrix per
outlet, the most frequent confusions, and a seeded random sample of
misclassified statements with the gold label, the prediction and its score.

    python training/error_analysis.py models/stance --data ../shared/data/stance/dev_outlets.tsv --no-lexical
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

import pandas as pd

from stance import Classifier
from stance.fit.metrics import classification_report


def _table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--data", default="../shared/data/stance/dev_outlets.tsv")
    parser.add_argument("--group-column", default="outlet")
    parser.add_argument("--no-lexical", action="store_true", help="the neural half alone")
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    frame = pd.read_csv(args.data, sep="\t", dtype=str, keep_default_na=False)
    clf = Classifier.load(args.model, precision="fp32", lexical=not args.no_lexical)
    labels = clf.labels
    probs = clf.predict_proba(frame["text"].tolist())
    frame["pred"] = [labels[i] for i in probs.argmax(axis=1)]
    frame["score"] = probs.max(axis=1)
    overall = classification_report(frame["label"].tolist(), frame["pred"].tolist(), labels)
    print(f"## {args.model} on {args.data}{' (neural half alone)' if args.no_lexical else ''}\n")
    print(f"macro-F1 {overall['macro_f1']:.4f}, accuracy {overall['accuracy']:.4f}, n {overall['n']}\n")
    rows = []
    for outlet, part in frame.groupby(args.group_column, sort=True):
        rep = classification_report(part["label"].tolist(), part["pred"].tolist(), labels)
        matrix = " / ".join(" ".join(str(v) for v in row) for row in rep["confusion_matrix"])
        f1s = [f"{rep['per_class'][lab]['f1']:.3f}" for lab in labels]
        rows.append([str(outlet), str(len(part)), f"{rep['macro_f1']:.3f}", *f1s, matrix])
    header = ["outlet", "n", "macro-F1", *(f"F1 {lab[:4]}" for lab in labels), "confusion (rows gold c/h/n)"]
    print(_table(rows, header) + "\n")
    errors = frame[frame["label"] != frame["pred"]]
    confusions = Counter(zip(errors["label"], errors["pred"])).most_common()
    print("Confusions (gold → predicted): " + ", ".join(f"{g} → {p}: {n}" for (g, p), n in confusions) + "\n")
    sample = random.Random(args.seed).sample(range(len(errors)), min(args.examples, len(errors)))
    rows = [
        [
            str(errors.iloc[i][args.group_column]),
            errors.iloc[i]["label"],
            f"{errors.iloc[i]['pred']} ({errors.iloc[i]['score']:.2f})",
            errors.iloc[i]["text"].replace("|", "/")[:220],
        ]
        for i in sorted(sample)
    ]
    print(_table(rows, ["outlet", "gold", "predicted", "statement"]))


if __name__ == "__main__":
    main()
