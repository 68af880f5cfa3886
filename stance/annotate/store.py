"""A labelling project in one SQLite file: statements, model scores, and every label with who gave it and when.

The file uses WAL mode and commits each label, skip and undo on its own as it
is given (``synchronous=FULL``), so killing the process loses nothing already
answered. The schema is :data:`stance.io.project_db.SCHEMA`; ``stance train
--train PROJECT.sqlite`` reads it through :mod:`stance.io.project_db`.

One connection is shared by the web server's threads and the background
scorer, guarded by a lock: every call is a short statement or transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from stance.errors import StanceError
from stance.io.project_db import ACTIVE_LABELS_SQL, EXPORT_COLUMNS, SCHEMA, SCHEMA_VERSION

logger = logging.getLogger(__name__)

STRATEGIES = ("uncertainty", "random", "sequential")
RESERVE_SECONDS = 600.0  # a statement shown to one annotator is not shown to another for this long


class UnknownStatement(StanceError):
    """No statement with this id in the project."""


class UnknownLabel(StanceError):
    """A label outside the project's label set."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_id(text: str) -> str:
    """A stable id for a statement without one: the first 12 hex digits of the SHA-1 of its text."""
    return "t" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


# A fixed pseudo-random order (Knuth's multiplicative hash of the import position): the same on every restart.
_RANDOM_ORDER = "(s.n * 2654435761) % 4294967296"


class Project:
    """A labelling project file; created with ``labels`` on first use, which must then stay the same.

    ``default_labels`` (e.g. the model's) are used for a new project when ``labels`` is not given.
    """

    def __init__(
        self, path: str | Path, labels: list[str] | None = None, default_labels: list[str] | None = None
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StanceError(f"--db {self.path} is a folder: give a file name such as project.sqlite")
        if not self.path.parent.exists():
            raise StanceError(f"--db {self.path}: the folder {self.path.parent} does not exist")
        if not self.path.exists() and not (labels or default_labels):
            raise StanceError(f"{self.path} is a new project: give its labels with --labels or a --model")
        self._lock = threading.RLock()
        self._reserved: dict[str, tuple[str, float]] = {}
        self._served: dict[tuple[str, str], float] = {}
        try:
            self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StanceError(f"{self.path}: not a usable SQLite project ({exc}): pass another --db file") from None
        stored = self._meta("labels")
        if stored is None:
            labels = labels or default_labels
            if not labels:
                raise StanceError(f"{self.path} is a new project: give its labels with --labels or a --model")
            self._set_meta("labels", json.dumps(list(labels), ensure_ascii=False))
            self._set_meta("schema_version", SCHEMA_VERSION)
            self._set_meta("created_at", now_iso())
            self.labels = list(labels)
        else:
            self.labels = json.loads(stored)
            if labels and list(labels) != self.labels:
                raise StanceError(
                    f"{self.path} was created with labels {','.join(self.labels)}, not {','.join(labels)}: "
                    "drop --labels or start a new --db"
                )

    # -- meta -------------------------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # -- statements -------------------------------------------------------------------------------------------

    def import_statements(self, rows: Iterable[tuple[str, str]]) -> tuple[int, int]:
        """Add ``(id, text)`` rows in one transaction; ids already in the project are left as they are.

        Returns (added, already present).
        """
        added = present = 0
        stamp = now_iso()
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement_id, text in rows:
                    cur = self.conn.execute(
                        "INSERT OR IGNORE INTO statements(id, text, added_at) VALUES (?, ?, ?)",
                        (statement_id, text, stamp),
                    )
                    if cur.rowcount:
                        added += 1
                    else:
                        present += 1
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return added, present

    def total(self) -> int:
        with self._lock:
            return self.conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0]

    def statement(self, statement_id: str) -> dict[str, Any]:
        with self._lock:
            row = self.conn.execute(
                "SELECT s.id, s.text, sc.scores FROM statements s LEFT JOIN scores sc ON sc.id = s.id WHERE s.id = ?",
                (statement_id,),
            ).fetchone()
        if row is None:
            raise UnknownStatement(f"no statement with id {statement_id!r} in this project")
        return self._item(row)

    def _item(self, row) -> dict[str, Any]:
        statement_id, text, scores = row
        scores = json.loads(scores) if scores else None
        suggestion = max(scores, key=scores.get) if scores else None
        return {"id": statement_id, "text": text, "suggestion": suggestion, "scores": scores}

    # -- choosing the next statement ----------------------------------------------------------------------------

    def next_statement(self, annotator: str, strategy: str = "uncertainty", per_statement: int = 1):
        """The next statement for ``annotator``, or ``None`` when nothing is left for them.

        A statement is left when it has ``per_statement`` labels from different
        annotators, or when this annotator has labelled or skipped it. One that
        was just shown to another annotator is held back for a while.
        """
        if strategy not in STRATEGIES:
            raise StanceError(f"unknown strategy {strategy!r}: use {', '.join(STRATEGIES)}")
        order = {
            "uncertainty": "sc.uncertainty IS NULL, sc.uncertainty DESC, s.n",
            "random": f"{_RANDOM_ORDER}, s.n",
            "sequential": "s.n",
        }[strategy]
        now = time.time()
        with self._lock:
            held = [
                sid
                for sid, (who, since) in self._reserved.items()
                if who != annotator and now - since < RESERVE_SECONDS
            ]
            placeholders = ",".join("?" * len(held))
            row = self.conn.execute(
                f"""
                SELECT s.id, s.text, sc.scores FROM statements s LEFT JOIN scores sc ON sc.id = s.id
                WHERE s.id NOT IN (SELECT id FROM actions WHERE annotator = ? AND undone = 0)
                  AND (SELECT COUNT(DISTINCT annotator) FROM actions a
                       WHERE a.id = s.id AND a.kind = 'label' AND a.undone = 0) < ?
                  {f"AND s.id NOT IN ({placeholders})" if held else ""}
                ORDER BY {order} LIMIT 1
                """,
                (annotator, per_statement, *held),
            ).fetchone()
            if row is None:
                return None
            self._reserved[row[0]] = (annotator, now)
            self._served.setdefault((annotator, row[0]), now)
        return self._item(row)

    # -- answers ----------------------------------------------------------------------------------------------

    def _check(self, statement_id: str, label: str | None) -> None:
        if label is not None and label not in self.labels:
            raise UnknownLabel(f"unknown label {label!r}: this project's labels are {', '.join(self.labels)}")
        with self._lock:
            found = self.conn.execute("SELECT 1 FROM statements WHERE id = ?", (statement_id,)).fetchone()
        if not found:
            raise UnknownStatement(f"no statement with id {statement_id!r} in this project")

    def _record(self, statement_id: str, kind: str, label: str | None, annotator: str, seconds: float | None) -> int:
        self._check(statement_id, label)
        with self._lock:
            served = self._served.pop((annotator, statement_id), None)
            if seconds is None and served is not None:
                seconds = round(time.time() - served, 2)
            suggestion = self.conn.execute("SELECT scores FROM scores WHERE id = ?", (statement_id,)).fetchone()
            if suggestion:
                scores = json.loads(suggestion[0])
                suggestion = max(scores, key=scores.get)
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                # one answer per statement and annotator: a new one replaces the old
                self.conn.execute(
                    "UPDATE actions SET undone = 1 WHERE id = ? AND annotator = ? AND undone = 0",
                    (statement_id, annotator),
                )
                cur = self.conn.execute(
                    "INSERT INTO actions(id, kind, label, annotator, labelled_at, seconds, suggestion) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (statement_id, kind, label, annotator, now_iso(), seconds, suggestion),
                )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self._reserved.pop(statement_id, None)
        return cur.lastrowid

    def label(self, statement_id: str, label: str, annotator: str, seconds: float | None = None) -> int:
        """Record (and commit) ``label`` for a statement; returns the action number."""
        return self._record(statement_id, "label", label, annotator, seconds)

    def skip(self, statement_id: str, annotator: str) -> int:
        return self._record(statement_id, "skip", None, annotator, None)

    def undo(self, annotator: str) -> dict[str, Any] | None:
        """Take back ``annotator``'s latest label or skip; returns that statement (to answer again), or ``None``."""
        with self._lock:
            row = self.conn.execute(
                "SELECT n, id, kind, label FROM actions WHERE annotator = ? AND undone = 0 ORDER BY n DESC LIMIT 1",
                (annotator,),
            ).fetchone()
            if row is None:
                return None
            n, statement_id, kind, label = row
            self.conn.execute("UPDATE actions SET undone = 1 WHERE n = ?", (n,))
            self._reserved[statement_id] = (annotator, time.time())
            self._served[(annotator, statement_id)] = time.time()
        return {**self.statement(statement_id), "undone": {"kind": kind, "label": label}}

    # -- figures and export -----------------------------------------------------------------------------------

    def stats(self, annotator: str | None = None) -> dict[str, Any]:
        with self._lock:
            total = self.total()
            labelled = self.conn.execute(
                "SELECT COUNT(DISTINCT id) FROM actions WHERE kind = 'label' AND undone = 0"
            ).fetchone()[0]
            counts = dict(
                self.conn.execute(
                    "SELECT label, COUNT(*) FROM actions WHERE kind = 'label' AND undone = 0 GROUP BY label"
                ).fetchall()
            )
            annotators = dict(
                self.conn.execute(
                    "SELECT annotator, COUNT(*) FROM actions WHERE kind = 'label' AND undone = 0 GROUP BY annotator"
                ).fetchall()
            )
            skipped = self.conn.execute(
                "SELECT COUNT(*) FROM actions WHERE kind = 'skip' AND undone = 0"
                + (" AND annotator = ?" if annotator else ""),
                (annotator,) if annotator else (),
            ).fetchone()[0]
            scored = self.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
            seconds = self.conn.execute(
                "SELECT AVG(seconds) FROM actions WHERE kind = 'label' AND undone = 0 AND seconds IS NOT NULL"
            ).fetchone()[0]
        return {
            "total": total,
            "labelled": labelled,
            "skipped": skipped,
            "scored": scored,
            "labels": self.labels,
            "counts": {label: counts.get(label, 0) for label in self.labels},
            "annotators": annotators,
            "mean_seconds": round(seconds, 2) if seconds is not None else None,
        }

    def export_frame(self) -> pd.DataFrame:
        """Every label in force (one per statement and annotator): ``id, text, label, annotator, labelled_at``."""
        with self._lock:
            rows = self.conn.execute(ACTIVE_LABELS_SQL).fetchall()
        return pd.DataFrame(rows, columns=EXPORT_COLUMNS)

    def label_count(self) -> int:
        with self._lock:
            return self.conn.execute("SELECT COUNT(*) FROM actions WHERE kind = 'label' AND undone = 0").fetchone()[0]

    # -- scores (written by the background scorer) -----------------------------------------------------------

    def unscored(self, limit: int, strategy: str = "sequential") -> list[tuple[str, str]]:
        """Up to ``limit`` unscored statements, in the order ``strategy`` would serve them."""
        order = f"{_RANDOM_ORDER}, s.n" if strategy == "random" else "s.n"
        with self._lock:
            return self.conn.execute(
                f"SELECT s.id, s.text FROM statements s LEFT JOIN scores sc ON sc.id = s.id "
                f"WHERE sc.id IS NULL ORDER BY {order} LIMIT ?",
                (limit,),
            ).fetchall()

    def scored_rows(self) -> list[tuple[str, str, str | None]]:
        """``(id, text, neural scores JSON or None)`` of every scored statement."""
        with self._lock:
            return self.conn.execute(
                "SELECT s.id, s.text, sc.neural FROM statements s JOIN scores sc ON sc.id = s.id ORDER BY s.n"
            ).fetchall()

    def write_scores(self, rows: list[tuple[str, dict[str, float], dict[str, float] | None, float]]) -> None:
        """Store ``(id, scores, neural scores or None, uncertainty)`` rows in one transaction."""
        stamp = now_iso()
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO scores(id, scores, neural, uncertainty, scored_at) VALUES (?, ?, ?, ?, ?)",
                    [
                        (sid, json.dumps(scores), json.dumps(neural) if neural is not None else None, unc, stamp)
                        for sid, scores, neural, unc in rows
                    ],
                )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def training_rows(self) -> tuple[list[str], list[str]]:
        """Texts and labels for refitting (the latest label of each statement)."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT s.text, a.label FROM actions a JOIN statements s ON s.id = a.id "
                "WHERE a.kind = 'label' AND a.undone = 0 ORDER BY a.n"
            ).fetchall()
        latest: dict[str, str] = {}
        for text, label in rows:
            latest[text] = label
        return list(latest), list(latest.values())
