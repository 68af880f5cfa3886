"""Shared fixtures: a tiny random BERT with a tiny word-level tokenizer, and toy Arabic data."""

from __future__ import annotations

import csv
import random
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``stance`` as a real subprocess (exit codes, stderr, no tracebacks)."""
    return subprocess.run(
        [sys.executable, "-m", "stance.cli", *args], input=stdin, capture_output=True, text=True, timeout=600, env=env
    )


# Debian's Chromium, driven by Playwright for the page tests (no browser download).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (apt-get install chromium)")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def launch_chromium(playwright):
    """Headless Debian Chromium with the flags this closed network needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(args: list[str], log: Path, graceful: bool = False):
    """A real ``stance serve`` process on 127.0.0.1; yields its base URL once /health answers.

    ``graceful``: on exit, also check it shut down cleanly on SIGTERM.
    """
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "stance.cli", "serve", "--port", str(port), *args]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            pytest.fail("server exited:\n" + log.read_text())
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("server not ready:\n" + log.read_text())
    try:
        yield base
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=20)
            if graceful:
                assert code in (0, -15), "graceful shutdown failed:\n" + log.read_text()
                assert "Application shutdown complete" in log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()


# Messy texts every entry point must survive (predict, the CLI's files and arguments, the HTTP API).
EDGE_CASES = {
    "empty": "",
    "whitespace": " \t\n  ",
    "emoji only": "😀🔥🇸🇦",
    "latin only": "The minister welcomed the talks.",
    "digits only": "١٢٣ 456",
    "diacritics only": "َُِّْ",
    "very long": "تهدد " * 25_000,
    "control and bidi": "\u202eطهران\u202c\u0000\u0007 تهدد\u200f",
    "mixed scripts": "Moscow موسكو Москва 莫斯科",
    "lone surrogate": "نص\ud800سليم",
    "presentation forms": "\ufefb\ufe8e",
}


CONCILIATORY = ["ترحب", "بالحوار", "تعاون", "اتفاق", "شراكة", "مصالحة"]
HOSTILE = ["تهدد", "عقوبات", "هجوم", "تدين", "تطرد", "تصعيد"]
NEUTRAL = ["جلسة", "اجتماع", "يوم", "الاثنين", "موعد", "إحصاء"]
ACTORS = ["موسكو", "واشنطن", "طهران", "القاهرة", "الرياض", "بكين"]


def toy_rows(n_per_class: int = 24, seed: int = 0) -> list[dict[str, str]]:
    """Separable toy statements: each class has its own keywords, actors are shared."""
    rng = random.Random(seed)
    rows = []
    for label, words in (("conciliatory", CONCILIATORY), ("hostile", HOSTILE), ("neutral", NEUTRAL)):
        for i in range(n_per_class):
            text = " ".join([rng.choice(ACTORS), *rng.sample(words, 3), rng.choice(ACTORS)])
            rows.append({"id": f"{label[0]}{i}", "text": text, "label": label, "doc": f"d{i % 8}"})
    rng.shuffle(rows)
    return rows


def write_tsv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(autouse=True, scope="session")
def _seed_and_threads():
    import torch

    torch.manual_seed(0)
    random.seed(0)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) saved as a Hugging Face folder."""
    return make_tiny_base(tmp_path_factory.mktemp("tiny-bert"))


def make_tiny_base(folder: Path, extra_words: tuple[str, ...] = ()) -> Path:
    """Write the tiny BERT of :func:`tiny_base` into ``folder``; ``extra_words`` join the end of its vocabulary."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    words = sorted(set(CONCILIATORY + HOSTILE + NEUTRAL + ACTORS + ["query:"])) + list(extra_words)
    vocab = {tok: i for i, tok in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=64,
    )
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
        initializer_range=0.2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def toy_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("toy-data")
    return {
        "train": write_tsv(folder / "train.tsv", toy_rows(24, seed=1)),
        "dev": write_tsv(folder / "dev.tsv", toy_rows(8, seed=2)),
    }


def train_tiny(
    base: Path, files: dict[str, Path], out: Path, resume: bool = False, stop_after: int | None = None, **overrides
):
    from stance.fit.trainer import TrainingConfig, train

    settings = dict(
        train_file=str(files["train"]),
        dev_file=str(files["dev"]),
        output_dir=str(out),
        base_model=str(base),
        epochs=6,
        batch_size=8,
        learning_rate=3e-3,
        lora=False,
        freeze_embeddings=False,
        max_length=32,
        save_steps=10,
        patience=0,
        task="stance",
        seed=7,
    )
    settings.update(overrides)
    return train(TrainingConfig(**settings), resume=resume, progress_bar=False, stop_after=stop_after)


@pytest.fixture(scope="session")
def tiny_model(tiny_base, toy_files, tmp_path_factory) -> Path:
    """A fully fine-tuned tiny classifier on the separable toy data."""
    out = tmp_path_factory.mktemp("tiny-model") / "model"
    train_tiny(tiny_base, toy_files, out)
    return out


def largest_probability_gap(model_a: Path, model_b: Path, data: Path) -> float:
    """The largest difference between two model folders' neural probabilities on a labelled file."""
    import numpy as np

    from stance.inference.classifier import Classifier
    from stance.io.data import load_labelled

    texts = load_labelled(str(data), min_classes=1).texts
    pa = Classifier.load(model_a, precision="fp32", lexical=False).predict_proba(texts)
    pb = Classifier.load(model_b, precision="fp32", lexical=False).predict_proba(texts)
    return float(np.abs(pa - pb).max())


@pytest.fixture(scope="session")
def tiny_lora_model(tiny_base, toy_files, tmp_path_factory) -> Path:
    """A LoRA-adapted tiny classifier on the toy data."""
    out = tmp_path_factory.mktemp("tiny-lora") / "model"
    train_tiny(tiny_base, toy_files, out, lora=True, lora_r=4, lora_alpha=8, learning_rate=9e-3, epochs=8)
    return out
