"""Class-prior correction fitted on dev: one multiplicative scale per class on the final probabilities.

A model trained on a mixture whose class balance (or labelling convention)
differs from the target data can under-call one class; scaling each class's
probability and renormalising moves the decision boundaries without
retraining. The scales are fitted by coordinate ascent over a log-spaced grid
to maximise a dev objective, recorded in the model folder
(``stance_config.json``, ``class_scale``) and applied by
:class:`stance.Classifier` after the neural and lexical halves are averaged.
Fitting on the same rows it is measured on flatters the figure, so
:func:`cross_fitted_predictions` gives the honest out-of-fold estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stance.modeling.folder import apply_class_scale

__all__ = ["CalibrationSettings", "apply_class_scale", "cross_fitted_predictions", "fit_class_scale", "objective"]


@dataclass
class CalibrationSettings:
    """How the class scales are searched.

    Attributes:
        objective: ``macro_f1`` or ``f1_pn`` (mean F1 of positive and negative).
        log_range: scales go from ``exp(-log_range)`` to ``exp(log_range)``.
        steps: grid points over that range (odd, so 1.0 is on the grid).
        rounds: coordinate-ascent passes over the classes.
        folds: folds of the out-of-fold estimate.
        seed: fixes the folds.
    """

    objective: str = "macro_f1"
    log_range: float = 1.5
    steps: int = 31
    rounds: int = 3
    folds: int = 2
    seed: int = 13
    grid: list[float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.objective not in ("macro_f1", "f1_pn"):
            raise ValueError(f"objective {self.objective!r}: use macro_f1 or f1_pn")
        self.grid = [float(x) for x in np.linspace(-self.log_range, self.log_range, self.steps)]


def objective(gold: np.ndarray, pred: np.ndarray, labels: list[str], name: str) -> float:
    """The dev figure the scales maximise."""
    from sklearn.metrics import f1_score

    if name == "f1_pn":
        over = [labels.index(lab) for lab in ("positive", "negative") if lab in labels]
        if len(over) != 2:
            raise ValueError("f1_pn needs the labels positive and negative")
        return float(np.mean(f1_score(gold, pred, labels=over, average=None, zero_division=0)))
    return float(f1_score(gold, pred, labels=list(range(len(labels))), average="macro", zero_division=0))


def fit_class_scale(
    probs: np.ndarray, gold: np.ndarray, labels: list[str], settings: CalibrationSettings | None = None
) -> np.ndarray:
    """Per-class scales (the first class fixed at 1) that maximise the objective on these rows.

    Ties keep the scale closest to 1, so a model that needs no correction gets none.
    """
    settings = settings or CalibrationSettings()
    log_probs = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, None))
    logs = np.zeros(len(labels))

    def score(candidate: np.ndarray) -> float:
        return objective(gold, np.argmax(log_probs + candidate[None, :], axis=1), labels, settings.objective)

    best = score(logs)
    for _ in range(settings.rounds):
        changed = False
        for k in range(1, len(labels)):
            for value in sorted(settings.grid, key=abs):
                trial = logs.copy()
                trial[k] = value
                figure = score(trial)
                if figure > best + 1e-12:
                    best, logs, changed = figure, trial, True
        if not changed:
            break
    return np.exp(logs)


def cross_fitted_predictions(
    probs: np.ndarray, gold: np.ndarray, labels: list[str], settings: CalibrationSettings | None = None
) -> np.ndarray:
    """Each row's prediction under scales fitted on the other folds (an honest estimate of the gain)."""
    from sklearn.model_selection import StratifiedKFold

    settings = settings or CalibrationSettings()
    pred = np.empty(len(gold), dtype=int)
    folds = StratifiedKFold(n_splits=settings.folds, shuffle=True, random_state=settings.seed)
    for fit_rows, held_rows in folds.split(np.zeros(len(gold)), gold):
        scale = fit_class_scale(probs[fit_rows], gold[fit_rows], labels, settings)
        pred[held_rows] = np.argmax(apply_class_scale(probs[held_rows], scale), axis=1)
    return pred
