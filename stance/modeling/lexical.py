"""The lexical half of a model: character and word n-gram TF-IDF with a linear SVM, stored without pickle.

A neural model and this one err differently (the e5 encoder reads meaning,
the n-grams catch exact wording), so :class:`stance.Classifier` averages their
probabilities when a model folder has a ``lexical/`` sub-folder:

- ``lexical/config.json``: n-gram settings, labels, softmax temperature and the
  weight of this model in the average;
- ``lexical/vocabulary.json``: the character and word n-grams, in column order;
- ``lexical/weights.safetensors``: idf vectors, SVM coefficients and intercepts.

Scores are ``softmax((x · Wᵀ + b) / T)``: one linear SVM fitted on all the
training rows, and one temperature ``T`` fitted on cross-validated SVM scores
(grouped folds when the data has groups, e.g. articles), so the probabilities
are calibrated and the arg-max is the SVM's.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import StanceError

logger = logging.getLogger(__name__)

LEXICAL_DIR = "lexical"
# From this many texts per call scikit-learn's (faster) transform pays for its import.
_SKLEARN_ROWS = 64
_WORD_TOKENS = r"(?u)\b\w+\b"


@dataclass
class LexicalConfig:
    """Settings of the n-gram model (saved in ``lexical/config.json``).

    Attributes:
        char_ngrams: character n-gram lengths (within word boundaries).
        word_ngrams: word n-gram lengths.
        max_char_features / max_word_features: keep the most frequent n-grams (bounds the file size).
        min_df: ignore n-grams seen in fewer training rows.
        c: inverse regularisation strength of the linear SVM.
        weight: share of this model in the probability average with the neural model (0.5: equal).
        folds: cross-validation folds for fitting the temperature.
        weight_grid: when given, the weight is chosen from these values on the training run's selection dev
            set (``select_on``) after fitting; 0 in the grid allows "no lexical half" (then none is saved).
    """

    char_ngrams: tuple[int, int] = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)
    max_char_features: int = 100_000
    max_word_features: int = 50_000
    min_df: int = 2
    c: float = 0.5
    weight: float = 0.5
    folds: int = 3
    weight_grid: tuple[float, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LexicalConfig:
        data = dict(data or {})
        known = cls.__dataclass_fields__
        unknown = set(data) - set(known)
        if unknown:
            raise StanceError(f"unknown lexical setting(s) {sorted(unknown)}: known ones are {sorted(known)}")
        for key in ("char_ngrams", "word_ngrams", "weight_grid"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


def _vectorizers(config: LexicalConfig, vocabularies: tuple[list[str], list[str]] | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    char_vocab, word_vocab = vocabularies or (None, None)
    char = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=config.char_ngrams,
        min_df=config.min_df,
        sublinear_tf=True,
        max_features=config.max_char_features,
        vocabulary=char_vocab,
        dtype=np.float32,
    )
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=config.word_ngrams,
        min_df=config.min_df,
        sublinear_tf=True,
        token_pattern=_WORD_TOKENS,
        max_features=config.max_word_features,
        vocabulary=word_vocab,
        dtype=np.float32,
    )
    return char, word


def _column_order(vectorizer) -> list[str]:
    vocab = vectorizer.vocabulary_
    ordered = [""] * len(vocab)
    for term, column in vocab.items():
        ordered[column] = term
    return ordered


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, targets: np.ndarray) -> float:
    """The temperature ``T`` that minimises the log loss of ``softmax(scores / T)``."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(targets))

    def log_loss(log_t: float) -> float:
        p = _softmax(scores / np.exp(log_t))
        return float(-np.log(np.clip(p[rows, targets], 1e-12, None)).mean())

    result = minimize_scalar(log_loss, bounds=(-5.0, 5.0), method="bounded")
    return float(np.exp(result.x))


class LexicalModel:
    """TF-IDF n-grams + linear SVM with temperature-scaled probabilities; texts must be normalised already."""

    def __init__(
        self,
        labels: list[str],
        config: LexicalConfig,
        char,
        word,
        coef,
        intercept,
        temperature: float,
        ngrams: NgramFeatures | None = None,
    ):
        self.labels = list(labels)
        self.config = config
        self._char, self._word = char, word
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.temperature = float(temperature)
        self.ngrams = ngrams

    @property
    def char(self):
        """The character n-gram ``TfidfVectorizer`` (scikit-learn; built on first use for a loaded model)."""
        if self._char is None:
            self._char, self._word = self.ngrams.vectorizers(self.config)
        return self._char

    @property
    def word(self):
        """The word n-gram ``TfidfVectorizer`` (scikit-learn; built on first use for a loaded model)."""
        if self._word is None:
            self._char, self._word = self.ngrams.vectorizers(self.config)
        return self._word

    @property
    def weight(self) -> float:
        return self.config.weight

    @property
    def n_features(self) -> int:
        return self.coef.shape[1]

    @classmethod
    def fit(
        cls,
        texts: list[str],
        labels: list[str],
        config: LexicalConfig | None = None,
        label_order: list[str] | None = None,
        sample_weight: np.ndarray | None = None,
        groups: list[str] | None = None,
    ) -> LexicalModel:
        """Fit the vectorisers, the SVM and the temperature on normalised training texts."""
        from scipy.sparse import hstack
        from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
        from sklearn.svm import LinearSVC

        config = config or LexicalConfig()
        order = list(label_order or sorted(set(labels)))
        missing = sorted(set(labels) - set(order))
        if missing:
            raise StanceError(f"labels {missing} are not in the model's label set {order}")
        if len(set(labels)) < 2:
            raise StanceError("the lexical model needs at least two labels in the training data")
        y = np.array([order.index(lab) for lab in labels])
        char, word = _vectorizers(config)
        features = hstack([char.fit_transform(texts), word.fit_transform(texts)]).tocsr()

        def svm() -> LinearSVC:
            return LinearSVC(C=config.c, class_weight="balanced")

        if groups is not None and len(set(groups)) >= config.folds:
            splitter, split_groups = GroupKFold(n_splits=config.folds), groups
        else:
            splitter, split_groups = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=0), None
        fit_params = {"sample_weight": sample_weight} if sample_weight is not None else None
        scores = cross_val_predict(
            svm(), features, y, cv=splitter, groups=split_groups, method="decision_function", params=fit_params
        )
        scores = _full_scores(scores, len(order), sorted(set(y)))
        temperature = fit_temperature(scores, y)
        final = svm().fit(features, y, sample_weight=sample_weight)
        coef = np.zeros((len(order), features.shape[1]), dtype=np.float32)
        intercept = np.full(len(order), -1e3, dtype=np.float32)  # labels absent from training never win
        present = list(final.classes_)
        if len(present) == 2:  # a binary SVM has one score: positive class vs the other
            coef[present[1]], intercept[present[1]] = final.coef_[0] / 2, final.intercept_[0] / 2
            coef[present[0]], intercept[present[0]] = -final.coef_[0] / 2, -final.intercept_[0] / 2
        else:
            coef[present], intercept[present] = final.coef_, final.intercept_
        logger.info(
            "lexical model: %d features, temperature %.3f on %d rows", features.shape[1], temperature, len(texts)
        )
        return cls(order, config, char, word, coef, intercept, temperature)

    def scores(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self.ngrams is not None and len(texts) < _SKLEARN_ROWS and "sklearn" not in sys.modules:
            # a loaded model, few texts: the same features without paying for importing scikit-learn
            return self.ngrams.scores(texts, self.coef) + self.intercept
        from scipy.sparse import hstack

        features = hstack([self.char.transform(texts), self.word.transform(texts)]).tocsr()
        return np.asarray(features @ self.coef.T, dtype=np.float32) + self.intercept

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities (n_texts, n_labels) for normalised texts, columns in :attr:`labels` order."""
        return _softmax(self.scores(texts) / self.temperature).astype(np.float32)

    def save(self, model_folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        folder = Path(model_folder) / LEXICAL_DIR
        folder.mkdir(parents=True, exist_ok=True)
        settings = {"labels": self.labels, "temperature": self.temperature, "settings": asdict(self.config)}
        (folder / "config.json").write_text(json.dumps(settings, ensure_ascii=False, indent=2) + "\n")
        vocabulary = {"char": _column_order(self.char), "word": _column_order(self.word)}
        (folder / "vocabulary.json").write_text(json.dumps(vocabulary, ensure_ascii=False, separators=(",", ":")))
        tensors = {
            "idf_char": self.char.idf_.astype(np.float32),
            "idf_word": self.word.idf_.astype(np.float32),
            "coef": self.coef,
            "intercept": self.intercept,
        }
        save_file(tensors, str(folder / "weights.safetensors"))
        return folder

    @classmethod
    def load(cls, model_folder: str | Path) -> LexicalModel | None:
        """The lexical model saved in ``model_folder/lexical``, or ``None`` when there is none."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(model_folder) / LEXICAL_DIR
        if not folder.is_dir():
            return None
        try:
            settings = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
            tensors = load_file(str(folder / "weights.safetensors"))
            config = LexicalConfig.from_dict(settings["settings"])
            ngrams = NgramFeatures(
                config, vocabulary["char"], vocabulary["word"], tensors["idf_char"], tensors["idf_word"]
            )
            model = cls(
                settings["labels"],
                config,
                None,
                None,
                tensors["coef"],
                tensors["intercept"],
                settings["temperature"],
                ngrams=ngrams,
            )
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
            raise StanceError(
                f"{folder}: unreadable lexical model ({exc}): delete the folder to use the neural model alone, "
                "or refit it with `python training/fit_lexical.py`"
            ) from None
        expected = len(vocabulary["char"]) + len(vocabulary["word"])
        if model.coef.shape != (len(model.labels), expected):
            raise StanceError(
                f"{folder}: weights of shape {model.coef.shape} do not match {len(model.labels)} labels and "
                f"{expected} n-grams: refit it with `python training/fit_lexical.py`"
            )
        return model


class NgramFeatures:
    """The TF-IDF features of the two saved vectorisers, computed without scikit-learn.

    Exactly what ``TfidfVectorizer(analyzer="char_wb" | "word", lowercase=True,
    sublinear_tf=True, norm="l2", dtype=float32)`` computes with a fixed vocabulary
    and idf (tests compare the two), but importing scikit-learn costs a second or
    more of a one-shot ``stance classify``; fitting still uses scikit-learn.
    """

    _white_spaces = re.compile(r"\s\s+")

    def __init__(self, config: LexicalConfig, char_terms, word_terms, idf_char, idf_word) -> None:
        self.char_terms, self.word_terms = list(char_terms), list(word_terms)
        self.char_index = {term: i for i, term in enumerate(self.char_terms)}
        self.word_index = {term: i for i, term in enumerate(self.word_terms)}
        self.idf_char = np.asarray(idf_char, dtype=np.float32)
        self.idf_word = np.asarray(idf_word, dtype=np.float32)
        self.char_ngrams = tuple(config.char_ngrams)
        self.word_ngrams = tuple(config.word_ngrams)
        self.token = re.compile(_WORD_TOKENS)

    def vectorizers(self, config: LexicalConfig):
        """The equivalent fitted scikit-learn vectorisers (for code that needs them, e.g. explanations)."""
        char, word = _vectorizers(config, (self.char_terms, self.word_terms))
        char.idf_, word.idf_ = self.idf_char, self.idf_word
        return char, word

    def char_grams(self, text: str) -> list[str]:
        """sklearn's ``char_wb`` analyser: n-grams inside space-padded words."""
        low, high = self.char_ngrams
        grams = []
        for w in self._white_spaces.sub(" ", text.lower()).split():
            w = " " + w + " "
            length = len(w)
            for n in range(low, high + 1):
                offset = 0
                grams.append(w[offset : offset + n])
                while offset + n < length:
                    offset += 1
                    grams.append(w[offset : offset + n])
                if offset == 0:  # a short word counts once
                    break
        return grams

    def word_grams(self, text: str) -> list[str]:
        """sklearn's ``word`` analyser: token n-grams, joined by one space."""
        low, high = self.word_ngrams
        tokens = self.token.findall(text.lower())
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams

    @staticmethod
    def _tfidf(grams: list[str], index: dict[str, int], idf: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Columns (ascending) and l2-normalised sublinear tf-idf values of one text's n-grams."""
        counts = Counter(grams)
        pairs = sorted([(index[g], counts[g]) for g in counts.keys() & index.keys()])
        if not pairs:
            return [], np.zeros(0, dtype=np.float32)
        columns = [c for c, _ in pairs]
        values = (np.log(np.array([n for _, n in pairs], dtype=np.float32)) + np.float32(1.0)) * idf[columns]
        norm = np.sqrt(np.dot(values.astype(np.float64), values.astype(np.float64)))
        return columns, (values / norm).astype(np.float32)

    def scores(self, texts: list[str], coef: np.ndarray) -> np.ndarray:
        """``features(texts) @ coef.T`` as float32 (columns: char n-grams, then word n-grams)."""
        n_char = len(self.char_terms)
        columns: list[int] = []
        values: list[np.ndarray] = []
        rows: list[int] = []
        for row, text in enumerate(texts):
            c_cols, c_vals = self._tfidf(self.char_grams(text), self.char_index, self.idf_char)
            w_cols, w_vals = self._tfidf(self.word_grams(text), self.word_index, self.idf_word)
            columns += c_cols
            columns += [c + n_char for c in w_cols]
            values += [c_vals, w_vals]
            rows += [row] * (len(c_cols) + len(w_cols))
        out = np.zeros((len(texts), coef.shape[0]), dtype=np.float32)
        if columns:
            contributions = coef[:, columns] * np.concatenate(values)
            for label in range(coef.shape[0]):
                out[:, label] = np.bincount(rows, weights=contributions[label], minlength=len(texts))
        return out


def _full_scores(scores: np.ndarray, n_labels: int, present: list[int]) -> np.ndarray:
    """Cross-validated SVM scores as an (n, n_labels) array (binary SVMs give one column)."""
    if scores.ndim == 1:
        scores = np.stack([-scores / 2, scores / 2], axis=1)
    full = np.full((len(scores), n_labels), -1e3, dtype=np.float64)
    full[:, present] = scores
    return full
