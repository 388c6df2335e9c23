"""Cross-request batching: concurrent requests share one inference batch on the worker thread."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from tests.helpers.fixtures import BATCHED
from textsiam.errors import DataError
from textsiam.serve.batcher import Batcher
from textsiam.serve.limits import ApiError, Limits

TEXTS = ["a man plays", "a dog runs in the park", "cheese", "two children read a book"]


def _run(model, limits: Limits, jobs: list[tuple[list[str], list[str]]], finish):
    async def main():
        batcher = Batcher(model, limits)
        await batcher.start()
        try:
            out = await asyncio.gather(*(batcher.submit(a, b, finish) for a, b in jobs), return_exceptions=True)
        finally:
            await batcher.stop()
        return out, batcher

    return asyncio.run(main())


def test_concurrent_requests_run_as_one_batch_on_the_worker_thread(twin):
    threads = set()

    def finish(u, v):
        threads.add(threading.current_thread().name)
        return twin.score(u, v).tolist()

    jobs = [([TEXTS[i % 4]], [TEXTS[(i + 1) % 4]]) for i in range(16)]
    out, batcher = _run(twin, Limits(max_batch=256), jobs, finish)
    assert batcher.batches == 1 and batcher.jobs == 16
    assert threads == {"textsiam-inference_0"}
    expected = twin.similarity_scores([a[0] for a, _ in jobs], [b[0] for _, b in jobs])
    assert np.allclose([o[0] for o in out], expected, atol=BATCHED)  # jobs batched together: helpers/fixtures.py


def test_max_batch_caps_the_texts_per_batch(twin):
    jobs = [([t], [t]) for t in TEXTS * 4]  # 16 jobs of 2 texts
    _, batcher = _run(twin, Limits(max_batch=4), jobs, lambda u, v: None)
    assert batcher.batches == 8


def test_a_failing_job_fails_alone(twin):
    def finish(u, v):
        if len(u) == 2:
            raise ValueError("bad job")
        return len(u)

    out, _ = _run(twin, Limits(), [(TEXTS[:1], []), (TEXTS[:2], []), (TEXTS[:3], [])], finish)
    assert out[0] == 1 and isinstance(out[1], ValueError) and out[2] == 3


def test_a_full_queue_answers_429_with_retry_after(twin):
    async def main():
        batcher = Batcher(twin, Limits(max_pending=1, retry_after_s=3))
        await batcher.start()
        gate = threading.Event()
        first = asyncio.ensure_future(batcher.submit(TEXTS[:1], [], lambda u, v: gate.wait(10)))
        await asyncio.sleep(0.05)  # the first job is now running on the worker
        second = asyncio.ensure_future(batcher.submit(TEXTS[:1], [], lambda u, v: 2))
        await asyncio.sleep(0)
        with pytest.raises(ApiError, match="busy") as refused:
            await batcher.submit(TEXTS[:1], [], lambda u, v: 3)
        assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "3"}
        gate.set()
        assert await first is True and await second == 2
        await batcher.stop()

    asyncio.run(main())


def test_a_job_the_model_refuses_fails_alone_and_the_others_get_their_embeddings(twin):
    """A text the routes' checks let through but the model refuses fails the merged batch; each job then runs alone."""
    jobs = [([TEXTS[0]], [TEXTS[1]]), ([""], [TEXTS[2]]), ([TEXTS[3]], [TEXTS[0]])]
    out, batcher = _run(twin, Limits(), jobs, lambda u, v: twin.score(u, v).tolist())
    assert batcher.batches == 1 and batcher.retried == 1
    assert isinstance(out[1], DataError) and "empty" in str(out[1])
    expected = twin.similarity_scores([TEXTS[0], TEXTS[3]], [TEXTS[1], TEXTS[0]])
    assert np.allclose([out[0][0], out[2][0]], expected, atol=1e-5)


def test_a_batch_that_fails_as_a_whole_fails_each_job_with_the_error(twin, monkeypatch):
    monkeypatch.setattr(twin, "encode", lambda *a, **k: (_ for _ in ()).throw(MemoryError("out of memory")))
    out, batcher = _run(twin, Limits(), [(TEXTS[:1], []), (TEXTS[1:2], [])], lambda u, v: 1)
    assert batcher.retried == 1 and all(isinstance(o, MemoryError) for o in out)


def test_each_batch_is_observed_with_its_texts_and_requests(twin):
    seen = []

    async def main():
        batcher = Batcher(twin, Limits(), observe=lambda texts, requests, seconds: seen.append((texts, requests)))
        await batcher.start()
        await asyncio.gather(*(batcher.submit([t], [t, t], lambda u, v: None) for t in TEXTS))
        await batcher.stop()

    asyncio.run(main())
    assert seen == [(12, 4)]  # 4 jobs of 3 texts, merged into one batch


def _staggered(twin, limits: Limits, delays: list[float]) -> list[int]:
    """Submit one job after each delay (seconds after the previous one); the requests of each batch run."""
    seen = []

    async def main():
        batcher = Batcher(twin, limits, observe=lambda texts, requests, seconds: seen.append(requests))
        await batcher.start()
        waiting = []
        for delay in delays:
            await asyncio.sleep(delay)
            waiting.append(asyncio.ensure_future(batcher.submit(TEXTS[:1], TEXTS[1:2], lambda u, v: None)))
        await asyncio.gather(*waiting)
        await batcher.stop()

    asyncio.run(main())
    return seen


def test_requests_arriving_within_the_window_of_each_other_join_one_batch(twin):
    # callers answered together come back a few ms apart: they must form one batch, not two that alternate. Here
    # they span 420 ms, twice the window, each within 60 ms of the last: a 200 ms window leaves room for a loaded
    # machine's late timers (waiting one window after the first job, as the batcher once did, took 4)
    assert _staggered(twin, Limits(window_ms=200), [0.0] + [0.06] * 7) == [8]
    # a silence longer than the window closes the batch: two batches
    assert _staggered(twin, Limits(window_ms=30), [0.0, 0.0, 0.5, 0.0]) == [2, 2]


def test_a_steady_stream_is_cut_after_ten_windows(twin):
    from textsiam.serve.batcher import GATHER_WINDOWS

    # a job every 10 ms for 1.2 s, window 50 ms: the first batch closes at GATHER_WINDOWS windows (0.5 s), not at
    # the end of the stream (between 0.5 / 0.01 = 50 jobs and the 120 of the whole stream: timers run late)
    assert GATHER_WINDOWS == 10
    seen = _staggered(twin, Limits(window_ms=50), [0.0] + [0.01] * 119)
    assert len(seen) >= 2 and sum(seen) == 120 and seen[0] < 100
