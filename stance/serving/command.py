"""``stance serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path

from stance.errors import StanceError


def add_serve(sub) -> None:
    p = sub.add_parser("serve", help="run the HTTP service and web page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--models",
        default="stance,sentiment",
        help="comma-separated shipped names or TASK=FOLDER pairs (missing shipped models are skipped)",
    )
    p.add_argument(
        "--models-dir",
        help="serve models by name from this folder only: --models TASK=NAME then names a subfolder, never a path",
    )
    p.add_argument("--max-texts", type=int, default=256)
    p.add_argument("--max-chars", type=int, default=5_000)
    p.add_argument("--max-article-chars", type=int, default=100_000)
    p.add_argument("--max-body-bytes", type=int, default=1_000_000)
    p.add_argument("--max-batch", type=int, default=64, help="statements per forward pass across concurrent requests")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch waits for more requests")
    p.add_argument(
        "--max-explain-texts", type=int, default=16, help="statements per /v1/explain request (explaining is slow)"
    )
    p.add_argument("--precision", default="auto")
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch")
    p.add_argument("--no-lexical", action="store_true", help="neural models alone (ignore their lexical n-gram half)")
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise StanceError("stance serve needs the server extra: pip install 'arabic-stance[server]'") from None
    from stance.inference.classifier import Classifier
    from stance.modeling.shipped import SHIPPED, models_dir, resolve_model_path, resolve_named_model
    from stance.serving.app import ServerSettings, create_app, parse_models

    wanted = parse_models([n for n in args.models.split(",") if n.strip()])
    if args.models_dir:
        if not Path(args.models_dir).is_dir():
            raise StanceError(f"--models-dir {args.models_dir}: no such folder")
        wanted = {task: str(resolve_named_model(name, args.models_dir)) for task, name in wanted.items()}
    available = {}
    for task, location in wanted.items():
        if location in SHIPPED and not (models_dir() / location / "stance_config.json").exists() and len(wanted) > 1:
            continue  # e.g. the sentiment model is not shipped yet: serve the others
        resolve_model_path(location)  # a clear error now, not in the background loader
        available[task] = location
    if not available:
        raise StanceError(f"none of the models {list(wanted.values())} is available: pass --models TASK=FOLDER")
    settings = ServerSettings(
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_article_chars=args.max_article_chars,
        max_body_bytes=args.max_body_bytes,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_explain_texts=args.max_explain_texts,
    )
    app = create_app(
        available,
        settings,
        loader=lambda name: Classifier.load(
            name, precision=args.precision, runtime=args.runtime, lexical=not args.no_lexical
        ),
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=10)
    return 0
