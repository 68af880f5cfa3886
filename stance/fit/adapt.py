"""Domain- and task-adaptive masked-LM training of a base encoder on unlabelled Arabic news.

The encoder learns the wording of news it will classify before it is
fine-tuned (Gururangan et al., 2020, "Don't Stop Pretraining"). Sentences are
normalised and prefixed exactly as the classifier's inputs are, so the adapted
encoder sees the distribution it will be fine-tuned on.

What changes is kept small: the word embeddings (and the decoder tied to them)
stay frozen; either the transformer layers are trained (``lora_r=0``) or LoRA
adapters on every linear layer are (``lora_r>0``), merged into the saved
folder. The masked-LM head's transform is new (e5 ships none): it is trained
alone for ``head_warmup_steps`` first, so its random start does not push
large gradients into the encoder. Loss and logits are computed only at the
masked positions, and with ``restrict_vocab`` the softmax runs over the
token ids that occur in the adaptation corpus (an Arabic news corpus uses a few
tens of thousands of the multilingual 250k), which is what makes a step
affordable on a CPU. Sentences are tokenised once and batched by length
(buckets of similar length, in a seeded random order), so little is padding.

The result is a plain Hugging Face encoder folder (``save_pretrained``, with the
tokenizer and ``stance_base.json``) usable as ``stance train --base-model DIR``.
Runs are resumable: ``resume=True`` continues from ``output_dir/checkpoint``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.text.normalize import NormalizationConfig, Normalizer

logger = logging.getLogger(__name__)


@dataclass
class AdaptConfig:
    """Settings of a masked-LM adaptation run (saved as ``adapt_config.json`` in the output folder).

    Attributes:
        base_model: ``e5-small`` (built-in) or a local encoder folder.
        output_dir: the adapted encoder folder (checkpoints in ``output_dir/checkpoint``).
        max_length: tokens per sentence.
        batch_size: sentences per step.
        learning_rate: peak learning rate (linear warm-up over 6 % of the steps, linear decay).
        steps: optimisation steps in all (head warm-up included).
        head_warmup_steps: first steps that train the new masked-LM head alone.
        mask_probability: share of (non-special) tokens masked; of those 80 % [MASK], 10 % random, 10 % kept.
        lora_r / lora_alpha: LoRA on every linear layer (merged at the end); ``lora_r=0`` trains the layers.
        save_steps: checkpoint every N steps.
        restrict_vocab: predict masked tokens among the ids that occur in the corpus only.
        seed: fixes the sentence order, the masks and dropout.
        normalization: applied to every sentence, as the classifier applies it.
    """

    base_model: str = "e5-small"
    output_dir: str = ""
    max_length: int = 128
    batch_size: int = 32
    learning_rate: float = 1e-4
    steps: int = 2000
    head_warmup_steps: int = 100
    mask_probability: float = 0.15
    lora_r: int = 0
    lora_alpha: int = 32
    save_steps: int = 200
    restrict_vocab: bool = True
    seed: int = 13
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["normalization"] = self.normalization.to_dict()
        return data


def mask_tokens(input_ids, special_mask, mask_id: int, vocab_size: int, probability: float, generator, candidates=None):
    """BERT-style masking: returns (masked ids, labels with -100 where nothing is predicted).

    Randomly replaced tokens are drawn from ``candidates`` (a 1-d id tensor) when given, else from the whole vocabulary.
    """
    import torch

    labels = input_ids.clone()
    chosen = torch.bernoulli(torch.full(input_ids.shape, probability), generator=generator).bool() & ~special_mask
    labels[~chosen] = -100
    masked = input_ids.clone()
    replace = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=generator).bool() & chosen
    masked[replace] = mask_id
    randomise = torch.bernoulli(torch.full(input_ids.shape, 0.5), generator=generator).bool() & chosen & ~replace
    if candidates is None:
        random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
    else:
        random_ids = candidates[torch.randint(len(candidates), input_ids.shape, generator=generator)]
    masked[randomise] = random_ids[randomise]
    return masked, labels


def length_batches(lengths: list[int], batch_size: int, seed: int, bucket: int = 50) -> list[list[int]]:
    """Batches of similar length: shuffle, sort within windows of ``bucket`` batches, shuffle the batches."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    window = batch_size * bucket
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    batches = [b for b in batches if len(b) == batch_size] or batches
    rng.shuffle(batches)
    return batches


def _load(base_location: str, lora_r: int, lora_alpha: int):
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.models.bert.modeling_bert import BertOnlyMLMHead

    config = AutoConfig.from_pretrained(base_location)
    encoder = AutoModel.from_pretrained(base_location, add_pooling_layer=False, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(base_location)
    head = BertOnlyMLMHead(config)
    head.predictions.decoder.weight = encoder.get_input_embeddings().weight  # tied, frozen
    with torch.no_grad():
        head.predictions.bias.zero_()
    for p in encoder.parameters():
        p.requires_grad_(False)
    if lora_r:
        from peft import LoraConfig, get_peft_model

        encoder = get_peft_model(
            encoder,
            LoraConfig(
                r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.05, target_modules=["query", "key", "value", "dense"]
            ),
        )
    return encoder, head, tokenizer


def _encoder_parameters(encoder, lora: bool) -> list:
    if lora:
        return [p for n, p in encoder.named_parameters() if "lora_" in n]
    return [p for n, p in encoder.named_parameters() if "embeddings" not in n]


def adapt(
    config: AdaptConfig, sentences: list[str], resume: bool = False, log_every: int = 50, stop_at: int = 0
) -> dict[str, Any]:
    """Run masked-LM adaptation on ``sentences``; write the adapted encoder to ``config.output_dir``.

    ``stop_at`` ends the run early at that step (the schedule stays the one of ``config.steps``) and keeps the
    checkpoint, so a later call with ``resume=True`` can go on; with ``resume=True`` and a checkpoint at or past
    ``stop_at``, it only writes the encoder of that checkpoint.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    from stance.modeling.bases import resolve_base
    from stance.modeling.quiet import quiet_libraries

    if not config.output_dir:
        raise StanceError("adaptation needs an output folder")
    if len(sentences) < config.batch_size:
        raise StanceError(f"only {len(sentences)} sentences: adaptation needs at least one batch ({config.batch_size})")
    base = resolve_base(config.base_model)
    out = Path(config.output_dir)
    torch.manual_seed(config.seed)
    with quiet_libraries():
        encoder, head, tokenizer = _load(base.location, config.lora_r, config.lora_alpha)
    normalizer = Normalizer(config.normalization)
    texts = [base.input_prefix + t for t in normalizer.batch(sentences)]
    ids = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    batches = length_batches([len(x) for x in ids], config.batch_size, config.seed)
    vocab_size = encoder.get_input_embeddings().weight.shape[0]
    special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    candidates = None
    to_candidate = None
    if config.restrict_vocab:
        seen = sorted({t for row in ids for t in row} - set(tokenizer.all_special_ids))
        candidates = torch.tensor(seen)
        to_candidate = torch.full((vocab_size,), -1, dtype=torch.long)
        to_candidate[candidates] = torch.arange(len(candidates))
        logger.info("masked tokens are predicted among the %d token ids of the corpus (of %d)", len(seen), vocab_size)

    head_params = [p for n, p in head.named_parameters() if "decoder" not in n]
    encoder_params = _encoder_parameters(encoder, bool(config.lora_r))
    for p in head_params + encoder_params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(
        [{"params": head_params}, {"params": encoder_params}], lr=config.learning_rate, weight_decay=0.01
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, max(1, int(0.06 * config.steps)), config.steps)
    checkpoint = out / "checkpoint"
    state = {"step": 0, "losses": [], "seconds": 0.0}
    if resume and (checkpoint / "state.json").exists():
        saved = json.loads((checkpoint / "state.json").read_text())
        same = {k: v for k, v in saved["config"].items() if k != "output_dir"} == {
            k: v for k, v in config.to_dict().items() if k != "output_dir"
        }  # the folder may have moved
        if not same or saved["n_sentences"] != len(texts):
            raise StanceError(f"{checkpoint}: made with other settings or sentences: resume with the same ones")
        weights = torch.load(checkpoint / "weights.pt", weights_only=True)
        encoder.load_state_dict(weights["encoder"], strict=False)
        head.load_state_dict(weights["head"], strict=False)
        optimizer.load_state_dict(weights["optimizer"])
        scheduler.load_state_dict(weights["scheduler"])
        state = saved["state"]
        logger.info("resumed masked-LM adaptation at step %d of %d", state["step"], config.steps)

    candidate_rows = None
    if candidates is not None:  # the decoder is tied to the frozen embeddings: gather its rows once
        candidate_rows = head.predictions.decoder.weight.detach()[candidates]
    encoder.train()
    head.train()
    started = time.time() - state["seconds"]
    window: list[float] = []
    last = min(config.steps, stop_at) if stop_at > 0 else config.steps
    while state["step"] < last:
        step = state["step"]
        batch = [{"input_ids": ids[i]} for i in batches[step % len(batches)]]
        enc = tokenizer.pad(batch, padding=True, return_tensors="pt")
        special = torch.isin(enc["input_ids"], special_ids) | (enc["attention_mask"] == 0)
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        torch.manual_seed(config.seed * 1_000_033 + step)  # dropout: a resumed run takes the same path
        masked, labels = mask_tokens(
            enc["input_ids"],
            special,
            tokenizer.mask_token_id,
            vocab_size,
            config.mask_probability,
            generator,
            candidates,
        )
        warming = step < config.head_warmup_steps
        optimizer.param_groups[1]["lr"] = 0.0 if warming else optimizer.param_groups[1]["lr"]
        with torch.set_grad_enabled(True):
            hidden = encoder(input_ids=masked, attention_mask=enc["attention_mask"]).last_hidden_state
            where = labels != -100
            if not where.any():
                state["step"] += 1
                scheduler.step()
                continue
            targets = labels[where]
            if candidates is None:
                logits = head(hidden[where])
            else:
                predictions = head.predictions
                logits = predictions.transform(hidden[where]) @ candidate_rows.T
                logits = logits + predictions.bias[candidates]
                targets = to_candidate[targets]
            loss = torch.nn.functional.cross_entropy(logits.float(), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head_params + encoder_params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        window.append(loss.item())
        if state["step"] % log_every == 0 or state["step"] == config.steps:
            mean = sum(window) / len(window)
            window.clear()
            state["losses"].append({"step": state["step"], "loss": round(mean, 4)})
            logger.info("masked-LM step %d/%d: mean loss of the last steps %.4f", state["step"], config.steps, mean)
        if state["step"] % config.save_steps == 0 and state["step"] < last:
            state["seconds"] = time.time() - started
            _save_checkpoint(checkpoint, encoder, head, optimizer, scheduler, state, config, len(texts))
    state["seconds"] = time.time() - started
    finished = state["step"] >= config.steps
    if not finished:  # before the LoRA weights are merged away
        _save_checkpoint(checkpoint, encoder, head, optimizer, scheduler, state, config, len(texts))
    _save_encoder(encoder, tokenizer, base.location, out, bool(config.lora_r))
    summary = {"config": config.to_dict(), "sentences": len(texts), **state}
    (out / "adapt_config.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    if finished:
        shutil.rmtree(checkpoint, ignore_errors=True)
    else:
        logger.info("stopped at step %d of %d: resume with the same settings to go on", state["step"], config.steps)
    return summary


def _save_checkpoint(folder: Path, encoder, head, optimizer, scheduler, state, config: AdaptConfig, n: int) -> None:
    import torch

    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trainable = {n: p.detach() for n, p in encoder.named_parameters() if p.requires_grad}
    head_state = {n: p.detach() for n, p in head.named_parameters() if p.requires_grad}
    torch.save(
        {
            "encoder": trainable,
            "head": head_state,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        },
        tmp / "weights.pt",
    )
    (tmp / "state.json").write_text(json.dumps({"config": config.to_dict(), "n_sentences": n, "state": state}))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def _save_encoder(encoder, tokenizer, base_location: str, out: Path, lora: bool) -> None:
    from stance.modeling.quiet import quiet_libraries

    if lora:
        encoder = encoder.merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    with quiet_libraries():  # no progress bars or save reports
        encoder.save_pretrained(str(out), safe_serialization=True)
        tokenizer.save_pretrained(str(out))
    meta = Path(base_location) / "stance_base.json"
    if meta.exists():
        shutil.copy(meta, out / "stance_base.json")


def corpus_sentences(
    articles: Iterable[str], min_words: int = 6, max_words: int = 80, limit: int | None = None
) -> list[str]:
    """Sentences of news articles (:func:`stance.text.sentences.split_sentences`), deduplicated, length-filtered."""
    from stance.text.sentences import split_sentences

    seen: set[str] = set()
    found: list[str] = []
    for article in articles:
        for sentence in split_sentences(article):
            words = len(sentence.split())
            if min_words <= words <= max_words and sentence not in seen:
                seen.add(sentence)
                found.append(sentence)
                if limit and len(found) >= limit:
                    return found
    return found


def steps_for(sentences: int, batch_size: int, epochs: float) -> int:
    return max(1, math.ceil(sentences * epochs / batch_size))
