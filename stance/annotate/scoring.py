"""Active learning: how unsure the model is, and a background thread that scores the project's statements.

The scorer loads the model once, scores unscored statements in batches (in the
order the chosen strategy serves them, so the next statement usually has its
suggestion ready) and writes probabilities and uncertainty to the project.
With ``retrain_every=N`` it refits the lexical n-gram half
(:class:`stance.modeling.lexical.LexicalModel`, seconds) on the labels given so
far every N new labels, and rescores every statement with the neural
probabilities averaged with the refitted half's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from stance.annotate.store import Project
from stance.errors import StanceError

logger = logging.getLogger(__name__)

MEASURES = ("entropy", "margin")


def uncertainty(probs: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """Higher is less sure. ``entropy``: Shannon entropy; ``margin``: 1 − (top probability − second)."""
    probs = np.asarray(probs, dtype=np.float64)
    if measure == "entropy":
        p = np.clip(probs, 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1)
    if measure == "margin":
        top = np.sort(probs, axis=1)[:, ::-1]
        return 1.0 - (top[:, 0] - top[:, 1])
    raise StanceError(f"unknown uncertainty measure {measure!r}: use {' or '.join(MEASURES)}")


@dataclass
class ScorerSettings:
    """Attributes:
    batch_size: statements per forward pass.
    measure: ``entropy`` or ``margin``.
    retrain_every: refit the lexical half every N new labels (0: never).
    strategy: the serving order, which the scoring order follows.
    min_per_label: a refit waits until two labels have at least this many examples each.
    """

    batch_size: int = 32
    measure: str = "entropy"
    retrain_every: int = 0
    strategy: str = "uncertainty"
    min_per_label: int = 2


class Scorer:
    """Scores a project's statements in a daemon thread. ``loader()`` returns a Classifier, or is ``None``."""

    def __init__(self, project: Project, loader: Callable[[], Any] | None, settings: ScorerSettings) -> None:
        self.project = project
        self.loader = loader
        self.settings = settings
        self.classifier = None
        self.lexical = None  # the lexical half refitted on the project's labels
        self.lexical_weight = 0.5
        self.fitted_on = 0
        self.refits = 0
        self.error: str | None = None
        self.ready = threading.Event()  # the model is loaded (or there is none)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stance-annotate-scorer", daemon=True)
        from stance.text.normalize import Normalizer

        self._normalizer = Normalizer()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def poke(self) -> None:
        """A label was given: check for a refit now rather than at the next tick."""
        self._wake.set()

    def status(self) -> dict[str, Any]:
        return {
            "model_loaded": self.classifier is not None,
            "ready": self.ready.is_set(),
            "error": self.error,
            "refits": self.refits,
            "fitted_on": self.fitted_on,
        }

    # -- the thread -------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.loader is not None:
                self.classifier = self.loader()
                if self.classifier.lexical is not None:
                    self.lexical_weight = self.classifier.lexical.weight
            self.ready.set()
            while not self._stop.is_set():
                worked = self._score_batch()
                if self.settings.retrain_every and self._refit_due():
                    self._refit()
                    worked = True
                if not worked:
                    self._wake.wait(1.0)
                    self._wake.clear()
        except Exception as exc:  # noqa: BLE001 - reported by /api/stats, the page keeps working without scores
            self.error = f"{type(exc).__name__}: {exc}"
            logger.exception("scoring stopped")
            self.ready.set()

    def _normalize(self, texts: list[str]) -> list[str]:
        if self.classifier is not None:
            return self.classifier.normalize(texts)
        return [self._normalizer(t) for t in texts]

    def _neural(self, texts: list[str]) -> np.ndarray:
        """The neural model's probabilities alone, columns in the project's label order."""
        clf = self.classifier
        probs = clf.engine.predict_proba(clf.prepare(texts), batch_size=self.settings.batch_size)
        return probs[:, [clf.labels.index(label) for label in self.project.labels]]

    def _lexical(self, model, texts: list[str]) -> np.ndarray:
        probs = model.predict_proba(self._normalize(texts))
        return probs[:, [model.labels.index(label) for label in self.project.labels]]

    def _combine(self, neural: np.ndarray | None, texts: list[str]) -> np.ndarray | None:
        lexical = self.lexical or (self.classifier.lexical if self.classifier is not None else None)
        if lexical is None:
            return neural
        lex = self._lexical(lexical, texts)
        if neural is None:
            return lex
        return (1.0 - self.lexical_weight) * neural + self.lexical_weight * lex

    def _rows(self, ids, probs: np.ndarray, neural: np.ndarray | None):
        labels = self.project.labels
        unc = uncertainty(probs, self.settings.measure)
        out = []
        for i, statement_id in enumerate(ids):
            scores = {label: round(float(p), 6) for label, p in zip(labels, probs[i])}
            raw = {label: round(float(p), 6) for label, p in zip(labels, neural[i])} if neural is not None else None
            out.append((statement_id, scores, raw, float(unc[i])))
        return out

    def _score_batch(self) -> bool:
        if self.classifier is None and self.lexical is None:
            return False  # nothing to score with (--model none and no refit yet)
        batch = self.project.unscored(self.settings.batch_size * 4, self.settings.strategy)
        if not batch:
            return False
        ids, texts = [b[0] for b in batch], [b[1] for b in batch]
        neural = self._neural(texts) if self.classifier is not None else None
        probs = self._combine(neural, texts)
        self.project.write_scores(self._rows(ids, probs, neural))
        return True

    def _refit_due(self) -> bool:
        return self.project.label_count() - self.fitted_on >= self.settings.retrain_every

    def _refit(self) -> None:
        from stance.modeling.lexical import LexicalConfig, LexicalModel

        texts, labels = self.project.training_rows()
        count = self.project.label_count()
        counts = {label: labels.count(label) for label in set(labels)}
        if sum(n >= self.settings.min_per_label for n in counts.values()) < 2:
            logger.info("refit waits for %d examples of two labels (have %s)", self.settings.min_per_label, counts)
            self.fitted_on = count  # try again after the next N labels
            return
        try:
            fewest = min(n for n in counts.values() if n >= self.settings.min_per_label)
            folds = max(2, min(3, fewest))  # the temperature's cross-validation, on few labels
            config = LexicalConfig(min_df=1, max_char_features=50_000, max_word_features=25_000, folds=folds)
            model = LexicalModel.fit(self._normalize(texts), labels, config, label_order=list(self.project.labels))
        except (StanceError, ValueError) as exc:
            logger.warning("refitting the lexical half on %d labels failed: %s", len(labels), exc)
            self.fitted_on = count
            return
        self.lexical, self.fitted_on = model, count
        self.refits += 1
        rows = self.project.scored_rows()
        for start in range(0, len(rows), 512):
            chunk = rows[start : start + 512]
            ids, texts = [r[0] for r in chunk], [r[1] for r in chunk]
            if self.classifier is not None:
                neural = np.array(
                    [[json.loads(r[2])[label] for label in self.project.labels] for r in chunk], dtype=np.float64
                )
            else:
                neural = None
            self.project.write_scores(self._rows(ids, self._combine(neural, texts), neural))
        logger.info("refitted the lexical half on %d labels and rescored %d statements", len(labels), len(rows))
