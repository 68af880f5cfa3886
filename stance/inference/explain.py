"""Word attributions: which words of a statement pushed it toward its label.

:meth:`stance.Classifier.explain` returns, for each text, its label and scores
and one entry per whitespace word of the text the user gave::

    {"label": "hostile", "scores": {...},
     "words": [{"text": "عقوبات", "start": 22, "end": 28, "weight": 0.41}, ...]}

``start``/``end`` are character offsets into the original text (``text[start:end]
== word``), whatever the model's normalisation removes (diacritics, tatweel, bidi
marks; URLs become one token). ``weight`` is the word's contribution toward the
predicted label: positive supports it, negative opposes it, comparable across the
words of one text. Two methods, both with Captum:

- ``ig`` (Integrated Gradients, :class:`captum.attr.LayerIntegratedGradients` on
  the word-embedding layer): each sub-word's attribution to the label's centred
  logit (logit minus the mean logit; a pad-token baseline for the text's tokens),
  summed over the sub-words of each word. When the model has a lexical n-gram
  half, its exact contributions are added: every n-gram's tf-idf value times the
  label's SVM coefficient (centred over labels, divided by the temperature), split
  over the words the n-gram covers; the two halves are weighed like their
  probabilities (``1 - w`` and ``w``). Needs the torch runtime.
- ``occlusion`` (:class:`captum.attr.FeatureAblation` with one feature per word):
  the drop of the label's probability (the whole model, both halves) when the
  word is deleted. Works with every runtime and precision.

Each original word is normalised on its own, so the normalised text the model sees
is the concatenation of the normalised words and every sub-word and n-gram is
traced back to the word it came from.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from stance.errors import StanceError
from stance.text.normalize import Normalizer

logger = logging.getLogger(__name__)

METHODS = ("ig", "occlusion")
DEFAULT_METHOD = "occlusion"
DEFAULT_STEPS = 16
_WORDS = re.compile(r"\S+")
# Texts are cut to this many characters per token of max_length (as in Classifier.normalize).
_CHARS_PER_TOKEN = 16


@dataclass
class Segmented:
    """A text split into its whitespace words, each normalised as the model sees it.

    ``words``: ``(start, end)`` of every whitespace word of the original text.
    ``tokens``: the normalised text's space-separated tokens, ``owner[i]`` the index
    (into ``words``) of the original word token ``i`` came from. ``text`` is
    ``" ".join(tokens)``, what the model reads (without its input prefix).
    """

    original: str
    words: list[tuple[int, int]]
    tokens: list[str]
    owner: list[int]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def char_owner(self) -> list[int]:
        """The original word of every character of :attr:`text` (-1 for the spaces between tokens)."""
        out: list[int] = []
        for i, (token, word) in enumerate(zip(self.tokens, self.owner)):
            if i:
                out.append(-1)
            out.extend([word] * len(token))
        return out

    def without(self, drop: set[int]) -> str:
        """The normalised text without the original words in ``drop``."""
        return " ".join(t for t, w in zip(self.tokens, self.owner) if w not in drop)


def segment(text: str, normalizer: Normalizer, limit: int | None = None) -> Segmented:
    """Split ``text`` at whitespace and normalise each word (words past ``limit`` characters are not read)."""
    words, tokens, owner = [], [], []
    for match in _WORDS.finditer(text):
        index = len(words)
        words.append((match.start(), match.end()))
        if limit is not None and match.end() > limit:
            continue
        for token in normalizer(match.group()).split():
            tokens.append(token)
            owner.append(index)
    return Segmented(text, words, tokens, owner)


def _captum_attr():
    try:
        import captum.attr
    except ImportError:
        raise StanceError("word explanations need Captum: pip install 'arabic-stance[explain]'") from None
    return captum.attr


def explain(
    classifier,
    texts: list[str],
    batch_size: int = 8,
    method: str = DEFAULT_METHOD,
    steps: int = DEFAULT_STEPS,
) -> list[dict[str, Any]]:
    """``{"label", "scores", "words"}`` per text (see the module docstring); ``classifier`` is a Classifier."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if method not in METHODS:
        raise StanceError(f"unknown explanation method {method!r}: use one of {', '.join(METHODS)}")
    if steps < 1:
        raise StanceError(f"steps must be at least 1, got {steps}")
    if batch_size < 1:
        raise StanceError(f"batch_size must be at least 1, got {batch_size}")
    if not texts:
        return []
    _captum_attr()
    probs = classifier.predict_proba(texts, batch_size=batch_size)  # checks the texts are strings
    labels = classifier.labels
    targets = [int(row.argmax()) for row in probs]
    normalizer = Normalizer(classifier.spec.normalization)
    limit = classifier.spec.max_length * _CHARS_PER_TOKEN
    segmented = [segment(t, normalizer, limit) for t in texts]
    if method == "ig":
        weights = _integrated_gradients(classifier, segmented, targets, steps, batch_size)
        if classifier.lexical is not None:
            w = classifier.lexical.weight
            lexical = [lexical_contributions(classifier.lexical, s, t) for s, t in zip(segmented, targets)]
            weights = [(1.0 - w) * n + w * x for n, x in zip(weights, lexical)]
    else:
        weights = [_occlusion(classifier, s, t, batch_size) for s, t in zip(segmented, targets)]
    out = []
    for text, row, target, seg, weight in zip(texts, probs, targets, segmented, weights):
        out.append(
            {
                "label": labels[target],
                "scores": {lab: float(p) for lab, p in zip(labels, row)},
                "words": [
                    {"text": text[s:e], "start": s, "end": e, "weight": float(weight[i])}
                    for i, (s, e) in enumerate(seg.words)
                ],
            }
        )
    return out


def top_words(result: dict[str, Any], k: int = 3) -> list[int]:
    """Indices (into ``result["words"]``) of the ``k`` words with the highest weight, best first."""
    words = result["words"]
    order = sorted(range(len(words)), key=lambda i: -words[i]["weight"])
    return order[:k]


# --- the neural half: Integrated Gradients ---------------------------------------------------------------------


def _integrated_gradients(classifier, segmented: list[Segmented], targets: list[int], steps: int, batch_size: int):
    import torch

    from stance.inference.engine import InferenceEngine

    LayerIntegratedGradients = _captum_attr().LayerIntegratedGradients

    engine = classifier.engine
    if not isinstance(engine, InferenceEngine) or engine.precision == "int8":
        raise StanceError(
            "Integrated Gradients needs the torch runtime in fp32 or bf16 (gradients): "
            "use method 'occlusion', or load the model with runtime torch"
        )
    model, tokenizer = engine.model, engine.tokenizer
    prefix = classifier.spec.text_prefix
    pad_id = engine.pad_id

    def forward(input_ids, attention_mask):
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        return logits - logits.mean(dim=-1, keepdim=True)

    attributor = LayerIntegratedGradients(forward, model.get_input_embeddings())
    results: list[np.ndarray] = [np.zeros(len(s.words)) for s in segmented]
    order = sorted(range(len(segmented)), key=lambda i: len(segmented[i].text))
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            idx = [i for i in order[start : start + batch_size] if segmented[i].tokens]
            if not idx:
                continue
            encoded = tokenizer(
                [prefix + segmented[i].text for i in idx],
                truncation=True,
                max_length=engine.max_length,
                return_offsets_mapping=True,
            )
            width = max(len(x) for x in encoded["input_ids"])
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            owners = np.full((len(idx), width), -1)
            for row, i in enumerate(idx):
                seq = encoded["input_ids"][row]
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
                owners[row, : len(seq)] = _token_owners(segmented[i], encoded["offset_mapping"][row], len(prefix))
            baseline = ids.clone()
            baseline[torch.from_numpy(owners >= 0)] = pad_id  # the text's tokens; special tokens and prefix stay
            with torch.enable_grad():
                attributions = attributor.attribute(
                    ids,
                    baselines=baseline,
                    target=[targets[i] for i in idx],
                    additional_forward_args=(mask,),
                    n_steps=steps,
                    internal_batch_size=max(steps, 32),
                )
            per_token = attributions.sum(dim=-1).detach().float().numpy()
            for row, i in enumerate(idx):
                words = results[i]
                for position in np.flatnonzero(owners[row] >= 0):
                    words[owners[row, position]] += per_token[row, position]
    finally:
        model.train(was_training)
    return results


def _token_owners(seg: Segmented, offsets, prefix_length: int) -> list[int]:
    """The original word of every sub-word token (-1 for special tokens and the input prefix)."""
    chars = seg.char_owner()
    out = []
    for start, end in offsets:
        owner = -1
        for c in range(max(start, prefix_length), end):
            position = c - prefix_length
            if 0 <= position < len(chars) and chars[position] >= 0:
                owner = chars[position]
                break
        out.append(owner)
    return out


# --- the lexical half: exact n-gram contributions --------------------------------------------------------------


def _terms(vectorizer) -> list[str]:
    ordered = [""] * len(vectorizer.vocabulary_)
    for term, column in vectorizer.vocabulary_.items():
        ordered[column] = term
    return ordered


def lexical_contributions(lexical, seg: Segmented, target: int) -> np.ndarray:
    """Each original word's share of the lexical half's centred score for ``target``, divided by its temperature.

    The score of a label is ``x · W[label] + b``; only differences between labels
    matter to the softmax, so the contribution of n-gram ``j`` is
    ``x_j (W[label, j] - mean_labels W[:, j]) / T``, split equally over its
    occurrences and, for a word bigram, over the words it spans. The contributions
    sum to the centred score minus the centred intercept, over temperature.
    """
    out = np.zeros(len(seg.words))
    if not seg.tokens:
        return out
    text = seg.text
    coef = lexical.coef
    delta = (coef[target] - coef.mean(axis=0)) / lexical.temperature
    char_row = lexical.char.transform([text]).tocsr()
    word_row = lexical.word.transform([text]).tocsr()
    cache = lexical.__dict__.setdefault("_explain_terms", {})
    if "char" not in cache:
        cache["char"], cache["word"] = _terms(lexical.char), _terms(lexical.word)
    char_terms, word_terms = cache["char"], cache["word"]

    # char_wb n-grams never cross a space: each comes from one token.
    analyse = lexical.char.build_analyzer()
    occurrences: dict[str, Counter] = {}
    for token, owner in zip(seg.tokens, seg.owner):
        for gram in analyse(token):
            occurrences.setdefault(gram, Counter())[(owner,)] += 1
    _spread(out, char_row, char_terms, delta[: len(char_terms)], occurrences)

    # word n-grams: tokens of each space-separated token, in order, then n-grams over the whole sequence.
    preprocess, tokenize = lexical.word.build_preprocessor(), lexical.word.build_tokenizer()
    units: list[tuple[str, int]] = []
    for token, owner in zip(seg.tokens, seg.owner):
        units.extend((unit, owner) for unit in tokenize(preprocess(token)))
    low, high = lexical.word.ngram_range
    occurrences = {}
    for n in range(low, high + 1):
        for i in range(len(units) - n + 1):
            span = units[i : i + n]
            gram = " ".join(u for u, _ in span)
            occurrences.setdefault(gram, Counter())[tuple(sorted({o for _, o in span}))] += 1
    _spread(out, word_row, word_terms, delta[len(char_terms) :], occurrences)
    return out


def _spread(out: np.ndarray, row, terms: list[str], delta: np.ndarray, occurrences: dict[str, Counter]) -> None:
    for column, value in zip(row.indices, row.data):
        contribution = float(value) * float(delta[column])
        places = occurrences.get(terms[column])
        if not places:  # cannot happen with the vectorisers' own analysers; keep the sum honest if it does
            logger.debug("n-gram %r not traced to a word", terms[column])
            continue
        total = sum(places.values())
        for owners, count in places.items():
            share = contribution * count / total / len(owners)
            for owner in owners:
                out[owner] += share


# --- the whole model: word occlusion ---------------------------------------------------------------------------


def _occlusion(classifier, seg: Segmented, target: int, batch_size: int) -> np.ndarray:
    import torch

    FeatureAblation = _captum_attr().FeatureAblation
    out = np.zeros(len(seg.words))
    present = sorted(set(seg.owner))  # words the model reads (some normalise to nothing)
    if not present:
        return out

    def forward(keep):
        texts = [seg.without({w for w, k in zip(present, row) if k < 0.5}) for row in keep.tolist()]
        probs = classifier.proba_of_normalised(texts, batch_size=max(batch_size, 32))
        return torch.from_numpy(probs[:, target].astype(np.float64))

    ablation = FeatureAblation(forward)
    inputs = torch.ones((1, len(present)), dtype=torch.float64)
    attributions = ablation.attribute(inputs, baselines=0.0, perturbations_per_eval=min(len(present), 64))
    for word, weight in zip(present, attributions[0].tolist()):
        out[word] = weight
    return out
