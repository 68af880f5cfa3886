"""training/prepare_sentiment.py: mixtures of the base and extra sets, dev splits kept out of training."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "training" / "prepare_sentiment.py"


def _module():
    spec = importlib.util.spec_from_file_location("prepare_sentiment", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["prepare_sentiment"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


WORDS = ["جميل", "رائع", "سيء", "حزين", "خبر", "اليوم", "الفريق", "المباراة", "الحكومة", "القرار", "الناس", "كثير"]


def _texts(prefix: str, n: int) -> list[str]:
    return [f"{prefix} {WORDS[i % len(WORDS)]} {WORDS[(i * 7 + 3) % len(WORDS)]} رقم{i}" for i in range(n)]


@pytest.fixture()
def data(tmp_path):
    """A miniature of ../shared/data/sentiment with the same files and columns."""
    root = tmp_path / "sentiment"
    for folder in ("arsarcasm-v2", "marsa-political", "arsas", "extra/mawqif", "extra/ajgt"):
        (root / folder).mkdir(parents=True)
    labels = ["POS", "NEG", "NEU"]
    pd.DataFrame(
        {
            "tweet": _texts("تغريدة", 90),
            "sarcasm": "False",
            "sentiment": [labels[i % 3] for i in range(90)],
            "dialect": "msa",
        }
    ).to_csv(root / "arsarcasm-v2" / "train.csv", index=False)
    marsa = ["pos", "neg", "neut"]
    pd.DataFrame({"Tweet": _texts("سياسة", 40), "Polarity": [marsa[i % 3] for i in range(40)]}).to_csv(
        root / "marsa-political" / "train.csv", index=False
    )
    pd.DataFrame({"Tweet": _texts("نقاش", 12), "Polarity": [marsa[i % 3] for i in range(12)]}).to_csv(
        root / "marsa-political" / "dev.csv", index=False
    )
    arsas = ["Positive", "Negative", "Neutral", "Mixed"]
    rows = [f"{t}\t{arsas[i % 4]}" for i, t in enumerate(_texts("حدث", 80))]
    (root / "arsas" / "train.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    mawqif_texts = _texts("لقاح", 30)
    mawqif = pd.DataFrame({"text": mawqif_texts, "label": ["positive", "negative", "neutral"] * 10})
    mawqif["source"] = "mawqif:train"
    mawqif.to_csv(root / "extra" / "mawqif" / "data.csv", index=False)
    dev_copy = "نقاش " + " ".join(_texts("نقاش", 12)[0].split()[1:])  # MARSA dev text, other punctuation
    ajgt = pd.DataFrame(
        {
            "text": [mawqif_texts[0], mawqif_texts[1] + "!!", dev_copy + ".", "نص جديد تماما هنا"],
            "label": ["positive", "positive", "negative", "negative"],  # 2nd: mawqif says negative: conflict
            "source": "ajgt:all",
        }
    )
    ajgt.to_csv(root / "extra" / "ajgt" / "data.csv", index=False)
    return root


def test_mixture_keeps_dev_out_and_resolves_duplicates(data):
    prep = _module()
    train, devs, removed = prep.build(data, ["arsarcasm", "marsa", "arsas"], ["mawqif", "ajgt"])
    assert set(devs) == {"dev", "dev_marsa", "dev_arsas"}
    keys = {name: set(d["text"].map(prep.dedup_key)) for name, d in devs.items()}
    train_keys = set(train["text"].map(prep.dedup_key))
    assert all(not (train_keys & k) for k in keys.values())
    assert len(devs["dev"]) == 9 and len(devs["dev_marsa"]) == 12  # 10 % of ArSarcasm-v2; MARSA's own dev file
    assert "Mixed" not in set(train["label"]) and set(train["label"]) == {"positive", "negative", "neutral"}
    assert removed["dev overlap"] >= 1 and removed["conflicting labels"] == 2 and removed["duplicates"] >= 1
    ajgt = train[train["source"] == "ajgt"]["text"].tolist()
    assert ajgt == ["نص جديد تماما هنا"]  # the copy of a mawqif row stays mawqif's; the conflict is gone
    assert not train["text"].map(prep.dedup_key).duplicated().any()


def test_caps_and_selection(data):
    prep = _module()
    train, _, _ = prep.build(data, ["arsarcasm"], ["mawqif"], cap=9)
    counts = train[train["source"] == "mawqif"]["label"].value_counts()
    assert counts.sum() == 9 and set(counts) == {3}  # stratified
    assert prep.select_extra("ajgt,mawqif,ajgt") == ["ajgt", "mawqif"]
    tweets = prep.select_extra("domain:tweets")
    assert "mawqif" in tweets and "omcca-reviews" not in tweets
    assert set(prep.select_extra("dialect:maghrebi")) >= {"afrisenti-arq", "tsac-tunisian"}
    assert all(prep.EXTRA[n].classes == 3 for n in prep.select_extra("classes:3"))
    assert len(prep.select_extra("all")) == 22
    for bad, message in (("nope", "unknown set"), ("domain:poems", "known: comments"), ("colour:red", "select by")):
        with pytest.raises(SystemExit, match=message):
            prep.select_extra(bad)


def test_script_writes_train_and_three_dev_files(data, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--data",
            str(data),
            "--extra",
            "mawqif",
            "--cap-set",
            "mawqif=6",
            "--out",
            str(out),
            "--heldout",
            "mawqif",
            "--heldout-rows",
            "9",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    files = ["dev.tsv", "dev_arsas.tsv", "dev_marsa.tsv", "heldout.tsv", "train.tsv"]
    assert sorted(p.name for p in out.iterdir()) == files
    train = pd.read_csv(out / "train.tsv", sep="\t")
    assert list(train.columns) == ["text", "label", "source"] and (train["source"] == "mawqif").sum() == 6
    heldout = pd.read_csv(out / "heldout.tsv", sep="\t")
    assert len(heldout) == 9 and set(heldout["source"]) == {"mawqif"}
    assert not set(heldout["text"]) & set(train["text"])  # rows the cap left out, never trained on
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(data), "--mix", "imdb"], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "unknown" in bad.stderr and "Traceback" not in bad.stderr
