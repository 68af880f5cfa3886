"""``stance report``: arguments and handler (registered by :func:`add_report`, imported lazily by the CLI)."""

from __future__ import annotations

import argparse
import sys

from stance.errors import StanceError


def add_report(sub) -> None:
    p = sub.add_parser(
        "report", help="label shares over time, per outlet, per actor and actor pair: HTML page, plots and JSON"
    )
    p.add_argument("--input", required=True, help="classified (or unlabelled) CSV/TSV/JSONL/Parquet file or folder")
    p.add_argument("--output", required=True, help="folder for index.html, the PNG plots and summary.json")
    p.add_argument("--date-column", default="date")
    p.add_argument("--group-column", default="outlet", help="e.g. outlet or source")
    p.add_argument("--period", choices=["day", "week", "month"], default="month")
    p.add_argument(
        "--actor", action="append", default=[], metavar="NAME", help="follow this actor over time (repeatable)"
    )
    p.add_argument("--model", "-m", default="stance", help="model for rows without a label column")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--id-column", default="id")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--precision", default="auto")
    p.add_argument("--top", type=int, default=20, help="groups and actors shown in the bar plots")
    p.add_argument("--heatmap-actors", type=int, default=12, help="actors in the pair heat map")
    p.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from stance.report.build import ReportConfig, build_report

    if args.batch_size < 1 or args.top < 1 or args.heatmap_actors < 2:
        raise StanceError("--batch-size and --top must be at least 1, --heatmap-actors at least 2")
    config = ReportConfig(
        input=args.input,
        output=args.output,
        date_column=args.date_column,
        group_column=args.group_column,
        period=args.period,
        actors=list(args.actor),
        model=args.model,
        text_column=args.text_column,
        label_column=args.label_column,
        id_column=args.id_column,
        batch_size=args.batch_size,
        precision=args.precision,
        top=args.top,
        heatmap_actors=args.heatmap_actors,
    )
    summary = build_report(config)
    skipped = ", ".join(f"{n} {reason}" for reason, n in summary["skipped"].items()) or "none"
    print(
        f"report of {summary['rows_used']} rows -> {args.output}/index.html (skipped: {skipped})",
        file=sys.stderr,
    )
    return 0
