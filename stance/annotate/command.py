"""``stance annotate``: label statements in the browser, export the labels, measure agreement."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from stance.errors import StanceError

logger = logging.getLogger(__name__)


def add_annotate(sub) -> None:
    p = sub.add_parser(
        "annotate",
        help="label statements in the browser, the model choosing what to label next",
        description="Label statements in a local web page (keys 1/2/3, s to skip, u to undo). Labels are kept in a "
        "SQLite project that `stance train --train PROJECT.sqlite` reads directly.",
    )
    p.add_argument("--db", help="the project file (created on first use), e.g. project.sqlite")
    p.add_argument("--data", help="CSV/TSV/JSONL of statements to add to the project (only new ids are added)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--id-column", default=None, help="id column (default: 'id' if present, else a hash of the text)")
    p.add_argument(
        "--model", "-m", default="stance", help="model folder or shipped name for suggestions; 'none': no model"
    )
    p.add_argument("--labels", help="comma-separated labels of a new project (default: the model's)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--strategy", choices=["uncertainty", "random", "sequential"], default="uncertainty")
    p.add_argument("--uncertainty", choices=["entropy", "margin"], default="entropy", help="how unsure is measured")
    p.add_argument("--retrain-every", type=int, default=0, help="refit the lexical half every N labels (0: never)")
    p.add_argument("--annotator", default="annotator", help="name recorded with labels when the page gives none")
    p.add_argument(
        "--per-statement", type=int, default=1, help="labels (by different annotators) each statement collects"
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--export", metavar="PROJECT", help="write PROJECT's labels to --output (.tsv, .csv or .jsonl)")
    p.add_argument("--output", "-o", help="file for --export")
    p.add_argument("--agreement", metavar="PROJECT", help="print Cohen's and Fleiss' kappa and the disagreements")
    p.add_argument("--json", action="store_true", help="--agreement as JSON")
    p.set_defaults(handler=run_annotate)


def run_annotate(args: argparse.Namespace) -> int:
    if args.export:
        return _export(args.export, args.output)
    if args.agreement:
        return _agreement(args.agreement, args.json)
    if not args.db:
        raise StanceError(
            "stance annotate needs --db PROJECT.sqlite (with --data FILE the first time), "
            "or --export PROJECT / --agreement PROJECT"
        )
    return _serve(args)


def _export(project_path: str, output: str | None) -> int:
    from stance.io.project_db import read_project_labels

    if not output:
        raise StanceError("--export needs --output FILE (.tsv, .csv or .jsonl)")
    frame = read_project_labels(project_path)
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".csv"):
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    elif suffix in (".jsonl", ".ndjson"):
        path.write_text(
            frame.to_json(orient="records", lines=True, force_ascii=False) if len(frame) else "", encoding="utf-8"
        )
    else:
        raise StanceError(f"--output {output}: unknown file type '{suffix}': use .tsv, .csv or .jsonl")
    print(f"exported {len(frame)} labels -> {output}")
    return 0


def _agreement(project_path: str, as_json: bool) -> int:
    from stance.annotate.agreement import agreement, format_agreement
    from stance.io.project_db import connect_readonly, read_project_labels

    conn = connect_readonly(project_path)
    labels = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'labels'").fetchone()[0])
    conn.close()
    result = agreement(read_project_labels(project_path), labels)
    print(json.dumps(result, ensure_ascii=False, indent=2) if as_json else format_agreement(result))
    return 0


def _statements(path: str, text_column: str, id_column: str | None) -> list[tuple[str, str]]:
    from stance.annotate.store import text_id
    from stance.io.data import read_table, require_columns

    frame = read_table(path)
    require_columns(frame, [text_column], path, "Name the right one with --text-column")
    if id_column:
        require_columns(frame, [id_column], path, "Name the right one with --id-column")
    elif "id" in frame.columns:
        id_column = "id"
    rows, empty = [], 0
    for record in frame.to_dict("records"):
        text = record[text_column]
        if not isinstance(text, str) or not text.strip():
            empty += 1
            continue
        statement_id = record.get(id_column) if id_column else None
        statement_id = str(statement_id).strip() if statement_id is not None and str(statement_id).strip() else None
        rows.append((statement_id or text_id(text), text))
    if empty:
        logger.warning("%s: %d row(s) with an empty text skipped", path, empty)
    if not rows:
        raise StanceError(f"{path}: no statements in column {text_column!r}: check --text-column")
    return rows


def _model_labels(model: str) -> list[str]:
    from stance.modeling.folder import ModelSpec
    from stance.modeling.shipped import resolve_model_path

    return list(ModelSpec.load(resolve_model_path(model)).labels)


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise StanceError("stance annotate needs the server extra: pip install 'arabic-stance[server]'") from None
    from stance.annotate.app import AnnotateSettings, create_annotate_app
    from stance.annotate.scoring import Scorer, ScorerSettings
    from stance.annotate.store import Project

    for flag, value, low in (
        ("--retrain-every", args.retrain_every, 0),
        ("--per-statement", args.per_statement, 1),
        ("--batch-size", args.batch_size, 1),
    ):
        if value < low:
            raise StanceError(f"{flag} must be at least {low}")
    model = None if args.model.lower() == "none" else args.model
    model_labels = _model_labels(model) if model else None
    wanted = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None
    if wanted and len(set(wanted)) != len(wanted):
        raise StanceError(f"--labels {args.labels}: a label is repeated")
    if wanted and len(wanted) < 2:
        raise StanceError("--labels needs at least two labels, e.g. --labels conciliatory,hostile,neutral")
    rows = _statements(args.data, args.text_column, args.id_column) if args.data else None

    def check_model(labels: list[str]) -> None:
        if model_labels and set(model_labels) != set(labels):
            raise StanceError(
                f"the model {model} predicts {','.join(model_labels)} but the project's labels are "
                f"{','.join(labels)}: pass --model none to label without suggestions, or a model with these labels"
            )

    if wanted:
        check_model(wanted)
    project = Project(args.db, wanted, default_labels=model_labels)
    check_model(project.labels)
    if rows is not None:
        added, present = project.import_statements(rows)
        logger.info("%s: added %d statement(s), %d already in the project", args.db, added, present)
    if project.total() == 0:
        raise StanceError(f"{args.db} has no statements yet: add some with --data FILE")
    scorer = None
    if model or args.retrain_every:
        from stance.inference.classifier import Classifier

        scorer = Scorer(
            project,
            (lambda: Classifier.load(model)) if model else None,
            ScorerSettings(
                batch_size=args.batch_size,
                measure=args.uncertainty,
                retrain_every=args.retrain_every,
                strategy=args.strategy,
            ),
        )
    settings = AnnotateSettings(strategy=args.strategy, annotator=args.annotator, per_statement=args.per_statement)
    app = create_annotate_app(project, settings, scorer)
    stats = project.stats()
    logger.info(
        "project %s: %d statements, %d labelled; open http://%s:%d/",
        args.db,
        stats["total"],
        stats["labelled"],
        args.host,
        args.port,
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=5)
    finally:
        project.close()
    return 0
