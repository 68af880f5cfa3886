"""The ``stance`` command line: thin wrappers over the library.

User errors (:class:`StanceError`) print one line, ``error: ...``, and exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from stance.errors import StanceError

logger = logging.getLogger("stance")

DEFAULT_MODEL = "stance"


def _parse_map(text: str | None, flag: str) -> dict[str, str]:
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise StanceError(f"{flag}: {part!r} is not FROM=TO: write e.g. {flag} NEG=negative,POS=positive")
        key, value = part.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a classifier on labelled statements")
    p.add_argument("--config", help="JSON file of training settings (flags override it)")
    p.add_argument(
        "--train",
        dest="train_file",
        nargs="+",
        metavar="FILE",
        help="CSV, TSV, JSONL or datasets folder(s), concatenated",
    )
    p.add_argument("--output", "-o", dest="output_dir", help="model folder to write")
    p.add_argument(
        "--dev",
        dest="dev_entries",
        nargs="+",
        metavar="[NAME=]FILE",
        help="labelled dev file(s), each reported at every evaluation, e.g. --dev outlets=dev_outlets.tsv dev=dev.tsv "
        "(else a split of --train)",
    )
    p.add_argument("--select-on", metavar="NAME", help="the dev set that chooses the checkpoint (default: the first)")
    p.add_argument("--base-model", help="e5-small (built-in), a local folder, or a hub id")
    p.add_argument("--init-from", metavar="MODEL", help="start from a trained model folder's weights (second stage)")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--group-column", help="keep rows with the same value (e.g. doc) on one side of the dev split")
    p.add_argument("--weight-column", help="column whose values weigh rows, with --weight-map")
    p.add_argument("--weight-map", help="e.g. low=0.5,high=1")
    p.add_argument("--label-map", help="rename labels, e.g. NEG=negative,POS=positive")
    p.add_argument("--source-column", help="column naming each row's data set, trained as a [source] tag")
    p.add_argument("--source-tag", help="with --source-column: the source whose labelling applies at inference")
    p.add_argument("--dev-fraction", type=float)
    p.add_argument("--epochs", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", "--lr", type=float)
    p.add_argument("--warmup-ratio", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--max-length", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--lora",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="LoRA adapters (default) or full fine-tuning",
    )
    p.add_argument("--lora-r", type=int)
    p.add_argument("--lora-alpha", type=int)
    p.add_argument(
        "--pooling",
        choices=("cls", "mean"),
        help="read the encoder through the first token (cls, default) or the mean of its tokens (mean)",
    )
    p.add_argument("--class-weights", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--eval-steps", type=int, help="evaluate every N steps (default: every epoch)")
    p.add_argument("--save-steps", type=int, help="checkpoint every N steps")
    p.add_argument("--patience", type=int, help="early-stopping patience in evaluations (0: off)")
    p.add_argument("--max-steps", type=int)
    p.add_argument(
        "--probe-steps",
        type=int,
        help="train only the classification head for N steps first, the encoder frozen (LP-FT), then everything",
    )
    p.add_argument("--task", help="name recorded in the model, e.g. stance or sentiment")
    p.add_argument("--strict", action="store_true", default=None, help="refuse empty rows instead of skipping them")
    p.add_argument(
        "--lexical",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also fit the n-gram TF-IDF + SVM half averaged with the neural model (default: as the config says)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the output folder")
    p.add_argument("--no-progress", action="store_true")


def _parse_dev_entries(entries: list[str]) -> tuple[str | None, dict[str, str]]:
    """``--dev FILE`` (named ``dev``) and/or ``--dev NAME=FILE ...``."""
    import re

    plain: list[str] = []
    named: dict[str, str] = {}
    for entry in entries:
        name, sep, path = entry.partition("=")
        if sep and re.fullmatch(r"[A-Za-z0-9_.-]+", name) and not Path(entry).exists():
            if name in named:
                raise StanceError(f"--dev names {name!r} twice: give each dev set its own NAME=FILE")
            named[name] = path
        else:
            plain.append(entry)
    if len(plain) > 1:
        raise StanceError("several --dev files need names: --dev outlets=FILE dev=FILE")
    return (plain[0] if plain else None), named


def _run_train(args) -> int:
    from stance.fit.trainer import TrainingConfig, train

    config = TrainingConfig.from_file(args.config) if args.config else TrainingConfig()
    values = config.to_dict()
    for key in list(values):
        flag = getattr(args, key, None)
        if flag is not None and key not in ("weight_map", "label_map", "normalization", "lexical"):
            values[key] = flag
    if args.lexical is not None:
        values["lexical"] = (values.get("lexical") or {}) if args.lexical else None
    if args.weight_map:
        values["weight_map"] = {k: float(v) for k, v in _parse_map(args.weight_map, "--weight-map").items()}
    if args.label_map:
        values["label_map"] = _parse_map(args.label_map, "--label-map")
    if args.dev_entries:
        values["dev_file"], values["dev_sets"] = _parse_dev_entries(args.dev_entries)
    config = TrainingConfig.from_dict(values)
    if not config.train_file or not config.output_dir:
        raise StanceError("stance train needs --train FILE and --output DIR (or a --config that names them)")
    report = train(config, resume=args.resume, progress_bar=not args.no_progress)
    from stance.fit.metrics import format_report

    print(format_report(report))
    dev_sets = report.get("dev_sets") or {}
    if len(dev_sets) > 1:
        print(f"\nmacro-F1 on every dev set (checkpoint chosen on {report.get('selected_on')}):")
        for name, part in dev_sets.items():
            print(f"  {name:<12} {part['macro_f1']:.4f}  ({part['n']} rows)")
    parts = report.get("parts")
    if parts:
        print(
            f"\nmacro-F1 of each half on dev: neural {parts['neural']['macro_f1']:.4f}, "
            f"lexical half {parts['lexical']['macro_f1']:.4f}; the figures above are their average"
        )
    print(f"\nmodel saved to {config.output_dir}")
    return 0


def _add_classify(sub) -> None:
    p = sub.add_parser("classify", help="classify statements, a file, or an article")
    p.add_argument("text", nargs="*", help="statement(s); '-' or nothing reads stdin (one per line)")
    p.add_argument(
        "--model", "-m", default=None, help="model folder or shipped name (default: the task's shipped model)"
    )
    p.add_argument("--task", default="stance", help="stance or sentiment: picks the shipped model")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--input", help="CSV/TSV/JSONL file to classify")
    p.add_argument("--output", help="where to write the classified file (same format as its suffix)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--id-column", default=None, help="id column to keep (default: 'id' if present)")
    p.add_argument("--article", help="classify an article sentence by sentence ('-' for stdin)")
    p.add_argument("--resume", action="store_true", help="continue a partial --output after a crash")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--tag-actors", action="store_true", help="also list the political actors each statement mentions")
    p.add_argument("--precision", default="auto", help="auto, fp32, bf16 or int8")
    p.add_argument(
        "--runtime", choices=["torch", "onnx"], default="torch", help="inference runtime (onnx: ONNX Runtime)"
    )
    p.add_argument(
        "--no-lexical", action="store_true", help="the neural model alone (ignore the model's lexical n-gram half)"
    )
    p.add_argument(
        "--no-cache", action="store_true", help="rebuild the model from its folder (skip the merged-weights cache)"
    )
    ray = p.add_argument_group(
        "Ray engine (--engine ray: --input is a file or folder, --output a folder of Parquet shards)"
    )
    ray.add_argument(
        "--engine", choices=["local", "ray"], default="local", help="classify --input here or with Ray Data"
    )
    ray.add_argument(
        "--address", help="Ray cluster to join, e.g. auto or ray://head:10001 (default: start a local Ray)"
    )
    ray.add_argument("--actors", type=int, default=1, help="model actors (each loads the model once)")
    ray.add_argument("--cpus-per-actor", type=float, default=1.0)
    ray.add_argument("--ray-batch-size", type=int, default=256, help="rows per actor call")
    ray.add_argument("--articles", action="store_true", help="input rows are articles: one output row per sentence")
    ray.add_argument("--keep-text", action="store_true", help="also write the statement text")
    _add_classify_explain(p)


def _add_classify_explain(p) -> None:
    from stance.explain.command import add_explain_options
    from stance.inference.explain import DEFAULT_METHOD, DEFAULT_STEPS, METHODS

    group = p.add_argument_group("explanations (statements or --article)")
    group.add_argument("--explain", action="store_true", help="also show which words drove each label")
    add_explain_options(group, DEFAULT_METHOD, DEFAULT_STEPS, METHODS)


def _load_classifier(args):
    from stance.inference.classifier import Classifier

    return Classifier.load(
        args.model or args.task,
        precision=args.precision,
        runtime=args.runtime,
        lexical=not args.no_lexical,
        cache=not getattr(args, "no_cache", False),
    )


def _run_classify(args) -> int:
    if args.explain and (args.input or args.engine == "ray" or args.articles):
        raise StanceError("--explain works with statements or --article, not with --input files or --engine ray")
    if args.engine == "ray" or args.articles:
        return _run_classify_ray(args)
    if args.input:
        from stance.io.batch_files import classify_file

        if not args.output:
            raise StanceError("--input needs --output FILE")
        clf = _load_classifier(args)
        n = classify_file(
            clf,
            args.input,
            args.output,
            text_column=args.text_column,
            id_column=args.id_column,
            batch_size=args.batch_size,
            resume=args.resume,
            actors=args.tag_actors,
        )
        print(f"classified {n} rows -> {args.output}", file=sys.stderr)
        return 0
    if args.article:
        text = sys.stdin.read() if args.article == "-" else _read_text_file(args.article)
        clf = _load_classifier(args)
        result = clf.classify_article(text, actors=args.tag_actors, explain=args.explain)
        if args.json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
        elif args.explain:
            from stance.explain.format import format_explained_article

            print(format_explained_article(result, args.top))
        else:
            from stance.inference.article import format_article

            print(format_article(result))
        return 0
    texts = list(args.text)
    if not texts or texts == ["-"]:
        if sys.stdin is None or (not texts and sys.stdin.isatty()):
            print(CLASSIFY_HINT, file=sys.stderr)
            return 2
        if sys.stdin.isatty():
            print("reading statements from the terminal, one per line; end with Ctrl-D", file=sys.stderr)
        texts = [line for line in sys.stdin.read().splitlines() if line.strip()]
        if not texts:
            raise StanceError("stdin was empty: give at least one statement")
    if args.explain:
        from stance.explain.command import check_texts, print_explanations

        check_texts(texts)
        clf = _load_classifier(args)
        results = clf.explain(texts, method=args.method, steps=args.steps)
        print_explanations(texts, results, args.json, args.top)
        return 0
    if len(texts) <= _ONE_THREAD_TEXTS:
        # one short batch gains nothing from more threads, and on a busy machine waits for them
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    clf = _load_classifier(args)
    results = clf.predict(texts, batch_size=args.batch_size, actors=args.tag_actors)
    if args.json:
        payload = [{"text": t, **r} for t, r in zip(texts, results)]
        print(json.dumps(payload if len(payload) > 1 else payload[0], ensure_ascii=False, indent=2))
    else:
        for text, result in zip(texts, results):
            scores = "  ".join(f"{k} {v:.3f}" for k, v in result["scores"].items())
            tagged = f"\t{'; '.join(result['actors'])}" if "actors" in result else ""
            print(f"{result['label']}\t{scores}{tagged}\t{text}")
    return 0


_ONE_THREAD_TEXTS = 8
CLASSIFY_HINT = """usage: stance classify "TEXT" ...   (nothing to classify: give statements or pipe them in)
  stance classify "فرضت الولايات المتحدة عقوبات جديدة على روسيا"
  stance classify --task sentiment "TEXT"
  echo "TEXT" | stance classify           (one statement per line; '-' reads the terminal)
  stance classify --input statements.csv --output labelled.csv
  stance classify --article article.txt
stance classify --help lists every option."""


def _run_classify_ray(args) -> int:
    from stance.scale.ray_engine import RayJobConfig, classify_with_ray

    if args.engine != "ray":
        raise StanceError("--articles works with --engine ray; for one article use --article FILE")
    if not args.input or not args.output:
        raise StanceError("--engine ray needs --input FILE_OR_FOLDER and --output FOLDER")
    if args.actors < 1 or args.ray_batch_size < 1:
        raise StanceError("--actors and --ray-batch-size must be at least 1")
    config = RayJobConfig(
        model=args.model or args.task,
        text_column=args.text_column,
        id_column=args.id_column or "id",
        articles=args.articles,
        batch_size=args.ray_batch_size,
        actors=args.actors,
        cpus_per_actor=args.cpus_per_actor,
        inference_batch_size=args.batch_size,
        precision=args.precision,
        lexical=not args.no_lexical,
        address=args.address,
        keep_text=args.keep_text,
        tag_actors=args.tag_actors,
    )
    summary = classify_with_ray(args.input, args.output, config)
    print(
        f"classified {summary['input_rows']} rows -> {summary['output']} "
        f"({summary['output_rows']} output rows, {summary['error_rows']} with errors, {summary['shards']} shards)",
        file=sys.stderr,
    )
    return 0


def _read_text_file(path: str) -> str:
    p = Path(path)
    if not p.exists():
        raise StanceError(f"{path}: no such file")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StanceError(f"{path}: not valid UTF-8 (byte {exc.start}): re-save it as UTF-8") from None


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy, macro-F1, per-class figures and confusion matrix on labelled data")
    p.add_argument("--model", "-m", default=None)
    p.add_argument("--task", default="stance")
    p.add_argument("--data", required=True, help="labelled CSV/TSV/JSONL/datasets folder")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument(
        "--label-map", help="map the data's labels to the model's, e.g. NEG=negative,NEU=neutral,POS=positive"
    )
    p.add_argument("--f1-over", help="also report the mean F1 over these classes, e.g. positive,negative")
    p.add_argument("--plot", help="write the confusion matrix as a PNG")
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--precision", default="auto")
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch")
    p.add_argument(
        "--no-lexical", action="store_true", help="the neural model alone (ignore the model's lexical n-gram half)"
    )


def _add_check_precision(sub) -> None:
    p = sub.add_parser("check-precision", help="compare a fast inference path with fp32 on labelled data")
    p.add_argument("--model", "-m", default=DEFAULT_MODEL)
    p.add_argument("--data", required=True, help="labelled file in the model's labels (e.g. its dev set)")
    p.add_argument("--precision", default="bf16", choices=["bf16", "int8", "fp32"])
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--write", action="store_true", help="record the result in the model folder (used by auto)")
    p.add_argument("--json", action="store_true")


def _run_check_precision(args) -> int:
    from stance.fit.precision_check import MAX_F1_DROP, MIN_AGREEMENT, check, write_guard
    from stance.modeling.shipped import resolve_model_path

    result = check(args.model, args.data, args.precision, args.runtime, args.text_column, args.label_column)
    if args.write:
        write_guard(resolve_model_path(args.model), result, args.data)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        verdict = "PASS" if result.passed else "FAIL"
        print(
            f"{verdict} {result.path}: agreement {result.agreement:.4f} (need >= {MIN_AGREEMENT}), macro-F1 "
            f"{result.macro_f1_fast:.4f} vs fp32 {result.macro_f1_fp32:.4f} (drop allowed {MAX_F1_DROP}), "
            f"{result.rows} rows"
        )
    return 0 if result.passed else 1


def _run_evaluate(args) -> int:
    from stance.fit.evaluation import evaluate_file
    from stance.fit.metrics import format_report, plot_confusion

    clf = _load_classifier(args)
    report = evaluate_file(
        clf,
        args.data,
        text_column=args.text_column,
        label_column=args.label_column,
        label_map=_parse_map(args.label_map, "--label-map"),
        f1_over=[x.strip() for x in args.f1_over.split(",")] if args.f1_over else None,
        batch_size=args.batch_size,
    )
    if args.plot:
        plot_confusion(report, args.plot)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="write a plain Hugging Face folder that transformers.pipeline loads")
    p.add_argument("--model", "-m", default=DEFAULT_MODEL)
    p.add_argument("--merged", required=True, metavar="DIR", help="output folder")


def _run_export(args) -> int:
    from stance.modeling.folder import export_merged
    from stance.modeling.shipped import resolve_model_path

    target = export_merged(resolve_model_path(args.model), args.merged)
    print(f"exported {args.model} -> {target}  (transformers.pipeline('text-classification', model='{target}'))")
    return 0


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="list the shipped models (with dev figures) and what is in your cache")
    p.add_argument("--json", action="store_true")


def _run_models(args) -> int:
    from stance.modeling.inventory import cache_contents, format_inventory, shipped_models

    models, cache = shipped_models(), cache_contents()
    if args.json:
        print(json.dumps({"models": models, "cache": cache}, ensure_ascii=False, indent=2))
    else:
        print(format_inventory(models, cache))
    return 0


def package_version() -> str:
    """The installed package's version (its metadata), else the source tree's ``stance.__version__``."""
    from importlib import metadata

    try:
        return metadata.version("arabic-stance")
    except metadata.PackageNotFoundError:
        from stance import __version__

        return __version__


class _VersionAction(argparse.Action):
    """``--version``, looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"stance (arabic-stance) {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stance", description="Stance and sentiment of Arabic news statements.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_classify(sub)
    _add_evaluate(sub)
    _add_check_precision(sub)
    _add_export(sub)
    _add_models(sub)
    from stance.explain.command import add_explain

    add_explain(sub)
    try:
        from stance.serving.command import add_serve

        add_serve(sub)
    except ImportError:  # pragma: no cover - serve is optional
        pass
    from stance.report.command import add_report  # light: matplotlib is imported only when a report runs

    add_report(sub)
    from stance.annotate.command import add_annotate

    add_annotate(sub)
    return parser


COMMANDS = {
    "train": _run_train,
    "classify": _run_classify,
    "evaluate": _run_evaluate,
    "export": _run_export,
    "check-precision": _run_check_precision,
    "models": _run_models,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler = COMMANDS.get(args.command) or getattr(args, "handler", None)
    try:
        return handler(args)
    except StanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
