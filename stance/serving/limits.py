"""Service limits as ASGI layers: request bodies, per-client rate limits, and slow clients.

- :func:`reject` answers a request the service will not run *without closing on
  unread data*: it sends the whole response, then reads and discards the rest of
  the request body (up to a bound in bytes and seconds, like nginx's lingering
  close) before it ends the response with ``Connection: close``. Closing a socket
  that still holds unread bytes makes the kernel send a TCP reset, and a client
  that writes its whole body before it reads (Python's urllib, ``requests`` with
  ``Connection: close``) then sees "connection reset by peer" or "broken pipe"
  instead of the answer.
- :class:`BodySizeLimit`: 413 for bodies over the limit (declared or streamed),
  408 for bodies that arrive too slowly.
- :class:`RateLimit`: a token bucket per API key (or per client address when the
  server has no keys); 429 with ``Retry-After``.
- :func:`header_timeout_protocol`: uvicorn's h11 protocol with a deadline for a
  request's headers (slowloris); uvicorn itself has none.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from stance.errors import StanceError

logger = logging.getLogger(__name__)

STATE_CLIENT = "stance.client"  # scope["state"] key: who is asking (set by the auth layer)
STATE_STARTED = "stance.started"  # scope["state"] key: loop time the request's headers arrived


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


@dataclass
class DrainPolicy:
    """How much of a refused request's body is read and discarded before the connection closes.

    Attributes:
        max_bytes: read at most this much; a declared larger body is not read at all.
        max_seconds: stop reading after this long (slow senders).
    """

    max_bytes: int = 16 * 1024 * 1024
    max_seconds: float = 5.0


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value
    return None


def declared_length(scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


def has_body(scope) -> bool:
    length = declared_length(scope)
    return bool(length) or _header(scope, b"transfer-encoding") is not None


async def drain(receive, policy: DrainPolicy, already: int = 0) -> bool:
    """Read and discard the request body; True when it was read to its end within the policy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.max_seconds
    seen = already
    while seen <= policy.max_bytes:
        left = deadline - loop.time()
        if left <= 0:
            return False
        try:
            message = await asyncio.wait_for(receive(), left)
        except TimeoutError:
            return False
        if message["type"] == "http.disconnect":
            return False
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


async def reject(scope, receive, send, response: Response, policy: DrainPolicy, read: int = 0) -> None:
    """Send ``response`` to a request whose body (``read`` bytes of it consumed so far) is not wanted.

    Requests without a body get the response as usual. Otherwise the response
    goes out in full with ``Connection: close``, the rest of the body is read and
    dropped within ``policy``, and only then does the response end (and uvicorn
    close the connection) — so the client has finished writing and reads the
    answer. A client that sent ``Expect: 100-continue`` has not sent its body and
    will not: it gets the answer at once.
    """
    if not has_body(scope):
        return await response(scope, receive, send)
    response.headers["connection"] = "close"
    expects = (_header(scope, b"expect") or b"").lower() == b"100-continue"
    length = declared_length(scope)
    readable = not expects and (length is None or length <= policy.max_bytes)

    async def hold_the_end(message):
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            message = {**message, "more_body": True}
        await send(message)

    await response(scope, receive, hold_the_end)
    if readable:
        finished = await drain(receive, policy, read)
        if not finished:
            logger.info("closing a connection with an unread request body (over the drain bound)")
    await send({"type": "http.response.body", "body": b"", "more_body": False})


class BodySizeLimit:
    """ASGI layer: 413 for request bodies over ``limit`` bytes, declared or streamed; 408 if too slow.

    The body is read here (it is small by construction) and replayed to the app,
    so a chunked upload that grows past the limit is stopped at the limit.
    """

    def __init__(self, app, limit: int, read_timeout: float | None = None, drain: DrainPolicy | None = None) -> None:
        self.app, self.limit, self.read_timeout = app, limit, read_timeout
        self.policy = drain or DrainPolicy()

    def _too_big(self) -> JSONResponse:
        return error_response(413, "body_too_large", f"request body over {self.limit} bytes (max_body_bytes)")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = declared_length(scope)
        if declared is not None and declared > self.limit:
            return await reject(scope, receive, send, self._too_big(), self.policy)
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout if self.read_timeout else math.inf
        body = bytearray()
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                slow = error_response(
                    408, "body_timeout", f"the request body did not arrive within {self.read_timeout:g} s"
                )
                slow.headers["connection"] = "close"
                return await slow(scope, receive, send)
            if message["type"] == "http.disconnect":
                return None  # the client left: nothing to answer
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await reject(scope, receive, send, self._too_big(), self.policy, read=len(body))
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


def parse_rate(text: str) -> float:
    """``"10/s"``, ``"600/min"``, ``"5000/h"`` or ``"10"`` (per second) to requests per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise StanceError(f"--rate-limit {text!r}: write requests per time, e.g. 10/s, 600/min or 5000/h")
    per = {"m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}.get(match.group(2) or "s", 1)
    return float(match.group(1)) / per


class TokenBuckets:
    """One token bucket per client: ``rate`` tokens a second, holding at most ``burst``.

    At most ``max_clients`` buckets are kept (least recently used dropped, which
    hands that client a full bucket again), so spraying many addresses cannot
    grow memory without bound.
    """

    def __init__(self, rate: float, burst: float | None = None, max_clients: int = 10_000, clock=time.monotonic):
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """Take one token; 0 if allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def client_of(scope) -> str:
    """The rate-limited identity: the API key's id when the auth layer set one, else the client address."""
    who = (scope.get("state") or {}).get(STATE_CLIENT)
    if who:
        return who
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


class RateLimit:
    """ASGI layer: a token bucket per client on paths under ``prefixes``; 429 with ``Retry-After``."""

    def __init__(self, app, buckets: TokenBuckets, prefixes: tuple[str, ...] = ("/v1/",), drain=None) -> None:
        self.app, self.buckets, self.prefixes = app, buckets, prefixes
        self.policy = drain or DrainPolicy()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        wait = self.buckets.take(client_of(scope))
        if wait <= 0:
            return await self.app(scope, receive, send)
        retry = max(1, math.ceil(wait))
        limited = error_response(
            429,
            "rate_limited",
            f"over this client's rate limit of {self.buckets.rate:g} requests/s: retry in {retry} s",
            headers={"retry-after": str(retry)},
        )
        return await reject(scope, receive, send, limited, self.policy)


def header_timeout_protocol(seconds: float):
    """uvicorn's h11 protocol with a deadline for each request's headers (a defence against slowloris).

    The clock starts when a connection opens and again when a response ends on
    a kept-alive connection; a request whose headers are not complete in time has
    its connection closed. (Idle kept-alive connections already close after
    uvicorn's ``timeout_keep_alive``, but any byte resets that timer.)
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _cycle_seen = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                logger.info("closing a connection whose request headers took over %g s", seconds)
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and self.cycle is not self._cycle_seen:
                self._cycle_seen = self.cycle  # a request's headers are complete
                self._disarm()

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm()  # waiting for the next request's headers (a pipelined one disarms it at once)
            super().on_response_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutH11Protocol
