"""Labelling projects (``stance annotate``) as SQLite files: the schema and a read-only reader of their labels.

The schema lives here, in the I/O layer, so that ``stance train --train
PROJECT.sqlite`` and ``stance evaluate --data PROJECT.sqlite`` read a project
without the annotation tool; :mod:`stance.annotate.store` writes it.

Tables:

- ``meta(key, value)``: ``labels`` (a JSON list), ``schema_version``;
- ``statements(n, id, text, added_at)``: the statements, in import order;
- ``scores(id, scores, neural, uncertainty, scored_at)``: the model's current
  probabilities (JSON) for a statement and their uncertainty;
- ``actions(n, id, kind, label, annotator, labelled_at, seconds, suggestion, undone)``:
  every label or skip given, in order; an undone or replaced one keeps its row
  with ``undone = 1``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from pathlib import Path

import pandas as pd

from stance.errors import StanceError

logger = logging.getLogger(__name__)

PROJECT_SUFFIXES = {".sqlite", ".sqlite3", ".db"}
SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS statements (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    id TEXT PRIMARY KEY REFERENCES statements(id),
    scores TEXT NOT NULL,
    neural TEXT,
    uncertainty REAL NOT NULL,
    scored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scores_uncertainty ON scores(uncertainty DESC);
CREATE TABLE IF NOT EXISTS actions (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL REFERENCES statements(id),
    kind TEXT NOT NULL CHECK (kind IN ('label', 'skip')),
    label TEXT,
    annotator TEXT NOT NULL,
    labelled_at TEXT NOT NULL,
    seconds REAL,
    suggestion TEXT,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS actions_id ON actions(id, undone);
CREATE INDEX IF NOT EXISTS actions_annotator ON actions(annotator, undone);
"""

# The labels in force: one per statement and annotator (the latest), in the order they were given.
ACTIVE_LABELS_SQL = """
SELECT a.id, s.text, a.label, a.annotator, a.labelled_at
FROM actions a JOIN statements s ON s.id = a.id
WHERE a.kind = 'label' AND a.undone = 0
ORDER BY a.n
"""

EXPORT_COLUMNS = ["id", "text", "label", "annotator", "labelled_at"]


def is_project(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PROJECT_SUFFIXES


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise StanceError(f"{path}: no such project file: check the path (create one with `stance annotate --db`)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT value FROM meta WHERE key = 'labels'").fetchone()
        conn.execute("SELECT 1 FROM actions LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StanceError(f"{path}: not a `stance annotate` project ({exc})") from None
    return conn


def read_project_labels(path: str | Path) -> pd.DataFrame:
    """Every label in force in a project: columns ``id, text, label, annotator, labelled_at``, in labelling order."""
    conn = connect_readonly(path)
    try:
        rows = conn.execute(ACTIVE_LABELS_SQL).fetchall()
    finally:
        conn.close()
    return pd.DataFrame(rows, columns=EXPORT_COLUMNS)


def read_project_training_rows(path: str | Path) -> pd.DataFrame:
    """One row per labelled statement (``id, text, label``) for training.

    With several annotators a statement takes its majority label; a statement
    whose annotators tie is left out with a warning (settle it in the page, or
    see ``stance annotate --agreement``).
    """
    frame = read_project_labels(path)
    if frame.empty:
        raise StanceError(f"{path}: the project has no labels yet: label some with `stance annotate --db {path}`")
    out, ties = [], 0
    for statement_id, group in frame.groupby("id", sort=False):
        counts = Counter(group["label"]).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            ties += 1
            continue
        out.append({"id": statement_id, "text": group["text"].iloc[0], "label": counts[0][0]})
    if ties:
        logger.warning("%s: %d statement(s) left out: their annotators disagree with no majority", path, ties)
    return pd.DataFrame(out, columns=["id", "text", "label"])
