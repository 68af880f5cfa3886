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

from stance.precision import resolve_precision

logger = logging.getLogger(__name__)


def configure_threads() -> int:
    """Use every core for intra-op parallelism unless the user has set torch/OMP threads."""
    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if torch.get_num_threads() != cores:
            torch.set_num_threads(cores)
    return torch.get_num_threads()


class InferenceEngine:
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
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        self.num_labels = model.config.num_labels

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def predict_proba(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Class probabilities for already-prepared texts, in input order."""
        return self.predict_ids(self.encode(texts), batch_size)

    def predict_ids(self, ids: list[list[int]], batch_size: int = 32) -> np.ndarray:
        import torch

        out = np.zeros((len(ids), self.num_labels), dtype=np.float32)
        if not ids:
            return out
        order = np.argsort([len(x) for x in ids], kind="stable")
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                rows = [ids[i] for i in idx]
                width = max(len(r) for r in rows)
                input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for j, row in enumerate(rows):
                    input_ids[j, : len(row)] = torch.tensor(row)
                    mask[j, : len(row)] = 1
                logits = self.model(input_ids=input_ids, attention_mask=mask).logits
                out[idx] = torch.softmax(logits.float(), dim=-1).numpy()
        return out
