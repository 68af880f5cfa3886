"""Average LoRA models of one recipe (seeds, or checkpoints of one run) into one model folder.

    python training/soup.py runs/stance-outlets-mean runs/stance-outlets-mean-s7 --out runs/soup --dtype fp16
    python training/soup.py runs/R/checkpoints/best.safetensors runs/R/checkpoints/last/trainable.safetensors --out runs/R-avg

The result is one LoRA adapter of the summed rank whose weight change is exactly
the weighted mean of the inputs' (``stance.fit.soup``); the classification head
is averaged. It loads like any model folder. Then refit and choose the lexical
weight on dev, which also writes the figures and the card:

    python training/fit_lexical.py runs/soup --data-config training/configs/stance_outlets_mean.json
"""

from __future__ import annotations

import argparse
import logging
import sys

from stance.errors import StanceError
from stance.fit.soup import DTYPES, SoupConfig, soup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="LoRA model folders or checkpoint .safetensors files")
    parser.add_argument("--out", required=True, help="the new model folder")
    parser.add_argument(
        "--weights", type=float, nargs="*", default=[], help="one per input, summing to 1 (default equal)"
    )
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="storage type of the adapter")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = soup(SoupConfig(inputs=args.inputs, output=args.out, weights=args.weights, dtype=args.dtype))
    except StanceError as exc:
        sys.exit(f"error: {exc}")
    print(out)


if __name__ == "__main__":
    main()
