"""``stance annotate`` end to end: a real server on 127.0.0.1, headless Chromium, kill -9, export, active learning."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import (
    CONCILIATORY,
    HOSTILE,
    NEUTRAL,
    free_port,
    launch_chromium,
    needs_chromium,
    run_cli,
    toy_rows,
    write_tsv,
)

LABELS = ["conciliatory", "hostile", "neutral"]


def pool_rows() -> list[dict[str, str]]:
    """Toy statements, a third of them mixing two classes' words (the ones a model should be unsure about)."""
    rows = [{"id": r["id"], "text": r["text"]} for r in toy_rows(6, seed=5)]
    mixed = [(CONCILIATORY, HOSTILE), (HOSTILE, NEUTRAL), (CONCILIATORY, NEUTRAL)]
    for i in range(9):
        a, b = mixed[i % 3]
        rows.append({"id": f"m{i}", "text": f"{a[i % 6]} {b[(i + 2) % 6]} {a[(i + 3) % 6]} {b[(i + 4) % 6]}"})
    return rows


@contextmanager
def annotate_server(args: list[str], log: Path, scored: bool = True):
    """A real ``stance annotate`` process; yields (base URL, process) once it answers (and has scored everything)."""
    port = free_port()
    cmd = [sys.executable, "-m", "stance.cli", "annotate", "--port", str(port), *args]
    with log.open("a") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail("annotate server exited:\n" + log.read_text())
            if time.time() > deadline:
                pytest.fail("annotate server not ready:\n" + log.read_text())
            try:
                stats = httpx.get(base + "/api/stats", timeout=2).json()
                if not scored or stats["scored"] == stats["total"]:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def post(base: str, path: str, body) -> httpx.Response:
    return httpx.post(base + path, json=body, timeout=10)


def exported(base: str) -> dict[str, str]:
    text = httpx.get(base + "/api/export", params={"format": "tsv"}, timeout=10).text
    return {row["id"]: row["label"] for row in csv.DictReader(io.StringIO(text), delimiter="\t")}


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    return write_tsv(tmp_path_factory.mktemp("pool") / "pool.tsv", pool_rows())


@needs_chromium
def test_keyboard_labelling_survives_reload_and_kill_9(tiny_model, pool, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    db, log = tmp_path / "project.sqlite", tmp_path / "server.log"
    args = ["--data", str(pool), "--db", str(db), "--model", str(tiny_model), "--annotator", "amal"]
    given: dict[str, str] = {}
    with annotate_server(args, log) as (base, proc):
        with playwright.sync_playwright() as p:
            browser = launch_chromium(p)
            requests: list[str] = []
            page = browser.new_page(viewport={"width": 390, "height": 800})  # phone width
            page.set_default_timeout(90_000)  # a shared, busy CPU
            page.on("request", lambda req: requests.append(req.url))
            page.goto(base + "/")
            assert page.get_attribute("html", "dir") == "rtl"
            page.wait_for_selector("#buttons button[data-label]")
            page.wait_for_selector("#statement[data-id]")
            keys = {"1": "conciliatory", "2": "hostile", "3": "neutral", "h": "hostile", "c": "conciliatory"}
            for key, label in keys.items():
                page.wait_for_selector("body:not([data-busy])", state="attached")
                current = page.get_attribute("#statement", "data-id")
                assert current not in given
                page.keyboard.press(key)
                page.wait_for_function("id => document.querySelector('#statement').dataset.id !== id", arg=current)
                given[current] = label
            page.wait_for_selector("body:not([data-busy])", state="attached")
            page.keyboard.press("u")  # take back the fifth
            last = list(given)[-1]
            page.wait_for_function("id => document.querySelector('#statement').dataset.id === id", arg=last)
            del given[last]
            page.wait_for_function("() => document.querySelector('#progress-text').textContent.includes('4')")
            page.reload()
            page.wait_for_selector("#progress-text")
            assert page.text_content("#progress-text").split()[1] == "4"
            assert page.get_attribute("#statement", "data-id") not in given
            counts = {e.get_attribute("data-label"): e.text_content() for e in page.query_selector_all(".count")}
            assert counts["conciliatory"].endswith(str(list(given.values()).count("conciliatory")))
            page.check("#blind")  # "ignore the suggestion" hides it
            assert not page.is_visible("#suggestion")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
            if os.environ.get("STANCE_SCREENSHOT"):
                page.screenshot(path=os.environ["STANCE_SCREENSHOT"], full_page=True)
            browser.close()
        assert all(u.startswith(base) for u in requests), [u for u in requests if not u.startswith(base)]
        assert any(u.endswith("/static/naskh-400.woff2") for u in requests)  # the serve page's bundled font
        assert exported(base) == given
        # one more label through the API, then kill -9 straight after the answer
        item = httpx.get(base + "/api/next", timeout=10).json()
        assert post(base, "/api/label", {"id": item["id"], "label": "neutral"}).status_code == 200
        given[item["id"]] = "neutral"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with annotate_server(["--db", str(db), "--model", str(tiny_model), "--annotator", "amal"], log) as (base, _):
        assert exported(base) == given  # nothing lost
        stats = httpx.get(base + "/api/stats", timeout=10).json()
        assert stats["labelled"] == len(given) and stats["annotators"] == {"amal": len(given)}
        assert httpx.get(base + "/api/next", timeout=10).json()["id"] not in given
        jsonl = httpx.get(base + "/api/export", params={"format": "jsonl"}, timeout=10).text
        rows = [json.loads(line) for line in jsonl.splitlines()]
        assert {r["id"]: r["label"] for r in rows} == given
        assert set(rows[0]) == {"id", "text", "label", "annotator", "labelled_at"}
    out = tmp_path / "labels.tsv"
    result = run_cli("annotate", "--export", str(db), "--output", str(out))
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8") as fh:
        assert {r["id"]: r["label"] for r in csv.DictReader(fh, delimiter="\t")} == given
    # the labels, with their annotators and times, are what a kill -9 left in the file
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM actions WHERE undone = 1").fetchone()[0] == 1


def test_uncertainty_serves_an_unsure_statement_and_bad_inputs_are_refused(tiny_model, pool, tmp_path):
    from stance.inference.classifier import Classifier

    db = tmp_path / "project.sqlite"
    args = ["--data", str(pool), "--db", str(db), "--model", str(tiny_model), "--strategy", "uncertainty"]
    with annotate_server(args, tmp_path / "server.log") as (base, _):
        item = httpx.get(base + "/api/next", timeout=10).json()
        assert set(item) == {"id", "text", "suggestion", "scores"}
        texts = [r["text"] for r in pool_rows()]
        top = Classifier.load(tiny_model).predict_proba(texts).max(axis=1)  # measured here, not by the server
        assert max(item["scores"].values()) < statistics.median(top.tolist())
        assert item["suggestion"] == max(item["scores"], key=item["scores"].get)

        r = post(base, "/api/label", {"id": item["id"], "label": "friendly"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_label"
        assert "conciliatory, hostile, neutral" in r.json()["error"]["message"]
        r = post(base, "/api/label", {"id": "no-such-id", "label": "hostile"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_id"
        r = httpx.post(
            base + "/api/label", content=b'{"id": "x", "lab', headers={"content-type": "application/json"}, timeout=10
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
        r = post(base, "/api/label", {"id": item["id"]})
        assert r.status_code == 422 and "label" in r.json()["error"]["message"]
        r = post(base, "/api/undo", {})
        assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_undo"
        r = httpx.get(base + "/api/export", params={"format": "xlsx"}, timeout=10)
        assert r.status_code == 422 and "tsv or jsonl" in r.json()["error"]["message"]
        assert exported(base) == {}  # nothing bad was stored

        # skip every statement: then nothing is left, with a clear 404
        for _ in range(len(texts)):
            nxt = httpx.get(base + "/api/next", timeout=10).json()
            assert post(base, "/api/skip", {"id": nxt["id"]}).status_code == 200
        r = httpx.get(base + "/api/next", timeout=10)
        assert r.status_code == 404 and "nothing left" in r.json()["error"]["message"]


def test_retraining_the_lexical_half_without_a_model(pool, tmp_path):
    db = tmp_path / "project.sqlite"
    args = ["--data", str(pool), "--db", str(db), "--model", "none", "--labels", ",".join(LABELS)]
    args += ["--retrain-every", "6", "--strategy", "uncertainty"]
    truth = {r["id"]: r["label"] for r in toy_rows(6, seed=5)}
    with annotate_server(args, tmp_path / "server.log", scored=False) as (base, _):
        first = httpx.get(base + "/api/next", timeout=10).json()
        assert first["suggestion"] is None  # no model: nothing to suggest yet
        for label in LABELS * 2:
            statement_id = next(i for i, lab in truth.items() if lab == label and i not in exported(base))
            assert post(base, "/api/label", {"id": statement_id, "label": label}).status_code == 200
        deadline = time.time() + 60
        while time.time() < deadline:
            stats = httpx.get(base + "/api/stats", timeout=10).json()
            if stats["scorer"]["refits"] >= 1 and stats["scored"] == stats["total"]:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"no refit: {stats}")
        item = httpx.get(base + "/api/next", timeout=10).json()
        assert item["suggestion"] in LABELS and abs(sum(item["scores"].values()) - 1) < 1e-3


def test_bad_command_lines_exit_2_with_one_line(tiny_model, pool, tmp_path):
    no_text = write_tsv(tmp_path / "no_text.tsv", [{"id": "a", "sentence": "تهدد"}])
    db = str(tmp_path / "p.sqlite")
    cases = [
        (["annotate", "--data", str(no_text), "--db", db, "--model", str(tiny_model)], "missing column(s) text"),
        (["annotate", "--data", str(pool), "--db", db, "--model", "none"], "--labels"),
        (["annotate", "--data", str(pool), "--db", db, "--model", str(tiny_model), "--labels", "a,b"], "--model none"),
        (["annotate", "--data", str(pool)], "--db"),
        (["annotate", "--export", str(pool), "--output", str(tmp_path / "x.tsv")], "not a `stance annotate` project"),
        (["annotate", "--export", str(tmp_path / "missing.sqlite"), "--output", "x.tsv"], "no such project file"),
    ]
    for args, expected in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert result.stderr.startswith("error: ")
