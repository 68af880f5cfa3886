"""Micro-batching: requests that arrive together share one forward pass.

Each :class:`MicroBatcher` owns one model. Callers ``await submit(texts)``;
a background task gathers the texts of every request waiting in the queue
(up to ``max_batch`` texts, waiting at most ``max_wait_ms`` after the first),
runs the model once in a worker thread, and hands each request its slice.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Queue + single worker thread around ``classifier.predict``."""

    def __init__(
        self, classifier, max_batch: int = 64, max_wait_ms: float = 5.0, executor: ThreadPoolExecutor | None = None
    ) -> None:
        self.classifier = classifier
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="stance-infer")
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self.batches_run = 0
        self.texts_run = 0

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

    async def submit(self, texts: list[str]) -> list[dict[str, Any]]:
        if self._queue is None:
            raise RuntimeError("batcher not started")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(texts, future))
        return await future

    async def run_in_thread(self, fn, *args):
        """Run other model work (e.g. article mode) on the same inference thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._queue is not None
        while True:
            jobs = [await self._queue.get()]
            size = len(jobs[0].texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    break
                jobs.append(job)
                size += len(job.texts)
            jobs = [j for j in jobs if not j.future.cancelled()]
            if not jobs:
                continue
            texts = [t for j in jobs for t in j.texts]
            try:
                results = await loop.run_in_executor(self.executor, self.classifier.predict, texts)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                logger.exception("inference failed")
                for j in jobs:
                    if not j.future.done():
                        j.future.set_exception(exc)
                continue
            self.batches_run += 1
            self.texts_run += len(texts)
            start = 0
            for j in jobs:
                if not j.future.done():
                    j.future.set_result(results[start : start + len(j.texts)])
                start += len(j.texts)
