"""Training on several files, reporting several named dev sets, choosing the checkpoint on one of them."""

from __future__ import annotations

import json

import numpy as np
from conftest import run_cli, toy_rows, train_tiny, write_tsv


def _files(tmp_path):
    dev = toy_rows(8, seed=2)
    outlets = [r for r in toy_rows(6, seed=4) if r["text"] not in {d["text"] for d in dev}]
    taken = {r["text"] for r in dev + outlets}
    first = [r for r in toy_rows(16, seed=1) if r["text"] not in taken]
    second = [r for r in toy_rows(10, seed=3) if r["text"] not in taken]
    return (
        {
            "a": write_tsv(tmp_path / "a.tsv", first),
            "b": write_tsv(tmp_path / "b.tsv", second),
            "dev": write_tsv(tmp_path / "dev.tsv", dev),
            "outlets": write_tsv(tmp_path / "outlets.tsv", outlets),
        },
        len(first) + len(second),
        len(outlets),
        len(dev),
    )


def test_cli_trains_on_two_files_and_reports_every_dev_set(tmp_path, tiny_base):
    files, n_train, n_outlets, n_dev = _files(tmp_path)
    out = tmp_path / "model"
    result = run_cli(
        "-q", "train", "--train", str(files["a"]), str(files["b"]),
        "--dev", f"outlets={files['outlets']}", f"dev={files['dev']}", "--select-on", "outlets",
        "--output", str(out), "--base-model", str(tiny_base), "--no-lora", "--epochs", "3", "--batch-size", "8",
        "--learning-rate", "3e-3", "--max-length", "32", "--eval-steps", "5", "--patience", "0", "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["selected_on"] == "outlets"
    assert metrics["train_rows"] == n_train
    assert {name: part["n"] for name, part in metrics["dev_sets"].items()} == {"outlets": n_outlets, "dev": n_dev}
    assert metrics["n"] == n_outlets and metrics["macro_f1"] == metrics["dev_sets"]["outlets"]["macro_f1"]
    history = metrics["history"]
    assert len(history) >= 3 and all(set(h["dev_sets"]) == {"outlets", "dev"} for h in history)
    # the best checkpoint is the one with the highest macro-F1 on the selection set, not on dev
    best = max(history, key=lambda h: h["dev_sets"]["outlets"])
    assert metrics["best_step"] == best["step"]
    assert abs(metrics["macro_f1"] - best["dev_sets"]["outlets"]) < 1e-9
    card = (out / "README.md").read_text()
    assert "`outlets.tsv`" in card and "`dev.tsv`" in card and "a.tsv" in card and "b.tsv" in card
    assert "macro-F1 outlets | macro-F1 dev" in card
    assert "outlets" in result.stdout and "dev" in result.stdout


def test_unknown_selection_set_is_one_clear_line(tmp_path, tiny_base):
    files, *_ = _files(tmp_path)
    result = run_cli(
        "train", "--train", str(files["a"]), "--dev", f"outlets={files['outlets']}", "--select-on", "nope",
        "--output", str(tmp_path / "m"), "--base-model", str(tiny_base),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --select-on nope: no dev set has that name")
    assert "Traceback" not in result.stderr


def test_lexical_weight_grid_chooses_on_the_selection_set(tmp_path, tiny_base):
    from stance import Classifier

    files, *_ = _files(tmp_path)
    common = dict(dev_file=None, dev_sets={"outlets": str(files["outlets"]), "dev": str(files["dev"])})
    files_a = {"train": files["a"], "dev": files["dev"]}
    # a grid holding only 0: the model keeps no lexical half
    zero = tmp_path / "zero"
    report = train_tiny(tiny_base, files_a, zero, epochs=2, lexical={"weight_grid": [0.0], "min_df": 1}, **common)
    assert report["parts"]["lexical_weight"] == 0.0
    assert not (zero / "lexical").exists()
    assert Classifier.load(zero).lexical is None
    # a grid of 0 and 1: the winner is the weight with the higher macro-F1 on `outlets`, recorded and used
    both = tmp_path / "both"
    report = train_tiny(tiny_base, files_a, both, epochs=2, lexical={"weight_grid": [0.0, 1.0], "min_df": 1}, **common)
    grid = report["parts"]["lexical_weight_grid"]
    expected = max([0.0, 1.0], key=lambda w: (grid[f"{w:g}"]["outlets"], -w))
    assert report["parts"]["lexical_weight"] == expected
    assert set(grid["0"]) == {"outlets", "dev"}
    if expected == 1.0:
        clf = Classifier.load(both)
        texts = [r["text"] for r in toy_rows(3, seed=9)]
        normalised = clf.normalize(texts)
        assert np.allclose(clf.predict_proba(texts), clf.lexical.predict_proba(normalised), atol=1e-6)
