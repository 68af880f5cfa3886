"""training/ship_model.py copies a finished LoRA run into a models folder, whatever its data settings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_on_several_files_with_named_dev_sets_ships(tiny_lora_model, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_lora_model, run, ignore=shutil.ignore_patterns("checkpoints"))
    config = json.loads((run / "training_config.json").read_text())
    config |= {"train_file": ["a/train.tsv", "b/train_outlets.tsv"], "dev_sets": {"outlets": "b/dev_outlets.tsv"}}
    (run / "training_config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "training" / "ship_model.py"),
            str(run),
            "m",
            "--models-dir",
            str(tmp_path / "models"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    shipped = json.loads((tmp_path / "models" / "m" / "training_config.json").read_text())
    assert shipped["train_file"] == ["a/train.tsv", "b/train_outlets.tsv"]
    assert shipped["dev_sets"] == {"outlets": "b/dev_outlets.tsv"}
    assert (tmp_path / "models" / "m" / "adapter_model.safetensors").is_file()
