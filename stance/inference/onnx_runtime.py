"""ONNX Runtime as an alternative inference runtime (``--runtime onnx``).

The loaded (merged) PyTorch classifier is exported once to ONNX and cached
under ``$STANCE_CACHE/onnx/<key>/model.onnx``; the key hashes the model
folder's weights and settings, so a retrained model gets a new export. Batches
are formed exactly as in :mod:`stance.inference.engine` (length-sorted, input order
restored), so both runtimes return the same probabilities up to float rounding.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from stance.errors import StanceError
from stance.inference.engine import TokenisingEngine
from stance.modeling.precision import GUARD_FILE

logger = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnx")
_EXPORT_VERSION = "1"


def require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise StanceError("--runtime onnx needs ONNX Runtime: pip install 'arabic-stance[onnx]'") from None
    return onnxruntime


_NOT_HASHED = (GUARD_FILE, "metrics.json", "training_config.json")


def export_key(model_folder: str | Path) -> str:
    """A hash of the files that define the neural model (weights, configs), for the export cache.

    Records about the model (dev figures, training settings, the precision guard)
    and the lexical half (``lexical/``, not run by ONNX Runtime) are left out.
    """
    import torch
    import transformers

    digest = hashlib.sha256(f"{_EXPORT_VERSION}|{torch.__version__}|{transformers.__version__}".encode())
    folder = Path(model_folder)
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".safetensors", ".json") and path.name not in _NOT_HASHED:
            digest.update(path.name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:20]


def export_onnx(model, target: Path) -> Path:
    """Export a sequence classifier to ``target`` (logits from input_ids and attention_mask)."""
    import torch

    class _Logits(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    example = (torch.tensor([[0, 5, 6, 2]]), torch.ones((1, 4), dtype=torch.long))
    model.eval()
    with torch.inference_mode():
        torch.onnx.export(
            _Logits(model),
            example,
            str(tmp),
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=17,
        )
    tmp.replace(target)
    return target


class OnnxEngine(TokenisingEngine):
    """Same interface as :class:`stance.inference.engine.InferenceEngine`, running an ONNX Runtime session."""

    precision = "fp32"

    def __init__(self, model, tokenizer, model_folder: str | Path, max_length: int = 128) -> None:
        ort = require_onnxruntime()
        from stance.inference.engine import configure_threads
        from stance.modeling.e5 import cache_root

        threads = configure_threads()
        path = cache_root() / "onnx" / export_key(model_folder) / "model.onnx"
        if not path.exists():
            from stance.modeling.quiet import quiet_libraries

            logger.info("exporting the model to ONNX (once): %s", path)
            with quiet_libraries():  # the tracer's warnings are about transformers' code, not the user's
                export_onnx(model, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.num_labels = model.config.num_labels

    def predict_ids(self, ids: list[list[int]], batch_size: int = 32) -> np.ndarray:
        from stance.inference.engine import in_length_order

        def batch_proba(input_ids, mask):
            feeds = {"input_ids": input_ids.numpy(), "attention_mask": mask.numpy()}
            logits = self.session.run(["logits"], feeds)[0]
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)

        return in_length_order(ids, self.pad_id, self.num_labels, batch_size, batch_proba)
