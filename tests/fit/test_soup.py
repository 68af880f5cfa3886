"""A soup of LoRA models is one LoRA model whose merged weights are exactly the mean of theirs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import largest_probability_gap, train_tiny
from safetensors.torch import load_file

from stance.errors import StanceError
from stance.fit.soup import SoupConfig, soup
from stance.modeling.folder import export_merged

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def second_seed(tiny_base, toy_files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-lora-seed") / "model"
    train_tiny(tiny_base, toy_files, out, lora=True, lora_r=2, lora_alpha=8, learning_rate=9e-3, epochs=8, seed=11)
    return out


def merged_weights(folder: Path, tmp: Path) -> dict:
    return load_file(str(export_merged(folder, tmp) / "model.safetensors"))


def test_the_soup_merges_to_the_mean_of_the_merged_models(tiny_lora_model, second_seed, tmp_path):
    # ranks 4 and 2 with alpha 8: scalings 2 and 4, so the second model's blocks are rescaled
    out = soup(SoupConfig(inputs=[str(tiny_lora_model), str(second_seed)], output=str(tmp_path / "soup")))
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 6
    assert json.loads((out / "training_config.json").read_text())["lora_r"] == 6
    assert not (out / "metrics.json").exists()  # the first model's figures do not describe the soup
    first = merged_weights(tiny_lora_model, tmp_path / "m1")
    second = merged_weights(second_seed, tmp_path / "m2")
    averaged = merged_weights(out, tmp_path / "m3")
    changed = 0
    for key, value in averaged.items():
        expected = (first[key] + second[key]) / 2
        assert np.allclose(value.numpy(), expected.numpy(), atol=1e-5), key
        changed += not np.allclose(first[key].numpy(), second[key].numpy())
    assert changed > 10  # the two seeds differ, so the check above means something


def test_weighted_soup_of_checkpoints_in_fp16_loads_and_classifies(tiny_lora_model, second_seed, tmp_path, toy_files):
    last = tiny_lora_model / "checkpoints" / "last"
    assert (last / "trainable.safetensors").is_file()
    out = tmp_path / "soup16"
    result = subprocess.run(
        [sys.executable, str(ROOT / "training" / "soup.py"), str(last), str(second_seed), "--out", str(out)]
        + ["--weights", "0.75", "0.25", "--dtype", "fp16"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    tensors = load_file(str(out / "adapter_model.safetensors"))
    assert {t.dtype for t in tensors.values()} == {torch.float16}
    # checkpoint keys carry peft's adapter name; the soup must be keyed like a saved adapter, or peft skips it
    assert set(tensors) == set(load_file(str(tiny_lora_model / "adapter_model.safetensors")))
    reference = soup(
        SoupConfig(inputs=[str(last), str(second_seed)], output=str(tmp_path / "soup32"), weights=[0.75, 0.25])
    )
    assert largest_probability_gap(out, reference, toy_files["dev"]) < 5e-3  # fp16 storage classifies like fp32


def test_the_soup_records_what_went_in_and_its_card_lists_it(tiny_lora_model, second_seed, tmp_path):
    from stance.fit.config import TrainingConfig
    from stance.fit.lexical_fit import attach_lexical
    from stance.modeling.lexical import LexicalConfig

    checkpoints = tiny_lora_model / "checkpoints"
    inputs = [checkpoints / "best.safetensors", checkpoints / "last", second_seed]
    out = soup(SoupConfig(inputs=[str(i) for i in inputs], output=str(tmp_path / "s")))
    record = json.loads((out / "soup.json").read_text())
    assert str(tmp_path.parent) not in json.dumps(record)  # run names, not paths on the machine that made it
    best, last, other = record["inputs"]
    metrics = json.loads((tiny_lora_model / "metrics.json").read_text())
    other_metrics = json.loads((second_seed / "metrics.json").read_text())
    progress = json.loads((checkpoints / "last" / "progress.json").read_text())["progress"]
    assert (best["name"], best["seed"], other["name"], other["seed"]) == (
        "model/checkpoints/best.safetensors",
        7,
        "model",
        11,
    )
    assert (best["step"], best["steps"], best["train_rows"]) == (
        metrics["best_step"],
        metrics["steps"],
        metrics["train_rows"],
    )
    assert last["name"] == "model/checkpoints/last/trainable.safetensors"
    assert last["step"] == progress["step"] != best["step"]  # the last checkpoint, not the chosen one
    at_best = next(h for h in metrics["history"] if h["step"] == metrics["best_step"])
    assert best["dev_macro_f1"]["dev"] == pytest.approx(at_best["macro_f1"])
    assert [i["weight"] for i in record["inputs"]] == pytest.approx([1 / 3] * 3)

    config = TrainingConfig.from_file(out / "training_config.json")
    lexical = LexicalConfig(max_char_features=500, max_word_features=200, weight=0.3)
    attach_lexical(out, config, lexical)
    card = (out / "README.md").read_text()
    assert f"({metrics['train_rows']} rows used)" in card
    assert "A weight average (`training/soup.py`) of 3 models" in card and "rank 10" in card
    assert f"| `model/checkpoints/last/trainable.safetensors` | 0.333 | 7 | {progress['step']} of " in card
    assert f"| `model` | 0.333 | 11 | {other_metrics['best_step']} of {other_metrics['steps']} | " in card
    assert "best dev checkpoint at step" not in card and "Evaluations during training" not in card
    assert json.loads((out / "metrics.json").read_text())["soup"] == record
    single = (tiny_lora_model / "README.md").read_text()  # one run's card is as it was
    assert f"seed 7; best dev checkpoint at step {metrics['best_step']} of {metrics['steps']};" in single

    # a soup of that soup: the inner one is named with its inputs, and its card's table stays rectangular
    nested = soup(SoupConfig(inputs=[str(out), str(second_seed)], output=str(tmp_path / "n")))
    inner = json.loads((nested / "soup.json").read_text())["inputs"][0]
    assert inner == {
        "name": "s",
        "soup_of": [i["name"] for i in record["inputs"]],
        "train_rows": metrics["train_rows"],
        "weight": 0.5,
    }
    attach_lexical(nested, TrainingConfig.from_file(nested / "training_config.json"), lexical)
    table = [line for line in (nested / "README.md").read_text().splitlines() if line.startswith("| `")]
    header = next(line for line in (nested / "README.md").read_text().splitlines() if line.startswith("| model |"))
    assert len(table) == 2 and {line.count("|") for line in table} == {header.count("|")}
    assert "soup of model/checkpoints/best.safetensors" in table[0]


def test_a_soup_record_from_before_inputs_carried_figures_is_read_as_names(tmp_path):
    from stance.modeling.folder import read_soup_record

    assert read_soup_record(tmp_path) is None
    old = {"inputs": ["/somewhere/runs/a", "runs/b"], "weights": [0.25, 0.75], "rank": 32, "dtype": "fp16"}
    (tmp_path / "soup.json").write_text(json.dumps(old))
    assert read_soup_record(tmp_path) == {
        "inputs": [{"name": "a", "weight": 0.25}, {"name": "b", "weight": 0.75}],
        "rank": 32,
        "dtype": "fp16",
    }
    (tmp_path / "soup.json").write_text("{damaged")
    assert read_soup_record(tmp_path) is None  # only a description: the model still loads and refits


def test_models_that_cannot_be_stacked_are_one_clear_error(tiny_model, tiny_lora_model, tmp_path):
    with pytest.raises(StanceError, match="only LoRA model folders"):
        soup(SoupConfig(inputs=[str(tiny_lora_model), str(tiny_model)], output=str(tmp_path / "a")))
    other = tmp_path / "mean-pooled"
    shutil.copytree(tiny_lora_model, other)
    spec = json.loads((other / "stance_config.json").read_text())
    (other / "stance_config.json").write_text(json.dumps(spec | {"pooling": "mean"}))
    with pytest.raises(StanceError, match="its pooling differs"):
        soup(SoupConfig(inputs=[str(tiny_lora_model), str(other)], output=str(tmp_path / "c")))
    loose = tmp_path / "loose.safetensors"
    shutil.copy(tiny_lora_model / "adapter_model.safetensors", loose)
    with pytest.raises(StanceError, match="not inside a run's checkpoints"):
        soup(SoupConfig(inputs=[str(loose)] * 2, output=str(tmp_path / "d")))
    (tmp_path / "damaged").mkdir()
    for name in ("adapter_config.json", "stance_config.json"):
        shutil.copy(tiny_lora_model / name, tmp_path / "damaged")
    (tmp_path / "damaged" / "adapter_model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(StanceError, match="unreadable weights"):
        soup(SoupConfig(inputs=[str(tiny_lora_model), str(tmp_path / "damaged")], output=str(tmp_path / "e")))
    with pytest.raises(StanceError, match="summing to 1"):
        soup(SoupConfig(inputs=[str(tiny_lora_model)] * 2, output=str(tmp_path / "b"), weights=[0.7, 0.7]))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "training" / "soup.py"),
            str(tiny_lora_model),
            str(tiny_model),
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
