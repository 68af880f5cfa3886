"""Source-tagged training: each row trained as ``[source] text``, the model's own convention applied at inference."""

from __future__ import annotations

import json

from conftest import make_tiny_base, run_cli, toy_rows, train_tiny, write_tsv

SWAP = {"conciliatory": "hostile", "hostile": "conciliatory", "neutral": "neutral"}


def _mixture(tmp_path):
    """Source ``a`` labels the toy statements as they are; source ``b`` swaps conciliatory and hostile."""
    first = [{**r, "source": "a"} for r in toy_rows(24, seed=1)]
    second = [{**r, "source": "b", "label": SWAP[r["label"]]} for r in toy_rows(24, seed=5)]
    taken = {r["text"] for r in first}
    second = [r for r in second if r["text"] not in taken]
    dev_a = [r for r in toy_rows(8, seed=2) if r["text"] not in taken | {s["text"] for s in second}]
    dev_b = [{**r, "label": SWAP[r["label"]]} for r in dev_a]
    return (
        {
            "train": write_tsv(tmp_path / "train.tsv", first + second),
            "dev": write_tsv(tmp_path / "dev_a.tsv", dev_a),
            "dev_b": write_tsv(tmp_path / "dev_b.tsv", dev_b),
        },
        dev_a,
    )


def test_tags_keep_two_labelling_conventions_apart(tmp_path):
    from stance import Classifier

    base = make_tiny_base(tmp_path / "base", extra_words=("[a]", "[b]"))
    files, dev_a = _mixture(tmp_path)
    settings = dict(task="stance", epochs=16, dev_sets={"b": str(files["dev_b"])}, select_on="dev")
    tagged = train_tiny(base, files, tmp_path / "tagged", source_column="source", source_tag="a", **settings)
    plain = train_tiny(base, files, tmp_path / "plain", **settings)
    assert tagged["dev_sets"]["dev"]["macro_f1"] >= 0.85
    clf = Classifier.load(tmp_path / "tagged")
    assert clf.spec.source_tag == "a"
    assert clf.prepare(["موسكو تهدد"]) == ["[a] موسكو تهدد"]
    predicted = [p["label"] for p in clf.predict([r["text"] for r in dev_a])]
    accuracy_a = sum(p == r["label"] for p, r in zip(predicted, dev_a)) / len(dev_a)
    # the same weights read with b's tag follow b's convention: the tag, not the text, decides
    clf.spec.source_tag = "b"
    swapped = [p["label"] for p in clf.predict([r["text"] for r in dev_a])]
    accuracy_b = sum(p == SWAP[r["label"]] for p, r in zip(swapped, dev_a)) / len(dev_a)
    assert min(accuracy_a, accuracy_b) >= 0.85
    # without tags one model answers one way per text, so it follows at most one convention on the
    # conciliatory and hostile rows (which of the two, and how far, is chance: it is chosen on a's dev set)
    plain_a, plain_b = (plain["dev_sets"][name]["accuracy"] for name in ("dev", "b"))
    assert min(plain_a, plain_b) <= min(accuracy_a, accuracy_b) - 0.15
    card = (tmp_path / "tagged" / "README.md").read_text()
    assert "`a` convention" in card and "column `source`" in card


def test_source_column_without_tag_is_one_clear_line(tmp_path, tiny_base):
    files, _ = _mixture(tmp_path)
    result = run_cli(
        "train", "--train", str(files["train"]), "--dev", str(files["dev"]), "--output", str(tmp_path / "m"),
        "--base-model", str(tiny_base), "--source-column", "source", "--no-progress",
    )  # fmt: skip
    assert result.returncode != 0
    assert "--source-column needs --source-tag" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_records_the_tag_and_a_missing_column_is_named(tmp_path, tiny_base):
    files, _ = _mixture(tmp_path)
    out = tmp_path / "m"
    common = ["train", "--dev", str(files["dev"]), "--base-model", str(tiny_base), "--no-lora", "--epochs", "1"]
    common += ["--max-length", "16", "--no-progress", "--source-tag", "a"]
    result = run_cli(*common, "--train", str(files["train"]), "--output", str(out), "--source-column", "source")
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "stance_config.json").read_text())["source_tag"] == "a"
    missing = run_cli(*common, "--train", str(files["train"]), "--output", str(out), "--source-column", "dataset")
    assert missing.returncode != 0 and "dataset" in missing.stderr and "Traceback" not in missing.stderr
