"""The Ray engine on a real local Ray instance (2 CPUs): same labels as one process, no row lost or doubled."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import run_cli, toy_rows

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """A local Ray with 2 CPUs. Actors crash once (SIGKILL) only while the marker file is absent."""
    from stance.scale.ray_engine import CRASH_MARKER_ENV

    marker = tmp_path_factory.mktemp("ray-marker") / "crashed"
    marker.write_text("armed only when removed")
    os.environ[CRASH_MARKER_ENV] = str(marker)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield marker
    ray.shutdown()
    os.environ.pop(CRASH_MARKER_ENV, None)


def _statement_rows(n: int) -> list[dict[str, str]]:
    base = toy_rows(40, seed=3)
    return [{"id": f"s{i}", "text": base[i % len(base)]["text"]} for i in range(n)]


def _write_csv_with_bad_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "text"])
        writer.writeheader()
        writer.writerows(rows)
    with path.open("ab") as fh:
        fh.write(b"bad-bytes,\xff\xfe \xd8\xa8\n")  # not UTF-8
        fh.write(b"bad-empty,\n")
        fh.write(b'bad-space,"   "\n')
    return path


def _read_output(folder: Path):
    return pq.read_table(sorted(str(p) for p in folder.glob("*.parquet"))).to_pylist()


def test_ray_matches_single_process_and_marks_bad_rows(ray_local, tiny_model, tmp_path):
    from stance.inference.classifier import Classifier
    from stance.scale.ray_engine import RayJobConfig, classify_with_ray

    rows = _statement_rows(3000)
    src = _write_csv_with_bad_rows(tmp_path / "in.csv", rows)
    config = RayJobConfig(model=str(tiny_model), batch_size=200, actors=2, precision="fp32")
    summary = classify_with_ray(src, tmp_path / "out", config)
    assert summary["input_rows"] == 3003 and summary["output_rows"] == 3003 and summary["error_rows"] == 3
    assert not (tmp_path / "out.partial").exists()

    out = _read_output(tmp_path / "out")
    by_id = {r["id"]: r for r in out}
    assert len(by_id) == len(out) == 3003
    assert by_id["bad-bytes"]["error"].startswith("text is not valid UTF-8") and by_id["bad-bytes"]["label"] is None
    assert by_id["bad-empty"]["error"] == by_id["bad-space"]["error"] == "empty text"

    expected = Classifier.load(tiny_model, precision="fp32").predict([r["text"] for r in rows])
    for row, want in zip(rows, expected):
        got = by_id[row["id"]]
        assert got["label"] == want["label"] and got["error"] == ""
        assert abs(got[f"score_{want['label']}"] - want["scores"][want["label"]]) < 1e-4


def test_killed_worker_is_retried_without_losing_or_doubling_rows(ray_local, tiny_model, tmp_path):
    from stance.scale.ray_engine import RayJobConfig, classify_with_ray

    rows = _statement_rows(2000)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    ray_local.unlink()  # arm: the first actor to reach its third batch kills itself with SIGKILL
    summary = classify_with_ray(src, tmp_path / "out", RayJobConfig(model=str(tiny_model), batch_size=100, actors=2))
    assert ray_local.exists(), "no worker was killed: the test did not exercise a failure"
    out = _read_output(tmp_path / "out")
    assert summary["output_rows"] == len(out) == 2000
    assert sorted(r["id"] for r in out) == sorted(r["id"] for r in rows)
    assert all(r["error"] == "" and r["label"] for r in out)


def test_article_mode_one_row_per_sentence_from_parquet_folder(ray_local, tiny_model, tmp_path):
    import pyarrow as pa

    from stance.inference.article import split_sentences
    from stance.scale.ray_engine import RayJobConfig, classify_with_ray

    toy = toy_rows(10, seed=5)
    articles = [{"id": f"a{i}", "text": "\n".join(r["text"] + "." for r in toy[i : i + 1 + i % 4])} for i in range(20)]
    articles.append({"id": "a-empty", "text": ""})
    folder = tmp_path / "archive"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(articles[:10]), folder / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(articles[10:]), folder / "part-1.parquet")

    summary = classify_with_ray(folder, tmp_path / "out", RayJobConfig(model=str(tiny_model), articles=True))
    out = _read_output(tmp_path / "out")
    expected_units = sum(len(split_sentences(a["text"])) for a in articles)
    assert summary["input_rows"] == 21 and len(out) == expected_units + 1
    for article in articles[:-1]:
        mine = sorted((r for r in out if r["article_id"] == article["id"]), key=lambda r: r["sentence_index"])
        assert [r["text"] for r in mine] == split_sentences(article["text"])
        assert [r["sentence_index"] for r in mine] == list(range(len(mine)))
    empty = [r for r in out if r["article_id"] == "a-empty"]
    assert len(empty) == 1 and empty[0]["error"] == "empty text" and empty[0]["sentence_index"] is None


def test_cli_ray_engine_end_to_end(tiny_model, tmp_path):
    rows = _statement_rows(300)
    src = tmp_path / "in.tsv"
    src.write_text("id\ttext\n" + "".join(f"{r['id']}\t{r['text']}\n" for r in rows), encoding="utf-8")
    out = tmp_path / "shards"
    res = run_cli(
        "classify", "--model", str(tiny_model), "--input", str(src), "--output", str(out),
        "--engine", "ray", "--actors", "1", "--ray-batch-size", "64",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "300 rows" in res.stderr
    assert len(_read_output(out)) == 300
    again = run_cli(
        "classify", "--model", str(tiny_model), "--input", str(src), "--output", str(out), "--engine", "ray"
    )
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr


def test_cli_ray_needs_an_id_column(tiny_model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text\nموسكو ترحب بالحوار\n", encoding="utf-8")
    res = run_cli("classify", "--model", str(tiny_model), "--input", str(src), "--output", str(tmp_path / "o"),
                  "--engine", "ray")  # fmt: skip
    assert res.returncode == 2 and "no id column 'id'" in res.stderr and "Traceback" not in res.stderr


def test_missing_ray_is_a_clear_error(tiny_model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,موسكو ترحب بالحوار\n", encoding="utf-8")
    code = (
        "import sys; sys.modules['ray'] = None; from stance.cli import main; "
        f"sys.exit(main(['classify', '--model', {str(tiny_model)!r}, '--input', {str(src)!r}, "
        f"'--output', {str(tmp_path / 'o')!r}, '--engine', 'ray']))"
    )
    import subprocess

    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "pip install 'arabic-stance[ray]'" in res.stderr and "Traceback" not in res.stderr
