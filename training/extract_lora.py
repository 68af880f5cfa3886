"""Store a fully fine-tuned model as a LoRA adapter over its base (its weight changes, truncated by SVD).

    python training/extract_lora.py runs/stance-outlets-full-mean --out runs/full-r64 --rank 64 --dtype fp16

Full fine-tuning changes every weight; shipping the whole encoder is hundreds of
megabytes. This keeps the change of each linear layer of the base's transformer
layers at the given rank (the best approximation of that rank), and the biases,
layer norms, position embeddings and head whole (``stance.fit.extract``); the
word embeddings' change is dropped. The result loads like any LoRA model folder.
Measure it on dev before shipping (``stance evaluate``), and refit the lexical
weight (``training/fit_lexical.py``), which writes the figures and the card.
"""

from __future__ import annotations

import argparse
import logging
import sys

from stance.errors import StanceError
from stance.fit.extract import DTYPES, ExtractConfig, extract_lora


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a fully fine-tuned model folder")
    parser.add_argument("--out", required=True, help="the new model folder")
    parser.add_argument("--rank", type=int, default=64, help="rank of each layer's change (default 64)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp16", help="storage type of the adapter")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = extract_lora(ExtractConfig(source=args.source, output=args.out, rank=args.rank, dtype=args.dtype))
    except StanceError as exc:
        sys.exit(f"error: {exc}")
    print(out)


if __name__ == "__main__":
    main()
