"""A fully fine-tuned model stored as a LoRA adapter over its base: the weight changes, truncated by SVD.

Full fine-tuning changes every weight of the encoder; shipping them means a
copy of the whole encoder (470 MB for e5-small in fp32). What ships instead is
the change over the base, ``W_tuned - W_base``, of each linear layer of the
base's own transformer layers, cut to its ``rank`` largest singular values
(the best approximation of that rank in the Frobenius norm, Eckart-Young):
``B = U_r S_r^½``, ``A = S_r^½ V_rᵀ`` with scaling 1. What is small is kept
whole: the bias changes (LoRA biases on ``lora_B``), the layer norms, the
position and token-type embeddings and the classification head (modules to
save). The word embeddings' change (250k × 384 for e5) is dropped; measure what
that costs before shipping.

The result is an ordinary LoRA model folder: ``Classifier``, the fast cache,
``stance export`` → ``transformers.pipeline``. ``extract.json`` records the
rank and, per kind of layer, the share of the change the rank keeps.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from stance.errors import StanceError
from stance.fit.soup import DTYPES  # the storage types adapters are written in
from stance.modeling.bases import resolve_base
from stance.modeling.folder import STANCE_CONFIG, ModelSpec, build_classifier
from stance.modeling.quiet import quiet_libraries

log = logging.getLogger(__name__)

EXTRACT_FILE = "extract.json"
LINEAR = ("query", "key", "value", "dense")
KEPT_WHOLE = ("classifier", "pooler", "LayerNorm", "position_embeddings", "token_type_embeddings")
# Copied from the fully tuned folder: what is not its weights or the figures measured on them.
COPIED = ("training_config.json", "lexical")


@dataclass
class ExtractConfig:
    """What to extract and how to store it."""

    source: str  # a fully fine-tuned model folder (stance_config.json + model.safetensors)
    output: str
    rank: int = 64
    dtype: str = "fp16"  # storage type of the adapter


def _read_source(folder: Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    if not (folder / STANCE_CONFIG).is_file():
        raise StanceError(f"{folder}: not a model folder trained by `stance train` (no {STANCE_CONFIG})")
    spec = ModelSpec.load(folder)
    if spec.adapter:
        raise StanceError(f"{folder}: already a LoRA model: extraction is for fully fine-tuned models")
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise StanceError(f"{folder}: no model.safetensors (sharded or pickled weights are not supported)")
    try:
        return spec, {k: v.float() for k, v in load_file(str(weights)).items()}
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise StanceError(f"{weights}: unreadable weights ({exc}): retrain the model") from None


def _factor(delta: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``B, A`` with ``B @ A`` the best rank-``rank`` approximation of ``delta``; the share of its energy kept."""
    u, s, vh = torch.linalg.svd(delta.double(), full_matrices=False)
    r = min(rank, s.numel())
    root = s[:r].sqrt()
    energy = float((s**2).sum())
    kept = float((s[:r] ** 2).sum()) / energy if energy > 0 else 1.0
    b = torch.zeros(delta.shape[0], rank, dtype=torch.float64)
    a = torch.zeros(rank, delta.shape[1], dtype=torch.float64)
    b[:, :r], a[:r] = u[:, :r] * root, root[:, None] * vh[:r]  # zeros beyond the layer's own rank
    return b.float(), a.float(), kept


def extract_lora(config: ExtractConfig) -> Path:
    """Write the fully fine-tuned ``config.source`` as a rank-``config.rank`` LoRA model folder; return it."""
    from peft import LoraConfig, TaskType, get_peft_model

    if config.rank < 1:
        raise StanceError(f"rank {config.rank}: give a rank of at least 1")
    if config.dtype not in DTYPES:
        raise StanceError(f"dtype {config.dtype!r}: choose one of {', '.join(DTYPES)}")
    source, out = Path(config.source), Path(config.output)
    if out.exists():  # before reading any weights
        raise StanceError(f"{out}: already exists: choose a new output folder")
    spec, tuned = _read_source(source)

    model = build_classifier(resolve_base(spec.base_model).location, spec.labels, pooling=spec.pooling)
    n_layers = model.config.num_hidden_layers - (1 if spec.pooling == "mean" else 0)
    layers = "|".join(str(i) for i in range(n_layers))  # the base's own layers, never the fixed pooling layer
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=config.rank,
        lora_alpha=config.rank,  # scaling 1: B @ A is the change itself
        lora_dropout=0.0,
        lora_bias=True,
        target_modules=rf".*\.encoder\.layer\.({layers})\..*\b({'|'.join(LINEAR)})$",
        modules_to_save=list(KEPT_WHOLE),
    )
    with quiet_libraries():
        try:
            model = get_peft_model(model, lora)
        except ValueError as exc:  # no encoder.layer.N linear layers: not a BERT-style encoder
            raise StanceError(f"{source}: cannot place adapters on its base ({str(exc).splitlines()[0]})") from None

    def tuned_weight(name: str, like: torch.Tensor) -> torch.Tensor:
        if name not in tuned or tuned[name].shape != like.shape:
            raise StanceError(f"{source}: no {name} of the base's shape: extract from a model of the same base")
        return tuned[name]

    kept: dict[str, list[float]] = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            plain = name.removeprefix("base_model.model.")
            if hasattr(module, "lora_A") and "default" in module.lora_A:
                base = module.get_base_layer()
                delta = tuned_weight(plain + ".weight", base.weight) - base.weight.float()
                b, a, share = _factor(delta, config.rank)
                module.lora_B["default"].weight.copy_(b)
                module.lora_A["default"].weight.copy_(a)
                module.lora_B["default"].bias.copy_(tuned_weight(plain + ".bias", base.bias) - base.bias.float())
                kind = re.sub(r".*\.layer\.\d+\.", "", plain)
                kept.setdefault(kind, []).append(share)
            elif name.endswith(".modules_to_save.default"):
                owner = plain.removesuffix(".modules_to_save.default")
                if re.search(rf"\.layer\.{n_layers}\.", owner):  # the fixed pooling layer keeps its own values
                    continue
                for key, tensor in module.state_dict().items():
                    tensor.copy_(tuned_weight(f"{owner}.{key}", tensor))

    dropped = _dropped_share(model, tuned)
    model.to(DTYPES[config.dtype])  # written once, in the storage type
    out.mkdir(parents=True)
    with warnings.catch_warnings():  # peft takes the 1-D LoRA biases for unsaved shards: they are whole
        warnings.filterwarnings("ignore", message=".*LoRA tensor.*invalid shape")
        model.save_pretrained(str(out), safe_serialization=True)
    (out / "README.md").unlink(missing_ok=True)  # peft's blank card: fit_lexical.py writes the real one
    ModelSpec.from_dict(spec.to_dict() | {"adapter": True}).save(out)
    for name in COPIED:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, out / name)
        elif path.is_file():
            shutil.copy2(path, out / name)
    training_file = out / "training_config.json"
    if training_file.is_file():  # the card written later reads the adapter's settings from here
        training = json.loads(training_file.read_text(encoding="utf-8"))
        training |= {"lora": True, "lora_r": config.rank, "lora_alpha": config.rank}
        training_file.write_text(json.dumps(training, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    record = {
        "source": str(source),
        "rank": config.rank,
        "dtype": config.dtype,
        "energy_kept": {kind: round(sum(v) / len(v), 4) for kind, v in sorted(kept.items())},
        "dropped": "the word embeddings' change",
        "dropped_relative_size": round(dropped, 6),
    }
    (out / EXTRACT_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("stored %s as a rank-%d LoRA adapter in %s (%s)", source, config.rank, out, config.dtype)
    return out


def _dropped_share(model, tuned: dict[str, torch.Tensor]) -> float:
    """How large the dropped change of the word embeddings is, relative to the base's embeddings (Frobenius)."""
    base = model.get_input_embeddings().weight.float()
    name = next((k for k in tuned if k.endswith("embeddings.word_embeddings.weight")), None)
    if name is None or tuned[name].shape != base.shape:
        return 0.0
    return float(torch.linalg.norm(tuned[name] - base) / torch.linalg.norm(base))
