"""The command line, in-process (fast) and as a real subprocess (exit codes, no tracebacks)."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import run_cli

from stance.cli import main


def test_classify_text_json(tiny_model, capsys):
    assert main(["classify", "--model", str(tiny_model), "--json", "طهران تهدد عقوبات هجوم"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["label"] == "hostile"
    assert abs(sum(out["scores"].values()) - 1) < 1e-5


def test_classify_reads_stdin_one_statement_per_line(tiny_model):
    result = run_cli(
        "classify",
        "--model",
        str(tiny_model),
        stdin="موسكو ترحب بالحوار تعاون واشنطن\n\nبكين جلسة يوم الاثنين القاهرة\n",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["conciliatory", "neutral"]


def test_classify_file_keeps_ids_and_order(tiny_model, tmp_path, capsys):
    src = tmp_path / "in.csv"
    rows = [
        ("z9", "طهران تهدد عقوبات هجوم بكين"),
        ("a1", "موسكو ترحب بالحوار تعاون واشنطن"),
        ("m5", ""),
        ("b2", "بكين جلسة يوم موعد القاهرة"),
    ]
    with src.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("id", "text"), *rows])
    dst = tmp_path / "out.jsonl"
    assert main(["classify", "--model", str(tiny_model), "--input", str(src), "--output", str(dst)]) == 0
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == ["z9", "a1", "m5", "b2"]
    assert [o["label"] for o in out] == ["hostile", "conciliatory", None, "neutral"]
    assert out[2]["error"] == "empty text"
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_evaluate_json_and_plot(tiny_model, toy_files, tmp_path, capsys):
    plot = tmp_path / "cm.png"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(tiny_model),
                "--data",
                str(toy_files["dev"]),
                "--json",
                "--plot",
                str(plot),
                "--f1-over",
                "conciliatory,hostile",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "labels", "n"}
    assert report["n"] == 24 and report["accuracy"] == 1.0
    assert report["f1_over"]["f1"] == 1.0
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_with_label_map(tiny_model, tmp_path, capsys):
    data = tmp_path / "mapped.tsv"
    data.write_text(
        "text\tlabel\nطهران تهدد عقوبات هجوم بكين\tHOS\nموسكو ترحب بالحوار تعاون واشنطن\tCON\nبكين جلسة يوم موعد القاهرة\tNEU\n",
        encoding="utf-8",
    )
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(tiny_model),
                "--data",
                str(data),
                "--json",
                "--label-map",
                "HOS=hostile,CON=conciliatory,NEU=neutral",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0
    assert main(["evaluate", "--model", str(tiny_model), "--data", str(data), "--label-map", "XXX=hostile"]) == 2
    assert "XXX" in capsys.readouterr().err


def test_train_command_writes_a_model(tiny_base, toy_files, tmp_path, capsys):
    out = tmp_path / "m"
    code = main(
        [
            "train",
            "--train",
            str(toy_files["train"]),
            "--output",
            str(out),
            "--base-model",
            str(tiny_base),
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--no-lora",
            "--group-column",
            "doc",
            "--lexical",
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "macro-F1" in printed and "lexical half" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dev_rows"] > 0 and "lexical" in metrics["parts"]
    assert (out / "lexical" / "weights.safetensors").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["classify", "--model", "/nonexistent/model", "x"], "no such model folder"),
        (["evaluate", "--model", "{model}", "--data", "/nonexistent.tsv"], "no such file"),
        (["train", "--train", "/nonexistent.tsv", "--output", "/tmp/x"], "no such file"),
        (
            ["classify", "--model", "{model}", "--input", "{model}/README.md", "--output", "o.csv"],
            "unsupported file type",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(tiny_model, args, needle):
    args = [a.replace("{model}", str(tiny_model)) for a in args]
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert needle in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_pickle_only_model_is_refused(tmp_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    result = run_cli("classify", "--model", str(folder), "text")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "safetensors only" in result.stderr


def test_classify_article_from_stdin_human_and_json(tiny_model):
    article = "طهران تهدد عقوبات هجوم بكين.\nموسكو ترحب بالحوار تعاون واشنطن؟ طهران تهدد عقوبات تصعيد القاهرة!"
    human = run_cli("classify", "--model", str(tiny_model), "--article", "-", stdin=article)
    assert human.returncode == 0, human.stderr
    assert "dominant: hostile" in human.stdout and "most hostile" in human.stdout
    machine = run_cli("classify", "--model", str(tiny_model), "--article", "-", "--json", stdin=article)
    result = json.loads(machine.stdout)
    assert [s["label"] for s in result["sentences"]] == ["hostile", "conciliatory", "hostile"]
    assert result["summary"]["counts"]["hostile"] == 2


def test_unreachable_hub_model_is_a_one_line_error(toy_files, tmp_path):
    import os

    result = run_cli(
        "train",
        "--train",
        str(toy_files["train"]),
        "--dev",
        str(toy_files["dev"]),
        "--output",
        str(tmp_path / "m"),
        "--base-model",
        "aubmindlab/bert-base-arabertv02",
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "aubmindlab/bert-base-arabertv02" in result.stderr and "offline" in result.stderr
