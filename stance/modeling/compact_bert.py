"""A BERT sequence classifier in plain PyTorch, for fast starts from merged weights.

Importing ``transformers``' model classes costs seconds on a small CPU (its
modelling utilities pull in ``torch.distributed``, ``torch._dynamo`` and SciPy).
For inference from the merged-weights cache (:mod:`stance.modeling.ready`) a
BERT encoder with a classification head is rebuilt here from ``torch.nn`` parts
with exactly the parameter names of ``transformers.BertForSequenceClassification``,
so the cache's one safetensors file loads into it strictly (every tensor used,
none missing). Only inference-relevant settings are supported
(:func:`supports` checks the config); anything else is loaded with
``transformers`` instead. Tests compare its probabilities with transformers'.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

_ACTIVATIONS = {
    "gelu": F.gelu,
    "relu": F.relu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
}
# Non-persistent buffers some transformers versions still write: not weights, never needed here.
_BUFFERS = ("bert.embeddings.position_ids", "bert.embeddings.token_type_ids")


@dataclass
class CompactConfig:
    """The settings of ``config.json`` that inference needs (the rest is kept in :attr:`extra`)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    hidden_act: str
    id2label: dict[int, str]
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in self.id2label.items()}

    def __getattr__(self, name: str) -> Any:  # other config.json entries, as on a transformers config
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(name)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompactConfig:
        names = [f for f in cls.__dataclass_fields__ if f not in ("id2label", "extra")]
        id2label = {int(k): v for k, v in (data.get("id2label") or {}).items()}
        return cls(
            **{name: data[name] for name in names},
            id2label=id2label,
            extra={k: v for k, v in data.items() if k not in names and k != "id2label"},
        )


def supports(config: dict[str, Any]) -> bool:
    """True when ``config`` (a ``config.json`` dict) describes a classifier this module runs exactly."""
    needed = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    return (
        config.get("model_type") == "bert"
        and all(isinstance(config.get(k), int) for k in needed)
        and config["hidden_size"] % config["num_attention_heads"] == 0
        and config.get("hidden_act", "gelu") in _ACTIVATIONS
        and config.get("position_embedding_type", "absolute") == "absolute"
        and not config.get("is_decoder", False)
        and not config.get("add_cross_attention", False)
        and bool(config.get("id2label"))
        and config.get("problem_type") in (None, "single_label_classification")
    )


@dataclass
class ClassifierOutput:
    logits: torch.Tensor


class _Embeddings(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x + self.position_embeddings(positions))


class _SelfAttention(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        shape = (b, s, self.heads, h // self.heads)
        q, k, v = (layer(x).view(shape).transpose(1, 2) for layer in (self.query, self.key, self.value))
        scores = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(h // self.heads)) + mask
        context = torch.matmul(torch.softmax(scores, dim=-1), v)
        return context.transpose(1, 2).reshape(b, s, h)


class _DenseNorm(nn.Module):
    """``LayerNorm(dense(x) + residual)``: BERT's attention output and layer output."""

    def __init__(self, n_in: int, c: CompactConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _DenseNorm(c.hidden_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, mask), x)


class _Intermediate(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = _ACTIVATIONS[c.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class _Layer(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _DenseNorm(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class _Encoder(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))


class _Pooler(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x[:, 0]))


class _Bert(nn.Module):
    def __init__(self, c: CompactConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(c)
        self.encoder = _Encoder(c)
        self.pooler = _Pooler(c)


class CompactBertClassifier(nn.Module):
    """``BertForSequenceClassification`` at inference: ``model(input_ids=..., attention_mask=...).logits``."""

    def __init__(self, config: CompactConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = _Bert(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.bert.embeddings.word_embeddings

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> ClassifierOutput:
        x = self.bert.embeddings(input_ids, token_type_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        # additive mask over keys: 0 where attended, the dtype's minimum on padding
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.bert.encoder.layer:
            x = layer(x, mask)
        return ClassifierOutput(logits=self.classifier(self.bert.pooler(x)))

    @classmethod
    def from_folder(cls, folder: str | Path) -> CompactBertClassifier:
        """Load ``config.json`` + ``model.safetensors`` (all weights of a merged classifier), strictly."""
        from safetensors.torch import load_file

        folder = Path(folder)
        config = CompactConfig.from_dict(json.loads((folder / "config.json").read_text(encoding="utf-8")))
        state = load_file(str(folder / "model.safetensors"))
        for name in _BUFFERS:
            state.pop(name, None)
        with torch.device("meta"), _no_init():
            model = cls(config)
        model.load_state_dict(state, strict=True, assign=True)
        return model.eval()


@contextmanager
def _no_init() -> Iterator[None]:
    """Skip ``torch.nn.init`` while the model is built on the meta device: every weight is loaded next.

    (Initialising meta tensors would run PyTorch's Python reference kernels, whose
    first use imports ``torch._dynamo``: seconds on a small CPU.)
    """
    names = ("uniform_", "normal_", "kaiming_uniform_", "ones_", "zeros_", "constant_", "trunc_normal_")
    saved = {name: getattr(nn.init, name) for name in names}
    for name in names:
        setattr(nn.init, name, _keep)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(nn.init, name, function)


def _keep(tensor: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return tensor
