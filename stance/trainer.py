"""Fine-tuning a classifier on labelled statements, resumable and reproducible.

One obvious entry point, :func:`train`, driven by a :class:`TrainingConfig`.
Batches are drawn from length buckets (little padding, fast on CPU) in an order
fixed by the seed and the epoch, and dropout is re-seeded at every step, so a
run resumed from a checkpoint takes exactly the path an uninterrupted run would.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from stance.data import LabelledData, load_labelled, split_dev
from stance.engine import pad_batch, predict_ids
from stance.errors import StanceError
from stance.normalize import NormalizationConfig

logger = logging.getLogger(__name__)


@dataclass
class TrainingConfig:
    """Everything that defines a training run (saved with the model as ``training_config.json``).

    Attributes:
        train_file: CSV, TSV, JSONL or ``datasets`` folder with texts and labels.
        output_dir: where the model folder is written (checkpoints go in ``output_dir/checkpoints``).
        base_model: ``e5-small`` (built-in, offline), a local folder or a hub id.
        dev_file: a labelled dev set; without it a stratified split of ``train_file`` is held out.
        text_column / label_column: column names in the data.
        group_column: keep rows sharing this value (e.g. an article id) on one side of the dev split.
        weight_column / weight_map: per-row loss weights by the column's value, e.g.
            ``confidence`` with ``{"low": 0.5}``.
        label_map: rename labels while loading (``{"NEG": "negative"}``).
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
        class_weights: weigh the loss by inverse class frequency.
        label_smoothing: cross-entropy label smoothing.
        eval_steps: evaluate every N steps (0: at the end of every epoch).
        save_steps: write a resumable checkpoint every N steps.
        patience: stop after this many evaluations without a better dev macro-F1 (0: never).
        max_steps: stop after this many steps in total (0: no limit).
        task: a name recorded in the model (e.g. ``stance`` or ``sentiment``).
        strict: refuse rows with empty text or label instead of skipping them.
        normalization: Arabic text normalisation, saved with the model.
        lexical: settings of an n-gram TF-IDF + SVM model fitted after training and averaged with the
            neural model at inference (see :class:`stance.lexical.LexicalConfig`; ``{}`` for the defaults,
            ``None`` for none).
    """

    train_file: str = ""
    output_dir: str = ""
    base_model: str = "e5-small"
    dev_file: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    group_column: str | None = None
    weight_column: str | None = None
    weight_map: dict[str, float] = field(default_factory=dict)
    label_map: dict[str, str] = field(default_factory=dict)
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
    class_weights: bool = True
    label_smoothing: float = 0.0
    eval_steps: int = 0
    save_steps: int = 100
    patience: int = 2
    max_steps: int = 0
    task: str = ""
    strict: bool = False
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)
    lexical: dict[str, Any] | None = None

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
        data["normalization"] = NormalizationConfig.from_dict(data.get("normalization"))
        if data.get("lexical") is not None:
            from stance.lexical import LexicalConfig

            LexicalConfig.from_dict(data["lexical"])  # refuse unknown settings before training starts
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainingConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise StanceError(f"{path}: cannot read the training config ({exc})") from None


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def bucket_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar-length rows: shuffle, sort within chunks of 50 batches, shuffle batches."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _trainable_state(model) -> dict[str, Any]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _load_trainable(model, state: dict[str, Any]) -> None:
    params = dict(model.named_parameters())
    missing = [n for n in state if n not in params]
    if missing:
        raise StanceError(f"checkpoint does not match the model ({missing[:3]}...): start without --resume")
    import torch

    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


@dataclass
class _Progress:
    step: int = 0
    best_f1: float = -1.0
    best_step: int = 0
    bad_evals: int = 0
    stopped_early: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0
    loss_avg: float | None = None


class Checkpointer:
    """Writes and restores resumable checkpoints (``last``) and the best weights (``best``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save_last(self, model, optimizer, scheduler, progress: _Progress, fingerprint: dict[str, Any]) -> None:
        import torch
        from safetensors.torch import save_file

        tmp = self.folder / "last.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({k: v.contiguous() for k, v in _trainable_state(model).items()}, str(tmp / "trainable.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
        (tmp / "progress.json").write_text(json.dumps({"progress": asdict(progress), "fingerprint": fingerprint}))
        final = self.folder / "last"
        old = self.folder / "last.old"
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)

    def load_last(self, model, optimizer, scheduler, fingerprint: dict[str, Any]) -> _Progress | None:
        import torch
        from safetensors.torch import load_file

        final = self.folder / "last"
        if not (final / "progress.json").exists():
            old = self.folder / "last.old"
            final = old if (old / "progress.json").exists() else final
        if not (final / "progress.json").exists():
            return None
        saved = json.loads((final / "progress.json").read_text())
        if saved["fingerprint"] != fingerprint:
            raise StanceError(
                f"{final}: the checkpoint was made with different data or settings: "
                "resume with the same ones, or start afresh without --resume"
            )
        _load_trainable(model, load_file(str(final / "trainable.safetensors")))
        states = torch.load(final / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(states["optimizer"])
        scheduler.load_state_dict(states["scheduler"])
        progress = _Progress(**saved["progress"])
        return progress

    def save_best(self, model) -> None:
        from safetensors.torch import save_file

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "best.safetensors.tmp"
        save_file({k: v.contiguous() for k, v in _trainable_state(model).items()}, str(tmp))
        tmp.replace(self.folder / "best.safetensors")

    def load_best(self, model) -> None:
        from safetensors.torch import load_file

        path = self.folder / "best.safetensors"
        if path.exists():
            _load_trainable(model, load_file(str(path)))


def load_splits(config: TrainingConfig) -> tuple[LabelledData, LabelledData]:
    """Training and dev data: the dev file if given, else a (grouped) stratified split."""
    common = dict(
        text_column=config.text_column,
        label_column=config.label_column,
        strict=config.strict,
        label_map=config.label_map or None,
    )
    train = load_labelled(
        config.train_file,
        group_column=config.group_column,
        weight_column=config.weight_column,
        weight_map=config.weight_map,
        **common,
    )
    if config.dev_file:
        dev = load_labelled(config.dev_file, min_classes=1, **common)
    else:
        train, dev = split_dev(train, config.dev_fraction, config.seed)
        logger.info(
            "held out %d of %d rows as dev (stratified%s)",
            len(dev),
            len(train) + len(dev),
            ", grouped by " + config.group_column if config.group_column else "",
        )
    unknown = sorted(set(dev.labels) - set(train.labels))
    if unknown:
        raise StanceError(f"dev labels {unknown} never occur in the training data: fix the labels or use --label-map")
    report_duplicates(train, dev, config.dev_file or config.train_file)
    return train, dev


def _near_key(text: str) -> str:
    import re

    return re.sub(r"[\W_\d]+", "", text).lower()


def report_duplicates(train: LabelledData, dev: LabelledData, dev_name: str) -> None:
    """Warn about exact and near duplicates in train; refuse texts that sit in both train and dev."""
    from collections import Counter

    exact = sum(n - 1 for n in Counter(train.texts).values() if n > 1)
    near = sum(n - 1 for n in Counter(map(_near_key, train.texts)).values() if n > 1) - exact
    if exact or near:
        logger.warning(
            "training data: %d exact and %d near-duplicate text(s) (same letters, other punctuation, digits or case)",
            exact,
            max(near, 0),
        )
    shared = sorted(set(train.texts) & set(dev.texts))
    if shared:
        raise StanceError(
            f"{len(shared)} text(s) occur in both train and dev (e.g. {shared[0][:60]!r}), so dev would "
            f"overstate accuracy: remove them from {dev_name} or from the training data"
        )
    dev_keys = {_near_key(t) for t in dev.texts}
    near_shared = sum(1 for k in {_near_key(t) for t in train.texts} if k and k in dev_keys)
    if near_shared:
        logger.warning(
            "%d near-duplicate text(s) across train and dev (same letters, other punctuation or digits)", near_shared
        )


def train(
    config: TrainingConfig, resume: bool = False, progress_bar: bool = True, stop_after: int | None = None
) -> dict[str, Any] | None:
    """Train, evaluate on dev, and write the model folder. Returns the dev report.

    ``stop_after`` time-boxes this call: after that many steps it writes a
    checkpoint and returns ``None``; ``resume=True`` later continues exactly
    where it stopped (the learning-rate schedule is unaffected).
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from stance.bases import resolve_base
    from stance.metrics import classification_report, task_f1_over
    from stance.modeling import LoraSettings, ModelSpec, build_classifier, load_tokenizer

    if not config.train_file or not config.output_dir:
        raise StanceError("training needs a train file and an output folder")
    started = time.time()
    set_seed(config.seed)
    train_data, dev_data = load_splits(config)
    labels = sorted(set(train_data.labels))
    base = resolve_base(config.base_model)
    spec = ModelSpec(
        labels=labels,
        base_model=config.base_model,
        input_prefix=base.input_prefix,
        max_length=config.max_length,
        normalization=config.normalization,
        adapter=config.lora,
        task=config.task,
    )
    tokenizer = load_tokenizer(base.location)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer(spec.prepare(texts), truncation=True, max_length=config.max_length)["input_ids"]

    train_ids, dev_ids = encode(train_data.texts), encode(dev_data.texts)
    label_index = {lab: i for i, lab in enumerate(labels)}
    y_train = torch.tensor([label_index[lab] for lab in train_data.labels])
    row_weights = torch.tensor(train_data.weights or [1.0] * len(train_data), dtype=torch.float32)
    counts = torch.bincount(y_train, minlength=len(labels)).float()
    class_weights = (
        (len(y_train) / (len(labels) * counts.clamp(min=1))) if config.class_weights else torch.ones(len(labels))
    )

    model = build_classifier(
        base.location,
        labels,
        LoraSettings(r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout) if config.lora else None,
    )
    if not config.lora and config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    logger.info(
        "training %s parameters on %d rows (dev %d), labels %s",
        f"{n_trainable:,}",
        len(train_data),
        len(dev_data),
        labels,
    )
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate,
    )
    steps_per_epoch = math.ceil(len(train_ids) / config.batch_size)
    total_steps = max(1, math.ceil(config.epochs * steps_per_epoch))
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

    out = Path(config.output_dir)
    checkpoints = Checkpointer(out / "checkpoints")
    fingerprint = {"config": config.to_dict() | {"max_steps": 0}, "n_train": len(train_ids), "n_dev": len(dev_ids)}
    progress = _Progress()
    if resume:
        restored = checkpoints.load_last(model, optimizer, scheduler, fingerprint)
        if restored is None:
            logger.warning("no checkpoint in %s: starting from the beginning", checkpoints.folder)
        else:
            progress = restored
            logger.info("resumed at step %d of %d", progress.step, total_steps)

    lengths = [len(x) for x in train_ids]
    epoch_cache: dict[int, list[list[int]]] = {}

    def dev_report(probs) -> dict[str, Any]:
        pred = [labels[i] for i in probs.argmax(axis=1)]
        return classification_report(dev_data.labels, pred, labels, f1_over=task_f1_over(config.task, labels))

    def evaluate_dev() -> dict[str, Any]:
        return dev_report(predict_ids(model, dev_ids, pad_id, batch_size=64))

    model.train()
    bar = tqdm(
        total=total_steps,
        initial=progress.step,
        desc="training",
        unit="step",
        disable=not progress_bar,
        dynamic_ncols=True,
    )
    resumed_at = time.time() - progress.elapsed
    loss_avg = progress.loss_avg
    first_step = progress.step
    while progress.step < total_steps and not progress.stopped_early:
        if stop_after is not None and progress.step - first_step >= stop_after:
            progress.elapsed = time.time() - resumed_at
            checkpoints.save_last(model, optimizer, scheduler, progress, fingerprint)
            bar.close()
            logger.info("stopped at step %d as asked: continue with --resume", progress.step)
            return None
        step = progress.step
        epoch, position = divmod(step, steps_per_epoch)
        if epoch not in epoch_cache:
            epoch_cache = {epoch: bucket_batches(lengths, config.batch_size, config.seed * 1000 + epoch)}
        batch = epoch_cache[epoch][position]
        torch.manual_seed(config.seed * 1_000_003 + step)
        input_ids, mask = pad_batch([train_ids[i] for i in batch], pad_id)
        logits = model(input_ids=input_ids, attention_mask=mask).logits
        target = y_train[batch]
        per_row = torch.nn.functional.cross_entropy(
            logits.float(), target, weight=class_weights, label_smoothing=config.label_smoothing, reduction="none"
        )
        w = row_weights[batch]
        loss = (per_row * w).sum() / (class_weights[target] * w).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        progress.step += 1
        loss_avg = loss.item() if loss_avg is None else 0.95 * loss_avg + 0.05 * loss.item()
        progress.loss_avg = loss_avg
        bar.update(1)
        bar.set_postfix(loss=f"{loss_avg:.3f}", best_f1=f"{max(progress.best_f1, 0):.3f}")

        end_of_epoch = progress.step % steps_per_epoch == 0
        due = (config.eval_steps and progress.step % config.eval_steps == 0) or (not config.eval_steps and end_of_epoch)
        if due or progress.step == total_steps:
            report = evaluate_dev()
            record = {
                "step": progress.step,
                "epoch": round(progress.step / steps_per_epoch, 3),
                "macro_f1": report["macro_f1"],
                "accuracy": report["accuracy"],
                "loss": loss_avg,
            }
            progress.history.append(record)
            logger.info(
                "step %d (epoch %.2f): dev macro-F1 %.4f, accuracy %.4f",
                progress.step,
                record["epoch"],
                report["macro_f1"],
                report["accuracy"],
            )
            if report["macro_f1"] > progress.best_f1:
                progress.best_f1, progress.best_step, progress.bad_evals = report["macro_f1"], progress.step, 0
                checkpoints.save_best(model)
            else:
                progress.bad_evals += 1
                if config.patience and progress.bad_evals >= config.patience:
                    logger.info("no dev improvement in %d evaluations: stopping early", progress.bad_evals)
                    progress.stopped_early = True
        if due or progress.step % config.save_steps == 0:
            progress.elapsed = time.time() - resumed_at
            checkpoints.save_last(model, optimizer, scheduler, progress, fingerprint)
    bar.close()
    progress.elapsed = time.time() - resumed_at

    checkpoints.load_best(model)
    dev_probs = predict_ids(model, dev_ids, pad_id, batch_size=64)
    report = dev_report(dev_probs)
    report.update(
        best_step=progress.best_step,
        steps=progress.step,
        history=progress.history,
        train_rows=len(train_data),
        dev_rows=len(dev_data),
        train_seconds=round(progress.elapsed, 1),
        wall_seconds_this_run=round(time.time() - started, 1),
        trainable_parameters=n_trainable,
    )
    save_model_folder(model, tokenizer, spec, config, report, out)
    logger.info("saved %s (dev macro-F1 %.4f)", out, report["macro_f1"])
    if config.lexical is not None:
        from stance.lexical import LexicalConfig
        from stance.lexical_fit import attach_lexical

        report = attach_lexical(out, config, LexicalConfig.from_dict(config.lexical), neural_dev_probs=dev_probs)
    return report


def save_model_folder(model, tokenizer, spec, config: TrainingConfig, report: dict[str, Any], out: Path) -> None:
    """Write weights (or adapters), tokenizer, settings, figures and the model card."""
    from stance.metrics import plot_confusion
    from stance.model_card import write_model_card

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    if not spec.adapter:
        tokenizer.save_pretrained(str(out))
    spec.save(out)
    (out / "training_config.json").write_text(json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    plot_confusion(report, str(out / "confusion.png"), title=f"{spec.task or 'dev'}: confusion matrix (dev)")
    write_model_card(out, spec, config, report)
