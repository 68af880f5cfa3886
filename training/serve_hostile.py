"""`stance serve` under hostile traffic, measured from a second process on loopback (127.0.0.1 only).

Each subcommand starts its own server (`python -m stance.cli serve`, keys passed in
STANCE_API_KEYS, never on the command line), drives it, prints a table and stops it.
Every loop is bounded in requests and seconds.

    python training/serve_hostile.py fuzz --max-examples 100        # schemathesis, all routes
    python training/serve_hostile.py capacity --seconds 40          # closed loop: sustainable req/s
    python training/serve_hostile.py soak --minutes 10 --fraction 0.8 [--capacity R]
    python training/serve_hostile.py overload --seconds 60 --factor 3 [--capacity R]
    python training/serve_hostile.py abuse

soak and overload measure capacity first (same conditions, same server) unless
--capacity is given. One statement per request, texts from the stance dev set.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import httpx
from own_process import cpu_name

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "stance" / "dev.tsv"
KEY, OTHER_KEY = f"soak-{secrets.token_hex(16)}", f"other-{secrets.token_hex(16)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def ms(x: float) -> str:
    return "—" if x != x else f"{1000 * x:,.0f}"


def texts() -> list[str]:
    if not DATA.exists():
        return ["قال الوزير إن بلاده مستعدة للحوار", "هدد الرئيس بفرض عقوبات جديدة", "عقد الاجتماع يوم الاثنين"]
    rows = DATA.read_text(encoding="utf-8").splitlines()[1:1001]
    return [r.split("\t")[1] for r in rows if r.count("\t") >= 2]


class Server:
    """A `stance serve` subprocess on 127.0.0.1 with API keys in its environment."""

    def __init__(self, extra: list[str], keys: tuple[str, ...] = (KEY, OTHER_KEY), models: str = "stance") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "STANCE_API_KEYS": ",".join(keys), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "stance.cli", "-q", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.log = open(f"/tmp/serve_hostile_{self.port}.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([*cmd, "--models", models, *extra], stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: see {self.log.name}")
            time.sleep(0.5)
        self.stop()
        raise SystemExit("server did not become ready in 300 s")

    @property
    def rss(self) -> float:
        return rss_mb(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def auth(key: str = KEY) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


# ---------------------------------------------------------------- load generation


async def closed_loop(base: str, pool: list[str], clients: int, seconds: float, key: str = KEY) -> dict:
    """``clients`` clients each sending one request after another for ``seconds``."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits, headers=auth(key)) as http:

        async def client(i: int) -> None:
            n = i
            while time.perf_counter() < stop:
                n += clients
                start = time.perf_counter()
                try:
                    r = await http.post("/v1/classify", json={"texts": [pool[n % len(pool)]]})
                    statuses[r.status_code] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - start
    return {
        "rps": statuses[200] / elapsed,
        "statuses": statuses,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
    }


async def open_loop(
    base: str,
    pool: list[str],
    rate: float,
    seconds: float,
    key: str = KEY,
    max_outstanding: int = 2000,
    on_tick=None,
) -> list[tuple[float, float, object]]:
    """Requests at a fixed offered ``rate`` (per second) for ``seconds``, whatever the answers take.

    Returns (sent at, latency, status) per request. Requests that would exceed
    ``max_outstanding`` in flight are not sent and recorded with status "not sent".
    """
    records: list[tuple[float, float, object]] = []
    limits = httpx.Limits(max_connections=max_outstanding, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits, headers=auth(key)) as http:
        begin = time.perf_counter()
        tasks: set[asyncio.Task] = set()

        async def one(n: int, sent: float) -> None:
            try:
                r = await http.post("/v1/classify", json={"texts": [pool[n % len(pool)]]})
                status: object = r.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            records.append((sent - begin, time.perf_counter() - sent, status))

        n = 0
        next_tick = 60.0
        while True:
            due = begin + n / rate
            now = time.perf_counter()
            if due - begin >= seconds:
                break
            if due > now:
                await asyncio.sleep(due - now)
            if on_tick is not None and due - begin >= next_tick:
                on_tick(next_tick)
                next_tick += 60
            if len(tasks) >= max_outstanding:
                records.append((due - begin, 0.0, "not sent"))
            else:
                task = asyncio.create_task(one(n, time.perf_counter()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            n += 1
        if tasks:
            await asyncio.wait(tasks, timeout=150)
    return records


def measure_capacity(server: Server, seconds: float, clients: int) -> float:
    pool = texts()
    asyncio.run(closed_loop(server.base, pool, 4, 10))  # warm-up
    result = asyncio.run(closed_loop(server.base, pool, clients, seconds))
    print(
        f"capacity: {result['rps']:.1f} req/s with {clients} closed-loop clients for {seconds:g} s "
        f"(p50 {ms(result['p50'])} ms, p99 {ms(result['p99'])} ms, statuses {dict(result['statuses'])})",
        flush=True,
    )
    return result["rps"]


def header() -> None:
    print(
        f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average at start {load_average()} (shared machine)",
        flush=True,
    )


# ---------------------------------------------------------------- subcommands


def run_capacity(args) -> None:
    header()
    server = Server(args.server_args)
    try:
        measure_capacity(server, args.seconds, args.clients)
    finally:
        server.stop()


def run_soak(args) -> None:
    header()
    server = Server(args.server_args)
    try:
        capacity = args.capacity or measure_capacity(server, args.capacity_seconds, args.clients)
        rate = args.fraction * capacity
        rss = [(0.0, server.rss)]
        print(f"soak: {rate:.1f} req/s offered ({args.fraction:g} × capacity) for {args.minutes:g} min", flush=True)
        print(f"RSS at start {rss[0][1]:.0f} MB; load average {load_average()}", flush=True)

        def tick(at: float) -> None:
            rss.append((at, server.rss))

        records = asyncio.run(open_loop(server.base, texts(), rate, 60 * args.minutes, on_tick=tick))
        rss.append((60 * args.minutes, server.rss))
        print(f"load average at end {load_average()}; server alive: {server.alive()}")
        print("\n| minute | sent | 200 | errors | p50 ms | p99 ms | RSS MB (end of minute) |")
        print("|---|---|---|---|---|---|---|")
        total = Counter()
        for minute in range(int(args.minutes)):
            rows = [r for r in records if minute * 60 <= r[0] < (minute + 1) * 60]
            ok = [lat for _, lat, s in rows if s == 200]
            statuses = Counter(s for _, _, s in rows)
            total.update(statuses)
            errors = sum(v for k, v in statuses.items() if k != 200)
            mem = next((m for at, m in rss if at >= (minute + 1) * 60), rss[-1][1])
            print(
                f"| {minute + 1} | {len(rows)} | {len(ok)} | {errors} | {ms(pct(ok, 0.5))} | {ms(pct(ok, 0.99))} | {mem:.0f} |"
            )
        print(f"\nall statuses: {dict(total)}; RSS start {rss[0][1]:.0f} MB, end {rss[-1][1]:.0f} MB")
    finally:
        server.stop()


def run_overload(args) -> None:
    header()
    extra = ["--max-queue", str(args.max_queue), "--max-texts", str(min(256, args.max_queue))]
    extra += ["--request-timeout", str(args.request_timeout), *args.server_args]
    server = Server(extra)
    try:
        capacity = args.capacity or measure_capacity(server, args.capacity_seconds, args.clients)
        rate = args.factor * capacity
        base_probe = asyncio.run(probe_health(server.base, 5.0, 10))
        print(f"/health alone: p50 {ms(pct(base_probe, 0.5))} ms, p99 {ms(pct(base_probe, 0.99))} ms")
        print(
            f"overload: {rate:.1f} req/s offered ({args.factor:g} × capacity) for {args.seconds:g} s; "
            f"--max-queue {args.max_queue} --request-timeout {args.request_timeout:g}",
            flush=True,
        )
        rss_start = server.rss

        async def both():
            return await asyncio.gather(
                open_loop(server.base, texts(), rate, args.seconds), probe_health(server.base, 5.0, args.seconds)
            )

        records, health = asyncio.run(both())
        statuses = Counter(s for _, _, s in records)
        by = {k: [lat for _, lat, s in records if s == k] for k in statuses}
        print(f"server alive: {server.alive()}; RSS {rss_start:.0f} → {server.rss:.0f} MB; load avg {load_average()}")
        print("\n| answer | count | share | p50 ms | p99 ms |")
        print("|---|---|---|---|---|")
        for status, count in statuses.most_common():
            lat = by[status]
            print(f"| {status} | {count} | {count / len(records):.1%} | {ms(pct(lat, 0.5))} | {ms(pct(lat, 0.99))} |")
        print(f"| /health probes (5/s) | {len(health)} | | {ms(pct(health, 0.5))} | {ms(pct(health, 0.99))} |")
        after = asyncio.run(closed_loop(server.base, texts(), 2, 10))
        print(f"after the overload: {dict(after['statuses'])}, p50 {ms(after['p50'])} ms")
    finally:
        server.stop()


async def probe_health(base: str, rate: float, seconds: float) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                r = await http.get("/health")
                if r.status_code == 200:
                    out.append(time.perf_counter() - start)
            except httpx.HTTPError:
                out.append(float("inf"))
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - start)))
    return out


def run_fuzz(args) -> None:
    header()
    server = Server(["--max-texts", str(args.max_texts), "--request-timeout", "300", *args.server_args])
    try:
        exe = Path(sys.executable).with_name("schemathesis")
        cmd = [str(exe), "--config-file", str(Path(__file__).with_name("schemathesis.toml")), "--no-color", "run"]
        cmd += [server.base + "/openapi.json", "--checks", "all", "--header", f"Authorization: Bearer {KEY}"]
        cmd += ["--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", "1"]
        cmd += ["--request-timeout", "300", "--output-truncate", "true", "--max-time", str(args.max_seconds)]
        before = _served(httpx.get(server.base + "/metrics", headers=auth()).text)  # readiness polls, not fuzzing
        start = time.time()
        with tempfile.TemporaryDirectory() as scratch:  # schemathesis writes a .schemathesis/ cache in its cwd
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.max_seconds + 600, cwd=scratch)
        elapsed = time.time() - start
        lines = [line[:300] for line in done.stdout.splitlines() if not re.search(r"(.)\1{50}", line)]
        failures = lines.index(next((x for x in lines if "FAILURES" in x), lines[-1]))
        print("\n".join(lines[failures : failures + 40] + ["..."] + lines[-22:]))
        served = _served(httpx.get(server.base + "/metrics", headers=auth()).text)
        served.subtract(before)
        served = +served
        total = sum(served.values())
        fivexx = sum(v for (_, s), v in served.items() if s.startswith("5"))
        print(f"\nschemathesis exit code {done.returncode} in {elapsed:.0f} s")
        print(f"requests the server counted during the run (its own /metrics): {total}, of them 5xx: {fivexx}")
        for (route, status), v in sorted(served.items()):
            print(f"  {route} {status}: {v}")
    finally:
        server.stop()


def _served(metrics: str) -> Counter:
    served: Counter = Counter()
    for route, status, value in re.findall(
        r'^stance_requests_total\{method="[^"]+",route="([^"]+)",status="(\d+)"\} (\S+)$', metrics, re.M
    ):
        served[(route, status)] += int(float(value))
    return served


def _urllib_status(url: str, body: bytes, headers: dict) -> object:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code
    except Exception as exc:  # noqa: BLE001 - reported
        return type(exc).__name__


def _http_client_status(port: int, body: bytes, headers: dict) -> object:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/v1/classify", body=body, headers={**headers, "connection": "close"})
        status = conn.getresponse().status
        conn.close()
        return status
    except Exception as exc:  # noqa: BLE001 - reported
        return type(exc).__name__


def run_abuse(args) -> None:
    header()
    read_timeout = 10.0
    extra = ["--rate-limit", f"{args.rate_limit:g}/s", "--read-timeout", str(read_timeout), *args.server_args]
    server = Server(extra)
    url = server.base + "/v1/classify"
    rows: list[tuple[str, str]] = []
    try:
        payload = {"texts": ["قال الوزير إن بلاده مستعدة للحوار"]}
        checks = [
            ("no key", {}, ""),
            ("wrong key", auth("not-a-key-" + secrets.token_hex(8)), ""),
            ("valid key in the query string", {}, f"?api_key={KEY}"),
            ("valid key in the query string and the header", auth(), f"?token={KEY}"),
            ("key in Basic instead of Bearer", {"authorization": f"Basic {KEY}"}, ""),
        ]
        for name, headers, query in checks:
            r = httpx.post(url + query, json=payload, headers=headers)
            rows.append(
                (
                    name,
                    f"{r.status_code} {r.json()['error']['code']}, WWW-Authenticate: {r.headers.get('www-authenticate')}",
                )
            )
        log_text = Path(server.log.name).read_text()
        rows.append(("key text in the server log after these", "absent" if KEY not in log_text else "PRESENT"))

        big = b'{"texts": ["' + b"a" * 10_000_000 + b'"]}'
        headers = {"content-type": "application/json", **auth()}
        for client, send in (
            ("urllib", lambda: _urllib_status(url, big, headers)),
            ("http.client (whole body, then read)", lambda: _http_client_status(server.port, big, headers)),
            ("httpx", lambda: httpx.post(url, content=big, headers=headers, timeout=60).status_code),
            ("requests", lambda: _requests_status(url, big, headers)),
            ("urllib, no key", lambda: _urllib_status(url, big, {"content-type": "application/json"})),
        ):
            start = time.perf_counter()
            status = send()
            rows.append((f"10 MB body, {client}", f"{status} in {ms(time.perf_counter() - start)} ms"))

        rows += slowloris(server, read_timeout, args.slow_connections)
        rows += flood(server, args.flood_requests, args.rate_limit)
        rows.append(("server alive at the end", str(server.alive())))
    finally:
        server.stop()
    print(
        f"\nserver: --rate-limit {args.rate_limit:g}/s per key, --read-timeout {read_timeout:g} s, shipped stance model"
    )
    print("\n| case | outcome |\n|---|---|")
    for name, outcome in rows:
        print(f"| {name} | {outcome} |")


def _requests_status(url: str, body: bytes, headers: dict) -> object:
    try:
        import requests
    except ImportError:
        return "requests not installed"
    try:
        return requests.post(url, data=body, headers=headers, timeout=60).status_code
    except Exception as exc:  # noqa: BLE001 - reported
        return type(exc).__name__


def slowloris(server: Server, read_timeout: float, n: int) -> list[tuple[str, str]]:
    """``n`` connections dribbling headers, then ``n`` dribbling bodies; /health probed meanwhile."""
    rows = []
    for kind, opening in (
        ("headers", b"POST /v1/classify HTTP/1.1\r\nHost: x\r\n"),
        (
            "body",
            b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + KEY.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        ),
    ):
        conns = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(opening)
            s.setblocking(False)
            conns.append(s)
        start = time.perf_counter()
        closed_at: dict[int, float] = {}
        answers: Counter = Counter()
        health = []
        while time.perf_counter() - start < read_timeout + 5 and len(closed_at) < n:
            for i, s in enumerate(conns):
                if i in closed_at:
                    continue
                try:
                    s.send(b"X" if kind == "headers" else b" ")  # one byte a round: never finishing
                except OSError:
                    closed_at[i] = time.perf_counter() - start
                    continue
                try:
                    data = s.recv(4096)
                    if data:
                        answers[data.split(b"\r\n", 1)[0].decode(errors="replace")] += 1
                    closed_at[i] = time.perf_counter() - start
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[i] = time.perf_counter() - start
            h = time.perf_counter()
            try:
                ok = httpx.get(server.base + "/health", timeout=10).status_code == 200
                health.append(time.perf_counter() - h if ok else float("inf"))
            except httpx.HTTPError:
                health.append(float("inf"))
            time.sleep(0.5)
        for s in conns:
            s.close()
        times = sorted(closed_at.values())
        outcome = (
            f"{len(closed_at)}/{n} closed by the server after {times[0]:.1f}–{times[-1]:.1f} s"
            if times
            else f"0/{n} closed"
        )
        if answers:
            outcome += f" (answers: {dict(answers)})"
        outcome += f"; /health meanwhile p50 {ms(pct(health, 0.5))} ms, max {ms(max(health))} ms"
        rows.append((f"slowloris: {n} connections dribbling {kind} (1 byte / 0.5 s)", outcome))
    return rows


def flood(server: Server, total: int, rate_limit: float) -> list[tuple[str, str]]:
    """``total`` tiny requests from one key as fast as 32 connections go; another key sends 2 req/s meanwhile."""

    async def run():
        flood_statuses: Counter = Counter()
        other: list[tuple[float, object]] = []
        done = asyncio.Event()
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with (
            httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits, headers=auth()) as fl,
            httpx.AsyncClient(base_url=server.base, timeout=60, headers=auth(OTHER_KEY)) as ot,
        ):
            counter = iter(range(total))

            async def flooder():
                for _ in counter:
                    try:
                        r = await fl.post("/v1/classify", json={"texts": ["نعم"]})
                        flood_statuses[r.status_code] += 1
                    except httpx.HTTPError as exc:
                        flood_statuses[type(exc).__name__] += 1

            async def polite():
                pool = texts()
                i = 0
                while not done.is_set():
                    start = time.perf_counter()
                    try:
                        r = await ot.post("/v1/classify", json={"texts": [pool[i % len(pool)]]})
                        other.append((time.perf_counter() - start, r.status_code))
                    except httpx.HTTPError as exc:
                        other.append((time.perf_counter() - start, type(exc).__name__))
                    i += 1
                    await asyncio.sleep(max(0.0, 0.5 - (time.perf_counter() - start)))

            start = time.perf_counter()
            polite_task = asyncio.create_task(polite())
            await asyncio.gather(*(flooder() for _ in range(32)))
            elapsed = time.perf_counter() - start
            done.set()
            await polite_task
        return flood_statuses, other, elapsed

    async def polite_alone() -> list[tuple[float, object]]:
        out = []
        async with httpx.AsyncClient(base_url=server.base, timeout=60, headers=auth(OTHER_KEY)) as ot:
            pool = texts()
            for i in range(30):  # 2 req/s for 15 s, as during the flood
                start = time.perf_counter()
                r = await ot.post("/v1/classify", json={"texts": [pool[i % len(pool)]]})
                out.append((time.perf_counter() - start, r.status_code))
                await asyncio.sleep(max(0.0, 0.5 - (time.perf_counter() - start)))
        return out

    alone = asyncio.run(polite_alone())
    alone_ok = [lat for lat, s in alone if s == 200]
    flood_statuses, other, elapsed = asyncio.run(run())
    ok = [lat for lat, s in other if s == 200]
    return [
        (
            "other key alone, before the flood (2 req/s, 15 s)",
            f"{dict(Counter(s for _, s in alone))}; p50 {ms(pct(alone_ok, 0.5))} ms, p99 {ms(pct(alone_ok, 0.99))} ms",
        ),
        (
            f"{total:,} tiny requests from one key (32 connections)",
            f"{dict(flood_statuses)} in {elapsed:.0f} s ({total / elapsed:.0f} req/s)",
        ),
        (
            "other key during the flood (2 req/s)",
            f"{dict(Counter(s for _, s in other))}; p50 {ms(pct(ok, 0.5))} ms, p99 {ms(pct(ok, 0.99))} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server-args", nargs=argparse.REMAINDER, default=[], help="more `stance serve` flags, last")
    common.add_argument("--clients", type=int, default=8, help="closed-loop clients when measuring capacity")
    common.add_argument("--capacity-seconds", type=float, default=40)
    p = sub.add_parser("capacity", parents=[common])
    p.add_argument("--seconds", type=float, default=40)
    p.set_defaults(run=run_capacity)
    p = sub.add_parser("soak", parents=[common])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--fraction", type=float, default=0.8, help="offered rate as a fraction of measured capacity")
    p.add_argument("--capacity", type=float, help="req/s (skip measuring)")
    p.set_defaults(run=run_soak)
    p = sub.add_parser("overload", parents=[common])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--factor", type=float, default=3.0)
    p.add_argument("--capacity", type=float)
    p.add_argument("--max-queue", type=int, default=32)
    p.add_argument("--request-timeout", type=float, default=10)
    p.set_defaults(run=run_overload)
    p = sub.add_parser("fuzz", parents=[common])
    p.add_argument("--max-examples", type=int, default=100)
    p.add_argument("--max-texts", type=int, default=32, help="keeps each generated request's inference short")
    p.add_argument("--max-seconds", type=int, default=1200)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=run_fuzz)
    p = sub.add_parser("abuse", parents=[common])
    p.add_argument("--rate-limit", type=float, default=5)
    p.add_argument("--slow-connections", type=int, default=200)
    p.add_argument("--flood-requests", type=int, default=10_000)
    p.set_defaults(run=run_abuse)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
