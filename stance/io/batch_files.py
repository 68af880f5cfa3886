"""Classifying whole files: streamed in chunks, every row kept, resumable after a crash.

Output rows follow input rows one for one and in order, each with the input's
id (when there is an id column), the text, the label, one ``score_<label>``
column per class, ``actors`` with ``actors=True``, and ``error`` (empty unless the row could not be classified,
e.g. an empty text or bytes that are not UTF-8). The output is written to
``OUTPUT.partial`` and renamed to ``OUTPUT`` only when complete;
``resume=True`` continues a partial output (after a crash or kill -9) from the
last chunk that was fully written.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stance.errors import StanceError

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2048
_SURROGATE = re.compile("[\ud800-\udfff]")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv",):
        return "csv"
    if suffix in (".tsv", ".tab", ".txt"):
        return "tsv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise StanceError(f"{path}: unsupported file type '{suffix}': use .csv, .tsv or .jsonl")


def _read_chunks(path: Path, text_column: str, id_column: str | None) -> Iterator[list[dict[str, Any]]]:
    """Yield lists of ``{"id", "text", "error"}`` rows, CHUNK_ROWS at a time, with bounded memory."""
    fmt = _format(path)
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        if fmt == "jsonl":
            rows: list[dict[str, Any]] = []
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                rows.append(_jsonl_row(line, line_no, text_column, id_column))
                if len(rows) >= CHUNK_ROWS:
                    yield rows
                    rows = []
            if rows:
                yield rows
            return
        reader = csv.DictReader(fh, delimiter="," if fmt == "csv" else "\t")
        fields = reader.fieldnames or []
        if text_column not in fields:
            raise StanceError(f"{path}: no column {text_column!r} (columns: {', '.join(fields)}): use --text-column")
        if id_column and id_column not in fields:
            raise StanceError(f"{path}: no id column {id_column!r} (columns: {', '.join(fields)})")
        rows = []
        for record in reader:
            text = record.get(text_column)
            rows.append({"id": record.get(id_column) if id_column else None, "text": text, "error": ""})
            if len(rows) >= CHUNK_ROWS:
                yield rows
                rows = []
        if rows:
            yield rows


def _jsonl_row(line: str, line_no: int, text_column: str, id_column: str | None) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"id": None, "text": None, "error": f"line {line_no}: invalid JSON ({exc.msg})"}
    if not isinstance(record, dict):
        return {"id": None, "text": None, "error": f"line {line_no}: not a JSON object"}
    text = record.get(text_column)
    return {
        "id": record.get(id_column) if id_column else None,
        "text": text if isinstance(text, str) else None,
        "error": "" if isinstance(text, str) or text is None else f"line {line_no}: {text_column} is not a string",
    }


def _detect_id_column(path: Path, id_column: str | None) -> str | None:
    if id_column:
        return id_column
    fmt = _format(path)
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        if fmt == "jsonl":
            for line in fh:
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        return None
                    return "id" if isinstance(record, dict) and "id" in record else None
            return None
        header = next(csv.reader(fh, delimiter="," if fmt == "csv" else "\t"), [])
        return "id" if "id" in header else None


def row_problem(text: str | None) -> str:
    """Why a row's text cannot be classified (missing, undecodable bytes, empty), or ''."""
    if text is None:
        return "missing text"
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return "text is not valid UTF-8"
    if not text.strip():
        return "empty text"
    return ""


class _Writer:
    def __init__(self, fh, fmt: str, labels: list[str], with_id: bool, actors: bool = False) -> None:
        self.fh, self.fmt, self.labels, self.with_id, self.actors = fh, fmt, labels, with_id, actors
        self.columns = (["id"] if with_id else []) + ["text", "label"] + [f"score_{lab}" for lab in labels]
        self.columns += (["actors"] if actors else []) + ["error"]

    def header(self) -> None:
        if self.fmt != "jsonl":
            self._csv_line(self.columns)

    def _csv_line(self, values: list[Any]) -> None:
        buf = io.StringIO()
        csv.writer(buf, delimiter="," if self.fmt == "csv" else "\t", lineterminator="\n").writerow(values)
        self.fh.write(buf.getvalue())

    def row(self, item: dict[str, Any]) -> None:
        text = item["text"]
        if isinstance(text, str):
            # undecodable bytes (surrogate escapes) and lone surrogates (e.g. a JSON "\ud800")
            # cannot be written as UTF-8: they become U+FFFD in the echoed text
            text = _SURROGATE.sub("\ufffd", text)
        scores = item.get("scores") or {}
        if self.fmt == "jsonl":
            record = ({"id": item["id"]} if self.with_id else {}) | {
                "text": text,
                "label": item.get("label"),
                "scores": scores or None,
            }
            if self.actors:
                record["actors"] = item.get("actors") or []
            record["error"] = item["error"] or None
            self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            values = ([item["id"]] if self.with_id else []) + [text or "", item.get("label") or ""]
            values += [f"{scores[lab]:.6f}" if lab in scores else "" for lab in self.labels]
            if self.actors:  # canonical names never contain ';'
                values.append("; ".join(item.get("actors") or []))
            values.append(item["error"])
            self._csv_line(values)


def classify_file(
    classifier,
    input_path: str | Path,
    output_path: str | Path,
    text_column: str = "text",
    id_column: str | None = None,
    batch_size: int = 32,
    resume: bool = False,
    actors: bool = False,
) -> int:
    """Classify every row of ``input_path`` into ``output_path``; returns the number of rows written.

    ``actors=True`` adds an ``actors`` column: the actors each text mentions
    (:mod:`stance.text.actors`), ``; ``-separated in CSV/TSV, a list in JSONL.
    """
    src, dst = Path(input_path), Path(output_path)
    if not src.exists():
        raise StanceError(f"{src}: no such file")
    fmt = _format(dst)
    id_column = _detect_id_column(src, id_column)
    partial = dst.with_name(dst.name + ".partial")
    state_path = dst.with_name(dst.name + ".partial.json")
    done, offset = 0, 0
    if resume and partial.exists() and state_path.exists():
        state = json.loads(state_path.read_text())
        done, offset = int(state["rows"]), int(state["bytes"])
        logger.info("resuming %s after %d rows", partial, done)
    elif resume:
        logger.warning("no partial output to resume for %s: starting from the beginning", dst)
    mode = "r+" if done else "w"
    if not done:
        partial.write_text("")
    with partial.open(mode, encoding="utf-8", newline="") as fh:
        fh.seek(offset)
        fh.truncate()
        writer = _Writer(fh, fmt, classifier.labels, with_id=id_column is not None, actors=actors)
        if not done:
            writer.header()
        seen = 0
        for chunk in _read_chunks(src, text_column, id_column):
            if seen + len(chunk) <= done:
                seen += len(chunk)
                continue
            chunk = chunk[max(0, done - seen) :]
            seen_before = max(seen, done)
            for item in chunk:
                if not item["error"]:
                    item["error"] = row_problem(item["text"])
            good = [i for i, item in enumerate(chunk) if not item["error"]]
            if good:
                results = classifier.predict([chunk[i]["text"] for i in good], batch_size=batch_size, actors=actors)
                for i, result in zip(good, results):
                    chunk[i].update(result)
            for item in chunk:
                writer.row(item)
            fh.flush()
            os.fsync(fh.fileno())
            seen = seen_before + len(chunk)
            tmp = state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"rows": seen, "bytes": fh.tell()}))
            tmp.replace(state_path)
            logger.info("%d rows written", seen)
    partial.replace(dst)
    state_path.unlink(missing_ok=True)
    return seen
