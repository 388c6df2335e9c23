"""Training items prepared once (``Encoder.prepare``): a text tower tokenizes every distinct text once, and the
batches it then builds equal the tower's own ``collate`` of the same texts."""

from __future__ import annotations

import pytest
import torch

from textsiam.encoders import HfTextEncoder, LstmEncoder
from textsiam.encoders.prepared import Prepared, TokenTable

TEXTS = [
    "the cat eats the food",
    "a dog",
    "the cat eats the food",  # repeated: tokenized once
    "The Dog runs after a cat and the cat runs after a dog, again and again and again",
    "x",
    "?",
    "a cat and a dog",
]
ROWS = [[0, 1, 2], [3, 4], [5], [6, 3, 0, 5], [1, 1, 2, 4, 6]]


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert set(a) == set(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key], b[key]), (key, a[key], b[key])


@pytest.mark.parametrize("kw", [{}, {"lowercase": True}, {"max_length": 6}])
def test_token_table_batches_equal_the_towers_collate(tiny_bert_dir, kw):
    encoder = HfTextEncoder(str(tiny_bert_dir), **kw)
    table = encoder.prepare(TEXTS)
    assert isinstance(table, TokenTable)
    for rows in ROWS:
        _same(table.features(rows), encoder.collate([TEXTS[i] for i in rows]))
    one_by_one = [int(encoder.collate([t])["attention_mask"].sum()) for t in TEXTS]
    assert table.lengths.tolist() == one_by_one  # token counts, what padding costs
    assert table.tokens == sum(one_by_one) - one_by_one[2]  # the repeated text is stored once


def test_each_distinct_text_is_tokenized_once_in_chunks():
    calls: list[list[str]] = []

    def tokenize(texts: list[str]) -> dict[str, torch.Tensor]:
        calls.append(texts)
        n = [len(t.split()) for t in texts]
        width = max(n)
        ids = torch.tensor([[10 + j for j in range(k)] + [0] * (width - k) for k in n])
        return {"input_ids": ids, "attention_mask": (ids > 0).long()}

    items = ["a b", "c", "a b", "d e f", "c", "g h"]
    table = TokenTable(items, tokenize, {"input_ids": 0}, chunk_size=2)
    assert sorted(t for chunk in calls for t in chunk) == ["a b", "c", "d e f", "g h"]
    assert [len(chunk) for chunk in calls] == [2, 2]
    for rows in ([0, 1], [3, 5, 2], [4]):
        table.features(rows)
    assert len(calls) == 2  # batches never call the tokenizer
    out = table.features([3, 1])
    assert out["input_ids"].tolist() == [[10, 11, 12], [10, 0, 0]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_frozen_and_chunked_towers_and_other_towers_collate_per_batch(tiny_bert_dir):
    frozen = HfTextEncoder(str(tiny_bert_dir), trainable_layers=0)
    chunked = HfTextEncoder(str(tiny_bert_dir), long_text="chunk", max_length=8, chunk_overlap=2)
    lstm = LstmEncoder(embedding_dim=4, hidden=4, min_count=1)
    lstm.fit_vocabulary(TEXTS)
    for encoder in (frozen, chunked, lstm):
        prepared = encoder.prepare(TEXTS)
        assert type(prepared) is Prepared
        assert prepared.lengths.tolist() == [encoder.item_length(t) for t in TEXTS]
    _same(lstm.prepare(TEXTS).features([3, 0]), lstm.collate([TEXTS[3], TEXTS[0]]))
    _same(chunked.prepare(TEXTS).features([3, 0]), chunked.collate([TEXTS[3], TEXTS[0]]))
