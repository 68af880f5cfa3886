import json

import pytest

from stance.errors import StanceError
from stance.io.data import load_labelled, read_table, split_dev


def test_reads_csv_tsv_jsonl_and_datasets_folder(tmp_path):
    (tmp_path / "a.csv").write_text("text,label\nنص,x\nآخر,y\n", encoding="utf-8")
    (tmp_path / "a.tsv").write_text("text\tlabel\nنص\tx\nآخر\ty\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(
        "\n".join(json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in [("نص", "x"), ("آخر", "y")]),
        encoding="utf-8",
    )
    from datasets import Dataset

    Dataset.from_dict({"text": ["نص", "آخر"], "label": ["x", "y"]}).save_to_disk(str(tmp_path / "ds"))
    for name in ("a.csv", "a.tsv", "a.jsonl", "ds"):
        data = load_labelled(tmp_path / name)
        assert data.texts == ["نص", "آخر"] and data.labels == ["x", "y"], name


def test_bom_crlf_and_label_whitespace(tmp_path):
    (tmp_path / "b.csv").write_bytes("\ufefftext,label\r\nنص, hostile \r\nآخر,neutral\r\n".encode())
    data = load_labelled(tmp_path / "b.csv")
    assert data.labels == ["hostile", "neutral"]


def test_empty_rows_are_skipped_or_refused_with_line_numbers(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("text\tlabel\nنص\tx\n\ty\nآخر\ty\nثالث\t\n", encoding="utf-8")
    assert len(load_labelled(path)) == 2
    with pytest.raises(StanceError, match=r"2 row\(s\).*lines \[3, 5\]"):
        load_labelled(path, strict=True)


@pytest.mark.parametrize(
    "content, message",
    [
        ("text\tlabel\nنص\tx\nآخر\tx\n", "only one label"),
        ("body\tlabel\nنص\tx\n", "missing column.*text.*body, label"),
        ("text,label\nنص,x\n", "comma-separated"),
    ],
)
def test_user_errors_name_the_problem(tmp_path, content, message):
    path = tmp_path / "d.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StanceError, match=message):
        load_labelled(path)


def test_non_utf8_and_missing_file(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"text,label\n" + "نص".encode("cp1256") + b",x\n")
    with pytest.raises(StanceError, match="line 2 is not valid UTF-8"):
        read_table(path)
    with pytest.raises(StanceError, match="no such file"):
        read_table(tmp_path / "missing.csv")


def test_grouped_split_keeps_each_group_on_one_side():
    from stance.io.data import LabelledData

    texts = [f"t{i}" for i in range(120)]
    labels = ["a", "b", "c"] * 40
    groups = [f"g{i // 4}" for i in range(120)]
    train, dev = split_dev(LabelledData(texts, labels, groups), 0.2, seed=3)
    assert not set(train.groups) & set(dev.groups)
    assert len(train) + len(dev) == 120
    assert set(dev.labels) == {"a", "b", "c"}


def test_train_dev_overlap_is_refused_and_duplicates_reported(tmp_path, caplog):
    from stance.fit.trainer import TrainingConfig, load_splits

    train = tmp_path / "train.tsv"
    dev = tmp_path / "dev.tsv"
    train.write_text("text\tlabel\nنص أول\tx\nنص أول\tx\nنص، أول!\tx\nنص ثان\ty\nنص ثالث\ty\n", encoding="utf-8")
    dev.write_text("text\tlabel\nنص رابع\tx\nنص خامس\ty\n", encoding="utf-8")
    load_splits(TrainingConfig(train_file=str(train), dev_file=str(dev), output_dir="x"))
    assert any("1 exact and 1 near-duplicate" in m for m in caplog.messages)
    dev.write_text("text\tlabel\nنص ثالث.\ty\nنص خامس\tx\n", encoding="utf-8")
    load_splits(TrainingConfig(train_file=str(train), dev_file=str(dev), output_dir="x"))
    assert any("1 near-duplicate text(s) across train and dev" in m for m in caplog.messages)
    dev.write_text("text\tlabel\nنص ثالث\ty\nنص خامس\tx\n", encoding="utf-8")
    with pytest.raises(StanceError, match="1 text.*both train and dev"):
        load_splits(TrainingConfig(train_file=str(train), dev_file=str(dev), output_dir="x"))
