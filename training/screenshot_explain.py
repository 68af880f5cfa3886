"""Screenshot the web page's explain view with the shipped model (for docs/): phone width, explain toggle on.

python training/screenshot_explain.py docs/explain.png
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import httpx
from playwright.sync_api import sync_playwright

ARTICLE = (
    "أعلنت وزارة الخزانة الأميركية فرض عقوبات على عشرة مسؤولين روس.\n"
    "وقال المتحدث باسم الكرملين إن موسكو مستعدة لحوار موضوعي حول الحد من التسلح.\n"
    "ويعقد مجلس الأمن جلسة يوم الاثنين لمناقشة الوضع."
)


def main(out: str) -> None:
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
            page = browser.new_page(viewport={"width": 390, "height": 800}, device_scale_factor=2)
            page.goto(base + "/")
            page.fill("#text", ARTICLE)
            page.check("#explain")
            page.click("#submit")
            page.wait_for_selector("#sentences li.sentence .w", timeout=600_000)
            page.screenshot(path=out, full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/explain.png")
