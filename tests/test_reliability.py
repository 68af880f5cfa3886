"""Messy input never crashes and never loses a row."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import EDGE_CASES, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stance import Classifier


@pytest.fixture(scope="module")
def clf(tiny_model):
    return Classifier.load(tiny_model, precision="fp32")


def test_edge_cases_get_a_valid_label(clf, caplog):
    results = clf.predict(list(EDGE_CASES.values()))
    assert len(results) == len(EDGE_CASES)
    for r in results:
        assert r["label"] in clf.labels
        assert abs(sum(r["scores"].values()) - 1) < 1e-5
    assert any("truncated" in m for m in caplog.messages)  # the 125,000-character text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(), max_size=300), min_size=1, max_size=6))
def test_random_unicode_never_crashes(clf, texts):
    results = clf.predict(texts)
    assert len(results) == len(texts)
    for r in results:
        assert r["label"] in clf.labels
        assert abs(sum(r["scores"].values()) - 1) < 1e-5


def test_file_rows_with_bad_bytes_get_an_error_field(clf, tmp_path):
    from stance.io.batch_files import classify_file

    src = tmp_path / "messy.tsv"
    src.write_bytes(b"id\ttext\n1\t" + "طهران تهدد".encode() + b"\n2\t\xff\xfe bad\n3\t\n4\t" + "جلسة".encode() + b"\n")
    dst = tmp_path / "out.csv"
    assert classify_file(clf, src, dst) == 4
    rows = list(csv.DictReader(dst.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert [r["error"] for r in rows] == ["", "text is not valid UTF-8", "empty text", ""]
    assert rows[0]["label"] in clf.labels and rows[1]["label"] == ""


def test_kill_9_then_resume_loses_and_duplicates_nothing(tiny_model, tmp_path):
    n = 30_000
    src = tmp_path / "big.jsonl"
    words = ["موسكو ترحب بالحوار", "طهران تهدد عقوبات", "جلسة يوم الاثنين"]
    with src.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"r{i}", "text": words[i % 3]}, ensure_ascii=False) + "\n")
    dst = tmp_path / "out.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "stance.cli",
        "-q",
        "classify",
        "--model",
        str(tiny_model),
        "--input",
        str(src),
        "--output",
        str(dst),
        "--precision",
        "fp32",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "out.jsonl.partial.json"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())["rows"] >= 4096:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "finished before it could be killed: make the file bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not dst.exists()
    result = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    ids = [json.loads(line)["id"] for line in dst.read_text(encoding="utf-8").splitlines()]
    assert ids == [f"r{i}" for i in range(n)]


def test_kill_9_during_training_then_resume_matches_an_uninterrupted_run(tiny_base, toy_files, tmp_path):
    def cmd(out):
        return [
            sys.executable,
            "-m",
            "stance.cli",
            "-q",
            "train",
            "--train",
            str(toy_files["train"]),
            "--dev",
            str(toy_files["dev"]),
            "--output",
            str(out),
            "--base-model",
            str(tiny_base),
            "--epochs",
            "6",
            "--batch-size",
            "8",
            "--lr",
            "3e-3",
            "--no-lora",
            "--save-steps",
            "2",
            "--eval-steps",
            "9",
            "--patience",
            "0",
            "--seed",
            "7",
            "--no-progress",
        ]

    straight = subprocess.run(cmd(tmp_path / "straight"), capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr
    proc = subprocess.Popen(cmd(tmp_path / "killed"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = tmp_path / "killed" / "checkpoints" / "last" / "progress.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(progress.read_text())["progress"]["step"] >= 20:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run(cmd(tmp_path / "killed") + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    b = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert [h["macro_f1"] for h in a["history"]] == [h["macro_f1"] for h in b["history"]]
    assert a["macro_f1"] == b["macro_f1"] and a["confusion_matrix"] == b["confusion_matrix"]


def test_edge_cases_through_a_cli_file_keep_every_row(tiny_model, tmp_path):
    src = tmp_path / "edge.jsonl"
    with src.open("w", encoding="utf-8") as fh:  # ensure_ascii: lone surrogates survive as \ud800 escapes
        for i, text in enumerate(EDGE_CASES.values()):
            fh.write(json.dumps({"id": i, "text": text}) + "\n")
    for suffix in ("jsonl", "csv"):
        dst = tmp_path / f"out.{suffix}"
        res = run_cli("classify", "--model", str(tiny_model), "--input", str(src), "--output", str(dst))
        assert res.returncode == 0, res.stderr
        rows = (
            [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
            if suffix == "jsonl"
            else list(csv.DictReader(dst.open(encoding="utf-8", newline="")))
        )
        assert [str(r["id"]) for r in rows] == [str(i) for i in range(len(EDGE_CASES))]
        for row, name in zip(rows, EDGE_CASES):
            if name in ("empty", "whitespace"):
                assert row["error"] == "empty text" and not row["label"]
            else:
                assert row["label"] in ("conciliatory", "hostile", "neutral") and not row["error"], name


def test_edge_cases_as_cli_arguments(tiny_model):
    # argv cannot carry NUL or lone surrogates: those are covered through files and the API
    texts = [t.replace("\u0000", "") for n, t in EDGE_CASES.items() if n != "lone surrogate"]
    texts = [t[:30_000] for t in texts]  # one argv string is at most 128 KiB on Linux
    res = run_cli("classify", "--model", str(tiny_model), "--json", *texts)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert [r["text"] for r in out] == texts
    assert all(abs(sum(r["scores"].values()) - 1) < 1e-5 for r in out)
    assert "truncated" in res.stderr  # the 125,000-character text, with a warning


def test_model_names_cannot_escape_the_models_folder(tiny_model, tmp_path):
    import os

    from stance.errors import StanceError
    from stance.modeling.shipped import resolve_named_model

    root = tmp_path / "models"
    root.mkdir()
    (root / "good").mkdir()
    os.symlink(tmp_path, root / "sneaky")
    assert resolve_named_model("good", root) == (root / "good").resolve()
    for name in ("../models", "..", ".", "/etc", "a/../../x", "good/../../x", ".hidden", "", "sneaky"):
        with pytest.raises(StanceError):
            resolve_named_model(name, root)
    res = run_cli("serve", "--models-dir", str(root), "--models", "stance=../models", "--port", "9")
    assert res.returncode == 2 and "not allowed" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("serve", "--models-dir", str(root), "--models", "stance=sneaky", "--port", "9")
    assert res.returncode == 2 and "outside the models folder" in res.stderr
