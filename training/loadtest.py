"""Bounded load test of `stance serve` on the loopback interface.

Starts the server itself on 127.0.0.1 (once with micro-batching, once with
``--max-batch 1`` for comparison), sends a fixed number of single-statement
requests from 1, 8 and 32 concurrent clients (each level also stops after
``--max-seconds``), and prints requests/s, p50/p99 latency and errors.

    python training/loadtest.py --requests 400 --data ../shared/data/stance/dev.tsv
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def level(base: str, texts: list[str], clients: int, total: int, max_seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + max_seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        while sent < total and time.perf_counter() < deadline:
            text = texts[sent % len(texts)]
            sent += 1
            start = time.perf_counter()
            try:
                r = await http.post(base + "/v1/classify", json={"texts": [text], "task": "stance"})
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        seconds = time.perf_counter() - start
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * (len(latencies) - 1)))],
        "errors": errors,
    }


def run_server(extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stance.cli", "-q", "serve", "--port", str(port), "--models", "stance", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/stance/dev.tsv")
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap per level")
    parser.add_argument("--levels", default="1,8,32")
    args = parser.parse_args()
    from stance.io.data import read_table

    texts = [str(t) for t in read_table(args.data)["text"].tolist()[:1000]]
    for label, extra in (
        ("micro-batching (max batch 64, wait 5 ms)", []),
        ("one request at a time (max batch 1)", ["--max-batch", "1"]),
    ):
        proc, base = run_server(extra)
        try:
            asyncio.run(level(base, texts, 4, 20, 30))  # warm-up
            print(f"\n{label}")
            print(f"{'clients':>8}{'requests':>10}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
            for clients in (int(c) for c in args.levels.split(",")):
                r = asyncio.run(level(base, texts, clients, args.requests, args.max_seconds))
                print(
                    f"{r['clients']:>8}{r['requests']:>10}{r['rps']:>8.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8}"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
