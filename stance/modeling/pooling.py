"""Mean pooling inside a stock BERT sequence classifier.

``BertForSequenceClassification`` reads one vector, the first token's, through
its pooler. e5 was trained to be read as the MEAN of its token vectors, and a
frozen linear probe on that mean beats one on the first token by 0.027 macro-F1
on unseen outlets (``training/RESULTS.md``). Custom pooling code would cost the
models their plainness (``transformers.pipeline``, ONNX export and every other
tool load a stock architecture), so the mean is computed by one more, fixed
transformer layer appended to the encoder:

* query and key weights zero, so every token attends equally to every
  non-padding token, and the attention reads the mean of the token vectors;
* value = identity, output projection = ``SCALE`` × identity, so after the
  residual the first token holds ``SCALE·mean + h_cls`` and the layer norm
  (scale-invariant) turns it into ``LayerNorm(mean + h_cls/SCALE)``;
* the feed-forward block is zero, so its residual and layer norm pass the
  (already normalised) vector on unchanged.

The first token then carries the layer-normalised mean of the encoder's
output over the statement's tokens; the pooler and classifier read it as usual.
The layer is built the same way at training and at loading, is never trained
(no adapters, no gradients, no dropout) and is not stored with LoRA adapters;
a merged export holds it as an ordinary last layer (``num_hidden_layers`` one
more than the base), so the model stays a plain BERT.
"""

from __future__ import annotations

import copy
import logging

from stance.errors import StanceError

logger = logging.getLogger(__name__)

POOLINGS = ("cls", "mean")
SCALE = 1000.0  # h_cls weighs 1/SCALE against the mean; SCALE·|mean| stays far inside fp16/bf16 range


def check_pooling(pooling: str) -> str:
    if pooling not in POOLINGS:
        raise StanceError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}: pass --pooling cls or mean")
    return pooling


def _encoder_layers(model):
    """The encoder's ``nn.ModuleList`` of transformer layers (BERT, RoBERTa and XLM-R layouts)."""
    base = getattr(model, "base_model", model)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if layers is None or not len(layers):
        raise StanceError(
            f"mean pooling needs a BERT-style encoder (encoder.layer); {type(model).__name__} has none: "
            "train with --pooling cls"
        )
    return layers


def append_mean_pooling_layer(model) -> int:
    """Append the fixed mean-pooling layer to ``model``'s encoder; returns how many layers came before it.

    The model's config gets ``num_hidden_layers + 1`` (so ``save_pretrained`` folders reload as
    they are) and ``stance_pooling = "mean"``.
    """
    import torch

    layers = _encoder_layers(model)
    layer = copy.deepcopy(layers[-1])
    attention, self_attention = layer.attention, layer.attention.self
    hidden = self_attention.query.in_features
    with torch.no_grad():
        for module in (self_attention.query, self_attention.key, layer.intermediate.dense, layer.output.dense):
            module.weight.zero_()
            module.bias.zero_()
        self_attention.value.weight.copy_(torch.eye(hidden))
        self_attention.value.bias.zero_()
        attention.output.dense.weight.copy_(SCALE * torch.eye(hidden))
        attention.output.dense.bias.zero_()
        for norm in (attention.output.LayerNorm, layer.output.LayerNorm):
            norm.weight.fill_(1.0)
            norm.bias.zero_()
    for module in layer.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    layer.requires_grad_(False)
    before = len(layers)
    if hasattr(layer.attention.self, "layer_idx"):
        layer.attention.self.layer_idx = before
    layers.append(layer)
    model.config.num_hidden_layers = before + 1
    model.config.stance_pooling = "mean"
    logger.debug("appended the mean-pooling layer after %d encoder layers", before)
    return before


def mean_pooled(hidden, mask, eps: float):
    """Reference: ``LayerNorm(mean of hidden over mask)`` without affine weights (what the layer approximates)."""
    import torch

    weights = mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
    return torch.nn.functional.layer_norm(mean, mean.shape[-1:], eps=eps)
