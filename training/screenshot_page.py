"""Screenshot the web page with the shipped model (for docs/): starts `stance serve` on 127.0.0.1, drives Chromium.

python training/screenshot_page.py docs/page.png
python training/screenshot_page.py docs/explain.png --explain     # phone width, explain toggle on
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time

import httpx
from playwright.sync_api import sync_playwright

ARTICLE = (
    "واشنطن تفرض عقوبات جديدة على موسكو\n"
    "أعلنت وزارة الخزانة الأميركية فرض عقوبات على عشرة مسؤولين روس. "
    "وقال المتحدث باسم الكرملين إن موسكو مستعدة لحوار موضوعي حول الحد من التسلح إذا كان الجانب الأميركي مستعداً أيضاً. "
    "ويعقد مجلس الأمن جلسة يوم الاثنين لمناقشة الوضع."
)
EXPLAIN_ARTICLE = (
    "أعلنت وزارة الخزانة الأميركية فرض عقوبات على عشرة مسؤولين روس.\n"
    "وقال المتحدث باسم الكرملين إن موسكو مستعدة لحوار موضوعي حول الحد من التسلح.\n"
    "ويعقد مجلس الأمن جلسة يوم الاثنين لمناقشة الوضع."
)


def main(out: str, explain: bool = False) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "stance.cli", "-q", "serve", "--port", str(port), "--models", "stance"]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            if explain:
                page = browser.new_page(viewport={"width": 390, "height": 800}, device_scale_factor=2)
            else:
                page = browser.new_page(viewport={"width": 900, "height": 900})
            page.goto(base + "/")
            page.fill("#text", EXPLAIN_ARTICLE if explain else ARTICLE)
            if explain:
                page.check("#explain")
            page.click("#submit")
            page.wait_for_selector(
                "#sentences li.sentence .w" if explain else "#sentences li.sentence", timeout=600_000
            )
            page.screenshot(path=out, full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", default=None)
    parser.add_argument("--explain", action="store_true", help="the explain view at phone width")
    args = parser.parse_args()
    main(args.out or ("docs/explain.png" if args.explain else "docs/page.png"), explain=args.explain)
