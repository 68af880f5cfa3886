"""Weight averaging ("model soup") of LoRA models trained from the same base: seeds, or checkpoints of one run.

Averaging the A and B matrices of two LoRA adapters does not average what they
do (``B1 A1 + B2 A2 != (B1 + B2)(A1 + A2)``). Stacking them does, exactly: with
``A = [A1; A2]`` and ``B = [w1 B1, w2 B2]``, ``B A = w1 B1 A1 + w2 B2 A2``. So a
soup of n rank-r adapters is one rank-n·r adapter whose weight change is the
weighted mean of theirs, stored and loaded like any other (``peft``,
``stance.Classifier``, ``stance export`` for ``transformers.pipeline``). Trained
modules outside the adapters (the classification head) are averaged directly.

Inputs are model folders (``adapter_model.safetensors``) or training checkpoints
(``checkpoints/best.safetensors``, ``checkpoints/last/trainable.safetensors``;
their run folder supplies the settings). The first input's folder supplies
everything else (settings, lexical half); its figures and card are not copied: measure
the soup and refit the lexical weight on dev (``training/fit_lexical.py``), which writes them anew.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from stance.errors import StanceError
from stance.modeling.folder import SOUP_FILE, ModelSpec, read_record_json, read_soup_record
from stance.modeling.model_card import history_figures

log = logging.getLogger(__name__)

ADAPTER_FILE = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
CHECKPOINT_FILE = "trainable.safetensors"
# Not copied from the first input: its weights and the figures measured on them.
STALE = ("checkpoints", ADAPTER_FILE, "metrics.json", "confusion.png", "README.md", "precision_check.json")
SAME_SETTINGS = ("labels", "base_model", "pooling", "input_prefix", "source_tag", "max_length", "normalization")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class SoupConfig:
    """What to average and how to store the result."""

    inputs: list[str]
    output: str
    weights: list[float] = field(default_factory=list)  # empty: equal weights
    dtype: str = "fp32"  # storage type of the averaged adapter


@dataclass
class _Adapter:
    source: str
    folder: Path
    config: dict
    settings: dict
    tensors: dict[str, torch.Tensor]
    provenance: dict = field(default_factory=dict)


def _canonical(key: str) -> str:
    """Checkpoint keys carry peft's adapter name (``.default``); saved adapters do not."""
    return key.replace(".modules_to_save.default.", ".").replace(".default.", ".")


def _run_folder(path: Path) -> Path:
    """A checkpoint lives in ``RUN/checkpoints/`` (``best.safetensors``, ``last/trainable.safetensors``)."""
    for parent in path.parents:
        if parent.name == "checkpoints":
            if not (parent.parent / ADAPTER_CONFIG).is_file():
                raise StanceError(
                    f"{path}: its run {parent.parent} has no {ADAPTER_CONFIG} (not finished, or not a LoRA run): "
                    "finish it with --resume, or average finished LoRA runs"
                )
            return parent.parent
    raise StanceError(f"{path}: not inside a run's checkpoints/ folder: give a LoRA model folder or a run checkpoint")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StanceError(f"{path}: unreadable ({exc}): re-export or retrain the model") from None


def _read(source: str) -> _Adapter:
    path = Path(source)
    if path.is_dir() and (path / CHECKPOINT_FILE).is_file() and not (path / ADAPTER_FILE).is_file():
        path = path / CHECKPOINT_FILE  # checkpoints/last
    if path.name == ADAPTER_FILE:
        path = path.parent  # a model folder's own weights file
    if path.is_dir():
        folder, weights_file = path, path / ADAPTER_FILE
        if not weights_file.is_file():
            raise StanceError(f"{path}: no {ADAPTER_FILE}: only LoRA model folders can be averaged this way")
    elif path.is_file() and path.suffix == ".safetensors":
        folder, weights_file = _run_folder(path), path
    else:
        raise StanceError(f"{source}: not a model folder or a .safetensors checkpoint")
    config = _read_json(folder / ADAPTER_CONFIG)
    settings = ModelSpec.load(folder).to_dict()  # the project's own reader, with its one-line error
    try:
        tensors = {_canonical(k): v.float() for k, v in load_file(str(weights_file)).items()}
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise StanceError(f"{weights_file}: unreadable weights ({exc}): retrain or re-download the model") from None
    stray = [k for k in tensors if "lora_" in k and not k.endswith((".lora_A.weight", ".lora_B.weight"))]
    if stray:
        raise StanceError(f"{source}: holds LoRA weights other than A and B ({stray[0]}): they cannot be stacked")
    if not any(k.endswith(".lora_A.weight") for k in tensors):
        raise StanceError(f"{source}: holds no LoRA weights (a checkpoint from before LoRA training?)")
    return _Adapter(source, folder, config, settings, tensors, _provenance(folder, weights_file))


def _provenance(folder: Path, weights_file: Path) -> dict:
    """What the input's run recorded about these weights: seed, step, data size, time, dev figures then."""
    folder, weights_file = folder.resolve(), weights_file.resolve()
    metrics = read_record_json(folder / "metrics.json")
    training = read_record_json(folder / "training_config.json")
    # the run folder's name, and the checkpoint inside it: not the path on the machine that made it
    name = folder.name if weights_file.parent == folder else weights_file.relative_to(folder.parent).as_posix()
    nested = read_soup_record(folder)
    if nested is not None:  # a soup of soups: one seed or step would be wrong
        record = {"name": name, "soup_of": [i.get("name", "?") for i in nested["inputs"]]}
        return record | ({"train_rows": metrics["train_rows"]} if "train_rows" in metrics else {})
    if weights_file.name == CHECKPOINT_FILE:  # checkpoints/last: the step it was saved at
        progress = read_record_json(weights_file.parent / "progress.json").get("progress", {})
        step = progress.get("step")
        history = progress.get("history") or metrics.get("history", [])
    else:  # the run's chosen checkpoint, which its model folder also holds
        step = metrics.get("best_step")
        history = metrics.get("history", [])
    at_step = next((h for h in history if h.get("step") == step), None)
    record = {
        "name": name,
        "seed": training.get("seed"),
        "step": step,
        "steps": metrics.get("steps"),
        "train_rows": metrics.get("train_rows"),
        "train_seconds": metrics.get("train_seconds"),
    }
    if at_step is not None:  # the neural figures, measured on the set that chose its checkpoint
        record["dev_macro_f1"] = history_figures(at_step, training.get("select_on") or "dev")
    return {key: value for key, value in record.items() if value is not None}


def _scaling(config: dict) -> float:
    rank, alpha = config["r"], config["lora_alpha"]
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def _as_set(value) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list | tuple) else ({str(value)} if value else set())


def _check_compatible(adapters: list[_Adapter]) -> None:
    first = adapters[0]
    for adapter in adapters:
        config = adapter.config
        if config.get("peft_type") != "LORA" or config.get("use_dora"):
            raise StanceError(f"{adapter.source}: only plain LoRA adapters (no DoRA) can be stacked into one")
        if config.get("lora_bias"):
            raise StanceError(f"{adapter.source}: LoRA biases cannot be stacked; train without lora_bias")
        if config.get("rank_pattern") or config.get("alpha_pattern"):
            raise StanceError(f"{adapter.source}: per-module ranks are not supported by the soup")
        for key in ("target_modules", "layers_to_transform", "modules_to_save", "base_model_name_or_path"):
            if _as_set(config.get(key)) != _as_set(first.config.get(key)):
                raise StanceError(
                    f"{adapter.source}: {key} differs from {first.source}'s: average models of one recipe"
                )
        for key in SAME_SETTINGS:  # the same weights read another way would average two different functions
            if adapter.settings.get(key) != first.settings.get(key):
                raise StanceError(
                    f"{adapter.source}: its {key} differs from {first.source}'s: average models of one recipe"
                )
        if set(adapter.tensors) != set(first.tensors):
            raise StanceError(f"{adapter.source}: its weights name other modules than {first.source}'s")


def soup(config: SoupConfig) -> Path:
    """Write the weighted mean of the inputs' weight changes as one LoRA model folder; return it."""
    if len(config.inputs) < 2:
        raise StanceError("a soup needs at least two models or checkpoints")
    weights = config.weights or [1.0 / len(config.inputs)] * len(config.inputs)
    if len(weights) != len(config.inputs) or any(w < 0 for w in weights) or not math.isclose(sum(weights), 1.0):
        raise StanceError(f"soup weights {weights}: give one non-negative weight per input, summing to 1")
    if config.dtype not in DTYPES:
        raise StanceError(f"soup dtype {config.dtype!r}: choose one of {', '.join(DTYPES)}")
    out = Path(config.output)
    if out.exists():  # before reading any weights
        raise StanceError(f"{out}: already exists: choose a new output folder")
    adapters = [_read(source) for source in config.inputs]
    _check_compatible(adapters)

    # One scaling for the stacked adapter: keep the first input's, fold the others' into their B blocks.
    scale = _scaling(adapters[0].config)
    rank = sum(adapter.config["r"] for adapter in adapters)
    use_rslora = bool(adapters[0].config.get("use_rslora"))
    alpha = scale * (math.sqrt(rank) if use_rslora else rank)
    alpha = int(alpha) if float(alpha).is_integer() else alpha

    merged: dict[str, torch.Tensor] = {}
    for key in adapters[0].tensors:
        if ".lora_A." in key:
            merged[key] = torch.cat([adapter.tensors[key] for adapter in adapters], dim=0)
        elif ".lora_B." in key:
            blocks = [
                adapter.tensors[key] * (weight * _scaling(adapter.config) / scale)
                for adapter, weight in zip(adapters, weights)
            ]
            merged[key] = torch.cat(blocks, dim=1)
        else:
            merged[key] = sum(weight * adapter.tensors[key] for adapter, weight in zip(adapters, weights))

    shutil.copytree(adapters[0].folder, out, ignore=shutil.ignore_patterns(*STALE))
    dtype = DTYPES[config.dtype]
    save_file({k: v.to(dtype).contiguous() for k, v in merged.items()}, str(out / ADAPTER_FILE))
    adapter_config = dict(adapters[0].config) | {"r": rank, "lora_alpha": alpha}
    (out / ADAPTER_CONFIG).write_text(json.dumps(adapter_config, indent=2), encoding="utf-8")
    training_file = out / "training_config.json"
    if training_file.is_file():  # the card written later reads the rank from here
        training = _read_json(training_file) | {"lora_r": rank, "lora_alpha": alpha}
        training_file.write_text(json.dumps(training, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    inputs = [adapter.provenance | {"weight": weight} for adapter, weight in zip(adapters, weights)]
    record = {"inputs": inputs, "rank": rank, "dtype": config.dtype}
    (out / SOUP_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    log.info("averaged %d models into %s (LoRA rank %d, %s)", len(adapters), out, rank, config.dtype)
    return out
