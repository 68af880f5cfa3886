"""`stance report`: counts that match the input, skipped rows with reasons, dates, plots, page and streaming inputs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import launch_chromium, needs_chromium, run_cli, toy_rows

from stance.cli import main
from stance.report.dates import NO_DATE, UNPARSEABLE, parse_date, period_key

LABELS = ["conciliatory", "hostile", "neutral"]
TEXTS = {
    "hostile": "فرضت الولايات المتحدة عقوبات جديدة على روسيا",
    "conciliatory": "رحبت مصر بالاتفاق مع السعودية وإيران",
    "neutral": "عقد الاجتماع في موعده اليوم",
}
# The same day written the ways archives write it; each renders `day`.
FORMATS = [
    lambda d: d.isoformat(),
    lambda d: f"{d.isoformat()}T08:30:00Z",
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    lambda d: (
        f"{d.day} {['يناير', 'فبراير', 'مارس', 'أبريل', 'مايو', 'يونيو', 'يوليو', 'أغسطس', 'سبتمبر', 'أكتوبر', 'نوفمبر', 'ديسمبر'][d.month - 1]} {d.year}"
    ),
    lambda d: (
        str(d.year).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        + "-"
        + f"{d.month:02d}-{d.day:02d}".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    ),
]


def _fixture_rows(n: int = 240):
    """Labelled rows with known dates, outlets and labels; plus one row per skip reason."""
    rows, expected = [], []
    start = date(2024, 1, 3)
    for i in range(n):
        label = LABELS[(i * 7) % 3 if i % 5 else 1]
        day = start + timedelta(days=(i * 11) % 150)
        outlet = ["Al Mayadeen", "BBC Arabic", "قناة الميادين"][i % 3]
        scores = {lab: (0.8 if lab == label else 0.1) + (i % 10) / 1000 for lab in LABELS}
        rows.append(
            {
                "id": f"r{i}",
                "text": TEXTS[label],
                "label": label,
                **{f"score_{lab}": f"{scores[lab]:.6f}" for lab in LABELS},
                "date": FORMATS[i % len(FORMATS)](day),
                "outlet": outlet,
            }
        )
        expected.append((label, period_key(day, "month"), outlet))
    bad = {"label": "hostile", **{f"score_{lab}": "0.3" for lab in LABELS}, "outlet": "CNN"}
    rows.append({"id": "bad-date", "text": TEXTS["hostile"], "date": "أمس مساءً", **bad})
    rows.append({"id": "no-date", "text": TEXTS["hostile"], "date": "", **bad})
    rows.append({"id": "hijri", "text": TEXTS["hostile"], "date": "1436/10/05", **bad})
    rows.append({"id": "empty", "text": "   ", "date": "2024-02-01", **bad})
    return rows, expected


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    rows, expected = _fixture_rows()
    src = _write_csv(folder / "classified.csv", rows)
    out = folder / "out"
    result = run_cli("report", "--input", str(src), "--output", str(out), "--actor", "Russia", "--actor", "واشنطن")
    assert result.returncode == 0, result.stderr
    return out, expected, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_counts_equal_the_input_label_counts(report):
    _, expected, summary = report
    total = Counter(label for label, _, _ in expected)
    assert summary["total"]["n"] == len(expected)
    assert summary["total"]["counts"] == {lab: total[lab] for lab in LABELS}
    per_period = Counter((p, lab) for lab, p, _ in expected)
    assert [p["period"] for p in summary["periods"]] == sorted({p for _, p, _ in expected})
    for entry in summary["periods"]:
        assert entry["counts"] == {lab: per_period[(entry["period"], lab)] for lab in LABELS}
        assert entry["n"] == sum(entry["counts"].values())
    per_group = Counter((g, lab) for lab, _, g in expected)
    assert {g["group"] for g in summary["groups"]} == {g for _, _, g in expected}
    for entry in summary["groups"]:
        assert entry["counts"] == {lab: per_group[(entry["group"], lab)] for lab in LABELS}
    assert summary["focus_actors"] == ["Russia", "United States"]


def test_skipped_rows_are_counted_with_their_reason(report):
    _, expected, summary = report
    assert summary["skipped"] == {"empty text": 1, NO_DATE: 1, UNPARSEABLE: 2}
    assert summary["rows_read"] == len(expected) + 4
    assert summary["rows_used"] + summary["rows_skipped"] == summary["rows_read"]


def test_actors_pairs_and_extremes(report):
    _, expected, summary = report
    by_actor = {a["actor"]: a for a in summary["actors"]}
    n_hostile = sum(1 for lab, _, _ in expected if lab == "hostile")
    assert by_actor["Russia"]["n"] == n_hostile and by_actor["Russia"]["counts"]["hostile"] == n_hostile
    pairs = {tuple(p["actors"]): p for p in summary["pairs"]}
    assert pairs[("Russia", "United States")]["shares"]["hostile"] == 1.0
    assert ("Egypt", "Saudi Arabia") in pairs and pairs[("Egypt", "Saudi Arabia")]["shares"]["hostile"] == 0.0
    first = summary["extremes"][0]
    assert len(first["most_hostile"]) == 3 and "most_neutral" not in first
    scores = [s["score"] for s in first["most_hostile"]]
    assert scores == sorted(scores, reverse=True)
    assert all(s["text"] == TEXTS["hostile"] for s in first["most_hostile"])
    assert [t["actor"] for t in summary["actor_timelines"]] == ["Russia", "United States"]


def test_html_references_only_files_that_exist(report):
    out, _, summary = report
    html = (out / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"periods.png", "groups.png", "actors.png", "pairs.png", "summary.json"} <= set(refs)
    for ref in refs:
        assert not re.match(r"^[a-z]+:|^//", ref), ref  # nothing external
        assert (out / ref).is_file(), ref
    for name in summary["files"]:
        assert (out / name).is_file()
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'dir="rtl"' in html and "<script" not in html


@needs_chromium
def test_page_renders_in_headless_chromium(report):
    playwright = pytest.importorskip("playwright.sync_api")
    out, _, _ = report
    with playwright.sync_playwright() as p:
        browser = launch_chromium(p)
        requests: list[str] = []
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda req: requests.append(req.url))
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        assert page.inner_text("h1") == "Stance report"
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert len(widths) >= 4 and all(w > 100 for w in widths)
        direction = page.eval_on_selector("td.ar", "e => getComputedStyle(e).direction")
        assert direction == "rtl"
        assert all(url.startswith("file://") for url in requests), requests
        browser.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-07-21", date(2015, 7, 21)),
        ("2015-07-21 02:51:32", date(2015, 7, 21)),
        ("21/07/2015", date(2015, 7, 21)),
        ("٢١/٠٧/٢٠١٥", date(2015, 7, 21)),
        ("الثلاثاء 21 يوليو 2015", date(2015, 7, 21)),
        ("12 تموز/يوليو 2015", date(2015, 7, 12)),
        ("٥ تشرين الأول ٢٠١٥", date(2015, 10, 5)),
        ("21 جويلية 2015", date(2015, 7, 21)),
        ("الأحد 5 شوال 1436 هـ - 19 يوليو 2015 م", date(2015, 7, 19)),
        ("July 21, 2015", date(2015, 7, 21)),
        (1437436800, date(2015, 7, 21)),
        ("1437436800000", date(2015, 7, 21)),
    ],
)
def test_dates_are_read(value, expected):
    assert parse_date(value) == (expected, "")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", NO_DATE),
        (None, NO_DATE),
        ("4 ايار/مايو", UNPARSEABLE),  # no year: never guessed
        ("1436/10/05", UNPARSEABLE),  # Hijri
        ("31/02/2015", UNPARSEABLE),
        ("21/07/15", UNPARSEABLE),  # two-digit year
        ("منذ ساعتين", UNPARSEABLE),
        (2015, UNPARSEABLE),  # a bare year is not a Unix time
    ],
)
def test_unreadable_dates_are_refused(value, reason):
    assert parse_date(value) == (None, reason)


def test_periods():
    assert period_key(date(2015, 7, 21), "week") == "2015-W30"
    assert period_key(date(2015, 7, 21), "month") == "2015-07"
    assert period_key(date(2015, 7, 21), "day") == "2015-07-21"


def test_unlabelled_jsonl_is_classified_with_the_model(tiny_model, tmp_path):
    rows = toy_rows(6, seed=5)
    src = tmp_path / "news.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for i, row in enumerate(rows):
            fh.write(json.dumps({"id": row["id"], "text": row["text"], "published": 1437436800 + 86400 * i}) + "\n")
    out = tmp_path / "out"
    args = ["report", "--input", str(src), "--output", str(out), "--model", str(tiny_model)]
    assert main([*args, "--date-column", "published", "--period", "day"]) == 0  # in-process: fast
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["total"]["n"] == len(rows) and summary["label_source"].startswith("labels from classifying")
    assert len(summary["periods"]) == len(rows)
    assert summary["rows_with_actors"] == len(rows)  # every toy statement names a capital
    assert summary["group_column"] is None and summary["notes"]


def test_parquet_folder_with_actor_lists(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(2):
        table = pa.table(
            {
                "id": [f"{k}-{i}" for i in range(5)],
                "label": ["hostile", "neutral", "hostile", "conciliatory", ""],
                "score_hostile": [0.9, 0.1, 0.8, 0.1, None],
                "actors": [["Russia", "Ukraine"], [], ["Russia"], ["Ukraine"], []],
                "error": ["", "", "", "", "empty text"],
            }
        )
        pq.write_table(table, folder / f"part-{k}.parquet")
    from stance.report.build import ReportConfig, build_report

    summary = build_report(ReportConfig(input=str(folder), output=str(tmp_path / "out")))
    assert summary["total"]["counts"] == {"conciliatory": 2, "hostile": 4, "neutral": 2}
    assert summary["skipped"] == {"no label (row was not classified)": 2}
    assert {a["actor"]: a["n"] for a in summary["actors"]} == {"Russia": 4, "Ukraine": 4}
    assert summary["pairs"][0]["actors"] == ["Russia", "Ukraine"] and summary["pairs"][0]["n"] == 2
    assert summary["periods"] == [] and (tmp_path / "out" / "index.html").is_file()


def test_user_errors_are_one_line(tmp_path):
    rows, _ = _fixture_rows(6)
    src = _write_csv(tmp_path / "in.csv", rows)
    result = run_cli("report", "--input", str(src), "--output", str(tmp_path / "o"), "--actor", "Atlantis")
    assert (
        result.returncode == 2 and result.stderr.startswith("error: unknown actor") and "Traceback" not in result.stderr
    )
    result = run_cli("report", "--input", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "o"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_classify_path_does_not_import_matplotlib():
    code = "import sys, stance.cli as c; c.build_parser(); print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
