"""The lexical n-gram half of a model: fitting, pickle-free storage, averaging in the Classifier."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli, toy_rows, train_tiny

from stance.errors import StanceError
from stance.modeling.lexical import LexicalConfig, LexicalModel, fit_temperature
from stance.text.normalize import NormalizationConfig, Normalizer

SMALL = LexicalConfig(max_char_features=400, max_word_features=100, min_df=1)


def toy(seed: int = 1, n: int = 24) -> tuple[list[str], list[str], list[str]]:
    rows = toy_rows(n, seed=seed)
    normalize = Normalizer(NormalizationConfig())
    return [normalize(r["text"]) for r in rows], [r["label"] for r in rows], [r["doc"] for r in rows]


def test_saved_lexical_model_is_pickle_free_and_predicts_the_same(tmp_path):
    texts, labels, groups = toy()
    model = LexicalModel.fit(texts, labels, SMALL, groups=groups)
    model.save(tmp_path)
    files = sorted(p.name for p in (tmp_path / "lexical").iterdir())
    assert files == ["config.json", "vocabulary.json", "weights.safetensors"]
    loaded = LexicalModel.load(tmp_path)
    dev_texts, dev_labels, _ = toy(seed=2, n=8)
    probs = loaded.predict_proba(dev_texts)
    np.testing.assert_allclose(probs, model.predict_proba(dev_texts), atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert loaded.labels == ["conciliatory", "hostile", "neutral"]
    accuracy = np.mean([loaded.labels[i] == g for i, g in zip(probs.argmax(axis=1), dev_labels)])
    assert accuracy > 0.9  # the toy classes have their own keywords


def test_arg_max_is_the_linear_svm_decision(tmp_path):
    from scipy.sparse import hstack
    from sklearn.svm import LinearSVC

    texts, labels, _ = toy()
    model = LexicalModel.fit(texts, labels, SMALL)
    features = hstack([model.char.transform(texts), model.word.transform(texts)])
    svm = LinearSVC(C=SMALL.c, class_weight="balanced").fit(features, labels)
    dev_texts, _, _ = toy(seed=3, n=10)
    dev_features = hstack([model.char.transform(dev_texts), model.word.transform(dev_texts)])
    ours = [model.labels[i] for i in model.predict_proba(dev_texts).argmax(axis=1)]
    assert ours == list(svm.predict(dev_features))


def test_binary_labels_and_a_label_missing_from_training(tmp_path):
    texts, labels, _ = toy()
    keep = [i for i, lab in enumerate(labels) if lab != "neutral"]
    model = LexicalModel.fit(
        [texts[i] for i in keep], [labels[i] for i in keep], SMALL, label_order=["conciliatory", "hostile", "neutral"]
    )
    probs = model.predict_proba([texts[i] for i in keep])
    assert probs[:, 2].max() < 1e-6  # never trained on: never predicted
    assert np.mean([model.labels[i] == labels[j] for i, j in zip(probs.argmax(axis=1), keep)]) > 0.95


def test_temperature_is_recovered_from_calibrated_labels():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4000, 3)) * 3
    true_t = 2.5
    p = np.exp(scores / true_t)
    p /= p.sum(axis=1, keepdims=True)
    targets = np.array([rng.choice(3, p=row) for row in p])
    assert abs(fit_temperature(scores, targets) - true_t) < 0.25


def test_unknown_lexical_setting_is_refused():
    from stance.fit.trainer import TrainingConfig

    with pytest.raises(StanceError, match="unknown lexical setting"):
        TrainingConfig.from_dict({"train_file": "x", "lexical": {"max_features": 10}})


@pytest.fixture(scope="module")
def lexical_model(tiny_base, toy_files, tmp_path_factory):
    """A tiny neural model trained with a lexical section in its training config."""
    out = tmp_path_factory.mktemp("tiny-lexical") / "model"
    report = train_tiny(
        tiny_base, toy_files, out, epochs=2, lexical={"max_char_features": 400, "max_word_features": 100}
    )
    return out, report


def test_training_with_a_lexical_section_writes_both_halves(lexical_model):
    out, report = lexical_model
    assert (out / "lexical" / "weights.safetensors").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["macro_f1"] == report["macro_f1"]
    assert set(metrics["parts"]) == {"neural", "lexical", "lexical_weight", "lexical_data"}
    assert metrics["parts"]["lexical"]["features"] <= 500
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "lexical (TF-IDF + SVM)" in card and f"{metrics['macro_f1']:.4f}" in card
    assert json.loads((out / "training_config.json").read_text())["lexical"]["max_word_features"] == 100


def test_classifier_averages_the_two_halves(lexical_model):
    from stance import Classifier

    out, _ = lexical_model
    texts = [r["text"] for r in toy_rows(4, seed=5)]
    both = Classifier.load(out, precision="fp32")
    neural = Classifier.load(out, precision="fp32", lexical=False)
    assert both.lexical is not None and neural.lexical is None
    expected = 0.5 * neural.predict_proba(texts) + 0.5 * both.lexical.predict_proba(neural.normalize(texts))
    np.testing.assert_allclose(both.predict_proba(texts), expected, atol=1e-6)
    assert not np.allclose(both.predict_proba(texts), neural.predict_proba(texts), atol=1e-3)


def test_damaged_lexical_folder_is_a_clear_error(lexical_model, tmp_path):
    out, _ = lexical_model
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "lexical" / "weights.safetensors").write_bytes(b"not safetensors")
    result = run_cli("classify", "--model", str(broken), "تهدد عقوبات")
    assert result.returncode == 2
    assert "unreadable lexical model" in result.stderr and "Traceback" not in result.stderr


def test_cli_no_lexical_runs_the_neural_model_alone(lexical_model):
    from stance import Classifier

    out, _ = lexical_model
    text = "موسكو ترحب بالحوار مع واشنطن"
    both = run_cli("-q", "classify", "--model", str(out), "--json", "--precision", "fp32", text)
    alone = run_cli("-q", "classify", "--model", str(out), "--json", "--precision", "fp32", "--no-lexical", text)
    assert both.returncode == 0 and alone.returncode == 0, both.stderr + alone.stderr
    neural = Classifier.load(out, precision="fp32", lexical=False).predict([text])[0]["scores"]
    alone_scores = json.loads(alone.stdout)["scores"]
    assert all(abs(alone_scores[k] - neural[k]) < 1e-4 for k in neural)
    assert json.loads(both.stdout)["scores"] != alone_scores


def test_server_reports_and_runs_the_configured_half(lexical_model, tmp_path):
    import httpx
    from conftest import running_server

    from stance import Classifier

    out, _ = lexical_model
    metrics = json.loads((out / "metrics.json").read_text())
    text = "موسكو ترحب بالحوار مع واشنطن"
    for flags, lexical in (([], True), (["--no-lexical"], False)):
        args = ["--models", f"stance={out}", "--precision", "fp32", *flags]
        with running_server(args, tmp_path / f"server-{lexical}.log") as base:
            info = httpx.get(base + "/v1/models").json()["models"][0]
            scores = httpx.post(base + "/v1/classify", json={"texts": [text]}, timeout=30).json()["results"][0]
        figures = metrics if lexical else metrics["parts"]["neural"]
        assert info["lexical"] is lexical and info["dev"]["macro_f1"] == figures["macro_f1"]
        expected = Classifier.load(out, precision="fp32", lexical=lexical).predict([text])[0]["scores"]
        assert all(abs(scores["scores"][k] - v) < 1e-4 for k, v in expected.items())
