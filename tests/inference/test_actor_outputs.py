"""Actors in every output: Classifier.predict(actors=True), article mode, classified files and the CLI flag."""

from __future__ import annotations

import csv
import json

import pytest

from stance.cli import main
from stance.inference.article import format_article
from stance.inference.classifier import Classifier

ISSUE = "فرضت الولايات المتحدة عقوبات جديدة على روسيا"


@pytest.fixture(scope="module")
def clf(tiny_model):
    return Classifier.load(tiny_model, precision="fp32")


def test_predict_adds_actors_only_when_asked(clf):
    plain, tagged = clf.predict([ISSUE, "جلسة يوم الاثنين"]), clf.predict([ISSUE, "جلسة يوم الاثنين"], actors=True)
    assert "actors" not in plain[0]
    assert [r["actors"] for r in tagged] == [["United States", "Russia"], []]
    assert [r["label"] for r in tagged] == [r["label"] for r in plain]


def test_article_lists_actors_per_sentence_and_most_mentioned(clf):
    text = "هددت طهران واشنطن بالرد. وقالت واشنطن إن العقوبات باقية على إيران. جلسة يوم الاثنين."
    result = clf.classify_article(text, actors=True)
    assert [s["actors"] for s in result["sentences"]] == [["Iran", "United States"], ["United States", "Iran"], []]
    assert result["summary"]["actors"] == [
        {"name": "Iran", "mentions": 2, "sentences": 2},
        {"name": "United States", "mentions": 2, "sentences": 2},
    ]
    assert "actors: Iran (2), United States (2)" in format_article(result)
    assert "actors" not in clf.classify_article(text)["summary"]


def test_classified_files_get_an_actors_column(clf, tmp_path):
    from stance.io.batch_files import classify_file

    src = tmp_path / "in.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("id", "text"), ("a", ISSUE), ("b", ""), ("c", "رحبت مصر بالاتفاق")])
    classify_file(clf, src, tmp_path / "out.tsv", actors=True)
    rows = list(csv.DictReader((tmp_path / "out.tsv").open(encoding="utf-8"), delimiter="\t"))
    assert [r["actors"] for r in rows] == ["United States; Russia", "", "Egypt"]
    assert list(rows[0])[-2:] == ["actors", "error"]
    classify_file(clf, src, tmp_path / "out.jsonl", actors=True)
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["actors"] for o in out] == [["United States", "Russia"], [], ["Egypt"]]
    from stance.report.build import ReportConfig, build_report  # the report reads the column back

    summary = build_report(ReportConfig(input=str(tmp_path / "out.tsv"), output=str(tmp_path / "report")))
    assert summary["actor_source"] == "the input's 'actors' column"
    assert {a["actor"]: a["n"] for a in summary["actors"]} == {"United States": 1, "Russia": 1, "Egypt": 1}
    assert summary["skipped"] == {"empty text": 1} and summary["total"]["n"] == 2
    classify_file(clf, src, tmp_path / "plain.csv")
    assert "actors" not in (tmp_path / "plain.csv").read_text(encoding="utf-8").splitlines()[0]


def test_cli_tag_actors(tiny_model, capsys):
    assert main(["classify", "--model", str(tiny_model), "--json", "--tag-actors", ISSUE]) == 0
    assert json.loads(capsys.readouterr().out)["actors"] == ["United States", "Russia"]
    assert main(["classify", "--model", str(tiny_model), "--tag-actors", ISSUE]) == 0
    assert "\tUnited States; Russia\t" in capsys.readouterr().out
