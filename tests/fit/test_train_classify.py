"""Training a tiny model end to end, then loading and using what it saved."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stance import Classifier
from stance.text.normalize import NormalizationConfig


def test_full_finetune_learns_separable_toy_data(tiny_model):
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert metrics["accuracy"] == 1.0
    assert metrics["macro_f1"] == 1.0
    assert metrics["labels"] == ["conciliatory", "hostile", "neutral"]


def test_saved_folder_is_a_hugging_face_artefact(tiny_model):
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["id2label"] == {"0": "conciliatory", "1": "hostile", "2": "neutral"}
    assert config["label2id"] == {"conciliatory": 0, "hostile": 1, "neutral": 2}
    assert (tiny_model / "model.safetensors").exists()
    assert not list(tiny_model.glob("*.bin"))
    assert (tiny_model / "tokenizer.json").exists()
    card = (tiny_model / "README.md").read_text()
    assert "macro-F1" in card and "confusion" in card.lower()
    assert (tiny_model / "confusion.png").stat().st_size > 1000
    spec = json.loads((tiny_model / "stance_config.json").read_text())
    assert spec["normalization"] == NormalizationConfig().to_dict()


def test_predict_returns_label_and_scores_summing_to_one(tiny_model):
    clf = Classifier.load(tiny_model, precision="fp32")
    results = clf.predict(["موسكو ترحب بالحوار تعاون واشنطن", "طهران تهدد عقوبات هجوم بكين", "جلسة يوم الاثنين"])
    assert [r["label"] for r in results] == ["conciliatory", "hostile", "neutral"]
    for r in results:
        assert set(r["scores"]) == {"conciliatory", "hostile", "neutral"}
        assert abs(sum(r["scores"].values()) - 1) < 1e-5


def test_normalisation_is_applied_at_inference(tiny_model):
    """Diacritics and tatweel would be unknown tokens: the saved normaliser removes them."""
    clf = Classifier.load(tiny_model, precision="fp32")
    plain = clf.predict_proba(["طهران تهدد عقوبات"])
    decorated = clf.predict_proba(["طَهْرانُ تـــهدد عُقُوباتٌ\u200f"])
    np.testing.assert_allclose(plain, decorated, atol=1e-6)


def test_batched_prediction_keeps_input_order(tiny_model):
    clf = Classifier.load(tiny_model, precision="fp32")
    texts = ["جلسة", "موسكو ترحب بالحوار تعاون اتفاق شراكة واشنطن", "تهدد"] * 5
    one_by_one = np.vstack([clf.predict_proba([t]) for t in texts])
    batched = clf.predict_proba(texts, batch_size=4)
    np.testing.assert_allclose(one_by_one, batched, atol=1e-5)


def test_lora_model_is_small_and_exports_to_pipeline(tiny_lora_model, tmp_path):
    from transformers import pipeline

    from stance.modeling.folder import export_merged

    assert (tiny_lora_model / "adapter_model.safetensors").exists()
    assert not (tiny_lora_model / "model.safetensors").exists()
    clf = Classifier.load(tiny_lora_model, precision="fp32")
    texts = ["موسكو ترحب بالحوار تعاون واشنطن", "طهران تهدد عقوبات هجوم بكين", "بكين جلسة يوم الاثنين القاهرة"]
    ours = clf.predict(texts)
    merged = export_merged(tiny_lora_model, tmp_path / "merged")
    pipe = pipeline("text-classification", model=str(merged), top_k=None)
    theirs = pipe(clf.prepare(texts))
    for mine, other in zip(ours, theirs):
        best = max(other, key=lambda d: d["score"])
        assert best["label"] == mine["label"]
        assert best["score"] == pytest.approx(mine["scores"][mine["label"]], abs=1e-4)


def test_resume_after_interruption_gives_the_same_result(tiny_base, toy_files, tmp_path):
    from conftest import train_tiny

    straight = train_tiny(tiny_base, toy_files, tmp_path / "straight", epochs=3, eval_steps=9, save_steps=4)
    assert (
        train_tiny(tiny_base, toy_files, tmp_path / "interrupted", epochs=3, eval_steps=9, save_steps=4, stop_after=13)
        is None
    )
    resumed = train_tiny(
        tiny_base, toy_files, tmp_path / "interrupted", epochs=3, eval_steps=9, save_steps=4, resume=True
    )
    assert resumed["steps"] == straight["steps"]
    assert resumed["history"] == straight["history"]
    assert resumed["macro_f1"] == straight["macro_f1"]
