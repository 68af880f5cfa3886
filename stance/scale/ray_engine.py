"""Classifying a news archive on a Ray cluster with Ray Data.

Input files (CSV, TSV, JSONL, Parquet, or a folder of them) are read with Ray
Data, classified by a pool of actors that each load the model once
(``map_batches`` with a class), and written as Parquet shards. Each output row
carries the input id, the label, one ``score_<label>`` column per class (with
``tag_actors``, an ``actors`` list column) and an
``error`` column (empty unless the row could not be classified). In article
mode each input row is a whole article and the output has one row per
sentence, with ``article_id`` and ``sentence_index``.

Guarantees, as on one machine: shards are written to ``DIR.partial`` and the
folder is renamed to ``DIR`` only after the output was read back and every
input id was found exactly once (ids are required for that reason). A worker
that dies is restarted by Ray and its batch is retried (Ray Data's actor pools
restart actors and retry their tasks by default).

Without an address a local Ray instance is started; ``address="auto"`` or
``"ray://host:10001"`` joins a running cluster.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stance.errors import StanceError

logger = logging.getLogger(__name__)

_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
# Test hook: if this environment variable names a file that does not exist, the
# first actor to reach its third batch creates the file and kills its own
# process with SIGKILL, so tests can show that Ray recovers without losing rows.
CRASH_MARKER_ENV = "STANCE_RAY_CRASH_MARKER"
# Reading and writing are light next to inference: those tasks reserve no CPU
# (num_cpus=0) so that actors can take every core without starving the readers,
# which would deadlock a pipeline whose actors hold all CPUs.
_IO_TASKS = {"num_cpus": 0}


@dataclass
class RayJobConfig:
    """How a Ray classification job runs."""

    model: str = "stance"
    text_column: str = "text"
    id_column: str = "id"
    articles: bool = False
    batch_size: int = 256
    actors: int = 1
    cpus_per_actor: float = 1.0
    inference_batch_size: int = 32
    precision: str = "auto"
    lexical: bool = True
    address: str | None = None
    keep_text: bool = False
    tag_actors: bool = False


def require_ray():
    try:
        import ray
    except ImportError:
        raise StanceError(
            "--engine ray needs Ray Data, which is not installed: pip install 'arabic-stance[ray]'"
        ) from None
    return ray


def input_files(path: str | Path) -> tuple[list[str], str]:
    """The files to read and their one format; a folder contributes every file with a known suffix."""
    root = Path(path)
    if not root.exists():
        raise StanceError(f"{root}: no such file or folder")
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    known = [p for p in files if p.suffix.lower() in _SUFFIXES]
    if not known:
        raise StanceError(f"{root}: no .csv, .tsv, .jsonl or .parquet files to classify")
    formats = {_SUFFIXES[p.suffix.lower()] for p in known}
    if len(formats) > 1:
        raise StanceError(f"{root}: mixes {', '.join(sorted(formats))} files: put one format in a folder")
    return [str(p.resolve()) for p in known], formats.pop()


def _read(ray, files: list[str], fmt: str, config: RayJobConfig):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = [config.id_column, config.text_column]
    if fmt in ("csv", "tsv"):
        # Texts are read as bytes and decoded by the actors, so a row with bytes that
        # are not UTF-8 gets an error field instead of failing the whole file.
        convert = pacsv.ConvertOptions(
            column_types={config.text_column: pa.binary(), config.id_column: pa.string()},
            include_columns=columns,
            strings_can_be_null=False,
        )
        parse = pacsv.ParseOptions(delimiter="," if fmt == "csv" else "\t", newlines_in_values=True)
        return ray.data.read_csv(files, convert_options=convert, parse_options=parse, num_cpus=0)
    if fmt == "jsonl":
        return ray.data.read_json(files, lines=True, num_cpus=0).select_columns(columns)
    return ray.data.read_parquet(files, columns=columns, num_cpus=0)


def _decode(text: Any) -> tuple[str | None, str]:
    """The text as a string, or None with the reason it cannot be classified."""
    from stance.io.batch_files import row_problem

    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")  # bad bytes are caught by row_problem
    if text is not None and not isinstance(text, str):
        return None, f"text is a {type(text).__name__}, not a string"
    problem = row_problem(text)
    return (None, problem) if problem else (text, "")


class ClassifierActor:
    """A Ray Data actor: loads the model once, then classifies batches of rows."""

    def __init__(self, config: RayJobConfig) -> None:
        from stance.inference.classifier import Classifier

        self.config = config
        self.classifier = Classifier.load(config.model, precision=config.precision, lexical=config.lexical)
        self.labels = self.classifier.labels
        self.batches = 0
        self.tagger = None
        if config.tag_actors:
            from stance.text.actors import ActorTagger

            self.tagger = ActorTagger.load()

    def _maybe_crash(self) -> None:
        marker = os.environ.get(CRASH_MARKER_ENV)
        self.batches += 1
        if marker and self.batches == 3 and not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        self._maybe_crash()
        ids = [None if v is None else str(v) for v in batch[self.config.id_column]]
        texts = list(batch[self.config.text_column])
        if self.config.articles:
            return self._articles(ids, texts)
        return self._statements(ids, texts)

    def _empty_output(self, id_key: str) -> dict[str, list]:
        out: dict[str, list] = {id_key: []}
        if self.config.articles:
            out["sentence_index"] = []
        if self.config.keep_text or self.config.articles:
            out["text"] = []
        out["label"] = []
        for lab in self.labels:
            out[f"score_{lab}"] = []
        if self.tagger is not None:
            out["actors"] = []
        out["error"] = []
        return out

    def _emit(self, out: dict[str, list], probs, error: str, text: str | None = None) -> None:
        """One output row from a probability vector (or None for a row that could not be classified)."""
        out["label"].append(None if probs is None else self.labels[int(probs.argmax())])
        for j, lab in enumerate(self.labels):
            out[f"score_{lab}"].append(None if probs is None else float(probs[j]))
        if self.tagger is not None:
            out["actors"].append(self.tagger.tag(text) if text and probs is not None else [])
        out["error"].append(error)

    def _statements(self, ids: list, texts: list) -> dict[str, list]:
        out = self._empty_output("id")
        decoded = [_decode(t) for t in texts]
        good = [i for i, (_, err) in enumerate(decoded) if not err]
        probs = self.classifier.predict_proba(
            [decoded[i][0] for i in good], batch_size=self.config.inference_batch_size
        )
        by_row = dict(zip(good, probs))
        for i, (text, err) in enumerate(decoded):
            out["id"].append(ids[i])
            if "text" in out:
                out["text"].append(text)
            self._emit(out, by_row.get(i), err, text)
        return out

    def _articles(self, ids: list, texts: list) -> dict[str, list]:
        from stance.inference.article import split_sentences

        out = self._empty_output("article_id")
        units: list[tuple[int, int, str]] = []  # (article row, sentence index, sentence)
        problems: dict[int, str] = {}
        for i, raw in enumerate(texts):
            text, err = _decode(raw)
            sentences = split_sentences(text) if text else []
            if not sentences:
                problems[i] = err or "no sentences"
            units.extend((i, k, s) for k, s in enumerate(sentences))
        probs = self.classifier.predict_proba([s for _, _, s in units], batch_size=self.config.inference_batch_size)
        pos = 0
        for i in range(len(texts)):
            if i in problems:
                out["article_id"].append(ids[i])
                out["sentence_index"].append(None)
                out["text"].append(None)
                self._emit(out, None, problems[i])
                continue
            while pos < len(units) and units[pos][0] == i:
                _, k, sentence = units[pos]
                out["article_id"].append(ids[i])
                out["sentence_index"].append(k)
                out["text"].append(sentence)
                self._emit(out, probs[pos], "", sentence)
                pos += 1
        return out


def _connect(ray, address: str | None) -> None:
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(address="local", log_to_driver=False, include_dashboard=False)


def classify_with_ray(input_path: str | Path, output_dir: str | Path, config: RayJobConfig) -> dict[str, Any]:
    """Classify every row of ``input_path`` into Parquet shards under ``output_dir``.

    Returns a summary: input rows, output rows, rows with errors, shard count.
    Raises :class:`StanceError` for user errors and if the written output does
    not hold every input id exactly once.
    """
    ray = require_ray()
    files, fmt = input_files(input_path)
    dst = Path(output_dir)
    if dst.exists() and any(dst.iterdir()):
        raise StanceError(f"{dst}: output folder exists and is not empty: remove it or choose another")
    partial = dst.with_name(dst.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _check_columns(files[0], fmt, config)
    _connect(ray, config.address)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ds = _read(ray, files, fmt, config)
    n_input = ds.count()
    classified = ds.map_batches(
        ClassifierActor,
        fn_constructor_kwargs={"config": config},
        batch_size=config.batch_size,
        batch_format="numpy",
        concurrency=config.actors,
        num_cpus=config.cpus_per_actor,
    )
    classified.write_parquet(str(partial), ray_remote_args=_IO_TASKS)
    summary = _verify(partial, n_input, config)
    if dst.exists():
        dst.rmdir()
    partial.replace(dst)
    summary["output"] = str(dst)
    logger.info("classified %d input rows -> %s (%d shards)", n_input, dst, summary["shards"])
    return summary


def _check_columns(first_file: str, fmt: str, config: RayJobConfig) -> None:
    """Name a missing id or text column before any cluster work starts."""
    import pyarrow.parquet as pq

    if fmt == "parquet":
        names = pq.read_schema(first_file).names
    elif fmt == "jsonl":
        import json

        with open(first_file, encoding="utf-8-sig", errors="replace") as fh:
            line = next((ln for ln in fh if ln.strip()), "{}")
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise StanceError(f"{first_file}: the first line is not JSON") from None
        names = list(record) if isinstance(record, dict) else []
    else:
        with open(first_file, encoding="utf-8-sig", errors="replace") as fh:
            names = fh.readline().rstrip("\r\n").split("," if fmt == "csv" else "\t")
    if config.text_column not in names:
        raise StanceError(
            f"{first_file}: no column {config.text_column!r} (columns: {', '.join(names)}): use --text-column"
        )
    if config.id_column not in names:
        raise StanceError(
            f"{first_file}: no id column {config.id_column!r}: the Ray engine needs an id per row to check that "
            "every row is written once; add one or name it with --id-column"
        )


def _verify(folder: Path, n_input: int, config: RayJobConfig) -> dict[str, Any]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    shards = sorted(folder.glob("*.parquet"))
    key = "article_id" if config.articles else "id"
    columns = [key, "error"] + (["sentence_index"] if config.articles else [])
    table = pq.read_table([str(s) for s in shards], columns=columns) if shards else None
    if table is None:
        if n_input:
            raise StanceError(f"{folder}: no output was written for {n_input} input rows")
        return {"input_rows": 0, "output_rows": 0, "error_rows": 0, "shards": 0}
    errors = int(pc.sum(pc.not_equal(table["error"], "")).as_py() or 0)
    if config.articles:
        pairs = pc.binary_join_element_wise(
            pc.cast(table[key], "string"), pc.cast(pc.fill_null(table["sentence_index"], -1), "string"), ":"
        )
        if pc.count_distinct(pairs).as_py() != table.num_rows:
            raise StanceError(f"{folder}: some sentences were written twice")
        found = pc.count_distinct(table[key]).as_py()
    else:
        found = pc.count_distinct(table[key]).as_py()
        if table.num_rows != n_input:
            raise StanceError(f"{folder}: {table.num_rows} rows written for {n_input} input rows")
    if found != n_input:
        raise StanceError(f"{folder}: {found} distinct ids written for {n_input} input rows (are ids unique?)")
    return {"input_rows": n_input, "output_rows": table.num_rows, "error_rows": errors, "shards": len(shards)}
