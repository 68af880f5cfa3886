"""Input and output: labelled data sets and batch files of statements (CSV, TSV, JSONL, Parquet) and labelling projects (SQLite)."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "LabelledData": "data",
        "load_labelled": "data",
        "read_table": "data",
        "split_dev": "data",
        "read_project_labels": "project_db",
        "classify_file": "batch_files",
        "row_problem": "batch_files",
    },
)
