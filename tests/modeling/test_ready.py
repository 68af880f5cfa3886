"""The merged-weights cache, the plain-PyTorch BERT it loads into, quiet loading and the scikit-learn-free n-grams."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, toy_rows

from stance.inference.classifier import Classifier
from stance.modeling.compact_bert import CompactBertClassifier
from stance.modeling.lexical import LexicalModel
from stance.modeling.quiet import quiet_libraries
from stance.modeling.ready import FastTokenizer, entries, entry_path, load_ready
from stance.modeling.shipped import models_dir

TEXTS = [r["text"] for r in toy_rows(6, seed=3)] + ["", "موسكو", "كلمة غير معروفة " * 40]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("STANCE_CACHE", str(root))
    return root


@pytest.mark.parametrize("fixture", ["tiny_lora_model", "tiny_model"])
def test_cached_model_gives_the_same_probabilities(fixture, request, cache):
    folder = request.getfixturevalue(fixture)
    reference = Classifier.load(folder, precision="fp32", cache=False)
    first = Classifier.load(folder, precision="fp32")  # builds the entry
    assert len(entries()) == 1 and entry_path(folder).is_dir()
    second = Classifier.load(folder, precision="fp32")  # reads it
    assert isinstance(second.engine.model, CompactBertClassifier)
    assert isinstance(second.engine.tokenizer, FastTokenizer)
    want = reference.predict_proba(TEXTS)
    np.testing.assert_allclose(first.predict_proba(TEXTS), want, atol=1e-5)
    np.testing.assert_allclose(second.predict_proba(TEXTS), want, atol=1e-5)
    prepared = reference.prepare(TEXTS)
    assert second.engine.encode(prepared) == reference.engine.encode(prepared)
    assert second.engine.pad_id == reference.engine.pad_id


def test_cache_entry_is_replaced_when_a_model_file_changes(tiny_lora_model, tmp_path, cache):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "model"
    shutil.copytree(tiny_lora_model, folder)
    before = Classifier.load(folder, precision="fp32").predict_proba(TEXTS)
    old_entry = entry_path(folder)
    assert old_entry.is_dir()
    # retrain-like change: new adapter weights
    weights = load_file(str(folder / "adapter_model.safetensors"))
    for name in weights:
        if "lora_B" in name:
            weights[name] = weights[name] + 0.05
    save_file(weights, str(folder / "adapter_model.safetensors"))
    new_entry = entry_path(folder)
    assert new_entry != old_entry
    after = Classifier.load(folder, precision="fp32")
    assert not old_entry.exists() and new_entry.is_dir()
    assert [Path(e["path"]) for e in entries()] == [new_entry]
    want = Classifier.load(folder, precision="fp32", cache=False).predict_proba(TEXTS)
    np.testing.assert_allclose(after.predict_proba(TEXTS), want, atol=1e-5)
    assert np.abs(want - before).max() > 1e-3  # the change mattered, and the cache did not hide it
    # records about the model (dev figures, precision guard) and the lexical half do not invalidate it
    (folder / "metrics.json").write_text(json.dumps({"macro_f1": 0.5}))
    assert entry_path(folder) == new_entry


def test_unwritable_cache_falls_back_with_one_warning(tiny_model, tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("STANCE_CACHE", str(blocker))
    with caplog.at_level(logging.WARNING, logger="stance"):
        model, tokenizer, spec = load_ready(tiny_model)
    assert spec.labels == ["conciliatory", "hostile", "neutral"]
    warnings_seen = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings_seen) == 1 and "cannot write the merged-weights cache" in warnings_seen[0].getMessage()


def test_compact_bert_runs_int8_and_keeps_the_labels(tiny_model, cache):
    Classifier.load(tiny_model)
    fp32 = Classifier.load(tiny_model, precision="fp32")
    int8 = Classifier.load(tiny_model, precision="int8")
    assert isinstance(int8.engine.model, CompactBertClassifier)
    assert any(type(m).__name__ == "Linear" and "quantized" in type(m).__module__ for m in int8.engine.model.modules())
    a, b = fp32.predict_proba(TEXTS), int8.predict_proba(TEXTS)
    assert np.abs(a - b).max() < 0.1 and (a.argmax(1) == b.argmax(1)).mean() >= 0.8


def test_compact_bert_gradients_reach_the_word_embeddings(tiny_model, cache):
    """Attribution methods (Integrated Gradients) hook the input embeddings: they must be in the graph."""
    Classifier.load(tiny_model)
    clf = Classifier.load(tiny_model, precision="fp32")
    model = clf.engine.model
    captured = {}
    handle = model.get_input_embeddings().register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    ids = torch.tensor(clf.engine.encode(clf.prepare(TEXTS[:1])))
    with torch.enable_grad():
        captured.clear()
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        captured["out"].retain_grad()
        out[0, 0].backward()
    handle.remove()
    assert captured["out"].grad is not None and captured["out"].grad.abs().sum() > 0


def test_quiet_libraries_relays_library_logs_and_warnings_to_debug(caplog):
    transformers_logger = logging.getLogger("transformers.modeling_utils")
    with caplog.at_level(logging.DEBUG, logger="stance"):
        with quiet_libraries():
            transformers_logger.warning("LOAD REPORT: MISSING weights")
            warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
    relayed = [r for r in caplog.records if r.name == "stance.library"]
    assert all(r.levelno == logging.DEBUG for r in relayed)
    text = "\n".join(r.getMessage() for r in relayed)
    assert "transformers.modeling_utils: LOAD REPORT" in text and "FutureWarning" in text
    assert not [r for r in caplog.records if r.name.startswith("transformers")]  # none escaped as they were


@pytest.mark.skipif(not (models_dir() / "stance" / "lexical").is_dir(), reason="shipped stance model absent")
def test_lexical_features_without_scikit_learn_match_it():
    from stance.modeling.folder import ModelSpec

    folder = models_dir() / "stance"
    model = LexicalModel.load(folder)
    texts = list(TEXTS) + ["The Minister WELCOMED talks", "موسكو  مستعدة\tلحوار", "ب", "😀", "١٢٣ 456", "İstanbul ǅ"]
    dev = SHARED_DATA / "stance" / "dev.tsv"
    if dev.exists():
        with dev.open(encoding="utf-8") as fh:
            texts += [row["text"] for _, row in zip(range(60), csv.DictReader(fh, delimiter="\t"))]
    texts = ModelSpec.load(folder).normalize(texts)
    from scipy.sparse import hstack

    fast = model.ngrams.scores(texts, model.coef)
    features = hstack([model.char.transform(texts), model.word.transform(texts)]).tocsr()
    np.testing.assert_allclose(fast, features @ model.coef.T, atol=1e-5)
    assert np.abs(fast).max() > 0.1  # real features were found
