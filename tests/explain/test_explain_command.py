"""``stance explain`` and ``stance classify --explain`` as real subprocesses, and the marked-word formatting."""

from __future__ import annotations

import json

from conftest import run_cli

from stance.cli import main
from stance.explain import format_explanation, mark_words

HOSTILE = "طهران تُهدِّد عقوبات هجوم بكين"
CONCILIATORY = "موسكو ترحب بالحوار تعاون واشنطن"


def fake_result(text: str, weights: list[float]) -> dict:
    words, position = [], 0
    for word, weight in zip(text.split(), weights):
        start = text.index(word, position)
        position = start + len(word)
        words.append({"text": word, "start": start, "end": position, "weight": weight})
    return {"label": "hostile", "scores": {"conciliatory": 0.1, "hostile": 0.8, "neutral": 0.1}, "words": words}


def test_marking_keeps_the_text_and_marks_only_supporting_top_words():
    text = "  طهران  تهدد\tعقوبات 😀 بكين "
    result = fake_result(text, [0.1, 0.9, 0.5, -0.7, -0.2])
    assert mark_words(text, result, 3) == "  [[طهران]]  [[تهدد]]\t[[عقوبات]] 😀 بكين "
    assert mark_words(text, result, 1) == "  طهران  [[تهدد]]\tعقوبات 😀 بكين "
    assert mark_words(text, result, 0) == text
    lines = format_explanation(text, result, 2).splitlines()
    assert lines[0].startswith("hostile\t") and "[[تهدد]]" in lines[1]
    assert lines[2] == "  top words: تهدد +0.900   عقوبات +0.500"


def test_explain_command_json_and_human(tiny_model, capsys):
    assert main(["explain", "--model", str(tiny_model), "--json", HOSTILE, CONCILIATORY]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [p["label"] for p in payload] == ["hostile", "conciliatory"]
    for item in payload:
        assert [w["text"] for w in item["words"]] == item["text"].split()
        assert all(item["text"][w["start"] : w["end"]] == w["text"] for w in item["words"])
    assert main(["classify", "--explain", "--model", str(tiny_model), "--method", "ig", "--steps", "4", HOSTILE]) == 0
    human = capsys.readouterr().out
    assert human.startswith("hostile\t") and "[[" in human and "top words:" in human


def test_classify_article_with_explain(tiny_model, tmp_path, capsys):
    article = tmp_path / "article.txt"
    article.write_text(f"{HOSTILE}.\n{CONCILIATORY}.\n", encoding="utf-8")
    assert main(["classify", "--explain", "--model", str(tiny_model), "--article", str(article), "--json"]) == 0
    sentences = json.loads(capsys.readouterr().out)["sentences"]
    assert [s["label"] for s in sentences] == ["hostile", "conciliatory"]
    assert all(s["words"] and s["text"][s["words"][0]["start"] : s["words"][0]["end"]] for s in sentences)
    assert main(["classify", "--explain", "--model", str(tiny_model), "--article", str(article)]) == 0
    assert "[[" in capsys.readouterr().out


def test_explain_errors_are_one_clear_line(tiny_model, tmp_path):
    empty = run_cli("explain", "--model", str(tiny_model), HOSTILE, "  ")
    assert empty.returncode == 2 and "statement 2 is empty" in empty.stderr and "Traceback" not in empty.stderr
    files = run_cli("classify", "--explain", "--input", "x.tsv", "--output", str(tmp_path / "y.tsv"))
    assert files.returncode == 2 and "--explain works with statements" in files.stderr
    nothing = run_cli("explain", "--model", str(tiny_model), stdin="")
    assert nothing.returncode == 2 and "stdin was empty" in nothing.stderr
    bad = run_cli("explain", "--method", "shap", HOSTILE)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
