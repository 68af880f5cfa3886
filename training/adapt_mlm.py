"""Masked-LM adaptation of the base encoder on unlabelled news (resumable), then fine-tune on the result.

    python training/adapt_mlm.py --output runs/e5-news --sources outlets,train,saudinewsnet \
        --max-sentences 200000 --steps 6000 --batch-size 64           # a GPU run; add --resume to continue
    stance train --config training/configs/stance_outlets_full.json --base-model runs/e5-news -o runs/stance-news

Sources: ``outlets`` (corpora/outlets/articles.jsonl.gz, the training outlets'
articles), ``saudinewsnet`` (corpora/saudinewsnet/*.zip), ``antcorpus``
(corpora/antcorpus/*.tar.gz) and ``train`` (the text of the stance training
files — never the dev files). See :mod:`stance.fit.adapt` for the method.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from stance.errors import StanceError
from stance.fit.adapt import AdaptConfig, adapt, corpus_sentences

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def outlets() -> Iterator[str]:
    with gzip.open(SHARED / "corpora/outlets/articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)["text"]


def saudinewsnet() -> Iterator[str]:
    for path in sorted((SHARED / "corpora/saudinewsnet").glob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    for article in json.loads(archive.read(name).decode("utf-8")):
                        yield article.get("content") or ""


def antcorpus() -> Iterator[str]:
    for path in sorted((SHARED / "corpora/antcorpus").glob("*.tar.gz")):
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isfile():
                    raw = archive.extractfile(member).read().decode("utf-8", errors="replace")
                    yield from re.findall(r"<TEXT>(.*?)</TEXT>", raw, flags=re.S)


def train_text() -> Iterator[str]:
    for name in ("train.tsv", "train_outlets.tsv"):
        path = SHARED / "stance" / name
        if path.exists():
            yield from pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)["text"]


SOURCES = {"outlets": outlets, "saudinewsnet": saudinewsnet, "antcorpus": antcorpus, "train": train_text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True)
    parser.add_argument("--base-model", default="e5-small")
    parser.add_argument("--sources", default="outlets,train", help=f"comma list of {', '.join(SOURCES)}")
    parser.add_argument("--max-sentences", type=int, default=100_000, help="per source")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--head-warmup-steps", type=int, default=100)
    parser.add_argument("--lora-r", type=int, default=0, help="LoRA rank (0: train the transformer layers)")
    parser.add_argument("--save-steps", type=int, default=200)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--stop-at", type=int, default=0,
        help="end at this step and write the encoder (the schedule stays that of --steps; resume later to go on); "
        "with --resume and a checkpoint at or past it, only write that checkpoint's encoder",
    )  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sentences: list[str] = []
    for name in args.sources.split(","):
        if name not in SOURCES:
            parser.error(f"unknown source {name!r}: use {', '.join(SOURCES)}")
        found = corpus_sentences(SOURCES[name](), limit=args.max_sentences)
        logging.info("%s: %d sentences", name, len(found))
        sentences += found
    config = AdaptConfig(
        base_model=args.base_model,
        output_dir=args.output,
        max_length=args.max_length,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        steps=args.steps,
        head_warmup_steps=args.head_warmup_steps,
        lora_r=args.lora_r,
        save_steps=args.save_steps,
    )
    try:
        summary = adapt(config, sentences, resume=args.resume, stop_at=args.stop_at)
    except StanceError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(
        f"adapted encoder written to {args.output}: {summary['step']} steps over {summary['sentences']} sentences, "
        f"final loss {summary['losses'][-1]['loss'] if summary['losses'] else float('nan')}, "
        f"{summary['seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
