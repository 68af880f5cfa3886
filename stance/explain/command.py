"""``stance explain``: which words drove each statement's label."""

from __future__ import annotations

import argparse
import json
import sys

from stance.errors import StanceError


def add_explain(sub) -> None:
    from stance.inference.explain import DEFAULT_METHOD, DEFAULT_STEPS, METHODS

    p = sub.add_parser("explain", help="show which words drove each statement's label")
    p.add_argument("text", nargs="*", help="statement(s); '-' or nothing reads stdin (one per line)")
    p.add_argument("--model", "-m", default=None, help="model folder or shipped name (default: the task's model)")
    p.add_argument("--task", default="stance", help="stance or sentiment: picks the shipped model")
    p.add_argument("--json", action="store_true", help="JSON output: label, scores and every word with its weight")
    add_explain_options(p, DEFAULT_METHOD, DEFAULT_STEPS, METHODS)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--precision", default="auto", help="auto, fp32, bf16 or int8")
    p.add_argument("--runtime", choices=["torch", "onnx"], default="torch")
    p.add_argument("--no-lexical", action="store_true", help="the neural model alone")
    p.set_defaults(handler=run_explain)


def add_explain_options(p, default_method: str, default_steps: int, methods: tuple[str, ...]) -> None:
    """``--method``, ``--steps`` and ``--top``, shared by ``stance explain`` and ``stance classify --explain``."""
    p.add_argument(
        "--method", choices=methods, default=default_method, help="occlusion (default) or ig (Integrated Gradients)"
    )
    p.add_argument("--steps", type=int, default=default_steps, help="Integrated Gradients steps (--method ig)")
    p.add_argument("--top", type=int, default=3, help="words to mark in the human output")


def check_texts(texts: list[str]) -> None:
    """Refuse statements with no words: there is nothing to explain."""
    for i, text in enumerate(texts):
        if not text.strip():
            raise StanceError(f"statement {i + 1} is empty: give a statement with at least one word to explain")


def print_explanations(texts: list[str], results: list[dict], as_json: bool, top: int) -> None:
    from stance.explain.format import format_explanation

    if as_json:
        payload = [{"text": t, **r} for t, r in zip(texts, results)]
        print(json.dumps(payload if len(payload) > 1 else payload[0], ensure_ascii=False, indent=2))
    else:
        for text, result in zip(texts, results):
            print(format_explanation(text, result, top))


def read_statements(args: argparse.Namespace, command: str) -> list[str]:
    texts = list(args.text)
    if not texts or texts == ["-"]:
        if sys.stdin is None or sys.stdin.isatty():
            raise StanceError(f'give a statement: stance {command} "TEXT", or pipe text on stdin')
        texts = [line for line in sys.stdin.read().splitlines() if line.strip()]
        if not texts:
            raise StanceError("stdin was empty: give at least one statement")
    return texts


def run_explain(args: argparse.Namespace) -> int:
    from stance.inference.classifier import Classifier

    texts = read_statements(args, "explain")
    check_texts(texts)
    if args.steps < 1 or args.top < 0 or args.batch_size < 1:
        raise StanceError("--steps and --batch-size must be at least 1, --top at least 0")
    clf = Classifier.load(
        args.model or args.task, precision=args.precision, runtime=args.runtime, lexical=not args.no_lexical
    )
    results = clf.explain(texts, batch_size=args.batch_size, method=args.method, steps=args.steps)
    print_explanations(texts, results, args.json, args.top)
    return 0
