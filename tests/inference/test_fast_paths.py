"""Fast inference paths: ONNX Runtime matches PyTorch, and the accuracy guard decides what ``auto`` may use."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli, toy_rows

from stance import Classifier


def test_onnx_runtime_matches_torch_and_caches_its_export(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("STANCE_CACHE", str(tmp_path / "cache"))
    texts = [r["text"] for r in toy_rows(6, seed=9)] + ["", "😀", "تهدد " * 200]
    torch_probs = Classifier.load(tiny_model, precision="fp32").predict_proba(texts)
    first = Classifier.load(tiny_model, runtime="onnx")
    np.testing.assert_allclose(first.predict_proba(texts, batch_size=4), torch_probs, atol=1e-5)
    exported = first.engine.path
    stamp = exported.stat().st_mtime_ns
    second = Classifier.load(tiny_model, runtime="onnx")
    assert second.engine.path == exported and exported.stat().st_mtime_ns == stamp  # reused, not re-exported
    assert [r["label"] for r in second.predict(texts)] == [r["label"] for r in first.predict(texts)]


def test_onnx_refuses_other_precisions(tiny_model):
    pytest.importorskip("onnxruntime")
    res = run_cli("classify", "--model", str(tiny_model), "--runtime", "onnx", "--precision", "int8", "ترحب")
    assert res.returncode == 2 and "runs in fp32" in res.stderr and "Traceback" not in res.stderr


def test_guard_records_and_auto_obeys_it(tiny_model, toy_files, tmp_path, monkeypatch):
    import shutil

    import stance.modeling.precision as precision
    from stance.fit.precision_check import GuardResult, check, write_guard
    from stance.modeling.precision import guard_allows

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    same = check(folder, toy_files["dev"], precision="fp32")
    assert same.agreement == 1.0 and same.macro_f1_fast == same.macro_f1_fp32 and same.passed
    int8 = check(folder, toy_files["dev"], precision="int8")
    assert 0.0 <= int8.agreement <= 1.0 and int8.passed == (
        int8.agreement >= 0.995 and int8.macro_f1_fp32 - int8.macro_f1_fast <= 0.005
    )

    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert precision.resolve_precision("auto", folder) == "fp32"  # no record yet: stay in fp32
    write_guard(folder, GuardResult("bf16", 10, 0.990, 0.8, 0.79, False), "dev.tsv")
    assert not guard_allows(folder, "bf16") and precision.resolve_precision("auto", folder) == "fp32"
    write_guard(folder, GuardResult("bf16", 10, 1.0, 0.8, 0.8, True), "dev.tsv")
    assert guard_allows(folder, "bf16") and precision.resolve_precision("auto", folder) == "bf16"
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert precision.resolve_precision("auto", folder) == "fp32"  # no bf16 units: never bf16
    assert precision.resolve_precision("int8", folder) == "int8"  # an explicit choice is obeyed


def test_check_precision_cli_writes_the_record(tiny_model, toy_files, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    res = run_cli("check-precision", "--model", str(folder), "--data", str(toy_files["dev"]), "--precision", "fp32",
                  "--write", "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["agreement"] == 1.0
    record = json.loads((folder / "precision_check.json").read_text())
    assert record["fp32"]["passed"] is True and record["fp32"]["rows"] == 24
