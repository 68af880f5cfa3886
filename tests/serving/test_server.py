"""The HTTP service against a real uvicorn process on 127.0.0.1, and its page in headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import launch_chromium, needs_chromium, running_server

CONCILIATORY = "موسكو ترحب بالحوار تعاون واشنطن"
HOSTILE = "طهران تهدد عقوبات هجوم بكين"
NEUTRAL = "بكين جلسة يوم موعد القاهرة"


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    args = ["--models", f"stance={tiny_model}", "--max-texts", "8", "--max-chars", "300"]
    args += ["--max-body-bytes", "20000", "--max-wait-ms", "20"]
    with running_server(args, tmp_path_factory.mktemp("server") / "server.log", graceful=True) as base:
        yield base


def post(base, path, payload, **kw):
    return httpx.post(base + path, json=payload, timeout=30, **kw)


def test_health_models_and_docs(server):
    assert httpx.get(server + "/health").json() == {"status": "ready", "models": ["stance"]}
    models = httpx.get(server + "/v1/models").json()["models"]
    assert models[0]["task"] == "stance" and models[0]["labels"] == ["conciliatory", "hostile", "neutral"]
    assert models[0]["dev"]["macro_f1"] == 1.0
    assert httpx.get(server + "/docs").status_code == 200
    assert "/v1/classify" in httpx.get(server + "/openapi.json").json()["paths"]


def test_classify_returns_results_in_order(server):
    r = post(server, "/v1/classify", {"texts": [HOSTILE, CONCILIATORY, NEUTRAL], "task": "stance"})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["label"] for x in results] == ["hostile", "conciliatory", "neutral"]
    assert all(abs(sum(x["scores"].values()) - 1) < 1e-5 for x in results)


def test_article_endpoint(server):
    r = post(server, "/v1/classify/article", {"text": f"{HOSTILE}.\n{CONCILIATORY}؟ {HOSTILE}!"})
    assert r.status_code == 200
    body = r.json()
    assert [s["label"] for s in body["sentences"]] == ["hostile", "conciliatory", "hostile"]
    assert body["summary"]["dominant"] == "hostile"
    assert body["summary"]["counts"] == {"conciliatory": 1, "hostile": 2, "neutral": 0}


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ({"texts": [NEUTRAL] * 9}, 413, "too_many_texts"),
        ({"texts": ["ا" * 301]}, 413, "text_too_long"),
        ({"texts": []}, 422, "empty_texts"),
        ({"texts": [NEUTRAL], "task": "weather"}, 400, "unknown_task"),
        ({"texts": "just a string"}, 422, "invalid_request"),
        ({"texts": [1, 2]}, 422, "invalid_request"),
        ({"text": [NEUTRAL]}, 422, "invalid_request"),
    ],
)
def test_limits_and_bad_requests_are_json_4xx(server, payload, status, code):
    r = post(server, "/v1/classify", payload)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


def test_edge_cases_through_the_api(server):
    from conftest import EDGE_CASES

    texts = [t for n, t in EDGE_CASES.items() if n != "very long"]  # the long one is refused by --max-chars
    results = []
    for part in (texts[:5], texts[5:]):  # the fixture allows 8 texts per request
        body = json.dumps({"texts": part}).encode()  # ASCII escapes: the lone surrogate travels as \ud800
        r = httpx.post(server + "/v1/classify", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        results += r.json()["results"]
    assert len(results) == len(texts)
    for res in results:
        assert res["label"] in ("conciliatory", "hostile", "neutral")
        assert abs(sum(res["scores"].values()) - 1) < 1e-5
    article = json.dumps({"text": EDGE_CASES["very long"][:7_500]}, ensure_ascii=False).encode()  # under the body limit
    long = httpx.post(server + "/v1/classify/article", content=article, headers={"content-type": "application/json"})
    assert long.status_code == 200 and long.json()["summary"]["sentences"] == 1


def test_body_limits_malformed_json_and_content_type(server):
    big = json.dumps({"texts": ["ا" * 200] * 100})
    r = httpx.post(server + "/v1/classify", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "max_body_bytes" in r.json()["error"]["message"]

    def chunks():  # no content-length: the limit is enforced while streaming
        for _ in range(100):
            yield b"x" * 1000

    r = httpx.post(server + "/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = httpx.post(server + "/v1/classify", content=b'{"texts": [', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = httpx.post(server + "/v1/classify", content=b"texts=a", headers={"content-type": "text/plain"})
    assert 400 <= r.status_code < 500
    r = post(server, "/v1/classify/article", {"text": "ا" * 100_001})
    assert r.status_code == 413


def test_client_disconnects_do_not_hurt_the_server(server):
    host, port = server.removeprefix("http://").split(":")
    for _ in range(3):
        with socket.create_connection((host, int(port))) as s:
            s.sendall(
                b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 500\r\n\r\n{"texts": ['
            )
    assert post(server, "/v1/classify", {"texts": [HOSTILE]}).json()["results"][0]["label"] == "hostile"


def test_concurrent_requests_share_forward_passes(server):
    before = httpx.get(server + "/v1/models").json()["models"][0]["stats"]
    texts = [CONCILIATORY, HOSTILE, NEUTRAL]
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda i: post(server, "/v1/classify", {"texts": [texts[i % 3]]}), range(48)))
    assert all(r.status_code == 200 for r in responses)
    labels = [r.json()["results"][0]["label"] for r in responses]
    assert labels == [["conciliatory", "hostile", "neutral"][i % 3] for i in range(48)]
    after = httpx.get(server + "/v1/models").json()["models"][0]["stats"]
    assert after["texts"] - before["texts"] == 48
    assert after["batches"] - before["batches"] < 48  # requests were batched together


@needs_chromium
def test_page_in_headless_chromium(server):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = launch_chromium(p)
        requests: list[str] = []
        page = browser.new_page(viewport={"width": 390, "height": 800})  # phone width
        page.on("request", lambda req: requests.append(req.url))
        page.goto(server + "/")
        assert page.get_attribute("html", "dir") == "rtl"
        page.fill("#text", f"{HOSTILE}.\n{CONCILIATORY}.")
        page.click("#submit")
        page.wait_for_selector("#sentences li.sentence")
        items = page.query_selector_all("#sentences li.sentence")
        assert [i.get_attribute("data-label") for i in items] == ["hostile", "conciliatory"]
        color = page.eval_on_selector("#sentences li.sentence", "e => getComputedStyle(e).borderInlineStartColor")
        assert color == "rgb(179, 38, 30)"  # hostile red
        assert page.get_attribute("#dominant", "data-label") in ("hostile", "conciliatory")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # no horizontal scrolling at phone width
        if os.environ.get("STANCE_SCREENSHOT"):
            page.screenshot(path=os.environ["STANCE_SCREENSHOT"], full_page=True)
        browser.close()
    assert all(u.startswith(server) for u in requests), [u for u in requests if not u.startswith(server)]


def test_a_slow_client_does_not_block_others(server):
    host, port = server.removeprefix("http://").split(":")
    slow = socket.create_connection((host, int(port)))
    try:
        slow.sendall(
            b'POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{"te'
        )
        start = time.time()
        r = post(server, "/v1/classify", {"texts": [NEUTRAL]})
        assert r.status_code == 200 and time.time() - start < 10
        slow.sendall(b'xts": ["' + "جلسة".encode() + b'"]}' + b" " * 60)
    finally:
        slow.close()
    assert post(server, "/v1/classify", {"texts": [HOSTILE]}).status_code == 200
