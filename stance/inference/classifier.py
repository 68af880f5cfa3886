"""The user-facing :class:`Classifier`: load a model once, classify statements and articles."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import StanceError
from stance.inference.engine import InferenceEngine
from stance.modeling.folder import ModelSpec
from stance.modeling.lexical import LexicalModel
from stance.modeling.ready import load_ready
from stance.modeling.shipped import resolve_model_path

logger = logging.getLogger(__name__)

# Texts are cut to this many characters per token of max_length before tokenising,
# which bounds the cost of absurdly long inputs without changing normal ones.
_CHARS_PER_TOKEN = 16


class Classifier:
    """A trained stance or sentiment model with its preprocessing.

    When the model folder holds a lexical n-gram model (``lexical/``, see
    :mod:`stance.modeling.lexical`), the probabilities are its weighted average with
    the neural model's; ``Classifier.load(..., lexical=False)`` uses the neural
    model alone (the same answers as ``transformers.pipeline`` on an export, unless
    the model records a class-prior correction, ``class_scale``, which is applied
    last and which a pipeline does not apply). A source-tagged model's tag
    (``source_tag``) is put before every text, as in training.

    >>> clf = Classifier.load("stance")                        # doctest: +SKIP
    >>> clf.predict(["فرضت الولايات المتحدة عقوبات جديدة على روسيا"])  # doctest: +SKIP
    [{'label': 'hostile', 'scores': {'conciliatory': 0.01, 'hostile': 0.97, 'neutral': 0.02}}]
    """

    def __init__(
        self,
        model,
        tokenizer,
        spec: ModelSpec,
        precision: str = "auto",
        source: str = "",
        runtime: str = "torch",
        lexical: LexicalModel | None = None,
    ) -> None:
        self.spec = spec
        self.source = source
        self.runtime = runtime
        if lexical is not None and lexical.labels != list(spec.labels):
            raise StanceError(
                f"{source}: the lexical model's labels {lexical.labels} differ from the model's {list(spec.labels)}: "
                "refit it with `python training/fit_lexical.py`"
            )
        self.lexical = lexical
        if runtime == "onnx":
            from stance.inference.onnx_runtime import OnnxEngine

            if precision not in ("auto", "fp32"):
                raise StanceError(f"--runtime onnx runs in fp32: drop --precision {precision} or use --runtime torch")
            self.engine = OnnxEngine(model, tokenizer, source, max_length=spec.max_length)
        elif runtime == "torch":
            from stance.modeling.precision import resolve_precision

            resolved = resolve_precision(precision, source or None)
            self.engine = InferenceEngine(model, tokenizer, max_length=spec.max_length, precision=resolved)
        else:
            raise StanceError(f"unknown runtime {runtime!r}: use torch or onnx")

    @classmethod
    def load(
        cls,
        name_or_path: str | Path = "stance",
        precision: str = "auto",
        runtime: str = "torch",
        lexical: bool = True,
        cache: bool = True,
    ) -> Classifier:
        """Load a shipped model (``stance``, ``sentiment``) or a model folder.

        ``precision``: auto, fp32, bf16 or int8 (torch runtime). ``runtime``:
        ``torch`` or ``onnx`` (ONNX Runtime, exported once and cached).
        ``lexical``: average in the folder's n-gram model, if it has one.
        ``cache``: use the merged-weights cache (:mod:`stance.modeling.ready`;
        built on first load); ``False`` rebuilds the model from its folder.
        """
        folder = resolve_model_path(name_or_path)
        model, tokenizer, spec = load_ready(folder, cache=cache, compact=runtime == "torch")
        ngrams = LexicalModel.load(folder) if lexical else None
        return cls(model, tokenizer, spec, precision=precision, source=str(folder), runtime=runtime, lexical=ngrams)

    @property
    def labels(self) -> list[str]:
        return list(self.spec.labels)

    @property
    def precision(self) -> str:
        return self.engine.precision

    def prepare(self, texts: list[str]) -> list[str]:
        """Apply the model's normalisation and prefix (long texts are cut first, with a warning)."""
        return [self.spec.text_prefix + t for t in self.normalize(texts)]

    def normalize(self, texts: list[str]) -> list[str]:
        """Apply the model's normalisation (long texts are cut first, with a warning)."""
        limit = self.spec.max_length * _CHARS_PER_TOKEN
        cut = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must be strings, got {type(text).__name__}")
            if len(text) > limit:
                logger.warning("a text of %d characters was truncated to its first %d", len(text), limit)
                text = text[:limit]
            cut.append(text)
        return self.spec.normalize(cut)

    def predict_proba(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """An array (n_texts, n_labels) of probabilities, columns in :attr:`labels` order."""
        if isinstance(texts, str):
            texts = [texts]
        return self.proba_of_normalised(self.normalize(list(texts)), batch_size=batch_size)

    def proba_of_normalised(self, normalised: list[str], batch_size: int = 32) -> np.ndarray:
        """:meth:`predict_proba` of texts normalised already (both halves averaged, then the model's class scale)."""
        prefix = self.spec.text_prefix
        probs = self.engine.predict_proba([prefix + t for t in normalised], batch_size=batch_size)
        if self.lexical is not None:
            weight = self.lexical.weight
            probs = ((1.0 - weight) * probs + weight * self.lexical.predict_proba(normalised)).astype(np.float32)
        return self.spec.rescale(probs)

    def predict(self, texts: list[str], batch_size: int = 32, actors: bool = False) -> list[dict[str, Any]]:
        """One ``{"label": ..., "scores": {label: probability}}`` per text, in input order.

        ``actors=True`` adds ``"actors"``: the political actors the text mentions
        (canonical names in order of first mention, see :mod:`stance.text.actors`).
        """
        if isinstance(texts, str):
            texts = [texts]
        probs = self.predict_proba(texts, batch_size=batch_size)
        labels = self.labels
        results = [
            {"label": labels[int(row.argmax())], "scores": {lab: float(p) for lab, p in zip(labels, row)}}
            for row in probs
        ]
        if actors:
            from stance.text.actors import ActorTagger

            tagger = ActorTagger.load()
            for text, result in zip(texts, results):
                result["actors"] = tagger.tag(text)
        return results

    def explain(
        self, texts: list[str], batch_size: int = 8, method: str | None = None, steps: int | None = None
    ) -> list[dict[str, Any]]:
        """Which words drove each label: ``{"label", "scores", "words": [{"text", "start", "end", "weight"}]}``.

        One entry per whitespace word of each text, with character offsets into
        that text; ``weight`` > 0 supports the label, < 0 opposes it. ``method``:
        ``occlusion`` (default) or ``ig`` (Integrated Gradients, ``steps``
        interpolation steps). See :mod:`stance.inference.explain`.
        """
        from stance.inference.explain import DEFAULT_METHOD, DEFAULT_STEPS, explain

        return explain(
            self, texts, batch_size=batch_size, method=method or DEFAULT_METHOD, steps=steps or DEFAULT_STEPS
        )

    def classify_article(
        self, text: str, batch_size: int = 32, actors: bool = False, explain: bool = False
    ) -> dict[str, Any]:
        """Split an article into sentences, classify each, and summarise (see :mod:`stance.inference.article`).

        ``explain``: also give each sentence its word weights (see :meth:`explain`).
        """
        from stance.inference.article import classify_article

        return classify_article(self, text, batch_size=batch_size, actors=actors, explain=explain)
