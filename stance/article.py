"""Article mode: split Arabic news into sentences, classify each, summarise.

Splitting rules: every line is its own unit (headlines, bullet lines with their
bullet removed); within a line, sentences end at ``.`` ``!`` ``?`` ``؟`` ``؛``
(not inside quotes «…» “…” "…", and not in numbers like 3.5); a very long
sentence is also split at the Arabic comma ``،`` when both parts are long
enough to stand alone (a comma usually joins clauses of one statement).
"""

from __future__ import annotations

import re
from typing import Any

_TERMINATORS = set(".!?؟؛")
_OPEN_QUOTES = {"«": "»", "“": "”", "„": "”", "‹": "›"}
_BULLET = re.compile(r"^\s*(?:[-–—•●▪■*·]+|\d{1,3}[.)-])\s+")
_COMMA_SPLIT_MIN_WORDS = 40  # only sentences longer than this are split at ،
_COMMA_PART_MIN_WORDS = 10


def _split_line(line: str) -> list[str]:
    units: list[str] = []
    start = 0
    closers: list[str] = []
    in_ascii_quote = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in _OPEN_QUOTES:
            closers.append(_OPEN_QUOTES[ch])
        elif closers and ch == closers[-1]:
            closers.pop()
        elif ch == '"':
            in_ascii_quote = not in_ascii_quote
        elif ch in _TERMINATORS and not closers and not in_ascii_quote:
            is_decimal = ch == "." and 0 < i < len(line) - 1 and line[i - 1].isdigit() and line[i + 1].isdigit()
            if not is_decimal:
                j = i + 1
                while j < len(line) and (line[j] in _TERMINATORS or line[j] in "»”\"')]"):
                    j += 1
                units.append(line[start:j])
                start = i = j
                continue
        i += 1
    units.append(line[start:])
    return [u.strip() for u in units if u.strip() and not all(c in _TERMINATORS or c.isspace() for c in u)]


def _split_long_at_commas(sentence: str) -> list[str]:
    if len(sentence.split()) <= _COMMA_SPLIT_MIN_WORDS or "،" not in sentence:
        return [sentence]
    parts: list[str] = []
    current = ""
    for piece in sentence.split("،"):
        candidate = f"{current}،{piece}" if current else piece
        current = candidate
        if len(current.split()) >= _COMMA_PART_MIN_WORDS:
            parts.append(current.strip() + "،")
            current = ""
    if current.strip():
        if parts and len(current.split()) < _COMMA_PART_MIN_WORDS:
            parts[-1] = parts[-1] + current
        else:
            parts.append(current.strip())
    parts[-1] = parts[-1].rstrip("،").strip()
    return [p for p in parts if p]


def split_sentences(text: str) -> list[str]:
    """Split an article into classification units (see the module docstring)."""
    units: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _BULLET.sub("", raw).strip()
        if not line:
            continue
        for sentence in _split_line(line):
            units.extend(_split_long_at_commas(sentence))
    return units


def summarise(sentences: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """Count and share of each label, dominant label, and the strongest sentence of each non-neutral label."""
    n = len(sentences)
    counts = {lab: sum(1 for s in sentences if s["label"] == lab) for lab in labels}
    mean_scores = {lab: (sum(s["scores"][lab] for s in sentences) / n if n else 0.0) for lab in labels}
    summary: dict[str, Any] = {
        "sentences": n,
        "counts": counts,
        "shares": {lab: (counts[lab] / n if n else 0.0) for lab in labels},
        "mean_scores": mean_scores,
        "dominant": max(labels, key=lambda lab: (counts[lab], mean_scores[lab])) if n else None,
    }
    for lab in labels:
        if lab == "neutral":
            continue
        if n:
            best = max(range(n), key=lambda i: sentences[i]["scores"][lab])
            summary[f"most_{lab}"] = {
                "index": best,
                "text": sentences[best]["text"],
                "score": sentences[best]["scores"][lab],
            }
        else:
            summary[f"most_{lab}"] = None
    return summary


def assemble(units: list[str], results: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """The article result: per-sentence labels and scores plus the summary."""
    sentences = [{"index": i, "text": u, **r} for i, (u, r) in enumerate(zip(units, results))]
    return {"sentences": sentences, "summary": summarise(sentences, labels)}


def classify_article(classifier, text: str, batch_size: int = 32) -> dict[str, Any]:
    """Per-sentence labels and scores plus an article summary."""
    units = split_sentences(text)
    results = classifier.predict(units, batch_size=batch_size) if units else []
    return assemble(units, results, classifier.labels)


def format_article(result: dict[str, Any]) -> str:
    """Human-readable article report."""
    summary = result["summary"]
    lines = []
    for s in result["sentences"]:
        lines.append(f"[{s['index'] + 1:>3}] {s['label']:<13} {s['scores'][s['label']]:.2f}  {s['text']}")
    lines.append("")
    lines.append(f"sentences: {summary['sentences']}   dominant: {summary['dominant']}")
    lines.append(
        "   ".join(f"{lab}: {summary['counts'][lab]} ({summary['shares'][lab]:.0%})" for lab in summary["counts"])
    )
    for key, value in summary.items():
        if key.startswith("most_") and value:
            lines.append(f"{key.replace('_', ' ')} ({value['score']:.2f}): {value['text']}")
    return "\n".join(lines)
