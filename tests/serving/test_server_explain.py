"""``POST /v1/explain``, the article endpoint's ``explain`` flag and the page's explain toggle (real server, Chromium)."""

from __future__ import annotations

import os

import httpx
import pytest
from conftest import launch_chromium, needs_chromium, running_server

HOSTILE = "طهران تهدد عقوبات هجوم بكين"
CONCILIATORY = "موسكو ترحب بالحوار تعاون واشنطن"
# Diacritics, tatweel, a URL and emoji: offsets count code points of this text.
MESSY = "طَهْرانُ تـــهدد 😀 عقوبات https://t.co/x هجوم 🇸🇦 بكين"
ON_PAGE = "طَهْرانُ تـــهدد 😀 عقوبات هجوم 🇸🇦 بكين"  # the page splits sentences at dots: no URL here


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    args = ["--models", f"stance={tiny_model}", "--max-explain-texts", "3", "--max-chars", "300"]
    with running_server(args, tmp_path_factory.mktemp("server-explain") / "server.log") as base:
        yield base


def post(base, path, payload):
    return httpx.post(base + path, json=payload, timeout=60)


def test_explain_endpoint(server):
    r = post(server, "/v1/explain", {"texts": [HOSTILE, MESSY], "task": "stance"})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["label"] for x in results] == ["hostile", "hostile"]
    for text, result in zip([HOSTILE, MESSY], results):
        assert [w["text"] for w in result["words"]] == text.split()
        assert all(text[w["start"] : w["end"]] == w["text"] for w in result["words"])
    ig = post(server, "/v1/explain", {"texts": [CONCILIATORY], "method": "ig"}).json()["results"][0]
    assert ig["label"] == "conciliatory" and len(ig["words"]) == 5
    assert "/v1/explain" in httpx.get(server + "/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ({"texts": [HOSTILE] * 4}, 413, "too_many_texts"),
        ({"texts": ["ا" * 301]}, 413, "text_too_long"),
        ({"texts": []}, 422, "empty_texts"),
        ({"texts": [HOSTILE, " "]}, 422, "empty_text"),
        ({"texts": [HOSTILE], "method": "shap"}, 422, "invalid_request"),
        ({"texts": [HOSTILE], "task": "weather"}, 400, "unknown_task"),
    ],
)
def test_explain_limits_and_bad_requests(server, payload, status, code):
    r = post(server, "/v1/explain", payload)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_article_endpoint_explains_sentences_within_the_limit(server):
    body = post(server, "/v1/classify/article", {"text": f"{HOSTILE}.\n{CONCILIATORY}.", "explain": True}).json()
    assert [s["label"] for s in body["sentences"]] == ["hostile", "conciliatory"]
    assert all(len(s["words"]) == 5 for s in body["sentences"])
    plain = post(server, "/v1/classify/article", {"text": f"{HOSTILE}.\n{CONCILIATORY}."}).json()
    assert "words" not in plain["sentences"][0]
    r = post(server, "/v1/classify/article", {"text": ".\n".join([HOSTILE] * 4), "explain": True})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_sentences"


@needs_chromium
def test_page_explain_toggle_in_headless_chromium(server):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 390, "height": 800}, device_scale_factor=2)  # a phone
        page.goto(server + "/")
        page.fill("#text", f"{ON_PAGE}.\n{CONCILIATORY}.")
        page.check("#explain")
        page.click("#submit")
        page.wait_for_selector("#sentences li.sentence .w")
        items = page.query_selector_all("#sentences li.sentence")
        assert [i.get_attribute("data-label") for i in items] == ["hostile", "conciliatory"]
        # the page rebuilt each sentence exactly, emoji and all, with one span per word
        first = items[0].query_selector(".text")
        assert first.inner_text().strip() == f"{ON_PAGE}."
        spans = first.query_selector_all(".w")
        assert [s.inner_text() for s in spans] == f"{ON_PAGE}.".split()
        weights = [float(s.get_attribute("data-weight")) for s in spans]
        strongest = spans[max(range(len(weights)), key=lambda i: weights[i])]
        shade = strongest.evaluate("e => getComputedStyle(e).backgroundColor")
        assert shade.startswith("color(srgb 0.70") or shade.startswith("rgba(179, 38, 30"), shade  # hostile red
        for span in first.query_selector_all(".w.oppose"):  # opposition: the runner-up's colour, never the label's
            assert not span.evaluate("e => getComputedStyle(e).backgroundColor").startswith("color(srgb 0.70")
        assert page.evaluate("getComputedStyle(document.querySelector('#sentences .text')).direction") == "rtl"
        assert not page.is_hidden("#legend")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        if os.environ.get("STANCE_EXPLAIN_SCREENSHOT"):
            page.screenshot(path=os.environ["STANCE_EXPLAIN_SCREENSHOT"], full_page=True)
        page.uncheck("#explain")
        page.click("#submit")
        page.wait_for_selector("#sentences .w", state="detached")  # (wait_for_function needs eval: the CSP forbids it)
        assert page.is_hidden("#legend")
        browser.close()
