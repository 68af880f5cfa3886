"""Linear probe on a FROZEN encoder: how much stance its sentence vectors carry, at a fraction of fine-tuning's cost.

    python training/probe_encoder.py --base-model e5-small runs/e5-news \
        --train ../shared/data/stance/train.tsv ../shared/data/stance/train_outlets.tsv \
        --dev outlets=../shared/data/stance/dev_outlets.tsv dev=../shared/data/stance/dev.tsv \
        --weight-column confidence --weight-map low=0.6 --max-length 64 --C 0.01 0.1 1 --cache runs/probe-cache

Every text is normalised and prefixed as the classifier's inputs are, embedded
once (mean pooling over the last layer, or the first token with ``--pooling
cls``) and cached as ``.npy`` under ``--cache``; a logistic regression
(balanced class weights, standardised features, ``--weight-column`` row weights)
is fitted on the training files for each ``--C`` and scored on each dev set.
Comparing two encoders this way (e.g. the base and a masked-LM-adapted one)
takes minutes instead of a fine-tuning run per encoder.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import logging
import time
from pathlib import Path

import numpy as np

from stance.errors import StanceError
from stance.fit.metrics import classification_report
from stance.io.data import LabelledData, load_labelled
from stance.modeling.bases import resolve_base
from stance.modeling.quiet import quiet_libraries
from stance.text.normalize import NormalizationConfig, Normalizer

logger = logging.getLogger("probe")


@functools.cache
def load_encoder(location: str):
    """The tokenizer and frozen encoder at ``location``, loaded once per run (library reports kept quiet)."""
    from transformers import AutoModel, AutoTokenizer

    with quiet_libraries():
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModel.from_pretrained(location, add_pooling_layer=False, use_safetensors=True).eval()
    return tokenizer, model


def embed(location: str, prefix: str, texts: list[str], max_length: int, pooling: str, batch_size: int) -> np.ndarray:
    """Sentence vectors of ``texts`` from the encoder at ``location`` (frozen, fp32)."""
    import torch

    tokenizer, model = load_encoder(location)
    inputs = [prefix + t for t in Normalizer(NormalizationConfig()).batch(texts)]
    order = np.argsort([len(t) for t in inputs])
    out = np.zeros((len(inputs), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [inputs[i] for i in idx], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            hidden = model(**enc).last_hidden_state
            if pooling == "cls":
                vectors = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[idx] = vectors.numpy()
    return out


def cached_embed(args, location: str, prefix: str, name: str, data: LabelledData) -> np.ndarray:
    key = hashlib.sha1(
        "\x1f".join([location, prefix, args.pooling, str(args.max_length), *data.texts]).encode()
    ).hexdigest()[:16]
    path = Path(args.cache) / f"{Path(location).name}-{name}-{key}.npy" if args.cache else None
    if path and path.exists():
        return np.load(path, allow_pickle=False)
    started = time.time()
    vectors = embed(location, prefix, data.texts, args.max_length, args.pooling, args.batch_size)
    logger.info("%s: embedded %d texts of %s in %.0f s", location, len(data.texts), name, time.time() - started)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors, allow_pickle=False)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-model", nargs="+", default=["e5-small"], help="encoders to compare")
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--dev", nargs="+", required=True, help="NAME=FILE ...")
    parser.add_argument("--pooling", choices=["mean", "cls"], default="mean")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--C", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--cache", default="", help="folder for the cached embeddings (.npy)")
    parser.add_argument("--weight-column", default=None, help="a column of per-row loss weights, e.g. confidence")
    parser.add_argument("--weight-map", nargs="*", default=[], metavar="VALUE=WEIGHT", help="e.g. low=0.6")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    weight_map = {}
    for item in args.weight_map:
        value, _, weight = item.partition("=")
        try:
            weight_map[value] = float(weight)
        except ValueError:
            parser.error(f"--weight-map {item!r}: write VALUE=WEIGHT, e.g. low=0.6")
    try:
        train = LabelledData.concat(
            [load_labelled(p, weight_column=args.weight_column, weight_map=weight_map) for p in args.train]
        )
        devs = {}
        for item in args.dev:
            name, _, path = item.partition("=")
            if not path:
                parser.error(f"--dev {item!r}: write NAME=FILE")
            devs[name] = load_labelled(path, min_classes=1)
    except StanceError as exc:
        raise SystemExit(f"error: {exc}") from None
    labels = sorted(set(train.labels))
    for name in args.base_model:
        base = resolve_base(name)
        x_train = cached_embed(args, base.location, base.input_prefix, "train", train)
        scaler = StandardScaler().fit(x_train)
        x_devs = {
            d: scaler.transform(cached_embed(args, base.location, base.input_prefix, d, data))
            for d, data in devs.items()
        }
        for c in args.C:
            model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
            model.fit(scaler.transform(x_train), train.labels, sample_weight=train.weights)
            for d, data in devs.items():
                report = classification_report(data.labels, list(model.predict(x_devs[d])), labels)
                f1 = " ".join(f"{lab} {report['per_class'][lab]['f1']:.3f}" for lab in labels)
                print(f"{name}  C={c:g}  {d}: macro-F1 {report['macro_f1']:.4f}  F1: {f1}", flush=True)


if __name__ == "__main__":
    main()
