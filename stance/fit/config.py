"""The settings of a training run, as one dataclass saved with the model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.text.normalize import NormalizationConfig


@dataclass
class TrainingConfig:
    """Everything that defines a training run (saved with the model as ``training_config.json``).

    Attributes:
        train_file: CSV, TSV, JSONL or ``datasets`` folder with texts and labels, or a list of such files
            (concatenated; each must have the named columns).
        output_dir: where the model folder is written (checkpoints go in ``output_dir/checkpoints``).
        base_model: ``e5-small`` (built-in, offline), a local folder or a hub id.
        dev_file: a labelled dev set (named ``dev``); without it and ``dev_sets`` a stratified split of
            ``train_file`` is held out.
        dev_sets: more named dev sets, ``{"outlets": "dev_outlets.tsv"}``; every evaluation reports each one.
        select_on: the dev set whose macro-F1 picks the best checkpoint and drives early stopping
            (default: the first one).
        text_column / label_column: column names in the data.
        group_column: keep rows sharing this value (e.g. an article id) on one side of the dev split.
        weight_column / weight_map: per-row loss weights by the column's value, e.g.
            ``confidence`` with ``{"low": 0.5}``.
        label_map: rename labels while loading (``{"NEG": "negative"}``).
        source_column: a column naming the data set of each training row; the row is trained as
            ``[source] text``, so a model learns several labelling conventions apart.
        source_tag: the source whose convention the model applies to dev sets and at inference
            (``[source_tag] text``; recorded in the model). Needed with ``source_column``.
        init_from: a model folder trained earlier on the same base with the same labels and method
            (LoRA or full) whose weights start this run: the second stage of a two-stage recipe
            (a large mixture first, then a short fine-tune on the target data).
        dev_fraction: share of rows held out when there is no ``dev_file``.
        epochs: passes over the training data (may be fractional).
        batch_size: statements per step.
        learning_rate: peak learning rate (LoRA likes ~3e-4, full fine-tuning ~5e-5).
        warmup_ratio: share of steps with a linear warm-up; linear decay afterwards.
        weight_decay: AdamW weight decay.
        max_length: tokens per statement (longer ones are truncated).
        seed: fixes the split, the initialisation, the batch order and dropout.
        lora: train LoRA adapters (small files) instead of every weight.
        lora_r / lora_alpha / lora_dropout: LoRA rank, scale and dropout.
        freeze_embeddings: in full fine-tuning, keep the word embeddings fixed.
        pooling: ``cls`` (the sequence classifier's first-token pooler) or ``mean`` (the mean of the token
            vectors, as e5 was trained to be read, computed by a fixed extra encoder layer so the model stays a
            stock BERT classifier; see :mod:`stance.modeling.pooling`).
        class_weights: weigh the loss by inverse class frequency.
        label_smoothing: cross-entropy label smoothing.
        eval_steps: evaluate every N steps (0: at the end of every epoch).
        save_steps: write a resumable checkpoint every N steps.
        patience: stop after this many evaluations without a better dev macro-F1 (0: never).
        max_steps: stop after this many steps in total (0: no limit).
        probe_steps: first train only the classification head (pooler and classifier) for this many steps,
            the encoder and its adapters frozen (cheap: no backward pass through the encoder), then everything
            with the usual warm-up and decay: LP-FT (Kumar et al., 2022), which distorts the pre-trained
            features less and holds up better on data unlike the training data.
        task: a name recorded in the model (e.g. ``stance`` or ``sentiment``).
        strict: refuse rows with empty text or label instead of skipping them.
        normalization: Arabic text normalisation, saved with the model.
        lexical: settings of an n-gram TF-IDF + SVM model fitted after training and averaged with the
            neural model at inference (see :class:`stance.modeling.lexical.LexicalConfig`; ``{}`` for the defaults,
            ``None`` for none).
    """

    train_file: str | list[str] = ""
    output_dir: str = ""
    base_model: str = "e5-small"
    dev_file: str | None = None
    dev_sets: dict[str, str] = field(default_factory=dict)
    select_on: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    group_column: str | None = None
    weight_column: str | None = None
    weight_map: dict[str, float] = field(default_factory=dict)
    label_map: dict[str, str] = field(default_factory=dict)
    source_column: str | None = None
    source_tag: str = ""
    init_from: str | None = None
    dev_fraction: float = 0.15
    epochs: float = 3.0
    batch_size: int = 16
    learning_rate: float = 3e-4
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 42
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    freeze_embeddings: bool = True
    pooling: str = "cls"
    class_weights: bool = True
    label_smoothing: float = 0.0
    eval_steps: int = 0
    save_steps: int = 100
    patience: int = 2
    max_steps: int = 0
    probe_steps: int = 0
    task: str = ""
    strict: bool = False
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)
    lexical: dict[str, Any] | None = None

    @property
    def train_files(self) -> list[str]:
        files = [self.train_file] if isinstance(self.train_file, str) else list(self.train_file)
        return [f for f in files if f]

    def named_dev_files(self) -> dict[str, str]:
        """Every named dev file, ``dev_file`` first (as ``dev``)."""
        named = {"dev": self.dev_file} if self.dev_file else {}
        for name, path in self.dev_sets.items():
            if name in named:
                raise StanceError(f"two dev sets are named {name!r}: give each --dev NAME=FILE a different name")
            named[name] = path
        return named

    @property
    def selection_set(self) -> str:
        """The name of the dev set that chooses the checkpoint."""
        named = self.named_dev_files()
        if self.select_on:
            if named and self.select_on not in named:
                raise StanceError(
                    f"--select-on {self.select_on}: no dev set has that name (the dev sets are {', '.join(named)})"
                )
            return self.select_on
        return next(iter(named), "dev")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["normalization"] = self.normalization.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise StanceError(f"unknown training setting(s) {sorted(unknown)}: known ones are {sorted(known)}")
        data = dict(data)
        if isinstance(data.get("train_file"), list) and len(data["train_file"]) == 1:
            data["train_file"] = data["train_file"][0]
        data["normalization"] = NormalizationConfig.from_dict(data.get("normalization"))
        if data.get("source_column") and not data.get("source_tag"):
            raise StanceError(
                "--source-column needs --source-tag NAME: the source whose labelling the model applies at inference"
            )
        if data.get("lexical") is not None:
            from stance.modeling.lexical import LexicalConfig

            LexicalConfig.from_dict(data["lexical"])  # refuse unknown settings before training starts
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainingConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise StanceError(f"{path}: cannot read the training config ({exc})") from None
