"""Masked-LM adaptation: the loss falls on a tiny encoder, the result is a base `stance train` accepts, and it resumes."""

from __future__ import annotations

import json

import pytest
from conftest import ACTORS, CONCILIATORY, HOSTILE, NEUTRAL, toy_rows, train_tiny, write_tsv


@pytest.fixture(scope="module")
def mask_base(tmp_path_factory):
    """A tiny random BERT whose tokenizer has a [MASK] token."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("mask-bert")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted(set(CONCILIATORY + HOSTILE + NEUTRAL + ACTORS))
    vocab = {tok: i for i, tok in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=64,
    )  # fmt: skip
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64,
    )  # fmt: skip
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return folder


def _sentences() -> list[str]:
    """A few fixed statements, repeated: masked words are predictable from their context."""
    import random

    rng = random.Random(5)
    templates = [" ".join(rng.sample(words, 6)) for words in (CONCILIATORY + ACTORS, HOSTILE + ACTORS, NEUTRAL)]
    return [templates[i % 3] for i in range(48)]


def _small_config(base, out, steps: int, head_warmup_steps: int, save_steps: int):
    from stance.fit.adapt import AdaptConfig

    return AdaptConfig(
        base_model=str(base), output_dir=str(out), batch_size=16, steps=steps, head_warmup_steps=head_warmup_steps,
        learning_rate=5e-3, save_steps=save_steps, max_length=16,
    )  # fmt: skip


@pytest.mark.parametrize("lora_r", [0, 4])
def test_adaptation_lowers_the_loss_and_gives_a_trainable_base(tmp_path, mask_base, lora_r):
    from stance.fit.adapt import AdaptConfig, adapt

    config = AdaptConfig(
        base_model=str(mask_base), output_dir=str(tmp_path / "adapted"), batch_size=16, steps=60,
        head_warmup_steps=10, learning_rate=1e-2, lora_r=lora_r, lora_alpha=8, save_steps=1000, max_length=16,
    )  # fmt: skip
    summary = adapt(config, _sentences(), log_every=10)
    losses = [x["loss"] for x in summary["losses"]]
    assert losses[-1] < losses[0] - 0.2, losses
    adapted = tmp_path / "adapted"
    assert (adapted / "model.safetensors").exists() and (adapted / "adapt_config.json").exists()
    assert not list(adapted.glob("*.bin")) and not (adapted / "checkpoint").exists()
    files = {
        "train": write_tsv(tmp_path / "train.tsv", toy_rows(12, seed=1)),
        "dev": write_tsv(tmp_path / "dev.tsv", toy_rows(4, seed=2)),
    }
    report = train_tiny(adapted, files, tmp_path / "clf", epochs=1)
    assert 0.0 <= report["macro_f1"] <= 1.0


def test_adaptation_resumes_to_the_same_weights(tmp_path, mask_base):
    from safetensors.numpy import load_file

    from stance.fit.adapt import AdaptConfig, adapt

    def config(out):
        return _small_config(mask_base, out, steps=20, head_warmup_steps=4, save_steps=10)

    adapt(config(tmp_path / "straight"), _sentences())
    interrupted = config(tmp_path / "resumed")
    interrupted.steps = 20
    # run to the checkpoint at step 10, then stop by pretending the run ends there
    first = AdaptConfig(**{**interrupted.__dict__})
    first.steps = 20
    import stance.fit.adapt as adapt_module

    calls = {"n": 0}
    real_save = adapt_module._save_checkpoint

    class Stop(Exception):
        pass

    def save_then_stop(*args, **kwargs):
        real_save(*args, **kwargs)
        calls["n"] += 1
        raise Stop

    adapt_module._save_checkpoint = save_then_stop
    try:
        with pytest.raises(Stop):
            adapt(first, _sentences())
    finally:
        adapt_module._save_checkpoint = real_save
    assert json.loads((tmp_path / "resumed" / "checkpoint" / "state.json").read_text())["state"]["step"] == 10
    adapt(interrupted, _sentences(), resume=True)
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert max(abs(a[k] - b[k]).max() for k in a) < 1e-5


def test_length_batches_cover_every_sentence_once_and_group_similar_lengths():
    import random

    from stance.fit.adapt import length_batches

    rng = random.Random(3)
    lengths = [rng.randint(5, 128) for _ in range(3200)]
    batches = length_batches(lengths, batch_size=32, seed=7)
    assert sorted(i for b in batches for i in b) == list(range(3200))
    assert batches == length_batches(lengths, batch_size=32, seed=7)  # seeded: a resumed run sees the same batches
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 10, spread  # random batches of 32 would span ~110 tokens


def test_random_replacements_come_from_the_corpus_vocabulary():
    import torch

    from stance.fit.adapt import mask_tokens

    ids = torch.randint(5, 15, (64, 20))
    candidates = torch.arange(5, 15)
    generator = torch.Generator().manual_seed(1)
    masked, labels = mask_tokens(ids, torch.zeros_like(ids, dtype=torch.bool), 4, 250_000, 0.5, generator, candidates)
    chosen = labels != -100
    assert chosen.float().mean() > 0.4
    replaced = masked[chosen & (masked != 4)]
    assert ((replaced >= 5) & (replaced < 15)).all()  # never one of the 250k ids the corpus does not use


def test_a_run_stopped_early_writes_its_encoder_and_resumes_to_the_same_end(tmp_path, mask_base):
    from safetensors.numpy import load_file

    from stance.fit.adapt import adapt

    def config(out):
        return _small_config(mask_base, out, steps=12, head_warmup_steps=2, save_steps=100)

    adapt(config(tmp_path / "straight"), _sentences())
    early = adapt(config(tmp_path / "early"), _sentences(), stop_at=6)
    assert early["step"] == 6 and (tmp_path / "early" / "model.safetensors").exists()
    assert (tmp_path / "early" / "checkpoint" / "state.json").exists()  # kept: the run can go on
    again = adapt(config(tmp_path / "early"), _sentences(), resume=True, stop_at=6)  # only re-exports step 6
    assert again["step"] == 6
    adapt(config(tmp_path / "early"), _sentences(), resume=True)
    assert not (tmp_path / "early" / "checkpoint").exists()
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "early" / "model.safetensors"))
    assert max(abs(a[k] - b[k]).max() for k in a) < 1e-5
