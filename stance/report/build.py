"""``stance report``: label shares over time, per outlet, per actor and actor pair, as a page, plots and JSON.

The input is streamed in chunks, so memory does not grow with its length. Rows
that already have a label (the output of ``stance classify --input`` or
``--engine ray``) are counted as they are; when the input has no label column,
each chunk is classified (and actor-tagged) with the model first. Actors come
from an ``actors`` column when there is one (``--tag-actors`` outputs), else
from tagging the text.

A row is skipped, and counted with its reason, when its text is empty, when the
date column is present but the row's date is empty (``no date``) or cannot be
read (``unparseable date``, see :mod:`stance.report.dates`; dates are never
guessed), or when its label is empty (a row ``classify`` could not classify).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.report.aggregate import Aggregator, order_labels
from stance.report.dates import parse_date, period_key
from stance.report.reader import columns_of, input_files, read_chunks
from stance.text.actors import ActorTagger

logger = logging.getLogger(__name__)

PERIODS = ("day", "week", "month")
EMPTY_TEXT = "empty text"
NO_LABEL = "no label (row was not classified)"


@dataclass
class ReportConfig:
    """What ``stance report`` reads and how it groups the rows."""

    input: str
    output: str
    date_column: str = "date"
    group_column: str = "outlet"
    period: str = "month"
    actors: list[str] = field(default_factory=list)
    model: str = "stance"
    text_column: str = "text"
    label_column: str = "label"
    id_column: str = "id"
    batch_size: int = 32
    precision: str = "auto"
    top: int = 20
    heatmap_actors: int = 12
    extremes: int = 3


def _parse_actors(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    if hasattr(value, "tolist"):
        return [str(v) for v in value.tolist() if v]
    text = str(value).strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed if v]
    return [part.strip() for part in text.split(";") if part.strip()]


def _score(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(score) else score


class _Rows:
    """Turns raw rows into aggregator calls, classifying unlabelled rows in batches."""

    def __init__(self, config: ReportConfig, columns: list[str], agg: Aggregator) -> None:
        self.config, self.agg = config, agg
        self.has_label = config.label_column in columns
        self.has_text = config.text_column in columns
        self.has_date = config.date_column in columns
        self.has_group = config.group_column in columns
        self.has_actors = "actors" in columns
        self.score_columns = [c for c in columns if c.startswith("score_")]
        self.classifier = None
        self.tagger = ActorTagger.load() if not self.has_actors else None
        self.seen_labels: set[str] = set()
        if not self.has_label and not self.has_text:
            raise StanceError(
                f"{config.input}: neither a {config.label_column!r} column nor a {config.text_column!r} column to "
                "classify: use --text-column"
            )

    def wanted_columns(self) -> list[str]:
        c = self.config
        names = [c.id_column, c.text_column, c.label_column, "actors", c.date_column, c.group_column, "error"]
        return list(dict.fromkeys(names + self.score_columns))

    def _period(self, row: dict[str, Any]) -> tuple[str | None, str]:
        if not self.has_date:
            return None, ""
        day, problem = parse_date(row.get(self.config.date_column))
        if problem:
            return None, problem
        return period_key(day, self.config.period), ""

    def feed(self, chunk: list[dict[str, Any]]) -> None:
        pending: list[tuple[dict[str, Any], str | None, str]] = []
        for row in chunk:
            if "__error__" in row:
                self.agg.skip("unreadable row")
                continue
            text = row.get(self.config.text_column)
            text = text if isinstance(text, str) else None
            if (self.has_text or not self.has_label) and not (text and text.strip()):
                self.agg.skip(EMPTY_TEXT)
                continue
            period, problem = self._period(row)
            if problem:
                self.agg.skip(problem)
                continue
            if not self.has_label:
                pending.append((row, period, text))
                continue
            label = row.get(self.config.label_column)
            if label is None or str(label).strip() == "":
                self.agg.skip(NO_LABEL)
                continue
            label = str(label).strip()
            scores = {c[len("score_") :]: _score(row.get(c)) for c in self.score_columns}
            actors = _parse_actors(row.get("actors")) if self.has_actors else self.tagger.tag(text or "")
            self._add(row, label, period, actors, scores, text)
        if pending:
            self._classify(pending)

    def _classify(self, pending: list[tuple[dict[str, Any], str | None, str]]) -> None:
        if self.classifier is None:
            from stance.inference.classifier import Classifier

            logger.info("the input has no %r column: classifying with %s", self.config.label_column, self.config.model)
            self.classifier = Classifier.load(self.config.model, precision=self.config.precision)
        results = self.classifier.predict(
            [text for _, _, text in pending], batch_size=self.config.batch_size, actors=True
        )
        for (row, period, text), result in zip(pending, results):
            self._add(row, result["label"], period, result["actors"], result["scores"], text)

    def _add(self, row, label, period, actors, scores, text) -> None:
        self.seen_labels.add(label)
        group = None
        if self.has_group:
            value = row.get(self.config.group_column)
            group = str(value).strip() if value not in (None, "") else "(none)"
        self.agg.add(label, period, group, actors, scores=scores, text=text, row_id=row.get(self.config.id_column))


def build_report(config: ReportConfig) -> dict[str, Any]:
    """Read ``config.input``, write ``index.html``, the PNG plots and ``summary.json`` to ``config.output``."""
    if config.period not in PERIODS:
        raise StanceError(f"--period {config.period!r}: use one of {', '.join(PERIODS)}")
    tagger = ActorTagger.load()
    focus = [tagger.resolve(name) for name in config.actors]
    files = input_files(config.input)
    columns = columns_of(files[0])
    agg = Aggregator(extremes=config.extremes)
    rows = _Rows(config, columns, agg)
    for chunk in read_chunks(files, rows.wanted_columns()):
        rows.feed(chunk)
    model_labels = rows.classifier.labels if rows.classifier is not None else None
    labels = order_labels(rows.seen_labels, model_labels)
    if not labels:
        raise StanceError(f"{config.input}: no row could be used (skipped: {dict(agg.skipped) or 'none'})")
    summary = agg.summary(labels, focus, top_actors=config.top, top_pairs=config.heatmap_actors)
    notes = []
    if not rows.has_date:
        notes.append(f"No {config.date_column!r} column: no breakdown over time (use --date-column).")
    if not rows.has_group:
        notes.append(f"No {config.group_column!r} column: no breakdown per group (use --group-column).")
    if rows.has_label and not rows.score_columns:
        notes.append("No score_<label> columns: the strongest statements cannot be ranked.")
    summary = {
        "input": str(config.input),
        "period": config.period,
        "date_column": config.date_column if rows.has_date else None,
        "group_column": config.group_column if rows.has_group else None,
        "label_source": (
            f"labels from the input's {config.label_column!r} column"
            if rows.has_label
            else f"labels from classifying with {config.model}"
        ),
        "actor_source": "the input's 'actors' column" if rows.has_actors else "tagged from the text",
        "focus_actors": focus,
        "notes": notes,
        **summary,
        "settings": asdict(config),
    }
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    from stance.report.page import render
    from stance.report.plots import draw_all

    plots = draw_all(summary, out, top=config.top, heatmap_actors=config.heatmap_actors)
    summary["files"] = ["index.html", "summary.json", *plots.values()]
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "index.html").write_text(render(summary, plots), encoding="utf-8")
    return summary
