"""Peak memory and time of ``stance report`` on a generated classified file (default 1,000,000 rows).

Writes a CSV like ``stance classify --input`` output plus ``date`` and
``outlet`` columns (dates in several formats, 1 % unparseable), runs
``stance report`` on it as a subprocess and prints the wall time and the
child's peak RSS. ``--with-actors`` adds an ``actors`` column (as
``classify --tag-actors`` writes it); without it the report tags every text.

    python training/bench_report.py [--rows 1000000] [--with-actors] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ACTORS = ["روسيا", "واشنطن", "الولايات المتحدة", "إيران", "الرياض", "الاتحاد الأوروبي", "حزب الله", "مصر", "الصين"]
VERBS = ["هددت", "رحبت", "انتقدت", "دعت", "أدانت", "التقت", "حذرت", "أشادت"]
TAILS = ["بالاتفاق الجديد", "من التصعيد في المنطقة", "إلى الحوار", "بالعقوبات", "خلال الاجتماع", "في بيان رسمي"]
OUTLETS = ["Al Mayadeen", "CNN Arabic", "BBC Arabic", "RT Arabic", "الجزيرة", "DW Arabic"]


def write_input(path: Path, rows: int) -> None:
    rng = random.Random(0)
    start = date(2023, 1, 1)
    columns = ["id", "text", "label", "score_conciliatory", "score_hostile", "score_neutral", "date", "outlet"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns + ["error"])
        for i in range(rows):
            a, b = rng.sample(ACTORS, 2)
            text = f"{rng.choice(VERBS)} {a} {b} {rng.choice(TAILS)} رقم {i}"
            s = [rng.random() for _ in range(3)]
            total = sum(s)
            label = ["conciliatory", "hostile", "neutral"][s.index(max(s))]
            day = start + timedelta(days=rng.randrange(730))
            when = rng.random()
            if when < 0.01:
                written = "قبل ساعتين"
            elif when < 0.5:
                written = day.isoformat()
            elif when < 0.8:
                written = f"{day.day}/{day.month}/{day.year}"
            else:
                written = f"{day.day} {['يناير', 'فبراير', 'مارس', 'أبريل', 'مايو', 'يونيو', 'يوليو', 'أغسطس', 'سبتمبر', 'أكتوبر', 'نوفمبر', 'ديسمبر'][day.month - 1]} {day.year}"
            writer.writerow([f"r{i}", text, label, *(f"{x / total:.6f}" for x in s), written, rng.choice(OUTLETS), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--with-actors", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and report")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stance-bench-report-"))
    src = work / "classified.csv"
    t0 = time.perf_counter()
    write_input(src, args.rows)
    if args.with_actors:
        from stance.text.actors import ActorTagger

        tagger = ActorTagger.load()
        tagged = work / "classified-actors.csv"
        with src.open(encoding="utf-8", newline="") as fin, tagged.open("w", encoding="utf-8", newline="") as fout:
            reader, writer = csv.DictReader(fin), None
            for row in reader:
                row["actors"] = "; ".join(tagger.tag(row["text"]))
                if writer is None:
                    writer = csv.DictWriter(fout, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
        src.unlink()
        src = tagged
    print(f"generated {args.rows:,} rows ({src.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s")
    cmd = [sys.executable, "-m", "stance.cli", "-q", "report", "--input", str(src), "--output", str(work / "report")]
    cmd += ["--actor", "Russia", "--actor", "United States"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"stance report: {wall:.0f} s wall, peak RSS {peak_mb:.0f} MB ({args.rows / wall:,.0f} rows/s)")
    print(f"actors {'from the actors column' if args.with_actors else 'tagged from the text'}")
    if args.keep:
        print(f"kept in {work}")
    else:
        for p in sorted(work.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        work.rmdir()


if __name__ == "__main__":
    main()
