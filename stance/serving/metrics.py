"""Prometheus metrics of one app, in its own registry (several apps in one process do not clash).

``GET /metrics`` serves them in the Prometheus text format:

- ``stance_requests_total{route,method,status}`` and
  ``stance_request_duration_seconds{route}`` (histogram), counted by the
  outermost layer, so refused requests (401, 413, 429, 503) are in them too;
  ``route`` is the route's template (``/v1/classify``), ``other`` for unknown paths;
  ``status`` 499 counts requests whose client left before an answer;
- ``stance_queue_texts{task}``: texts admitted and not yet answered;
- ``stance_batch_texts{task}`` (histogram): texts per forward pass;
- ``stance_texts_classified_total{task}``;
- ``stance_requests_in_progress``;
- ``process_*`` (resident memory, CPU seconds, open file descriptors) on Linux.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from stance.serving.limits import STATE_STARTED

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class _QueueCollector(Collector):
    def __init__(self, depths: Callable[[], dict[str, int]]) -> None:
        self.depths = depths

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("stance_queue_texts", "texts admitted and not yet answered", labels=["task"])
        for task, depth in sorted(self.depths().items()):
            family.add_metric([task], depth)
        yield family


class ServiceMetrics:
    """The app's metrics; ``queue_depths`` reports each task's queue at scrape time."""

    def __init__(self, queue_depths: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "stance_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "stance_request_duration_seconds",
            "time from request headers to the end of the response",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge("stance_requests_in_progress", "requests being handled", registry=self.registry)
        self.batch_texts = Histogram(
            "stance_batch_texts", "texts per forward pass", ["task"], buckets=BATCH_BUCKETS, registry=self.registry
        )
        self.texts = Counter("stance_texts_classified", "texts classified", ["task"], registry=self.registry)
        self.registry.register(_QueueCollector(queue_depths))
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, CPU seconds, open fds (Linux)

    def batch_observer(self, task: str) -> Callable[[int], None]:
        histogram, counter = self.batch_texts.labels(task), self.texts.labels(task)

        def observe(n_texts: int) -> None:
            histogram.observe(n_texts)
            counter.inc(n_texts)

        return observe

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class ObserveRequests:
    """Outermost ASGI layer: stamps the request's start time and counts every response by route and status."""

    def __init__(self, app, metrics: ServiceMetrics, routes: Callable[[], list[str]]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes
        self._known: tuple[set[str], tuple[str, ...]] | None = None

    def _route(self, scope) -> str:
        route = scope.get("route")
        if route is not None and getattr(route, "path", None) is not None:
            return route.path or "/"
        if self._known is None:
            paths = self.routes()
            self._known = ({p for p in paths if "{" not in p}, tuple(p + "/" for p in paths if p and p != "/"))
        exact, prefixes = self._known
        path = scope["path"]
        if path in exact:
            return path
        for prefix in prefixes:
            if path.startswith(prefix):
                return prefix[:-1]
        return "other"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        started = loop.time()
        scope.setdefault("state", {})[STATE_STARTED] = started
        status = 0

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, watch)
        except BaseException:
            status = status or 500  # the error layer outside answers 500
            raise
        finally:
            status = status or 499  # no answer: the client closed the connection first (nginx's 499)
            self.metrics.in_progress.dec()
            route = self._route(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"  # bounded label values
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route).observe(loop.time() - started)
