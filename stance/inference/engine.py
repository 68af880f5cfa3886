"""Fast CPU inference: length-sorted batches, ``inference_mode``, a chosen precision.

Statements are tokenised once, sorted by length so each batch pads little,
run through the model, and the probabilities are put back in input order.
Precision ``bf16`` runs under bf16 autocast (fast only where the CPU has bf16
matrix units, which ``auto`` checks), ``int8`` applies dynamic int8
quantisation to the linear layers.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from stance.modeling.precision import resolve_precision

logger = logging.getLogger(__name__)


def configure_threads() -> int:
    """Use every core for intra-op parallelism unless the user has set torch/OMP threads."""
    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if torch.get_num_threads() != cores:
            torch.set_num_threads(cores)
    return torch.get_num_threads()


class TokenisingEngine:
    """What every runtime shares: tokenise texts once, then classify the token ids."""

    tokenizer = None
    max_length = 128

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def predict_proba(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Class probabilities for already-prepared texts, in input order."""
        return self.predict_ids(self.encode(texts), batch_size)

    def predict_ids(self, ids: list[list[int]], batch_size: int = 32) -> np.ndarray:
        raise NotImplementedError


class InferenceEngine(TokenisingEngine):
    """Runs a sequence classifier over many texts quickly, in a given precision."""

    def __init__(self, model, tokenizer, max_length: int = 128, precision: str = "auto") -> None:
        import torch

        configure_threads()
        self.precision = resolve_precision(precision)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        model.eval()
        if self.precision == "int8":
            from stance.modeling.quiet import quiet_libraries

            with quiet_libraries():  # torch's deprecation notes about its quantisation API are not the user's business
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        self.num_labels = model.config.num_labels

    def predict_ids(self, ids: list[list[int]], batch_size: int = 32) -> np.ndarray:
        return predict_ids(self.model, ids, self.pad_id, batch_size, bf16=self.precision == "bf16")


def pad_batch(ids: list[list[int]], pad_id: int):
    """Right-pad token id lists into ``(input_ids, attention_mask)`` tensors."""
    import torch

    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return input_ids, mask


def in_length_order(ids: list[list[int]], pad_id: int, num_labels: int, batch_size: int, batch_proba) -> np.ndarray:
    """Run ``batch_proba(input_ids, mask) -> probabilities`` over length-sorted padded batches, in input order."""
    out = np.zeros((len(ids), num_labels), dtype=np.float32)
    order = np.argsort([len(x) for x in ids], kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        out[idx] = batch_proba(*pad_batch([ids[i] for i in idx], pad_id))
    return out


def predict_ids(model, ids: list[list[int]], pad_id: int, batch_size: int = 32, bf16: bool = False) -> np.ndarray:
    """Class probabilities for token id lists: length-sorted batches, results in input order.

    Runs in eval mode under ``inference_mode`` (and bf16 autocast if asked) and
    restores the model's training mode afterwards, so training can call it too.
    """
    import torch

    def batch_proba(input_ids, mask):
        logits = model(input_ids=input_ids, attention_mask=mask).logits
        return torch.softmax(logits.float(), dim=-1).numpy()

    was_training = model.training
    model.eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = in_length_order(ids, pad_id, model.config.num_labels, batch_size, batch_proba)
    model.train(was_training)
    return out
