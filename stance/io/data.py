"""Reading labelled and unlabelled tables: CSV, TSV, JSONL or a ``datasets`` folder.

Every problem a user can cause (missing file or column, bad encoding, a wrong
delimiter, empty texts, a single class) becomes a :class:`StanceError` whose
message names the problem and the fix.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stance.errors import StanceError
from stance.io.project_db import PROJECT_SUFFIXES, read_project_training_rows

logger = logging.getLogger(__name__)

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}


def _check_utf8(path: Path) -> None:
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise StanceError(
                    f"{path}: line {line_no} is not valid UTF-8 ({exc.reason} at byte {exc.start}): "
                    "re-save the file as UTF-8 (e.g. `iconv -f cp1256 -t utf-8`)"
                ) from None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV/JSONL file, a ``datasets.save_to_disk`` folder or a labelling project as strings.

    A ``stance annotate`` project (``.sqlite``/``.db``) gives one row per
    labelled statement, ``id, text, label`` (see :mod:`stance.io.project_db`).
    """
    path = Path(path)
    if not path.exists():
        raise StanceError(f"{path}: no such file or folder: check the path")
    if path.is_dir():
        return _read_datasets_folder(path)
    suffix = path.suffix.lower()
    if suffix in PROJECT_SUFFIXES:
        return read_project_training_rows(path)
    if suffix in (".jsonl", ".json", ".ndjson"):
        _check_utf8(path)
        try:
            frame = pd.read_json(path, lines=suffix != ".json", dtype=False, encoding="utf-8-sig")
        except ValueError as exc:
            raise StanceError(f"{path}: not valid JSON lines ({exc}): one JSON object per line is expected") from None
        return frame
    if suffix not in TABLE_SUFFIXES:
        raise StanceError(
            f"{path}: unknown file type '{suffix}': use .csv, .tsv, .jsonl, a datasets folder or a .sqlite project"
        )
    _check_utf8(path)
    sep = TABLE_SUFFIXES[suffix]
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise StanceError(f"{path}: cannot parse as {'TSV' if sep == chr(9) else 'CSV'} ({exc})") from None
    if frame.shape[1] == 1:
        other = "\t" if sep == "," else ","
        header = str(frame.columns[0])
        if other in header:
            kind = "tab" if other == "\t" else "comma"
            raise StanceError(
                f"{path}: the header looks {kind}-separated but the file name says otherwise: "
                f"rename it to {'.tsv' if other == chr(9) else '.csv'}"
            )
    return frame


def _read_datasets_folder(path: Path) -> pd.DataFrame:
    try:
        from datasets import DatasetDict, load_from_disk
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise StanceError("reading a datasets folder needs `pip install datasets`") from None
    try:
        ds = load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise StanceError(f"{path}: not a datasets folder saved with save_to_disk ({exc})") from None
    if isinstance(ds, DatasetDict):
        split = "train" if "train" in ds else next(iter(ds))
        logger.info("%s holds splits %s; using '%s'", path, list(ds), split)
        ds = ds[split]
    return ds.to_pandas()


def require_columns(frame: pd.DataFrame, columns: list[str], path: str | Path, flag_hint: str = "") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise StanceError(
            f"{path}: missing column(s) {', '.join(missing)}; the file has: {have}"
            + (f". {flag_hint}" if flag_hint else "")
        )


@dataclass
class LabelledData:
    """Texts with string labels (and optional groups and row weights), cleaned."""

    texts: list[str]
    labels: list[str]
    groups: list[str] | None = None
    weights: list[float] | None = None
    sources: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def concat(cls, parts: list[LabelledData]) -> LabelledData:
        """Rows of several data sets, in order (groups and weights kept when every part has them)."""
        if len(parts) == 1:
            return parts[0]
        groups = [g for p in parts for g in p.groups] if all(p.groups for p in parts) else None
        if any(p.weights for p in parts):
            weights = [w for p in parts for w in (p.weights or [1.0] * len(p))]
        else:
            weights = None
        sources = [s for p in parts for s in p.sources] if all(p.sources for p in parts) else None
        return cls(
            [t for p in parts for t in p.texts], [lab for p in parts for lab in p.labels], groups, weights, sources
        )

    def subset(self, index: list[int]) -> LabelledData:
        return LabelledData(
            texts=[self.texts[i] for i in index],
            labels=[self.labels[i] for i in index],
            groups=[self.groups[i] for i in index] if self.groups else None,
            weights=[self.weights[i] for i in index] if self.weights else None,
            sources=[self.sources[i] for i in index] if self.sources else None,
        )


def load_labelled(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = None,
    weight_column: str | None = None,
    weight_map: dict[str, float] | None = None,
    strict: bool = False,
    label_map: dict[str, str] | None = None,
    min_classes: int = 2,
    source_column: str | None = None,
) -> LabelledData:
    """Load a labelled table and clean it.

    Empty or missing texts and labels are dropped with a warning (``strict``
    refuses them, naming the rows). Labels are stripped of surrounding
    whitespace. ``label_map`` renames labels (e.g. ``NEG`` to ``negative``).
    ``weight_column`` with ``weight_map`` gives a per-row loss weight, e.g.
    ``confidence`` with ``{"low": 0.5}`` (unmapped values weigh 1). ``source_column`` names the data set
    each row comes from (trained as a tag before the text, see ``TrainingConfig.source_column``).
    """
    frame = read_table(path)
    hint = "Name the right ones with --text-column / --label-column"
    need = [text_column, label_column] + [c for c in (group_column, weight_column, source_column) if c]
    require_columns(frame, need, path, hint)
    texts = frame[text_column]
    labels = frame[label_column]
    bad = texts.isna() | (texts.astype(str).str.strip() == "") | labels.isna() | (labels.astype(str).str.strip() == "")
    if bad.any():
        rows = [int(i) + 2 for i in frame.index[bad][:10]]  # +2: 1-based and the header line
        message = f"{path}: {int(bad.sum())} row(s) with an empty text or label (lines {rows}{'...' if bad.sum() > 10 else ''})"
        if strict:
            raise StanceError(message + ": fill or remove them, or drop --strict to skip them")
        logger.warning("%s: skipped", message)
        frame = frame[~bad]
    labels_clean = [str(v).strip() for v in frame[label_column]]
    if label_map:
        labels_clean = [label_map.get(v, v) for v in labels_clean]
    weights = None
    if weight_column:
        weight_map = weight_map or {}
        weights = [float(weight_map.get(str(v).strip(), 1.0)) for v in frame[weight_column]]
    data = LabelledData(
        texts=[str(t) for t in frame[text_column]],
        labels=labels_clean,
        groups=[str(g) for g in frame[group_column]] if group_column else None,
        weights=weights,
        sources=[str(v).strip() for v in frame[source_column]] if source_column else None,
    )
    check_labels(data, path, min_classes)
    return data


def check_labels(data: LabelledData, path: str | Path, min_classes: int = 2) -> None:
    """Refuse data with fewer than two classes; warn about case variants and singletons."""
    counts = pd.Series(data.labels).value_counts()
    if len(data) == 0:
        raise StanceError(f"{path}: no usable rows: check the text and label columns")
    if len(counts) < min_classes:
        raise StanceError(
            f"{path}: only one label ({counts.index[0]!r}) in the data: a classifier needs at least two classes"
        )
    lowered: dict[str, list[str]] = {}
    for label in counts.index:
        lowered.setdefault(label.lower(), []).append(label)
    for variants in lowered.values():
        if len(variants) > 1:
            logger.warning("%s: labels %s differ only in case: map them with --label-map", path, variants)
    for label, n in counts.items():
        if n < 2:
            logger.warning(
                "%s: label %r has only %d example(s): it cannot be learned or evaluated reliably", path, label, n
            )


def split_dev(data: LabelledData, dev_fraction: float = 0.15, seed: int = 42) -> tuple[LabelledData, LabelledData]:
    """A stratified dev split, grouped when the data has groups (one article never on both sides)."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    n_splits = max(2, round(1 / dev_fraction))
    y = np.array(data.labels)
    index = np.arange(len(data))
    min_class = pd.Series(y).value_counts().min()
    if min_class < n_splits:
        n_splits = max(2, int(min_class))
    if data.groups:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        train_idx, dev_idx = next(splitter.split(index, y, groups=np.array(data.groups)))
    else:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        train_idx, dev_idx = next(splitter.split(index, y))
    return data.subset(sorted(train_idx.tolist())), data.subset(sorted(dev_idx.tolist()))
