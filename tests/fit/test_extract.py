"""A fully fine-tuned model stored as a LoRA adapter: exact at full rank, the best low-rank fit below it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import largest_probability_gap, train_tiny
from safetensors.torch import load_file, save_file

from stance.errors import StanceError
from stance.fit.extract import ExtractConfig, extract_lora
from stance.modeling.folder import export_merged

ROOT = Path(__file__).resolve().parents[2]
WORDS = "bert.embeddings.word_embeddings.weight"


@pytest.fixture(scope="module")
def tuned_mean(tiny_base, toy_files, tmp_path_factory) -> Path:
    """Fully fine-tuned with the fixed mean-pooling layer, embeddings unfrozen."""
    out = tmp_path_factory.mktemp("tiny-full-mean") / "model"
    train_tiny(tiny_base, toy_files, out, epochs=3, pooling="mean")
    return out


def test_full_rank_extraction_rebuilds_every_tuned_weight_but_the_word_embeddings(tuned_mean, tiny_base, tmp_path):
    out = extract_lora(ExtractConfig(source=str(tuned_mean), output=str(tmp_path / "x"), rank=64, dtype="fp32"))
    merged = load_file(str(export_merged(out, tmp_path / "merged") / "model.safetensors"))
    tuned = load_file(str(tuned_mean / "model.safetensors"))
    base = {k.removeprefix("bert."): v for k, v in load_file(str(tiny_base / "model.safetensors")).items()}
    assert set(merged) == set(tuned)
    changed = 0
    for key, value in merged.items():
        expected = base[key.removeprefix("bert.")] if key == WORDS else tuned[key]
        assert torch.allclose(value, expected, atol=1e-5), key
        changed += key.removeprefix("bert.") in base and not torch.allclose(
            tuned[key], base[key.removeprefix("bert.")], atol=1e-4
        )
    assert changed > 20  # training moved the weights, so matching them means something
    assert not torch.allclose(tuned[WORDS], base[WORDS.removeprefix("bert.")])  # what is dropped did change
    record = json.loads((out / "extract.json").read_text())
    assert record["rank"] == 64 and min(record["energy_kept"].values()) == pytest.approx(1.0)
    assert record["dropped_relative_size"] > 0
    assert not (out / "README.md").exists()  # no blank card that describes nothing
    # the fixed pooling layer (index 2 of this 2-layer base) got no adapter
    adapter = load_file(str(out / "adapter_model.safetensors"))
    assert not any(".layer.2." in k and "lora_" in k for k in adapter)
    assert any(".layer.1.output.dense.lora_B" in k for k in adapter)


def test_low_rank_extraction_is_the_best_fit_of_that_rank_and_classifies(tuned_mean, tiny_base, toy_files, tmp_path):
    out = tmp_path / "r2"
    result = subprocess.run(
        [sys.executable, str(ROOT / "training" / "extract_lora.py"), str(tuned_mean), "--out", str(out)]
        + ["--rank", "2", "--dtype", "fp16"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert {t.dtype for t in load_file(str(out / "adapter_model.safetensors")).values()} == {torch.float16}
    exact = extract_lora(ExtractConfig(source=str(tuned_mean), output=str(tmp_path / "r2-32"), rank=2, dtype="fp32"))
    merged = load_file(str(export_merged(exact, tmp_path / "m") / "model.safetensors"))
    tuned = load_file(str(tuned_mean / "model.safetensors"))
    base = {k.removeprefix("bert."): v for k, v in load_file(str(tiny_base / "model.safetensors")).items()}
    key = "bert.encoder.layer.0.intermediate.dense.weight"  # 64 x 32
    s = torch.linalg.svdvals((tuned[key] - base[key.removeprefix("bert.")]).double())
    assert float(s[2]) > 1e-3 * float(s[0])  # the change has rank > 2, so rank 2 must drop some of it
    error = torch.linalg.norm((tuned[key] - merged[key]).double())
    assert float(error) == pytest.approx(float((s[2:] ** 2).sum().sqrt()), rel=1e-3)  # Eckart-Young: the best
    bias = key.replace(".weight", ".bias")
    assert torch.allclose(merged[bias], tuned[bias], atol=1e-5)  # biases are kept whole at any rank
    kept = json.loads((out / "extract.json").read_text())["energy_kept"]["intermediate.dense"]
    assert 0 < kept < 1
    assert largest_probability_gap(out, exact, toy_files["dev"]) < 5e-3  # fp16 storage classifies like fp32


def test_what_cannot_be_extracted_is_one_clear_error(tiny_lora_model, tuned_mean, tmp_path):
    with pytest.raises(StanceError, match="already a LoRA model"):
        extract_lora(ExtractConfig(source=str(tiny_lora_model), output=str(tmp_path / "a")))
    other = tmp_path / "other-base"  # a query weight of another shape: trained on another base
    shutil.copytree(tuned_mean, other, ignore=shutil.ignore_patterns("checkpoints"))
    tensors = load_file(str(other / "model.safetensors"))
    tensors["bert.encoder.layer.0.attention.self.query.weight"] = torch.zeros(3, 3)
    save_file(tensors, str(other / "model.safetensors"))
    with pytest.raises(StanceError, match="of the base's shape"):
        extract_lora(ExtractConfig(source=str(other), output=str(tmp_path / "c")))
    assert not (tmp_path / "c").exists()
    (tmp_path / "taken").mkdir()
    with pytest.raises(StanceError, match="already exists"):
        extract_lora(ExtractConfig(source=str(tuned_mean), output=str(tmp_path / "taken")))
    result = subprocess.run(
        [sys.executable, str(ROOT / "training" / "extract_lora.py"), str(tmp_path), "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
