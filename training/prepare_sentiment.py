"""Build sentiment training mixtures and dev splits from the shared public sets.

Base sets: ArSarcasm-v2 (``arsarcasm``), MARSA-Political (``marsa``), ArSAS
(``arsas``). Labels are mapped to ``positive / negative / neutral`` (ArSAS
``Mixed`` is dropped). The 22 gold sets under ``sentiment/extra/`` (already in
that label set, see ``extra/SOURCES.md``) are chosen with ``--extra``: by name
(``mawqif``), by domain (``domain:tweets``, ``domain:comments``,
``domain:reviews``, ``domain:other``), by dialect (``dialect:maghrebi``,
``dialect:gulf``, ``dialect:levantine``, ...), by label scheme
(``classes:3``: only sets that label neutral), or ``all``.

Dev splits (written next to ``train.tsv``, never trained on):
``dev.tsv`` is a stratified 10 % of ArSarcasm-v2 train (seed 13; its official
test split is held elsewhere), ``dev_marsa.tsv`` is MARSA-Political's own dev
file, ``dev_arsas.tsv`` a stratified 10 % of ArSAS (seed 13). Texts are
deduplicated on a normalised key (letters folded as MARSA is pre-normalised;
URLs, mentions, diacritics, punctuation and spaces removed): a text whose key
is in any dev split leaves the training data, and so does one whose first
eight normalised words are those of a dev text; duplicates across the
training sets keep the first copy (base sets first, then ``--extra`` in
order) and a text that two sets label differently is dropped everywhere.

``--cap N`` keeps at most N rows of each extra set (stratified sample, seed
13), ``--cap-set name=N`` per set. ``--heldout a,b`` also writes
``heldout.tsv``: ``--heldout-rows`` stratified rows of each named extra set
that are in neither the training mixture nor a dev split (with a cap, the rows
the cap left out), to measure on data from other sets. The ``source`` column names each row's set
(train with ``--source-column source`` to prepend it as a tag).

    python training/prepare_sentiment.py --out runs/data/sent-a
    python training/prepare_sentiment.py --extra domain:tweets --cap 4000 --out runs/data/sent-b
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from stance.text.normalize import NormalizationConfig, Normalizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"
BASE_SETS = ("arsarcasm", "marsa", "arsas")
MAPS = {
    "arsarcasm": {"POS": "positive", "NEG": "negative", "NEU": "neutral"},
    "marsa": {"pos": "positive", "neg": "negative", "neut": "neutral"},
    "arsas": {"Positive": "positive", "Negative": "negative", "Neutral": "neutral"},
}
SEED = 13


@dataclass(frozen=True)
class ExtraSet:
    """One folder of ``sentiment/extra/``: where its texts come from (from ``extra/SOURCES.md``)."""

    domain: str  # tweets | comments | reviews | other
    dialect: str  # gulf | levantine | egyptian | iraqi | sudanese | maghrebi | msa | mixed
    classes: int  # 3 when the set labels neutral, 2 when it is positive/negative only


EXTRA: dict[str, ExtraSet] = {
    "astd": ExtraSet("tweets", "egyptian", 3),
    "semeval2017-ar": ExtraSet("tweets", "mixed", 3),
    "arsentd-lev": ExtraSet("tweets", "levantine", 3),
    "marsa-other-domains": ExtraSet("tweets", "gulf", 3),
    "mawqif": ExtraSet("tweets", "gulf", 3),
    "mac-moroccan": ExtraSet("tweets", "maghrebi", 3),
    "afrisenti-arq": ExtraSet("tweets", "maghrebi", 3),
    "afrisenti-ary": ExtraSet("tweets", "maghrebi", 3),
    "sudsenti": ExtraSet("tweets", "sudanese", 3),
    "at-odtsa": ExtraSet("tweets", "mixed", 3),
    "arsen-covid": ExtraSet("tweets", "mixed", 3),
    "ia2d-iraqi": ExtraSet("tweets", "iraqi", 3),
    "ajgt": ExtraSet("tweets", "levantine", 2),
    "ami-mental-health": ExtraSet("tweets", "gulf", 2),
    "astc-manual-sample": ExtraSet("tweets", "gulf", 2),
    "fassila-algerian": ExtraSet("comments", "maghrebi", 3),
    "tsac-tunisian": ExtraSet("comments", "maghrebi", 2),
    "myc-moroccan": ExtraSet("comments", "maghrebi", 2),
    "masc-reviews": ExtraSet("reviews", "mixed", 2),
    "elsahar-reviews": ExtraSet("reviews", "mixed", 2),
    "omcca-reviews": ExtraSet("reviews", "mixed", 2),
    "maaks-sentiment-swap": ExtraSet("other", "msa", 2),
}

_KEY = Normalizer(
    NormalizationConfig(
        normalize_alef=True, normalize_ya=True, normalize_ta_marbuta=True, url_token="", mention_token=""
    )
)


def dedup_key(text: str) -> str:
    """The text with letters folded and everything but letters and digits removed."""
    return re.sub(r"[\W_]+", "", _KEY(text))


def prefix_key(text: str, words: int = 8) -> str:
    """The first ``words`` normalised words (empty for texts shorter than that: they match by full key only)."""
    tokens = [re.sub(r"[\W_]+", "", w) for w in _KEY(text).split()]
    tokens = [t for t in tokens if t]
    return " ".join(tokens[:words]) if len(tokens) >= words else ""


def select_extra(spec: str) -> list[str]:
    """Names of the extra sets a ``--extra`` value selects, in table order, each once."""
    chosen: list[str] = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part == "all":
            names = list(EXTRA)
        elif ":" in part:
            field, value = part.split(":", 1)
            if field not in ("domain", "dialect", "classes"):
                raise SystemExit(f"--extra {part}: select by name, domain:, dialect:, classes: or all")
            names = [n for n, s in EXTRA.items() if str(getattr(s, field)) == value]
            if not names:
                values = sorted({str(getattr(s, field)) for s in EXTRA.values()})
                raise SystemExit(f"--extra {part}: no set has {field} {value!r}; known: {', '.join(values)}")
        elif part in EXTRA:
            names = [part]
        else:
            raise SystemExit(f"--extra {part}: unknown set; known: {', '.join(EXTRA)}")
        chosen += [n for n in names if n not in chosen]
    return chosen


def _clean(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["text"] = frame["text"].astype(str).str.strip().str.strip('"').str.strip()
    frame["source"] = name
    return frame.dropna(subset=["label"])[["text", "label", "source"]]


def load(name: str, data: Path) -> pd.DataFrame:
    """One base or extra set as ``text, label, source`` (base sets: training files only)."""
    if name == "arsarcasm":
        frame = pd.read_csv(data / "arsarcasm-v2" / "train.csv", dtype=str)
        frame = frame.rename(columns={"tweet": "text", "sentiment": "label"})
    elif name == "marsa":
        frame = pd.read_csv(data / "marsa-political" / "train.csv", dtype=str)
        frame = frame.rename(columns={"Tweet": "text", "Polarity": "label"})
    elif name == "marsa-dev":
        frame = pd.read_csv(data / "marsa-political" / "dev.csv", dtype=str)
        frame = frame.rename(columns={"Tweet": "text", "Polarity": "label"})
        name = "marsa"
    elif name == "arsas":
        frame = pd.read_csv(
            data / "arsas" / "train.tsv", sep="\t", header=None, names=["text", "label"], dtype=str, quoting=3
        )
    elif name in EXTRA:
        frame = pd.read_csv(data / "extra" / name / "data.csv", dtype=str, keep_default_na=False)
        frame = frame[frame["label"].isin(["positive", "negative", "neutral"])]
        return _clean(frame, name)
    else:
        raise SystemExit(f"unknown set {name}: use {', '.join(BASE_SETS)} or an extra set")
    frame["label"] = frame["label"].astype(str).str.strip().map(MAPS[name])
    return _clean(frame, name)


def cap_rows(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most ``limit`` rows, sampled stratified by label (seeded)."""
    if limit <= 0 or len(frame) <= limit:
        return frame
    kept, _ = train_test_split(frame, train_size=limit, stratify=frame["label"], random_state=SEED)
    return kept


def _with_keys(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(key=frame["text"].map(dedup_key), prefix=frame["text"].map(prefix_key))


def build(
    data: Path,
    mix: list[str],
    extra: list[str],
    cap: int = 0,
    caps: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, int]]:
    """The training mixture, the dev splits and what deduplication removed (counts by reason)."""
    caps = caps or {}
    arsarcasm = _with_keys(load("arsarcasm", data)).drop_duplicates("key")
    train_a, dev_a = train_test_split(arsarcasm, test_size=0.1, stratify=arsarcasm["label"], random_state=SEED)
    arsas = _with_keys(load("arsas", data)).drop_duplicates("key")
    train_s, dev_s = train_test_split(arsas, test_size=0.1, stratify=arsas["label"], random_state=SEED)
    dev_m = _with_keys(load("marsa-dev", data)).drop_duplicates("key")
    devs = {"dev": dev_a, "dev_marsa": dev_m, "dev_arsas": dev_s}
    # a text in two dev splits stays in the first only (ArSarcasm-v2's, then MARSA's)
    seen: set[str] = set()
    for name, dev in devs.items():
        devs[name] = dev[~dev["key"].isin(seen)]
        seen |= set(devs[name]["key"])
    dev_keys = set().union(*(set(d["key"]) for d in devs.values()))
    dev_prefixes = set().union(*(set(d["prefix"]) for d in devs.values())) - {""}

    parts = {"arsarcasm": train_a, "arsas": train_s}
    ordered = [n for n in mix if n in BASE_SETS]
    frames = [parts[n] if n in parts else _with_keys(load(n, data)) for n in ordered]
    for name in extra:
        frame = _with_keys(load(name, data))
        frames.append(cap_rows(frame, caps.get(name, cap)))
    train = pd.concat(frames, ignore_index=True)
    removed = {"empty": int((train["key"] == "").sum())}
    train = train[train["key"] != ""]
    in_dev = train["key"].isin(dev_keys) | train["prefix"].isin(dev_prefixes)
    removed["dev overlap"] = int(in_dev.sum())
    train = train[~in_dev]
    conflicting = train.groupby("key")["label"].nunique()
    conflicting = set(conflicting[conflicting > 1].index)
    removed["conflicting labels"] = int(train["key"].isin(conflicting).sum())
    train = train[~train["key"].isin(conflicting)]
    before = len(train)
    train = train.drop_duplicates("key")
    removed["duplicates"] = before - len(train)
    strip = ["key", "prefix"]
    return train.drop(columns=strip), {n: d.drop(columns=strip) for n, d in devs.items()}, removed


def held_out_rows(
    data: Path, names: list[str], train: pd.DataFrame, devs: dict[str, pd.DataFrame], rows: int
) -> pd.DataFrame:
    """``rows`` stratified rows of each named extra set whose text is in neither ``train`` nor a dev split."""
    taken = set(train["text"].map(dedup_key)).union(*(set(d["text"].map(dedup_key)) for d in devs.values()))
    parts = []
    for name in names:
        frame = load(name, data)
        frame = frame[~frame["text"].map(dedup_key).isin(taken)].drop_duplicates("text")
        parts.append(cap_rows(frame, rows))
    return pd.concat(parts, ignore_index=True)


def _parse_caps(values: list[str]) -> dict[str, int]:
    caps = {}
    for value in values:
        name, _, number = value.partition("=")
        if name not in EXTRA or not number.isdigit():
            raise SystemExit(f"--cap-set {value}: expected NAME=ROWS with NAME one of the extra sets")
        caps[name] = int(number)
    return caps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", default="arsarcasm,marsa,arsas", help="base sets, comma-separated")
    parser.add_argument("--extra", default="", help="extra sets: names, domain:X, dialect:X, classes:N or all")
    parser.add_argument("--cap", type=int, default=0, help="at most this many rows of each extra set (0: all)")
    parser.add_argument("--cap-set", nargs="*", default=[], metavar="NAME=ROWS", help="a cap for one extra set")
    parser.add_argument("--heldout", default="", help="extra sets to draw heldout.tsv from (rows not trained on)")
    parser.add_argument("--heldout-rows", type=int, default=500, help="rows of each --heldout set")
    parser.add_argument("--out", default="runs/data/sentiment")
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    mix = [n.strip() for n in args.mix.split(",") if n.strip()]
    unknown = [n for n in mix if n not in BASE_SETS]
    if unknown:
        raise SystemExit(f"--mix {','.join(unknown)}: unknown; base sets are {', '.join(BASE_SETS)}")
    train, devs, removed = build(Path(args.data), mix, select_extra(args.extra), args.cap, _parse_caps(args.cap_set))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train.to_csv(out / "train.tsv", sep="\t", index=False)
    for name, dev in devs.items():
        dev.to_csv(out / f"{name}.tsv", sep="\t", index=False)
    if args.heldout:
        heldout = held_out_rows(Path(args.data), select_extra(args.heldout), train, devs, args.heldout_rows)
        heldout.to_csv(out / "heldout.tsv", sep="\t", index=False)
        print(f"heldout: {len(heldout)} rows", heldout["source"].value_counts().to_dict())
    print(f"train {len(train)} rows; removed: " + ", ".join(f"{k} {v}" for k, v in removed.items()))
    print(train.groupby(["source", "label"]).size().unstack(fill_value=0).to_string())
    for name, dev in devs.items():
        print(f"{name}: {len(dev)} rows", dev["label"].value_counts().to_dict())


if __name__ == "__main__":
    main()
