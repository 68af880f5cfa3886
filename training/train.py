"""Train a classifier: `python training/train.py [--config FILE] [flags]` (same flags as `stance train`)."""

import sys

from stance.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
