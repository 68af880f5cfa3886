"""Inference speed of the shipped model: Hugging Face pipeline vs our engine, and training throughput.

Each variant runs in its own subprocess (so peak RSS is its own) on the same
statements (variants: pipeline, fp32, int8, bf16 — PyTorch precisions — and
onnx, ONNX Runtime in fp32, all of the neural model alone as the pipeline runs
it; lexical: fp32 with the model's lexical n-gram half averaged in, as
``Classifier.load`` runs it by default), then one table is printed:

    python training/benchmark.py --model stance --data ../shared/data/stance/train.tsv --n 2000

Columns: throughput (statements/s, batch 32), p50/p99 latency of one statement
at a time, the ratio to the pipeline baseline, label agreement with fp32, and
peak RSS of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from own_process import run_in_own_process


def load_texts(path: str, n: int) -> list[str]:
    from stance.io.data import read_table

    frame = read_table(path)
    return [str(t) for t in frame["text"].tolist()[:n]]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run_variant(args) -> dict:
    import torch

    from stance.inference.classifier import Classifier
    from stance.inference.engine import configure_threads

    configure_threads()
    texts = load_texts(args.data, args.n)
    latency_texts = texts[: args.latency_n]
    clf = Classifier.load(args.model, precision="fp32", lexical=False)
    prepared = clf.prepare(texts)
    if args.variant == "pipeline":
        from transformers import pipeline

        pipe = pipeline("text-classification", model=args.merged, device=-1, dtype=torch.float32)
        pipe(prepared[:32], batch_size=32, truncation=True, max_length=clf.spec.max_length)  # warm-up
        start = time.perf_counter()
        out = pipe(prepared, batch_size=32, truncation=True, max_length=clf.spec.max_length)
        seconds = time.perf_counter() - start
        labels = [o["label"] for o in out]
        lat = []
        for t in prepared[: args.latency_n]:
            s = time.perf_counter()
            pipe(t, truncation=True, max_length=clf.spec.max_length)
            lat.append(time.perf_counter() - s)
    else:
        if args.variant == "onnx":
            clf = Classifier.load(args.model, runtime="onnx", lexical=False)
        elif args.variant == "lexical":
            clf = Classifier.load(args.model, precision="fp32", lexical=True)
        else:
            clf = Classifier.load(args.model, precision=args.variant, lexical=False)
        clf.predict(texts[:32])  # warm-up
        start = time.perf_counter()
        out = clf.predict(texts, batch_size=32)
        seconds = time.perf_counter() - start
        labels = [o["label"] for o in out]
        lat = []
        for t in latency_texts:
            s = time.perf_counter()
            clf.predict([t])
            lat.append(time.perf_counter() - s)
    return {
        "variant": args.variant,
        "n": len(texts),
        "throughput": len(texts) / seconds,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * percentile(lat, 0.99),
        "labels": labels,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }


def training_throughput(args) -> dict:
    """Statements/s of the stance recipe's training steps (forward + backward + update)."""
    from stance.fit.trainer import TrainingConfig, train

    config = TrainingConfig.from_file(args.train_config)
    with tempfile.TemporaryDirectory() as tmp:
        config.output_dir = tmp
        config.save_steps = 10_000
        config.eval_steps = 10_000
        start = time.perf_counter()
        train(config, progress_bar=False, stop_after=3)  # warm-up and set-up
        setup = time.perf_counter() - start
        start = time.perf_counter()
        train(config, resume=True, progress_bar=False, stop_after=args.train_steps)
        seconds = time.perf_counter() - start
    return {
        "train_steps": args.train_steps,
        "batch_size": config.batch_size,
        "seconds_incl_setup": seconds,
        "setup_seconds": setup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="stance")
    parser.add_argument("--data", default="../shared/data/stance/train.tsv")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--latency-n", type=int, default=200)
    parser.add_argument("--variants", default="pipeline,fp32,int8,bf16,onnx,lexical")
    parser.add_argument("--train-config", default="training/configs/stance.json")
    parser.add_argument("--train-steps", type=int, default=0, help="also time N training steps (0: skip)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--merged", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args)))
        return

    from stance.modeling.folder import export_merged
    from stance.modeling.precision import cpu_has_fast_bf16
    from stance.modeling.shipped import resolve_model_path

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        merged = export_merged(resolve_model_path(args.model), Path(tmp) / "merged")
        for variant in args.variants.split(","):
            if variant == "bf16" and not cpu_has_fast_bf16():
                print(f"{variant}: skipped (this CPU has no native bf16 matrix units; bf16 would be emulated)")
                continue
            result = run_in_own_process(
                __file__, variant, "--merged", str(merged), "--model", args.model, "--data", args.data,
                "--n", str(args.n), "--latency-n", str(args.latency_n),
            )  # fmt: skip
            if result:
                results[variant] = result
    base = results.get("pipeline")
    reference = results.get("fp32", base)
    print(
        f"\n{args.n} statements from {args.data}, model {args.model}, {results[next(iter(results))]['threads']} threads"
    )
    print(f"{'variant':<10}{'stmts/s':>9}{'x pipe':>8}{'p50 ms':>8}{'p99 ms':>8}{'agree':>8}{'RSS MB':>8}")
    for name, r in results.items():
        ratio = r["throughput"] / base["throughput"] if base else float("nan")
        agree = sum(a == b for a, b in zip(r["labels"], reference["labels"])) / len(r["labels"])
        print(
            f"{name:<10}{r['throughput']:>9.1f}{ratio:>8.2f}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}{agree:>8.2%}{r['peak_rss_mb']:>8.0f}"
        )
    if args.train_steps:
        t = training_throughput(args)
        rate = t["train_steps"] * t["batch_size"] / t["seconds_incl_setup"]
        print(
            f"\ntraining: {t['train_steps']} steps of batch {t['batch_size']} in {t['seconds_incl_setup']:.1f} s "
            f"(incl. model set-up) = {rate:.1f} statements/s"
        )


if __name__ == "__main__":
    main()
