"""Building, saving and loading sequence classifiers (full or LoRA fine-tuned).

A model folder always holds ``stance_config.json`` (labels, base model,
input prefix, maximum length and the text normalisation) next to either a full
``save_pretrained`` model (``config.json`` + ``model.safetensors`` + tokenizer)
or LoRA adapters (``adapter_config.json`` + ``adapter_model.safetensors``) whose
base is rebuilt on load. Only safetensors are ever read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.modeling.bases import resolve_base
from stance.modeling.quiet import quiet_libraries
from stance.text.normalize import NormalizationConfig

logger = logging.getLogger(__name__)

STANCE_CONFIG = "stance_config.json"
SOUP_FILE = "soup.json"  # a weight-averaged model's record of what went in (``stance.fit.soup``)
FORMAT_VERSION = 1
PICKLE_WEIGHTS = ("pytorch_model.bin", "adapter_model.bin", "tf_model.h5", "model.ckpt.index", "flax_model.msgpack")


def read_record_json(path: Path) -> dict[str, Any]:
    """A JSON object read only to describe a model or run: missing or damaged gives {} (damaged with a warning)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("%s: unreadable (%s); described without it", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def read_soup_record(folder: str | Path) -> dict[str, Any] | None:
    """The folder's ``soup.json`` with one dict per input, or None when it is not a soup.

    Records written before inputs carried their run's figures listed paths and a
    separate ``weights`` list; they are read as names and weights. The record only
    describes the model, so a damaged one is a warning, not an error.
    """
    record = read_record_json(Path(folder) / SOUP_FILE)
    if not record:
        return None
    inputs = record.get("inputs", [])
    inputs = inputs if isinstance(inputs, list) else []
    weights = record.pop("weights", None) or [None] * len(inputs)
    record["inputs"] = [
        item
        if isinstance(item, dict)
        else {"name": Path(str(item)).name} | ({"weight": weight} if weight is not None else {})
        for item, weight in zip(inputs, weights)
    ]
    return record


def apply_class_scale(probs, scale):
    """Probabilities (n, labels) times a per-class scale, renormalised to sum to one per row."""
    import numpy as np

    scaled = np.asarray(probs, dtype=np.float64) * np.asarray(scale, dtype=np.float64)[None, :]
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


def source_prefix(source: str) -> str:
    """The tag a source-tagged model reads before a text: ``[arsarcasm] `` (nothing for no source)."""
    return f"[{source}] " if source else ""


@dataclass
class ModelSpec:
    """What a trained model needs at inference, saved as ``stance_config.json``."""

    labels: list[str]
    base_model: str
    input_prefix: str = ""
    source_tag: str = ""
    class_scale: dict[str, float] | None = None
    max_length: int = 128
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)
    adapter: bool = False
    pooling: str = "cls"
    task: str = ""
    version: str = "1"
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["normalization"] = self.normalization.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        data = dict(data)
        data["normalization"] = NormalizationConfig.from_dict(data.get("normalization"))
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def text_prefix(self) -> str:
        """What goes before every normalised text: the base's input prefix and the source tag, if any."""
        return self.input_prefix + source_prefix(self.source_tag)

    def prepare(self, texts: list[str], sources: list[str] | None = None) -> list[str]:
        """Normalise texts and add the base's input prefix and source tag, exactly as in training.

        ``sources`` (training only) tags each text with its own data set instead of :attr:`source_tag`.
        """
        normalised = self.normalize(texts)
        if sources is None:
            return [self.text_prefix + t for t in normalised]
        return [self.input_prefix + source_prefix(s) + t for s, t in zip(sources, normalised, strict=True)]

    def rescale(self, probs):
        """Apply the class-prior correction fitted on dev (``class_scale``), if the model has one."""
        if not self.class_scale:
            return probs
        return apply_class_scale(probs, [self.class_scale.get(lab, 1.0) for lab in self.labels])

    def normalize(self, texts: list[str]) -> list[str]:
        """Normalise texts as in training (without the input prefix)."""
        from stance.text.normalize import Normalizer

        normalize = Normalizer(self.normalization)
        return [normalize(t) for t in texts]

    def save(self, folder: Path) -> None:
        (folder / STANCE_CONFIG).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ModelSpec:
        path = folder / STANCE_CONFIG
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise StanceError(f"{path}: unreadable model settings ({exc}): re-export or retrain the model") from None


@dataclass
class LoraSettings:
    """LoRA on every attention and feed-forward projection of a BERT encoder."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])


def label_maps(labels: list[str]) -> tuple[dict[int, str], dict[str, int]]:
    return {i: lab for i, lab in enumerate(labels)}, {lab: i for i, lab in enumerate(labels)}


def check_safetensors_only(folder: Path) -> None:
    """Refuse folders whose weights exist only in pickle-based formats."""
    has_safe = any(folder.glob("*.safetensors"))
    pickles = [name for name in PICKLE_WEIGHTS if (folder / name).exists()]
    if pickles and not has_safe:
        raise StanceError(
            f"{folder}: weights only in {', '.join(pickles)} (pickle, which can run code when loaded): "
            "arabic-stance loads safetensors only; convert with `model.save_pretrained(dir, safe_serialization=True)`"
        )


def load_tokenizer(location: str):
    """``AutoTokenizer.from_pretrained`` with a one-line error when it cannot be loaded."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(location)
    except (OSError, ValueError) as exc:
        raise StanceError(
            f"cannot load the tokenizer of {location!r} ({str(exc).splitlines()[0]}): "
            "check the name, or pass a local folder when offline"
        ) from None


def build_classifier(base_location: str, labels: list[str], lora: LoraSettings | None = None, pooling: str = "cls"):
    """A fresh sequence classifier on a base encoder, optionally wrapped with LoRA.

    The new head is randomly initialised, as it should be before training; the
    libraries' notes about that go to DEBUG logging (see :mod:`stance.modeling.quiet`).
    ``pooling="mean"`` appends the fixed mean-pooling layer (:mod:`stance.modeling.pooling`);
    LoRA then adapts only the base's own layers.
    """
    from transformers import AutoModelForSequenceClassification

    from stance.modeling.pooling import append_mean_pooling_layer, check_pooling

    check_pooling(pooling)
    id2label, label2id = label_maps(labels)
    with quiet_libraries():
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                base_location,
                num_labels=len(labels),
                id2label=id2label,
                label2id=label2id,
                use_safetensors=True,
            )
        except OSError as exc:
            raise StanceError(
                f"cannot load base model {base_location!r} ({str(exc).splitlines()[0]}): "
                "check the name, or pass a local folder when offline"
            ) from None
        base_layers = append_mean_pooling_layer(model) if pooling == "mean" else None
        if lora is None:
            return model
        from peft import LoraConfig, TaskType, get_peft_model

        config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=lora.target_modules,
            modules_to_save=["classifier", "pooler"],
            # with mean pooling, the appended fixed layer (index base_layers) gets no adapters
            layers_to_transform=list(range(base_layers)) if base_layers else None,
            layers_pattern="layer" if base_layers else None,
        )
        return get_peft_model(model, config)


def load_model_folder(folder: str | Path):
    """Load ``(model, tokenizer, spec)`` from a model folder, merging LoRA adapters.

    This is the full ``transformers`` + ``peft`` path (seconds on a small CPU);
    :func:`stance.modeling.ready.load_ready` caches its result.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise StanceError(f"{folder}: no such model folder: train one with `stance train` or use a shipped name")
    check_safetensors_only(folder)
    if not (folder / STANCE_CONFIG).exists():
        return _load_plain_folder(folder)
    spec = ModelSpec.load(folder)
    with quiet_libraries():
        if spec.adapter:
            base = resolve_base(spec.base_model)
            model = _adapter_model(folder, base.location, spec.labels, spec.pooling)
            tokenizer_source = str(folder) if (folder / "tokenizer.json").exists() else base.location
        else:
            from transformers import AutoModelForSequenceClassification

            model = AutoModelForSequenceClassification.from_pretrained(str(folder), use_safetensors=True)
            tokenizer_source = str(folder)
        tokenizer = load_tokenizer(tokenizer_source)
    model.eval()
    return model, tokenizer, spec


def _adapter_model(folder: Path, base_location: str, labels: list[str], pooling: str = "cls"):
    """The base (and the mean-pooling layer, if trained with one) with the folder's LoRA adapters merged in.

    The base checkpoint has no classification head (nor, for e5-small, a pooler):
    those are saved with the adapters. When the base is a local safetensors folder,
    one state dict (base weights + the adapters' head and pooler) builds the model,
    so nothing is missing; then the LoRA weights are applied and merged.
    """
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForSequenceClassification, BertForSequenceClassification

    id2label, label2id = label_maps(labels)
    state = _base_and_head(folder, base_location)
    if state is None:  # a hub id, or weights not in one local safetensors file: let transformers fetch them
        model = AutoModelForSequenceClassification.from_pretrained(
            base_location, num_labels=len(labels), id2label=id2label, label2id=label2id, use_safetensors=True
        )
    else:
        config = AutoConfig.from_pretrained(base_location, num_labels=len(labels), id2label=id2label, label2id=label2id)
        model = BertForSequenceClassification.from_pretrained(None, config=config, state_dict=state)
    from stance.modeling.pooling import append_mean_pooling_layer, check_pooling

    if check_pooling(pooling) == "mean":
        append_mean_pooling_layer(model)
    return PeftModel.from_pretrained(model, str(folder)).merge_and_unload()


_ADAPTER_PREFIX = "base_model.model."


def _base_and_head(folder: Path, base_location: str) -> dict | None:
    """Base weights under the classifier's names plus the head and pooler saved with the adapters."""
    from safetensors.torch import load_file

    base_file = Path(base_location) / "model.safetensors"
    adapter_file = folder / "adapter_model.safetensors"
    config_file = Path(base_location) / "config.json"
    if not (base_file.is_file() and adapter_file.is_file() and config_file.is_file()):
        return None
    if json.loads(config_file.read_text(encoding="utf-8")).get("model_type") != "bert":
        return None
    state = {}
    for name, tensor in load_file(str(base_file)).items():
        name = name.removeprefix("bert.")
        if name.split(".")[0] in ("embeddings", "encoder", "pooler"):  # not e.g. a pre-training head
            state["bert." + name] = tensor
    for name, tensor in load_file(str(adapter_file)).items():
        if "lora_" in name or not name.startswith(_ADAPTER_PREFIX):
            continue
        state[name[len(_ADAPTER_PREFIX) :].replace(".modules_to_save.default", "")] = tensor
    if not any(name.startswith("classifier.") for name in state):
        return None
    return state


def _load_plain_folder(folder: Path):
    """A plain Hugging Face classifier folder (no stance_config.json): use its own labels."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    if not (folder / "config.json").exists():
        raise StanceError(f"{folder}: not a model folder (no stance_config.json or config.json)")
    try:
        with quiet_libraries():
            config = AutoConfig.from_pretrained(str(folder))
            model = AutoModelForSequenceClassification.from_pretrained(str(folder), use_safetensors=True)
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise StanceError(f"{folder}: cannot load the model ({str(exc).splitlines()[0]})") from None
    labels = [config.id2label[i] for i in range(config.num_labels)]
    spec = ModelSpec(
        labels=labels,
        base_model=str(folder),
        input_prefix=getattr(config, "stance_input_prefix", "") or "",
        source_tag=getattr(config, "stance_source_tag", "") or "",
        class_scale=getattr(config, "stance_class_scale", None) or None,
        normalization=NormalizationConfig.from_dict(getattr(config, "stance_normalization", None)),
    )
    model.eval()
    return model, tokenizer, spec


def export_merged(folder: str | Path, target: str | Path) -> Path:
    """Write a plain folder (merged weights + tokenizer) that ``transformers.pipeline`` loads."""
    model, tokenizer, spec = load_model_folder(folder)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    model.config.stance_input_prefix = spec.input_prefix
    if spec.source_tag:
        model.config.stance_source_tag = spec.source_tag
    if spec.class_scale:
        model.config.stance_class_scale = spec.class_scale
    model.config.stance_normalization = spec.normalization.to_dict()
    with quiet_libraries():
        model.save_pretrained(str(target), safe_serialization=True)
        tokenizer.save_pretrained(str(target))
    merged = ModelSpec(**{**spec.__dict__, "adapter": False, "base_model": spec.base_model})
    merged.save(target)
    lexical = Path(folder) / "lexical"
    if lexical.is_dir():  # the n-gram half travels too: Classifier.load(target) averages it in, pipeline() does not
        import shutil

        shutil.copytree(lexical, target / "lexical", dirs_exist_ok=True)
    return target
