"""Faithfulness and cost of the word explanations (``Classifier.explain``), measured on dev statements.

Deletion test (comprehensiveness, as in the ERASER benchmark): for each
statement, delete the k = 1, 3, 5 words with the highest weight and, separately,
k random words (mean of 5 draws); the drop of the predicted label's probability
is averaged over the statements. A faithful explanation's top words matter more
than random ones: the ratio top-k drop / random drop should be well above 1.

Cost: explanations per second over the whole sample (batches of 8) and the
median time of one statement explained alone.

    python training/eval_explanations.py --n 300 --methods occlusion,ig --steps 16 --output /tmp/explain.json
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from own_process import cpu_name

from stance.explain import deletion_texts
from stance.inference.classifier import Classifier
from stance.inference.explain import top_words

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "stance" / "dev_outlets.tsv"
KS = (1, 3, 5)
DRAWS = 5


def read_statements(path: Path, n: int, seed: int) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh, delimiter="\t") if row.get("text", "").strip()]
    random.Random(seed).shuffle(texts)
    return texts[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stance")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--n", type=int, default=300, help="dev statements")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="occlusion,ig")
    parser.add_argument("--steps", type=int, default=16, help="Integrated Gradients steps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--latency-n", type=int, default=20, help="statements timed one at a time")
    parser.add_argument("--output", help="also write the figures as JSON")
    parser.add_argument(
        "--random-from",
        help="reuse the random-deletion drops of an earlier --output of this script (same model, data, --n, --seed: "
        "the same statements and the same random draws), instead of scoring them again",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    data = Path(args.data)
    if not data.exists():
        print(f"{data}: not found (the shared data is not here)", file=sys.stderr)
        return 2
    texts = read_statements(data, args.n, args.seed)
    clf = Classifier.load(args.model)
    print(f"model {args.model} (lexical half: {clf.lexical is not None}), {len(texts)} dev statements from {data.name}")
    print(f"CPU: {cpu_name()}, {len(__import__('os').sched_getaffinity(0))} cores (shared with other jobs)")

    # Random deletions do not depend on the method: draw and score them once.
    rng = random.Random(args.seed + 1)
    n_words = [len(t.split()) for t in texts]
    base = clf.predict_proba(texts, batch_size=32)
    labels = base.argmax(axis=1)
    p0 = base[np.arange(len(texts)), labels]
    random_drop = {}
    if args.random_from:
        earlier = json.loads(Path(args.random_from).read_text())
        same = (earlier["model"], earlier["statements"], earlier.get("seed"), earlier.get("data"))
        if same != (args.model, len(texts), args.seed, data.name):
            print(f"{args.random_from}: another model, sample or seed ({same}): drop --random-from", file=sys.stderr)
            return 2
        random_drop = {int(k): v for k, v in earlier["random_drop"].items()}
    for k in [k for k in KS if k not in random_drop]:
        batch = []
        for text, n in zip(texts, n_words):
            for _ in range(DRAWS):
                batch.append(deletion_texts(text, set(rng.sample(range(n), min(k, n)))))
        probs = clf.predict_proba(batch, batch_size=32)
        rows = np.repeat(np.arange(len(texts)), DRAWS)
        drops = p0[rows] - probs[np.arange(len(batch)), labels[rows]]
        random_drop[k] = float(drops.mean())

    report = {
        "model": args.model,
        "statements": len(texts),
        "seed": args.seed,
        "data": data.name,
        "mean_words": float(np.mean(n_words)),
        "cpu": cpu_name(),
        "random_drop": random_drop,
        "methods": {},
    }
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        start = time.perf_counter()
        results = clf.explain(texts, batch_size=args.batch_size, method=method, steps=args.steps)
        elapsed = time.perf_counter() - start
        single = []
        for text in texts[: args.latency_n]:
            t0 = time.perf_counter()
            clf.explain([text], method=method, steps=args.steps)
            single.append(time.perf_counter() - t0)
        figures = {
            "steps": args.steps if method == "ig" else None,
            "explanations_per_s": len(texts) / elapsed,
            "single_p50_s": statistics.median(single),
            "top_drop": {},
            "ratio": {},
        }
        agree = np.mean([r["label"] == clf.labels[lab] for r, lab in zip(results, labels)])
        figures["label_agreement"] = float(agree)
        for k in KS:
            batch = [deletion_texts(t, set(top_words(r, k))) for t, r in zip(texts, results)]
            probs = clf.predict_proba(batch, batch_size=32)
            drop = float((p0 - probs[np.arange(len(texts)), labels]).mean())
            figures["top_drop"][k] = drop
            figures["ratio"][k] = drop / random_drop[k] if random_drop[k] > 0 else float("inf")
        report["methods"][method] = figures
        print(f"\n{method}" + (f" ({args.steps} steps)" if method == "ig" else ""))
        print("  k   top-k drop   random-k drop   ratio")
        for k in KS:
            print(f"  {k}   {figures['top_drop'][k]:10.4f}   {random_drop[k]:13.4f}   {figures['ratio'][k]:5.2f}")
        print(
            f"  cost: {figures['explanations_per_s']:.2f} explanations/s (batches of {args.batch_size}), "
            f"single statement p50 {figures['single_p50_s']:.2f} s"
        )
    if args.output:
        Path(args.output).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
