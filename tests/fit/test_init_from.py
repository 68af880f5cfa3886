"""Two-stage training: ``--init-from`` starts a run from a trained model folder's weights."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli, toy_rows, train_tiny, write_tsv

from stance.errors import StanceError

TEXTS = ["موسكو تهدد عقوبات واشنطن", "طهران ترحب بالحوار الرياض", "جلسة يوم الاثنين القاهرة"]


def _probs(folder):
    from stance import Classifier

    return Classifier.load(folder).predict_proba(TEXTS)


@pytest.mark.parametrize("kind", ["lora", "full"])
def test_a_run_starts_from_the_given_weights(kind, tiny_base, toy_files, tiny_model, tiny_lora_model, tmp_path):
    start = tiny_lora_model if kind == "lora" else tiny_model
    lora = dict(lora=True, lora_r=4, lora_alpha=8) if kind == "lora" else {}
    # learning rate 0: the second stage must end exactly where the first one did
    train_tiny(tiny_base, toy_files, tmp_path / "same", init_from=str(start), learning_rate=0.0, epochs=1, **lora)
    np.testing.assert_allclose(_probs(tmp_path / "same"), _probs(start), atol=1e-5)
    train_tiny(tiny_base, toy_files, tmp_path / "fresh", learning_rate=0.0, epochs=1, **lora)
    assert not np.allclose(_probs(tmp_path / "fresh"), _probs(start), atol=1e-3)


def test_mismatched_starting_points_are_refused(tiny_base, toy_files, tiny_model, tiny_lora_model, tmp_path):
    with pytest.raises(StanceError, match="--no-lora"):
        train_tiny(tiny_base, toy_files, tmp_path / "a", init_from=str(tiny_model), lora=True, lora_r=4, epochs=1)
    with pytest.raises(StanceError, match="LoRA rank"):
        train_tiny(tiny_base, toy_files, tmp_path / "b", init_from=str(tiny_lora_model), lora=True, lora_r=8, epochs=1)
    two = [r for r in toy_rows(12, seed=9) if r["label"] != "neutral"]
    dev = [r for r in toy_rows(4, seed=10) if r["label"] != "neutral" and r["text"] not in {t["text"] for t in two}]
    files = {"train": write_tsv(tmp_path / "two.tsv", two), "dev": write_tsv(tmp_path / "dev2.tsv", dev)}
    result = run_cli(
        "train", "--train", str(files["train"]), "--dev", str(files["dev"]), "--output", str(tmp_path / "c"),
        "--base-model", str(tiny_base), "--no-lora", "--init-from", str(tiny_model), "--no-progress",
    )  # fmt: skip
    assert result.returncode != 0 and "labels" in result.stderr and "Traceback" not in result.stderr
