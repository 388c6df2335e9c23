"""Cross-request batching: requests that arrive together are run as one inference batch on a single worker thread.

The event loop never blocks on torch, the model (and its tokenizer, which is not safe to share between threads) is
only ever used from that one thread, and a burst of small requests costs a few large forward passes instead of
many small ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

from textsiam.models.base import PairModel
from textsiam.osmem import trim_heap
from textsiam.serve.limits import ApiError, Limits

Finish = Callable[[torch.Tensor, torch.Tensor], Any]
Encoded = tuple[torch.Tensor, torch.Tensor]  # (embeddings (n, dim), tokens per text (n,))
Observe = Callable[[int, int, float], None]  # (texts, requests, seconds) of one inference batch


@dataclass
class Job:
    """Texts for the left and the right tower, and what to make of their embeddings (run on the worker thread);
    ``count_tokens``: answer ``(finish(...), tokens of the job's texts)``, counted by the batch that encoded them."""

    left: list[str]
    right: list[str]
    finish: Finish
    future: asyncio.Future
    count_tokens: bool = False

    @property
    def size(self) -> int:
        return len(self.left) + len(self.right)


GATHER_WINDOWS = 10
"""A batch stops gathering this many ``window_ms`` after its first job (2 ms: 20 ms), however steadily jobs arrive."""


class Batcher:
    """Collects jobs while they arrive within ``limits.window_ms`` of each other (up to ``limits.max_batch`` texts),
    encodes all their texts in one call per tower on the worker thread, then hands each job its slice of the
    embeddings. A merged batch that fails is run again job by job: one request's bad input never fails another
    request.
    ``observe(texts, requests, seconds)`` is called after each batch (the service's metrics)."""

    def __init__(
        self, model: PairModel, limits: Limits, encode_batch_size: int = 64, observe: Observe | None = None
    ) -> None:
        self.model, self.limits, self.encode_batch_size = model, limits, encode_batch_size
        self.observe = observe
        self.batches = self.jobs = self.retried = 0  # retried: merged batches that failed and ran job by job
        self._queue: asyncio.Queue[Job] | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="textsiam-inference")
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    @property
    def pending(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def submit(self, left: list[str], right: list[str], finish: Finish, count_tokens: bool = False) -> Any:
        """Queue one request's texts; returns ``finish(left embeddings, right embeddings)``, or with
        ``count_tokens`` ``(that, the number of tokens in the request's texts)`` without tokenizing them again."""
        if self._queue is None:
            raise ApiError(503, "the service is not running (start it with `textsiam serve`)", kind="server_error")
        if self._queue.qsize() >= self.limits.max_pending:
            raise ApiError(
                429,
                f"the service is busy ({self.limits.max_pending} requests queued); retry after "
                f"{self.limits.retry_after_s} s (the Retry-After header)",
                kind="rate_limit_error",
                headers={"Retry-After": str(self.limits.retry_after_s)},
            )
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(Job(left, right, finish, future, count_tokens))
        return await future

    async def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` on the worker thread (the one thread that uses the model), outside the merged batches: a
        cross-encoder's pairs, which have no per-text embeddings to merge."""
        if self._executor is None:
            raise ApiError(503, "the service is not running (start it with `textsiam serve`)", kind="server_error")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _collect(self) -> list[Job]:
        """The next batch: the first queued job, then every job that is queued or arrives within ``window_ms`` of
        the previous one, up to ``max_batch`` texts and at most ``GATHER_WINDOWS`` windows after the first.

        Waiting on arrivals rather than taking only what is queued matters under load: the callers answered by
        the batch that just finished send their next request a few milliseconds later, and taking only the queue
        split them into two groups that alternated, each request waiting for the other group's batch and then its
        own (concurrency 32, single pairs: p99 up to 2.4x the median). Gathered, they form one batch."""
        loop = asyncio.get_running_loop()
        batch = [await self._queue.get()]
        size, gap = batch[0].size, self.limits.window_ms / 1000
        deadline = loop.time() + gap * GATHER_WINDOWS
        while size < self.limits.max_batch:
            if self._queue.empty():
                wait = min(gap, deadline - loop.time())
                if wait <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), wait)
                except TimeoutError:
                    break
            else:
                job = self._queue.get_nowait()
            batch.append(job)
            size += job.size
        return batch

    async def _loop(self) -> None:
        while True:
            batch = await self._collect()
            started = time.perf_counter()
            results = await self._results(batch)
            self.batches += 1
            self.jobs += len(batch)
            if self.observe is not None:
                self.observe(sum(job.size for job in batch), len(batch), time.perf_counter() - started)
            for job, (ok, value) in zip(batch, results):
                if job.future.done():  # the caller went away
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)

    async def _results(self, batch: list[Job]) -> list[tuple[bool, Any]]:
        """Run the merged batch; if it fails as a whole, run each job alone, so that a job whose texts the model
        refuses (or that runs out of memory) fails alone and the others batched with it still get their answers."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._run, batch)
        except Exception as err:
            if len(batch) == 1:
                return [(False, err)]
        self.retried += 1
        results = []
        for job in batch:
            try:
                results += await loop.run_in_executor(self._executor, self._run, [job])
            except Exception as err:
                results.append((False, err))
        return results

    def _run(self, batch: list[Job]) -> list[tuple[bool, Any]]:
        with torch.inference_mode():
            (u_all, tu), (v_all, tv) = self._encode(
                [t for j in batch for t in j.left], [t for j in batch for t in j.right]
            )
            out, i, k = [], 0, 0
            for job in batch:
                left, right = slice(i, i + len(job.left)), slice(k, k + len(job.right))
                i, k = left.stop, right.stop
                try:
                    value = job.finish(u_all[left], v_all[right])
                    out.append((True, (value, int(tu[left].sum() + tv[right].sum())) if job.count_tokens else value))
                except Exception as err:
                    out.append((False, err))
        trim_heap()  # glibc keeps the freed tensors of ever-changing shapes: RSS grew ~60 KB a request
        return out

    def _encode(self, left: list[str], right: list[str]) -> tuple[Encoded, Encoded]:
        """``(embeddings, tokens per text)`` of each side; the tokens come from the encode's own batches."""
        model, bs = self.model, self.encode_batch_size
        if model.left is model.right and left and right:  # twin: one call, one length sort over both sides
            both, tokens = model.encode(left + right, "left", bs, return_tokens=True)
            n = len(left)
            return (both[:n], tokens[:n]), (both[n:], tokens[n:])
        return model.encode(left, "left", bs, return_tokens=True), model.encode(right, "right", bs, return_tokens=True)
