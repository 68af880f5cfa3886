"""The labelling project file, agreement figures, and ``stance train``/``evaluate`` reading a project."""

from __future__ import annotations

import json
import sqlite3
import threading

import numpy as np
import pytest
from conftest import run_cli, toy_rows, train_tiny

from stance.annotate.agreement import agreement, fleiss_kappa
from stance.annotate.scoring import uncertainty
from stance.annotate.store import Project, UnknownLabel, UnknownStatement, text_id
from stance.errors import StanceError
from stance.io.data import load_labelled

LABELS = ["conciliatory", "hostile", "neutral"]


def new_project(path, rows=None) -> Project:
    project = Project(path, LABELS)
    rows = rows if rows is not None else toy_rows(4, seed=3)
    project.import_statements([(r["id"], r["text"]) for r in rows])
    return project


def test_import_adds_only_new_ids_and_labels_are_fixed(tmp_path):
    path = tmp_path / "p.sqlite"
    rows = toy_rows(4, seed=3)
    project = new_project(path, rows)
    assert project.total() == len(rows)
    more = rows[:5] + [{"id": "new1", "text": "نص جديد"}]
    assert project.import_statements([(r["id"], r["text"]) for r in more]) == (1, 5)
    project.close()
    with pytest.raises(StanceError, match="created with labels"):
        Project(path, ["a", "b"])
    assert Project(path, default_labels=["x", "y"]).labels == LABELS  # the stored labels win over a model's
    with pytest.raises(StanceError, match="new project"):
        Project(tmp_path / "other.sqlite")
    assert not (tmp_path / "other.sqlite").exists()
    assert text_id("تهدد") == text_id("تهدد") != text_id("ترحب")


def test_label_undo_skip_and_several_annotators(tmp_path):
    project = new_project(tmp_path / "p.sqlite")
    first = project.next_statement("amal", "sequential")
    project.label(first["id"], "hostile", "amal")
    second = project.next_statement("amal", "sequential")
    assert second["id"] != first["id"]
    project.skip(second["id"], "amal")
    third = project.next_statement("amal", "sequential")
    assert third["id"] not in (first["id"], second["id"])
    undone = project.undo("amal")  # the skip
    assert undone["id"] == second["id"] and undone["undone"] == {"kind": "skip", "label": None}
    undone = project.undo("amal")  # the label
    assert undone["id"] == first["id"] and undone["undone"]["label"] == "hostile"
    assert project.undo("amal") is None and project.stats()["labelled"] == 0
    project.label(first["id"], "neutral", "amal")
    project.label(first["id"], "hostile", "amal")  # a new answer replaces the old one
    assert project.export_frame()[["id", "label"]].values.tolist() == [[first["id"], "hostile"]]
    with pytest.raises(UnknownLabel, match="conciliatory, hostile, neutral"):
        project.label(first["id"], "Hostile", "amal")
    with pytest.raises(UnknownStatement):
        project.label("nope", "hostile", "amal")
    # one label per statement by default: another annotator gets something else; with 2, the same one
    assert project.next_statement("badr", "sequential")["id"] != first["id"]
    assert project.next_statement("cala", "sequential", per_statement=2)["id"] == first["id"]
    stats = project.stats()
    assert stats["labelled"] == 1 and stats["counts"] == {"conciliatory": 0, "hostile": 1, "neutral": 0}


def test_labels_given_from_many_threads_are_all_kept(tmp_path):
    project = new_project(tmp_path / "p.sqlite", toy_rows(20, seed=4))
    ids = [r["id"] for r in toy_rows(20, seed=4)]

    def work(part: list[str], who: str) -> None:
        for statement_id in part:
            project.label(statement_id, "neutral", who)

    threads = [threading.Thread(target=work, args=(ids[i::4], f"a{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(project.export_frame()["id"]) == sorted(ids)


def test_uncertainty_order(tmp_path):
    project = new_project(tmp_path / "p.sqlite")
    rows = [r[0] for r in project.unscored(100)]
    probs = np.random.default_rng(0).dirichlet([1, 1, 1], size=len(rows))
    unc = uncertainty(probs, "entropy")
    project.write_scores(
        [(sid, dict(zip(LABELS, map(float, p))), None, float(u)) for sid, p, u in zip(rows, probs, unc)]
    )
    served = project.next_statement("amal", "uncertainty")
    assert served["id"] == rows[int(unc.argmax())]
    assert served["suggestion"] == LABELS[int(probs[int(unc.argmax())].argmax())]
    margin = uncertainty(np.array([[0.5, 0.4, 0.1], [0.9, 0.05, 0.05]]), "margin")
    assert margin[0] > margin[1] and margin[0] == pytest.approx(0.9)
    random_order = [project.next_statement(f"r{i}", "random")["id"] for i in range(2)]
    assert random_order[0] != rows[0] or random_order[1] != rows[0]  # not import order


def test_fleiss_kappa_matches_the_published_example():
    # Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories, kappa 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(np.array(table)) == pytest.approx(0.2099, abs=5e-4)
    with pytest.raises(ValueError):
        fleiss_kappa(np.array([[1, 0, 0]]))


def test_agreement_command(tmp_path):
    from sklearn.metrics import cohen_kappa_score

    path = tmp_path / "p.sqlite"
    project = new_project(path)
    ids = [r["id"] for r in toy_rows(4, seed=3)]
    amal = ["hostile", "neutral", "conciliatory", "hostile", "neutral", "neutral", "hostile", "conciliatory"]
    badr = ["hostile", "neutral", "hostile", "hostile", "neutral", "conciliatory", "hostile", "conciliatory"]
    for statement_id, a, b in zip(ids, amal, badr):
        project.label(statement_id, a, "amal")
        project.label(statement_id, b, "badr")
    project.label(ids[0], "hostile", "cala")
    project.close()
    result = run_cli("annotate", "--agreement", str(path), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    pair = next(p for p in figures["pairs"] if p["annotators"] == ["amal", "badr"])
    assert pair["statements"] == 8
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(amal, badr), abs=1e-4)
    assert {d["id"] for d in figures["disagreements"]} == {ids[2], ids[5]}
    assert figures["fleiss"]["statements"] == 8 and figures["fleiss"]["annotators_per_statement"] == [2, 3]
    text = run_cli("annotate", "--agreement", str(path)).stdout
    assert "Cohen's kappa amal / badr" in text and "Fleiss' kappa" in text and "disagreements: 2" in text
    frame = Project(path).export_frame()
    with pytest.raises(StanceError, match="two annotators"):
        agreement(frame[frame["annotator"] == "amal"], LABELS)


def test_train_reads_a_project(tmp_path, tiny_base, toy_files):
    """``stance train --train PROJECT.sqlite``: one row per labelled statement (majority of its annotators)."""
    path = tmp_path / "p.sqlite"
    rows = toy_rows(24, seed=1)
    project = new_project(path, rows)
    for row in rows:
        project.label(row["id"], row["label"], "amal")
    tie = rows[0]
    project.label(tie["id"], "neutral" if tie["label"] != "neutral" else "hostile", "badr")  # a tie: left out
    project.skip(rows[1]["id"], "badr")
    project.close()
    data = load_labelled(path)
    assert len(data) == len(rows) - 1
    assert dict(zip(data.texts, data.labels)) == {r["text"]: r["label"] for r in rows[1:]}
    report = train_tiny(tiny_base, {"train": path, "dev": toy_files["dev"]}, tmp_path / "model", epochs=2)
    assert report["train_rows"] == len(rows) - 1
    result = run_cli("evaluate", "--model", str(tmp_path / "model"), "--data", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n"] == len(rows) - 1


def test_reading_something_that_is_not_a_project(tmp_path):
    fake = tmp_path / "x.sqlite"
    with sqlite3.connect(fake) as conn:
        conn.execute("CREATE TABLE t (a)")
    with pytest.raises(StanceError, match="not a `stance annotate` project"):
        load_labelled(fake)
    empty = tmp_path / "empty.sqlite"
    Project(empty, LABELS).close()
    with pytest.raises(StanceError, match="no labels yet"):
        load_labelled(empty)
    result = run_cli("train", "--train", str(empty), "--output", str(tmp_path / "m"))
    assert result.returncode == 2 and "no labels yet" in result.stderr
