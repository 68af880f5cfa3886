"""A runnable example of ``stance report`` on unlabelled news from ../shared/data/corpora.

Two reports, each from a bounded random sample of sentences that mention at
least one actor (the shipped stance model classifies them inside the report,
about 40 statements/s on one CPU):

* ``saudinewsnet/``: SaudiNewsNet articles (18 days of July-August 2015) with
  their dates (``date_extracted``) and outlets (``source``), per day;
* ``outlets/``: the articles of corpora/outlets (no dates: per outlet and actor).

    python training/example_report.py [--sentences 1500] [--output /tmp/stance-example-report]
        [--screenshot docs/report.png]

The screenshot (headless Chromium via playwright) is of the SaudiNewsNet page.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from stance.report.build import ReportConfig, build_report
from stance.text.actors import ActorTagger
from stance.text.sentences import split_sentences

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "corpora"
PER_ARTICLE = 3
MIN_CHARS, MAX_CHARS = 40, 400


def saudinewsnet_articles() -> Iterator[dict]:
    for path in sorted((CORPORA / "saudinewsnet").glob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                for article in json.loads(archive.read(name)):
                    yield {
                        "doc": article.get("url", ""),
                        "text": article.get("content") or "",
                        "date": article.get("date_extracted") or "",
                        "outlet": article.get("source") or "",
                    }


def outlet_articles() -> Iterator[dict]:
    with gzip.open(CORPORA / "outlets" / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            article = json.loads(line)
            yield {"doc": article["doc"], "text": article["text"], "outlet": article["outlet"]}


def sample_sentences(articles: list[dict], n: int, seed: int) -> list[dict]:
    """Up to ``n`` sentences that mention an actor, at most PER_ARTICLE per article, from shuffled articles."""
    tagger = ActorTagger.load()
    rng = random.Random(seed)
    rng.shuffle(articles)
    rows: list[dict] = []
    for article in articles:
        found = [
            s
            for s in split_sentences(article["text"])
            if MIN_CHARS <= len(s) <= MAX_CHARS and tagger.tag(s)  # statements about actors, as in the stance data
        ]
        for sentence in rng.sample(found, min(PER_ARTICLE, len(found))):
            row = {"id": f"s{len(rows)}", "text": sentence, "outlet": article["outlet"], "doc": article["doc"]}
            if "date" in article:
                row["date"] = article["date"]
            rows.append(row)
        if len(rows) >= n:
            break
    return rows[:n]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def screenshot(page_path: Path, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 1900})
        page.goto(page_path.resolve().as_uri())
        page.wait_for_load_state("load")
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=False)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1500, help="sentences per report")
    parser.add_argument("--output", default="/tmp/stance-example-report")
    parser.add_argument("--model", default="stance")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--screenshot", help="write a PNG of the SaudiNewsNet page here (needs chromium)")
    args = parser.parse_args()
    if not CORPORA.exists():
        raise SystemExit(f"{CORPORA} not found: this example needs ../shared/data/corpora")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        ("saudinewsnet", saudinewsnet_articles, dict(date_column="date", group_column="outlet", period="day")),
        ("outlets", outlet_articles, dict(date_column="date", group_column="outlet")),
    ]
    for name, articles, settings in jobs:
        t0 = time.perf_counter()
        rows = sample_sentences(list(articles()), args.sentences, args.seed)
        src = out / f"{name}-sentences.jsonl"
        write_jsonl(src, rows)
        t1 = time.perf_counter()
        config = ReportConfig(
            input=str(src), output=str(out / name), model=args.model, actors=["United States", "Iran"], **settings
        )
        summary = build_report(config)
        print(
            f"{name}: {len(rows)} sentences sampled in {t1 - t0:.0f} s, classified and reported in "
            f"{time.perf_counter() - t1:.0f} s -> {out / name / 'index.html'}"
        )
        print(f"  labels {summary['total']['counts']}, skipped {summary['skipped'] or 'none'}")
        print("  most mentioned actors: " + ", ".join(f"{a['actor']} ({a['n']})" for a in summary["actors"][:8]))
    if args.screenshot:
        screenshot(out / "saudinewsnet" / "index.html", Path(args.screenshot))
        print(f"screenshot -> {args.screenshot}")


if __name__ == "__main__":
    main()
