"""Build the sentiment training and dev files from the shared public sets.

Labels are mapped to ``positive / negative / neutral``: ArSarcasm-v2
``POS/NEG/NEU``, MARSA ``pos/neg/neut``, ArSAS ``Positive/Negative/Neutral``;
ArSAS ``Mixed`` rows are dropped (they hold both polarities, and the three-way
label set has no place for them). Texts are deduplicated on a normalised key
(letters folded as MARSA is pre-normalised, URLs, mentions, diacritics and
whitespace removed); a text whose key occurs in dev is removed from train, and
conflicting duplicates keep their first (ArSarcasm-v2 first) label. Dev is a
stratified 10 % of ArSarcasm-v2 train (seed 13): its official test split is
held elsewhere.

    python training/prepare_sentiment.py --mix arsarcasm,marsa,arsas --out runs/data/sentiment
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from stance.text.normalize import NormalizationConfig, Normalizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"
MAPS = {
    "arsarcasm": {"POS": "positive", "NEG": "negative", "NEU": "neutral"},
    "marsa": {"pos": "positive", "neg": "negative", "neut": "neutral"},
    "arsas": {"Positive": "positive", "Negative": "negative", "Neutral": "neutral"},
}
_KEY = Normalizer(
    NormalizationConfig(
        normalize_alef=True, normalize_ya=True, normalize_ta_marbuta=True, url_token="", mention_token=""
    )
)


def dedup_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", _KEY(text))


def load(name: str, data: Path) -> pd.DataFrame:
    if name == "arsarcasm":
        frame = pd.read_csv(data / "arsarcasm-v2" / "train.csv", dtype=str)
        frame = frame.rename(columns={"tweet": "text", "sentiment": "label"})
    elif name == "marsa":
        parts = [pd.read_csv(data / "marsa-political" / f, dtype=str) for f in ("train.csv", "dev.csv")]
        frame = pd.concat(parts).rename(columns={"Tweet": "text", "Polarity": "label"})
    elif name == "arsas":
        frame = pd.read_csv(
            data / "arsas" / "train.tsv", sep="\t", header=None, names=["text", "label"], dtype=str, quoting=3
        )
    else:
        raise SystemExit(f"unknown set {name}: use arsarcasm, marsa, arsas")
    frame["text"] = frame["text"].astype(str).str.strip().str.strip('"').str.strip()
    frame["label"] = frame["label"].astype(str).str.strip().map(MAPS[name])
    frame["source"] = name
    return frame.dropna(subset=["label"])[["text", "label", "source"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", default="arsarcasm,marsa,arsas")
    parser.add_argument("--out", default="runs/data/sentiment")
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    data = Path(args.data)
    arsarcasm = load("arsarcasm", data)
    train_a, dev = train_test_split(arsarcasm, test_size=0.1, stratify=arsarcasm["label"], random_state=13)
    parts = [train_a] + [load(n, data) for n in args.mix.split(",") if n != "arsarcasm"]
    if "arsarcasm" not in args.mix.split(","):
        parts = parts[1:]
    train = pd.concat(parts, ignore_index=True)
    dev = dev.assign(key=dev["text"].map(dedup_key)).drop_duplicates("key")
    train = train.assign(key=train["text"].map(dedup_key))
    before = len(train)
    train = train[(train["key"] != "") & ~train["key"].isin(set(dev["key"]))].drop_duplicates("key")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train.drop(columns="key").to_csv(out / "train.tsv", sep="\t", index=False)
    dev.drop(columns="key").to_csv(out / "dev.tsv", sep="\t", index=False)
    print(f"train {len(train)} rows ({before - len(train)} duplicates or dev overlaps removed), dev {len(dev)}")
    print(train.groupby(["source", "label"]).size().unstack(fill_value=0).to_string())
    print("dev:", dev["label"].value_counts().to_dict())


if __name__ == "__main__":
    main()
