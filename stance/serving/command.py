"""``stance serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from stance.errors import StanceError

logger = logging.getLogger(__name__)


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
    guard = p.add_argument_group("access and overload (see README: 'The service under hostile traffic')")
    guard.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="require Authorization: Bearer KEY on /v1/* and /metrics (repeatable; visible in ps: prefer the file "
        "or STANCE_API_KEYS)",
    )
    guard.add_argument("--api-keys-file", metavar="FILE", help="API keys, one per line (# comments allowed)")
    guard.add_argument("--rate-limit", metavar="N/s", help="requests per key (per client address without keys)")
    guard.add_argument("--rate-burst", type=float, help="token bucket size (default: one second's worth)")
    guard.add_argument(
        "--max-queue", type=int, default=1024, help="texts waiting or running per task; beyond it 503 at once"
    )
    guard.add_argument(
        "--request-timeout", type=float, default=30.0, help="seconds to answer a request, then 504 (0: none)"
    )
    guard.add_argument(
        "--read-timeout", type=float, default=10.0, help="seconds for a request's headers and body to arrive (0: none)"
    )
    guard.add_argument(
        "--max-connections", type=int, help="concurrent connections and requests; beyond it uvicorn answers 503"
    )
    guard.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN", help="allow browser calls from ORIGIN"
    )
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
    from stance.serving.limits import header_timeout_protocol, parse_rate
    from stance.serving.security import RedactQueryStrings, is_loopback, load_api_keys

    keys = load_api_keys(args.api_key, args.api_keys_file)
    for name, value in (("--max-queue", args.max_queue), ("--max-connections", args.max_connections)):
        if value is not None and value < 1:
            raise StanceError(f"{name} {value}: give a positive number")
    if args.max_queue < args.max_texts:
        raise StanceError(f"--max-queue {args.max_queue} is below --max-texts {args.max_texts}: raise it")
    if args.rate_burst is not None and args.rate_burst < 1:
        raise StanceError(f"--rate-burst {args.rate_burst:g}: give at least 1")
    settings = ServerSettings(
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        max_article_chars=args.max_article_chars,
        max_body_bytes=args.max_body_bytes,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_explain_texts=args.max_explain_texts,
        max_queue=args.max_queue,
        request_timeout=args.request_timeout or None,
        read_timeout=args.read_timeout or None,
        api_keys=keys,
        rate_limit=parse_rate(args.rate_limit) if args.rate_limit else None,
        rate_burst=args.rate_burst,
        cors_origins=args.cors_origin,
    )
    if keys:
        logger.info("API keys required on /v1/* and /metrics (%d configured)", len(keys))
    elif not is_loopback(args.host):
        logger.warning(
            "serving on %s without API keys: anyone who reaches this port can use it "
            "(set --api-keys-file FILE or STANCE_API_KEYS)",
            args.host,
        )
    logging.getLogger("uvicorn.access").addFilter(RedactQueryStrings())
    app = create_app(
        available,
        settings,
        loader=lambda name: Classifier.load(
            name, precision=args.precision, runtime=args.runtime, lexical=not args.no_lexical
        ),
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=10,
        http=header_timeout_protocol(args.read_timeout) if args.read_timeout else "h11",
        limit_concurrency=args.max_connections,
    )
    return 0
