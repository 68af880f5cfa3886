"""training/probe_encoder.py: a frozen-encoder linear probe, scored on every named dev set, embeddings cached."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_probe_scores_each_dev_set_and_reuses_its_cached_vectors(tiny_base, toy_files, tmp_path):
    cache = tmp_path / "cache"
    script = [
        sys.executable, str(ROOT / "training" / "probe_encoder.py"), "--base-model", str(tiny_base),
        "--train", str(toy_files["train"]), "--dev", f"a={toy_files['dev']}", f"b={toy_files['dev']}",
        "--cache", str(cache), "--C", "1", "--max-length", "32",
    ]  # fmt: skip
    first = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    scores = dict(re.findall(r"C=1  (\w): macro-F1 ([0-9.]+)", first.stdout))
    assert set(scores) == {"a", "b"} and scores["a"] == scores["b"]  # the same file gives the same figure
    assert 0.0 <= float(scores["a"]) <= 1.0
    assert len(list(cache.glob("*.npy"))) == 3 and first.stderr.count("embedded") == 3
    again = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "embedded" not in again.stderr and again.stdout == first.stdout  # read from the cache, same figures
