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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import StanceError
from stance.fit.config import TrainingConfig
from stance.fit.splits import load_splits
from stance.inference.engine import pad_batch, predict_ids

logger = logging.getLogger(__name__)

__all__ = ["Checkpointer", "TrainingConfig", "bucket_batches", "save_model_folder", "set_seed", "train"]


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


def initialise_from(model, folder: Path, labels: list[str], lora: bool) -> None:
    """Copy a trained model folder's weights (LoRA adapters and head, or every weight) into a fresh model."""
    from safetensors.torch import load_file

    from stance.modeling.folder import ModelSpec

    if not (folder / "stance_config.json").exists():
        raise StanceError(f"--init-from {folder}: not a model folder (no stance_config.json)")
    spec = ModelSpec.load(folder)
    if list(spec.labels) != list(labels):
        raise StanceError(
            f"--init-from {folder}: its labels {list(spec.labels)} differ from this run's {labels}: "
            "start from a model trained on the same labels"
        )
    weights = folder / ("adapter_model.safetensors" if lora else "model.safetensors")
    if spec.adapter != lora or not weights.exists():
        kind = "LoRA adapters" if spec.adapter else "a fully fine-tuned model"
        raise StanceError(
            f"--init-from {folder}: it holds {kind}; train this stage the same way "
            f"({'--lora' if spec.adapter else '--no-lora'})"
        )
    state = load_file(str(weights))
    try:
        if lora:
            from peft import set_peft_model_state_dict

            result = set_peft_model_state_dict(model, state)
            unexpected = list(getattr(result, "unexpected_keys", []) or [])
        else:
            unexpected = list(model.load_state_dict(state, strict=False).unexpected_keys)
    except RuntimeError as exc:  # shapes differ: another base or rank
        unexpected = [str(exc).splitlines()[0][:120]]
    if unexpected:
        raise StanceError(
            f"--init-from {folder}: its weights do not fit this base ({unexpected[:2]}...): "
            "use the same --base-model and LoRA rank"
        )
    logger.info("started from the weights of %s", folder)


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


def _is_head(name: str) -> bool:
    """The classification head's weights: the classifier and the pooler (under their peft names too)."""
    parts = name.split(".")
    return "classifier" in parts or "pooler" in parts


def _probe_then_tune_schedule(optimizer, probe: int, total: int, warmup_ratio: float):
    """Head groups at the full rate and the encoder at 0 for ``probe`` steps; then all groups warm up and decay."""
    from torch.optim.lr_scheduler import LambdaLR

    tune = max(1, total - probe)
    warm = int(warmup_ratio * tune)

    def tuning(step: int) -> float:
        s = step - probe
        if s < warm:
            return s / max(1, warm)
        return max(0.0, (tune - s) / max(1, tune - warm))

    def head(step: int) -> float:
        return 1.0 if step < probe else tuning(step)

    def encoder(step: int) -> float:
        return 0.0 if step < probe else tuning(step)

    return LambdaLR(optimizer, [head if group["head"] else encoder for group in optimizer.param_groups])


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

    from stance.fit.metrics import classification_report, task_f1_over
    from stance.modeling.bases import resolve_base
    from stance.modeling.folder import LoraSettings, ModelSpec, build_classifier, load_tokenizer

    if not config.train_files or not config.output_dir:
        raise StanceError("training needs a train file and an output folder")
    started = time.time()
    set_seed(config.seed)
    train_data, devs = load_splits(config)
    select = config.selection_set
    labels = sorted(set(train_data.labels))
    base = resolve_base(config.base_model)
    spec = ModelSpec(
        labels=labels,
        base_model=config.base_model,
        input_prefix=base.input_prefix,
        source_tag=config.source_tag,
        max_length=config.max_length,
        normalization=config.normalization,
        adapter=config.lora,
        pooling=config.pooling,
        task=config.task,
    )
    tokenizer = load_tokenizer(base.location)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def encode(texts: list[str], sources: list[str] | None = None) -> list[list[int]]:
        return tokenizer(spec.prepare(texts, sources), truncation=True, max_length=config.max_length)["input_ids"]

    train_ids = encode(train_data.texts, train_data.sources)
    dev_ids = {name: encode(dev.texts) for name, dev in devs.items()}
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
        pooling=config.pooling,
    )
    if config.init_from:
        initialise_from(model, Path(config.init_from), labels, config.lora)
    if not config.lora and config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    logger.info(
        "training %s parameters on %d rows (dev sets: %s; choosing on %s), labels %s",
        f"{n_trainable:,}",
        len(train_data),
        ", ".join(f"{name} {len(dev)}" for name, dev in devs.items()),
        select,
        labels,
    )
    probe = max(0, config.probe_steps)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = {n for n, _ in named if _is_head(n)} if probe else set()
    encoder = [p for n, p in named if n not in head]
    if probe and (not head or not encoder):
        raise StanceError("--probe-steps needs a classification head and encoder weights to train")
    groups = []
    for in_head in (True, False) if probe else (False,):
        for decayed in (True, False):
            params = [p for n, p in named if (n in head) == in_head and (p.ndim >= 2) == decayed]
            if params:
                groups.append(
                    {"params": params, "weight_decay": config.weight_decay if decayed else 0.0, "head": in_head}
                )
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)
    steps_per_epoch = math.ceil(len(train_ids) / config.batch_size)
    total_steps = probe + max(1, math.ceil(config.epochs * steps_per_epoch))
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    if probe:
        scheduler = _probe_then_tune_schedule(optimizer, probe, total_steps, config.warmup_ratio)
    else:
        scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

    out = Path(config.output_dir)
    checkpoints = Checkpointer(out / "checkpoints")
    fingerprint = {
        "config": config.to_dict() | {"max_steps": 0},
        "n_train": len(train_ids),
        "n_dev": sum(len(ids) for ids in dev_ids.values()),
    }
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

    def dev_report(name: str, probs) -> dict[str, Any]:
        pred = [labels[i] for i in probs.argmax(axis=1)]
        return classification_report(devs[name].labels, pred, labels, f1_over=task_f1_over(config.task, labels))

    def dev_probabilities() -> dict[str, Any]:
        return {name: predict_ids(model, ids, pad_id, batch_size=64) for name, ids in dev_ids.items()}

    def evaluate_dev() -> dict[str, dict[str, Any]]:
        return {name: dev_report(name, probs) for name, probs in dev_probabilities().items()}

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
        if probe and step in (first_step, probe):  # the encoder is frozen while the head is probed
            for p in encoder:
                p.requires_grad_(step >= probe)
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
            reports = evaluate_dev()
            report = reports[select]
            record = {
                "step": progress.step,
                "epoch": round(progress.step / steps_per_epoch, 3),
                "macro_f1": report["macro_f1"],
                "accuracy": report["accuracy"],
                "loss": loss_avg,
                "dev_sets": {name: r["macro_f1"] for name, r in reports.items()},
            }
            progress.history.append(record)
            logger.info(
                "step %d (epoch %.2f): dev macro-F1 %s (choosing on %s)",
                progress.step,
                record["epoch"],
                ", ".join(f"{name} {r['macro_f1']:.4f}" for name, r in reports.items()),
                select,
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
    dev_probs = dev_probabilities()
    reports = {name: dev_report(name, probs) for name, probs in dev_probs.items()}
    report = dict(reports[select])
    report.update(
        selected_on=select,
        dev_sets=reports,
        dev_files=config.named_dev_files(),
        best_step=progress.best_step,
        steps=progress.step,
        history=progress.history,
        train_rows=len(train_data),
        dev_rows=len(devs[select]),
        train_seconds=round(progress.elapsed, 1),
        wall_seconds_this_run=round(time.time() - started, 1),
        trainable_parameters=n_trainable,
    )
    save_model_folder(model, tokenizer, spec, config, report, out)
    logger.info("saved %s (dev macro-F1 on %s %.4f)", out, select, report["macro_f1"])
    if config.lexical is not None:
        from stance.fit.lexical_fit import attach_lexical
        from stance.modeling.lexical import LexicalConfig

        report = attach_lexical(out, config, LexicalConfig.from_dict(config.lexical), neural_dev_probs=dev_probs)
    return report


def save_model_folder(model, tokenizer, spec, config: TrainingConfig, report: dict[str, Any], out: Path) -> None:
    """Write weights (or adapters), tokenizer, settings, figures and the model card."""
    from stance.fit.metrics import plot_confusion
    from stance.modeling.model_card import write_model_card

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    if not spec.adapter:
        tokenizer.save_pretrained(str(out))
    spec.save(out)
    (out / "training_config.json").write_text(json.dumps(config.to_dict(), ensure_ascii=False, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    plot_confusion(report, str(out / "confusion.png"), title=f"{spec.task or 'dev'}: confusion matrix (dev)")
    write_model_card(out, spec, config, report)
