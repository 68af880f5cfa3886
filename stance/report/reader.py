"""Streaming rows out of classified (or unclassified) files: CSV, TSV, JSONL, Parquet, or a folder of them.

Rows come out in chunks of plain dicts holding only the columns the report
uses, so memory stays bounded however large the input is.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stance.errors import StanceError

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
CHUNK_ROWS = 4096

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def input_files(path: str | Path) -> list[Path]:
    """The file, or every file with a known suffix under a folder (sorted; one format only)."""
    root = Path(path)
    if not root.exists():
        raise StanceError(f"{root}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() not in SUFFIXES:
            raise StanceError(f"{root}: unsupported file type '{root.suffix}': use .csv, .tsv, .jsonl or .parquet")
        return [root]
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise StanceError(f"{root}: no .csv, .tsv, .jsonl or .parquet files in this folder")
    formats = {SUFFIXES[p.suffix.lower()] for p in files}
    if len(formats) > 1:
        raise StanceError(f"{root}: mixes {', '.join(sorted(formats))} files: put one format in a folder")
    return files


def columns_of(path: Path) -> list[str]:
    """The column names of a file (for JSONL: the keys of its first object, ``scores`` flattened)."""
    fmt = SUFFIXES[path.suffix.lower()]
    if fmt == "parquet":
        pq = _pyarrow_parquet()
        return list(pq.read_schema(path).names)
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        if fmt == "jsonl":
            for line in fh:
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        raise StanceError(f"{path}: the first line is not JSON") from None
                    return list(_flatten(record)) if isinstance(record, dict) else []
            return []
        return next(csv.reader(fh, delimiter="," if fmt == "csv" else "\t"), [])


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    scores = record.get("scores")
    if isinstance(scores, dict):
        record = {k: v for k, v in record.items() if k != "scores"}
        record.update({f"score_{lab}": value for lab, value in scores.items()})
    return record


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise StanceError("reading Parquet needs pyarrow: pip install pyarrow") from None
    return pq


def read_chunks(files: list[Path], columns: list[str]) -> Iterator[list[dict[str, Any]]]:
    """Chunks of rows restricted to ``columns`` (missing ones are None), across all ``files`` in order."""
    wanted = set(columns)
    for path in files:
        fmt = SUFFIXES[path.suffix.lower()]
        if fmt == "parquet":
            pq = _pyarrow_parquet()
            parquet = pq.ParquetFile(path)
            present = [c for c in columns if c in parquet.schema_arrow.names]
            for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=present):
                yield batch.to_pylist()
            continue
        with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
            rows: list[dict[str, Any]] = []
            if fmt == "jsonl":
                for line_no, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        record = {"__error__": f"{path.name} line {line_no}: invalid JSON"}
                    if not isinstance(record, dict):
                        record = {"__error__": f"{path.name} line {line_no}: not a JSON object"}
                    record = _flatten(record)
                    rows.append({k: v for k, v in record.items() if k in wanted or k == "__error__"})
                    if len(rows) >= CHUNK_ROWS:
                        yield rows
                        rows = []
            else:
                reader = csv.DictReader(fh, delimiter="," if fmt == "csv" else "\t")
                for record in reader:
                    rows.append({k: record.get(k) for k in columns})
                    if len(rows) >= CHUNK_ROWS:
                        yield rows
                        rows = []
            if rows:
                yield rows
