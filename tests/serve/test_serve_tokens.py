"""``/v1/embeddings`` reports the tokens its encode counted: the tokenizer runs once per inference batch."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers.fixtures import spy_on_tokenizer

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install '.[serve]')")
from fastapi.testclient import TestClient  # noqa: E402

from textsiam.serve import create_app  # noqa: E402
from textsiam.serve.batcher import Batcher  # noqa: E402
from textsiam.serve.limits import Limits  # noqa: E402

TEXTS = ["a man plays the guitar", "cheese", "a man plays the guitar", "two children read a book"]


@pytest.fixture
def tokenizer_calls(monkeypatch):
    """Count the calls of a tower's tokenizer (it still tokenizes)."""

    return lambda tower: spy_on_tokenizer(tower, monkeypatch)


@pytest.mark.parametrize("which", ["twin", "pseudo"])
@pytest.mark.parametrize("inputs", [TEXTS, TEXTS[1]], ids=["list", "one text"])
def test_prompt_tokens_are_the_tokenizers_count_from_one_call(request, tokenizer_calls, which, inputs):
    model = request.getfixturevalue(which)
    texts = [inputs] if isinstance(inputs, str) else inputs
    expected = int(model.left.collate(texts)["attention_mask"].sum())
    calls = tokenizer_calls(model.left)
    with TestClient(create_app(model, name="tiny")) as client:
        answer = client.post("/v1/embeddings", json={"input": inputs, "model": "tiny"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"] == {"prompt_tokens": expected, "total_tokens": expected}
    assert calls == [list(dict.fromkeys(texts))]  # one call, over the distinct texts


def test_jobs_batched_together_share_one_tokenizer_call_and_get_their_own_counts(twin, tokenizer_calls):
    jobs = [TEXTS[:2], TEXTS[2:], TEXTS[1:2]]
    expected = [int(twin.left.collate(texts)["attention_mask"].sum()) for texts in jobs]
    calls = tokenizer_calls(twin.left)

    async def main():
        batcher = Batcher(twin, Limits())
        await batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(t, [], lambda u, v: len(u), count_tokens=True) for t in jobs))
        finally:
            await batcher.stop()
            assert batcher.batches == 1

    assert asyncio.run(main()) == [(len(t), n) for t, n in zip(jobs, expected)]
    assert len(calls) == 1
