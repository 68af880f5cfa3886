"""Mean pooling as a fixed last encoder layer: exact enough, never trained, and still a stock BERT classifier."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import toy_rows, train_tiny

from stance.inference.classifier import Classifier
from stance.modeling.compact_bert import CompactBertClassifier
from stance.modeling.pooling import append_mean_pooling_layer, mean_pooled

TEXTS = [r["text"] for r in toy_rows(6, seed=5)] + ["موسكو", "جلسة يوم الاثنين"]


def test_the_first_token_carries_the_normalised_mean_of_the_tokens(tiny_base):
    from transformers import BertForSequenceClassification

    with torch.no_grad():
        model = BertForSequenceClassification.from_pretrained(str(tiny_base), num_labels=3).eval()
        ids = torch.randint(4, model.config.vocab_size, (3, 9), generator=torch.Generator().manual_seed(0))
        mask = torch.ones_like(ids)
        mask[1, 5:] = 0  # padding must not enter the mean
        mask[2, 2:] = 0
        hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        assert append_mean_pooling_layer(model) == 2
        pooled = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
    want = mean_pooled(hidden, mask, model.config.layer_norm_eps)
    assert model.config.num_hidden_layers == 3
    assert (pooled - want).abs().max() < 5e-3  # the first token weighs 1/SCALE
    first_token = torch.nn.functional.layer_norm(hidden[:, 0], hidden.shape[-1:])
    assert (first_token - want).abs().max() > 0.1  # it is not the first token's own vector


@pytest.fixture(scope="module")
def mean_lora_model(tiny_base, toy_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("mean-lora") / "model"
    report = train_tiny(
        tiny_base, toy_files, out, lora=True, lora_r=4, lora_alpha=8, learning_rate=9e-3, epochs=8, pooling="mean"
    )
    return out, report


def test_a_mean_pooled_lora_model_learns_and_stores_no_pooling_weights(mean_lora_model):
    from safetensors.numpy import load_file

    folder, report = mean_lora_model
    assert report["macro_f1"] >= 0.9, report["macro_f1"]
    assert json.loads((folder / "stance_config.json").read_text())["pooling"] == "mean"
    assert "mean of its token vectors" in (folder / "README.md").read_text()  # the card says how it reads e5
    names = list(load_file(str(folder / "adapter_model.safetensors")))
    assert any(".layer.1." in n and "lora_" in n for n in names)  # the base's layers are adapted
    assert not any(".layer.2." in n for n in names)  # the fixed pooling layer is rebuilt, not stored


def test_a_mean_pooled_model_exports_to_a_plain_pipeline_and_the_fast_cache(mean_lora_model, tmp_path, monkeypatch):
    from transformers import pipeline

    from stance.modeling.folder import export_merged

    folder, _ = mean_lora_model
    monkeypatch.setenv("STANCE_CACHE", str(tmp_path / "cache"))
    reference = Classifier.load(folder, precision="fp32", cache=False)
    want = reference.predict_proba(TEXTS)
    merged = export_merged(folder, tmp_path / "merged")
    config = json.loads((merged / "config.json").read_text())
    assert config["num_hidden_layers"] == 3 and config["architectures"] == ["BertForSequenceClassification"]
    pipe = pipeline("text-classification", model=str(merged), top_k=None)
    theirs = pipe(reference.prepare(TEXTS))
    labels = reference.labels
    got = np.array([[next(d["score"] for d in row if d["label"] == lab) for lab in labels] for row in theirs])
    np.testing.assert_allclose(got, want, atol=1e-4)
    Classifier.load(folder, precision="fp32")  # writes the merged-weights cache entry
    cached = Classifier.load(folder, precision="fp32")
    assert isinstance(cached.engine.model, CompactBertClassifier)
    np.testing.assert_allclose(cached.predict_proba(TEXTS), want, atol=1e-5)


def test_full_fine_tuning_leaves_the_pooling_layer_as_built(tiny_base, toy_files, tmp_path):
    from safetensors.numpy import load_file
    from transformers import BertForSequenceClassification

    train_tiny(tiny_base, toy_files, tmp_path / "full", epochs=2, pooling="mean")
    saved = load_file(str(tmp_path / "full" / "model.safetensors"))
    fresh = BertForSequenceClassification.from_pretrained(str(tiny_base), num_labels=3)
    append_mean_pooling_layer(fresh)
    built = {n: p.detach().numpy() for n, p in fresh.named_parameters() if ".layer.2." in n}
    assert built and all(np.array_equal(saved[n], value) for n, value in built.items())
    assert any(
        not np.array_equal(saved[n], p.detach().numpy()) for n, p in fresh.named_parameters() if ".layer.1." in n
    )


def test_an_unknown_pooling_is_one_clear_error(tiny_base, toy_files, tmp_path):
    from stance.errors import StanceError

    with pytest.raises(StanceError, match="pooling 'max'.*--pooling cls or mean"):
        train_tiny(tiny_base, toy_files, tmp_path / "bad", pooling="max")


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_the_pooling_layer_survives_reduced_precision(mean_lora_model, precision, tmp_path, monkeypatch):
    """int8 quantises its SCALE·identity exactly; bf16 keeps SCALE·mean far inside its range."""
    folder, _ = mean_lora_model
    monkeypatch.setenv("STANCE_CACHE", str(tmp_path / "cache"))
    a = Classifier.load(folder, precision="fp32").predict_proba(TEXTS)
    b = Classifier.load(folder, precision=precision).predict_proba(TEXTS)
    assert np.abs(a - b).max() < 0.1 and (a.argmax(1) == b.argmax(1)).mean() >= 0.8
