"""Sentence splitting for Arabic news articles.

Splitting rules: every line is its own unit (headlines, bullet lines with their
bullet removed); within a line, sentences end at ``.`` ``!`` ``?`` ``؟`` ``؛``
(not inside quotes «…» “…” "…", and not in numbers like 3.5); a very long
sentence is also split at the Arabic comma ``،`` when both parts are long
enough to stand alone (a comma usually joins clauses of one statement).
"""

from __future__ import annotations

import re

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
