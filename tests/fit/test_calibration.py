"""Class-prior correction: fitted on dev, recorded in the model folder, applied by Classifier."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stance.fit.calibration import CalibrationSettings, cross_fitted_predictions, fit_class_scale, objective
from stance.modeling.folder import apply_class_scale

LABELS = ["negative", "neutral", "positive"]
ROOT = Path(__file__).resolve().parents[2]


def _synthetic(n: int = 1500, neutral_shift: float = 0.0, seed: int = 0):
    """Probabilities of a decent classifier; ``neutral_shift`` < 0 makes it under-call neutral."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, n)
    logits = rng.normal(0, 1.0, (n, 3))
    logits[np.arange(n), gold] += 1.6
    logits[:, 1] += neutral_shift
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return probs, gold


def test_fit_recovers_an_under_called_class_and_the_gain_holds_out_of_fold():
    probs, gold = _synthetic(neutral_shift=-1.2)
    before = objective(gold, probs.argmax(1), LABELS, "macro_f1")
    scale = fit_class_scale(probs, gold, LABELS)
    assert scale[0] == 1.0 and 2.0 < scale[1] < 6.0  # about exp(1.2) = 3.3 back on neutral
    after = objective(gold, apply_class_scale(probs, scale).argmax(1), LABELS, "macro_f1")
    held = objective(gold, cross_fitted_predictions(probs, gold, LABELS), LABELS, "macro_f1")
    assert after > before + 0.03 and held > before + 0.03
    recall_neutral = lambda pred: float(np.mean(pred[gold == 1] == 1))  # noqa: E731
    assert recall_neutral(apply_class_scale(probs, scale).argmax(1)) > recall_neutral(probs.argmax(1)) + 0.2


def test_a_calibrated_model_is_left_almost_alone():
    probs, gold = _synthetic(neutral_shift=0.0, seed=1)
    scale = fit_class_scale(probs, gold, LABELS)
    assert np.all(np.abs(np.log(scale)) <= 0.3)


def test_f1_pn_objective_and_bad_settings():
    probs, gold = _synthetic(neutral_shift=-1.2, seed=2)
    scale = fit_class_scale(probs, gold, LABELS, CalibrationSettings(objective="f1_pn"))
    assert objective(gold, apply_class_scale(probs, scale).argmax(1), LABELS, "f1_pn") >= objective(
        gold, probs.argmax(1), LABELS, "f1_pn"
    )
    with pytest.raises(ValueError, match="objective"):
        CalibrationSettings(objective="accuracy")


def test_classifier_applies_the_recorded_scale(tiny_model, tmp_path):
    from stance import Classifier

    folder = shutil.copytree(tiny_model, tmp_path / "model")
    texts = ["موسكو تهدد عقوبات واشنطن", "طهران ترحب بالحوار الرياض", "جلسة يوم الاثنين"]
    plain = Classifier.load(folder).predict_proba(texts)
    config = json.loads((folder / "stance_config.json").read_text())
    config["class_scale"] = {"conciliatory": 1.0, "hostile": 1.0, "neutral": 1e6}
    (folder / "stance_config.json").write_text(json.dumps(config))
    clf = Classifier.load(folder)
    scaled = clf.predict_proba(texts)
    np.testing.assert_allclose(scaled.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(scaled, apply_class_scale(plain, [1.0, 1.0, 1e6]), atol=1e-5)
    assert [p["label"] for p in clf.predict(texts)] == ["neutral"] * 3


def test_calibrate_script_writes_and_clears_the_scale(tiny_model, toy_files, tmp_path):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    script = [sys.executable, str(ROOT / "training" / "calibrate.py"), str(folder), "--dev", str(toy_files["dev"])]
    run = subprocess.run([*script, "--write"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "cross-fitted" in run.stdout and "class scale" in run.stdout
    scale = json.loads((folder / "stance_config.json").read_text())["class_scale"]
    assert set(scale) == {"conciliatory", "hostile", "neutral"}
    metrics = json.loads((folder / "metrics.json").read_text())["calibration"]
    assert metrics["class_scale"] == scale and metrics["fitted"]["macro_f1"] >= metrics["before"]["macro_f1"]
    cleared = subprocess.run([*script, "--clear"], capture_output=True, text=True, timeout=300)
    assert cleared.returncode == 0, cleared.stderr
    assert json.loads((folder / "stance_config.json").read_text()).get("class_scale") is None


def test_a_merged_export_keeps_the_scale_and_the_tag(tiny_model, tmp_path):
    from conftest import run_cli

    from stance import Classifier

    folder = shutil.copytree(tiny_model, tmp_path / "model")
    config = json.loads((folder / "stance_config.json").read_text())
    config |= {"class_scale": {"conciliatory": 1.0, "hostile": 2.0, "neutral": 0.5}, "source_tag": "wire"}
    (folder / "stance_config.json").write_text(json.dumps(config))
    result = run_cli("export", "--model", str(folder), "--merged", str(tmp_path / "plain"))
    assert result.returncode == 0, result.stderr
    exported = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert exported["stance_class_scale"] == config["class_scale"] and exported["stance_source_tag"] == "wire"
    texts = ["موسكو تهدد عقوبات واشنطن", "جلسة يوم الاثنين"]
    np.testing.assert_allclose(
        Classifier.load(tmp_path / "plain").predict_proba(texts),
        Classifier.load(folder).predict_proba(texts),
        atol=1e-4,
    )
