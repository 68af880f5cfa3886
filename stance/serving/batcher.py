"""Micro-batching: requests that arrive together share one forward pass.

Each :class:`MicroBatcher` owns one model. Callers ``await submit(texts)``;
a background task gathers the texts of every request waiting in the queue
(up to ``max_batch`` texts, waiting at most ``max_wait_ms`` after the first),
runs the model once in a worker thread, and hands each request its slice.

The queue is bounded in texts (``max_queue``): a request that would overflow it
raises :class:`QueueFull` at once, so the service sheds load instead of letting
waits grow without bound. A caller that stops waiting (a deadline, a client that
left) frees its texts' place in the queue at once; texts already in a forward
pass hold their place until it ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue has no room for the request's texts; ``retry_after`` estimates when it will (seconds)."""

    def __init__(self, pending: int, wanted: int, limit: int, retry_after: float) -> None:
        super().__init__(f"{pending} texts queued, {wanted} more would exceed max_queue={limit}")
        self.pending, self.wanted, self.limit, self.retry_after = pending, wanted, limit, retry_after


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future = field(repr=False)
    running: bool = False  # in a forward pass (it can no longer be withdrawn)
    released: bool = False  # its texts no longer count against max_queue


class MicroBatcher:
    """Bounded queue + single worker thread around ``classifier.predict``."""

    def __init__(
        self,
        classifier,
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        executor: ThreadPoolExecutor | None = None,
        max_queue: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.classifier = classifier
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.on_batch = on_batch
        self.executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="stance-infer")
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self.batches_run = 0
        self.texts_run = 0
        self.pending = 0  # texts admitted and not yet answered (queued or in the running forward pass)
        self.texts_per_second = 0.0  # moving average of the worker's throughput

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._worker())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.executor.shutdown(wait=True, cancel_futures=True)

    def _release(self, job: _Job) -> None:
        if not job.released:
            job.released = True
            self.pending -= len(job.texts)

    def retry_after(self, extra: int = 0) -> float:
        """Seconds until ``pending + extra`` texts are likely done at the measured throughput (1 s if unknown)."""
        if self.texts_per_second <= 0:
            return 1.0
        return (self.pending + extra) / self.texts_per_second

    async def submit(self, texts: list[str]) -> list[dict[str, Any]]:
        if self._queue is None:
            raise RuntimeError("batcher not started")
        if self.max_queue is not None and self.pending + len(texts) > self.max_queue:
            raise QueueFull(self.pending, len(texts), self.max_queue, self.retry_after(len(texts)))
        job = _Job(texts, asyncio.get_running_loop().create_future())
        self.pending += len(texts)
        self._queue.put_nowait(job)
        try:
            return await job.future
        finally:
            if not job.running:
                self._release(job)  # given up before its forward pass: its place is free now

    async def run_in_thread(self, fn, *args):
        """Run other model work (e.g. article mode) on the same inference thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _next(self) -> _Job | None:
        assert self._queue is not None
        job = await self._queue.get()
        return None if job.released else job  # released: its caller gave up while it was queued

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._queue is not None
        while True:
            first = await self._next()
            if first is None:
                continue
            jobs = [first]
            size = len(first.texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._next(), timeout)
                except TimeoutError:
                    break
                if job is not None:
                    jobs.append(job)
                    size += len(job.texts)
            jobs = [j for j in jobs if not j.released and not j.future.done()]
            if not jobs:
                continue
            for j in jobs:
                j.running = True
            texts = [t for j in jobs for t in j.texts]
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self.executor, self.classifier.predict, texts)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                logger.exception("inference failed")
                for j in jobs:
                    self._release(j)
                    if not j.future.done():
                        j.future.set_exception(exc)
                continue
            seconds = max(time.perf_counter() - started, 1e-6)
            rate = len(texts) / seconds
            self.texts_per_second = rate if self.texts_per_second <= 0 else 0.8 * self.texts_per_second + 0.2 * rate
            self.batches_run += 1
            self.texts_run += len(texts)
            if self.on_batch is not None:
                self.on_batch(len(texts))
            start = 0
            for j in jobs:
                self._release(j)
                if not j.future.done():
                    j.future.set_result(results[start : start + len(j.texts)])
                start += len(j.texts)
