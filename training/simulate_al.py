"""Simulate active learning on the stance data: uncertainty sampling against random sampling.

    python training/simulate_al.py                      # ../shared/data/stance, 3 seeds, 100 → 2,000 labels
    python training/simulate_al.py --max-labels 1000 --seeds 0 --plot docs/active_learning.png

The labelled training file plays the part of a user's unlabelled pool whose
labels are revealed when "asked". Each run starts from the same 100 random rows
for both strategies, then adds ``--step`` rows per round: the highest-entropy
rows of the pool under the current model (``uncertainty``, what ``stance
annotate --strategy uncertainty`` serves) or random rows (``random``). Each
round refits the lexical half (:class:`stance.modeling.lexical.LexicalModel`,
the shipped n-gram recipe: seconds on a CPU) on the rows labelled so far and
reports its macro-F1 on the dev files. The neural model is not refitted here
(see training/RESULTS.md for why).

Prints one line per round and strategy, a mean table over seeds, and how many
labels uncertainty sampling needs to reach random sampling's final score.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from stance.fit.metrics import classification_report
from stance.io.data import load_labelled
from stance.modeling.lexical import LexicalConfig, LexicalModel
from stance.text.normalize import Normalizer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stance"
LABELS = ["conciliatory", "hostile", "neutral"]


def entropy(probs: np.ndarray) -> np.ndarray:
    p = np.clip(probs, 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


def run(strategy: str, seed: int, pool_texts, pool_labels, devs, args) -> list[dict]:
    rng = np.random.default_rng(seed)
    n = len(pool_texts)
    start = np.random.default_rng(1000 + seed).choice(n, size=args.start, replace=False)  # same for both strategies
    chosen = list(start)
    labelled = np.zeros(n, dtype=bool)
    labelled[chosen] = True
    config = LexicalConfig(max_char_features=50_000, max_word_features=25_000)
    rows = []
    while True:
        began = time.time()
        model = LexicalModel.fit(
            [pool_texts[i] for i in chosen], [pool_labels[i] for i in chosen], config, label_order=LABELS
        )
        row = {"strategy": strategy, "seed": seed, "labels": len(chosen), "fit_s": time.time() - began}
        for name, (texts, gold) in devs.items():
            pred = [LABELS[i] for i in model.predict_proba(texts).argmax(axis=1)]
            row[name] = classification_report(gold, pred, LABELS)["macro_f1"]
        rows.append(row)
        print(
            f"{strategy:<11} seed {seed} labels {len(chosen):>5}  "
            + "  ".join(f"{k} {row[k]:.4f}" for k in devs)
            + f"  (fit {row['fit_s']:.1f} s)",
            flush=True,
        )
        if len(chosen) >= args.max_labels:
            return rows
        remaining = np.flatnonzero(~labelled)
        if strategy == "uncertainty":
            scores = entropy(model.predict_proba([pool_texts[i] for i in remaining]))
            picked = remaining[np.argsort(-scores, kind="stable")[: args.step]]
        else:
            picked = rng.choice(remaining, size=args.step, replace=False)
        labelled[picked] = True
        chosen.extend(picked.tolist())


def labels_to_reach(table: dict, dev: str, sizes: list[int]) -> tuple[float, int | None]:
    """Random's score at the largest size, and the fewest labels with which uncertainty reaches it."""
    target = table[("random", sizes[-1])][dev]
    for size in sizes:
        if table[("uncertainty", size)][dev] >= target:
            return target, size
    return target, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    train_default = DATA / "train_outlets.tsv" if (DATA / "train_outlets.tsv").exists() else DATA / "train.tsv"
    parser.add_argument("--pool", default=str(train_default), help="labelled file used as the unlabelled pool")
    parser.add_argument("--dev", nargs="+", default=[str(DATA / "dev_outlets.tsv"), str(DATA / "dev.tsv")])
    parser.add_argument("--start", type=int, default=100)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--max-labels", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--plot", default="docs/active_learning.png", help="PNG to write ('' for none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    normalize = Normalizer()
    pool = load_labelled(args.pool)
    pool_texts = [normalize(t) for t in pool.texts]
    devs = {}
    for path in args.dev:
        data = load_labelled(path, min_classes=1)
        devs[Path(path).stem] = ([normalize(t) for t in data.texts], data.labels)
    print(f"pool {args.pool}: {len(pool_texts)} rows; dev: " + ", ".join(f"{k} {len(v[1])}" for k, v in devs.items()))
    began = time.time()
    rows = []
    for seed in args.seeds:
        for strategy in ("uncertainty", "random"):
            rows += run(strategy, seed, pool_texts, pool.labels, devs, args)
    sizes = sorted({r["labels"] for r in rows})
    table = {}
    for strategy in ("uncertainty", "random"):
        for size in sizes:
            mine = [r for r in rows if r["strategy"] == strategy and r["labels"] == size]
            table[(strategy, size)] = {d: float(np.mean([r[d] for r in mine])) for d in devs}
            table[(strategy, size)].update({f"{d}_sd": float(np.std([r[d] for r in mine])) for d in devs})
    print(f"\nmean macro-F1 of the lexical half over seeds {args.seeds} ({time.time() - began:.0f} s in all)")
    print("| labels | " + " | ".join(f"{d}: uncertainty | {d}: random" for d in devs) + " |")
    print("|---|" + "---|---|" * len(devs))
    for size in sizes:
        cells = []
        for d in devs:
            cells += [
                f"{table[(s, size)][d]:.4f} ± {table[(s, size)][d + '_sd']:.4f}" for s in ("uncertainty", "random")
            ]
        print(f"| {size:,} | " + " | ".join(cells) + " |")
    for d in devs:
        target, reached = labels_to_reach(table, d, sizes)
        if reached is None:
            print(f"{d}: uncertainty sampling does not reach random's {target:.4f} at {sizes[-1]:,} labels")
        else:
            print(
                f"{d}: uncertainty sampling reaches random's {target:.4f} at {sizes[-1]:,} labels with {reached:,} "
                f"labels ({sizes[-1] - reached:,} fewer, {1 - reached / sizes[-1]:.0%} saved)"
            )
    if args.plot:
        plot(table, sizes, list(devs), args.plot, args.seeds)
        print(f"plot: {args.plot}")


def plot(table, sizes, devs, path, seeds) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(devs), figsize=(5.5 * len(devs), 4), sharey=True, squeeze=False)
    for ax, dev in zip(axes[0], devs):
        for strategy, color in (("uncertainty", "#1a4f8b"), ("random", "#b3261e")):
            mean = np.array([table[(strategy, s)][dev] for s in sizes])
            sd = np.array([table[(strategy, s)][dev + "_sd"] for s in sizes])
            ax.plot(sizes, mean, marker="o", markersize=3, color=color, label=strategy)
            ax.fill_between(sizes, mean - sd, mean + sd, color=color, alpha=0.15)
        ax.set_title(f"dev: {dev}")
        ax.set_xlabel("labelled statements")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("macro-F1 (lexical half)")
    axes[0][0].legend(loc="lower right")
    fig.suptitle(f"Active learning on the stance pool: mean ± sd over {len(seeds)} seed(s)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
