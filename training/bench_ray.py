"""Rows/s of the Ray engine (1 and 2 actors) against the single-process engine, on one machine.

    python training/bench_ray.py --model stance --data ../shared/data/stance/train.tsv --n 3000

Each Ray variant starts a fresh local Ray instance (its start-up time is printed
apart); rows/s counts the whole job (read, classify, write Parquet, verify) after
Ray is up. The projection for 10M sentences assumes every node runs as fast as
this one with the faster actor layout, and scales linearly (no shared bottleneck:
each actor reads, classifies and writes its own blocks).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

from own_process import run_in_own_process


def write_input(path: Path, data: str, n: int) -> int:
    from stance.io.data import read_table

    texts = [str(t) for t in read_table(data)["text"].tolist()[:n]]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerows((i, t) for i, t in enumerate(texts))
    return len(texts)


def run_one(args) -> dict:
    src, out = Path(args.input), Path(args.out)
    if args.variant == "single":
        from stance.inference.classifier import Classifier
        from stance.io.batch_files import classify_file

        start = time.perf_counter()
        clf = Classifier.load(args.model)
        loaded = time.perf_counter()
        rows = classify_file(clf, src, out / "out.csv")
        return {"startup_s": loaded - start, "job_s": time.perf_counter() - loaded, "rows": rows}
    import ray

    from stance.scale.ray_engine import RayJobConfig, classify_with_ray

    actors = int(args.variant.split("-")[1])
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    up = time.perf_counter()
    config = RayJobConfig(model=args.model, actors=actors, cpus_per_actor=2 / actors, batch_size=args.batch)
    summary = classify_with_ray(src, out / "shards", config)
    done = time.perf_counter()
    ray.shutdown()
    return {"startup_s": up - start, "job_s": done - up, "rows": summary["output_rows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="stance")
    parser.add_argument("--data", default="../shared/data/stance/train.tsv")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256, help="rows per actor call")
    parser.add_argument("--variants", default="single,ray-1,ray-2")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_one(args)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "input.csv"
        n = write_input(src, args.data, args.n)
        for variant in args.variants.split(","):
            out = Path(tmp) / variant
            out.mkdir()
            result = run_in_own_process(__file__, variant, "--input", str(src), "--out", str(out),
                                 "--model", args.model, "--batch", str(args.batch))  # fmt: skip
            if result:
                results[variant] = result
    print(f"\n{n} statements from {args.data}, model {args.model}, 2 CPUs")
    print(f"{'variant':<10}{'rows':>7}{'start-up s':>12}{'job s':>9}{'rows/s':>9}")
    for name, r in results.items():
        print(f"{name:<10}{r['rows']:>7}{r['startup_s']:>12.1f}{r['job_s']:>9.1f}{r['rows'] / r['job_s']:>9.1f}")
    ray_rates = [r["rows"] / r["job_s"] for k, r in results.items() if k.startswith("ray")]
    if ray_rates:
        rate = max(ray_rates)
        print("\nprojection for 10,000,000 sentences at this node's best Ray rate, linear in nodes:")
        for nodes in (1, 4, 16, 64):
            hours = 10_000_000 / (rate * nodes) / 3600
            print(f"  {nodes:>3} node(s) like this one: {hours:8.1f} h")


if __name__ == "__main__":
    main()
