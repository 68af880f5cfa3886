"""The deletion test: does deleting a statement's top words change its label's probability more than random ones?"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_WORDS = re.compile(r"\S+")


def deletion_texts(text: str, drop: set[int]) -> str:
    """``text`` without its whitespace words whose index is in ``drop`` (the others joined by one space)."""
    return " ".join(m.group() for i, m in enumerate(_WORDS.finditer(text)) if i not in drop)


def deletion_drop(classifier, texts: list[str], results: list[dict[str, Any]], drops: list[set[int]]) -> np.ndarray:
    """For each text, its label's probability minus that probability once the words ``drops[i]`` are deleted."""
    labels = classifier.labels
    columns = np.array([labels.index(r["label"]) for r in results])
    before = np.array([r["scores"][r["label"]] for r in results])
    after = classifier.predict_proba([deletion_texts(t, d) for t, d in zip(texts, drops)])
    return before - after[np.arange(len(texts)), columns]
