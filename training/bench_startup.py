"""Wall and CPU time of a one-shot ``stance classify "..."``, each run in its own process.

Variants (run round-robin, so a busy machine slows them alike):

- ``warm``: this tree, merged-weights cache built (the normal case after the first run);
- ``no-cache``: this tree with ``--no-cache`` (base rebuilt, adapters applied and merged, every start);
- ``before``: another source tree (``--before DIR``, e.g. a worktree of the previous release), its default path.

One untimed run per variant first fills the caches (merged weights, the e5 base, the OS page cache). Prints
the median, min and max of wall-clock and CPU (user + system) seconds per variant, the speed-ups against
``before`` and ``no-cache``, the CPU model and the load average (other work on the machine shows there).

    python training/bench_startup.py --runs 5 --before /path/to/previous/checkout
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from own_process import cpu_name

HERE = Path(__file__).resolve().parents[1]
TEXT = "فرضت الولايات المتحدة عقوبات جديدة على روسيا"


def one_run(tree: Path, args: list[str]) -> tuple[float, float, str]:
    """Run ``python -m stance.cli ARGS`` from ``tree`` (so that tree's package is imported)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "stance.cli", *args], cwd=tree, env=env, capture_output=True, text=True, timeout=900
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{tree}: stance {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="stance")
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--before", type=Path, help="source tree of the version to compare with")
    parser.add_argument("--variants", default="warm,no-cache,before", help="comma-separated subset")
    args = parser.parse_args()

    classify = ["classify", "--model", args.model, args.text]
    variants = {"warm": (HERE, classify), "no-cache": (HERE, [*classify, "--no-cache"])}
    if args.before:
        variants["before"] = (args.before.resolve(), classify)
    chosen = [v for v in args.variants.split(",") if v in variants]
    load_start = os.getloadavg()
    outputs = {}
    for name in chosen:  # untimed: fill every cache
        outputs[name] = one_run(*variants[name])[2]
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
    for i in range(args.runs):
        for name in chosen:
            wall, cpu, _ = one_run(*variants[name])
            times[name].append((wall, cpu))
            print(f"run {i + 1}/{args.runs} {name:<9} wall {wall:6.2f} s  cpu {cpu:6.2f} s", flush=True)
    load_end = os.getloadavg()

    print(f"\none-shot `stance classify` ({args.model}, one statement), {args.runs} runs per variant, own process each")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical CPUs")
    print(f"load average at start {load_start[0]:.1f}, at end {load_end[0]:.1f} (other processes share the CPU)")
    print(f"{'variant':<10} {'wall median':>12} {'(min-max)':>15} {'cpu median':>11} {'(min-max)':>15}")
    medians = {}
    for name in chosen:
        walls = [w for w, _ in times[name]]
        cpus = [c for _, c in times[name]]
        medians[name] = (statistics.median(walls), statistics.median(cpus))
        print(
            f"{name:<10} {medians[name][0]:>10.2f} s {min(walls):>6.2f}-{max(walls):<6.2f}s "
            f"{medians[name][1]:>9.2f} s {min(cpus):>6.2f}-{max(cpus):<6.2f}s"
        )
    if "warm" in medians:
        for other in ("before", "no-cache"):
            if other in medians:
                print(
                    f"warm cache vs {other}: {medians[other][0] / medians['warm'][0]:.1f}x faster wall, "
                    f"{medians[other][1] / medians['warm'][1]:.1f}x less CPU"
                )
    first = {name: out.split("\t")[:2] for name, out in outputs.items()}
    print("outputs (label, scores):", first)


if __name__ == "__main__":
    main()
