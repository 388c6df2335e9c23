"""``PairModel.encode(return_tokens=True)``: the tokens of each item, counted on the batches it encoded."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.fixtures import spy_on_tokenizer

TEXTS = ["a man plays the guitar", "cheese", "a man plays the guitar", "two children read a book on a sunny day"]


def _twin(tiny_bert_dir, **args):
    from textsiam.models.io import build_model

    tower = {"name": "hf-transformer", "args": {"model_name_or_path": str(tiny_bert_dir), **args}}
    return build_model({"pair_model": "twin", "encoder": tower}).eval()


@pytest.mark.parametrize("args", [{}, {"long_text": "chunk", "max_length": 6, "chunk_overlap": 1}])
def test_tokens_are_the_attention_mask_counts_of_each_item(tiny_bert_dir, args):
    """Per item and in input order (a repeated text counted each time); a chunked text counts all its windows."""
    model = _twin(tiny_bert_dir, **args)
    vectors, tokens = model.encode(TEXTS, "left", batch_size=2, return_tokens=True)
    assert torch.equal(vectors, model.encode(TEXTS, "left", batch_size=2))
    expected = [int(model.left.collate([t])["attention_mask"].sum()) for t in TEXTS]
    assert tokens.tolist() == expected
    assert sum(expected) == int(model.left.collate(TEXTS)["attention_mask"].sum())


def test_tokens_come_from_the_one_tokenizer_call_of_the_encode(tiny_bert_dir, monkeypatch):
    model = _twin(tiny_bert_dir)
    calls = spy_on_tokenizer(model.left, monkeypatch)
    _, tokens = model.encode(TEXTS, "left", return_tokens=True)
    assert calls == [list(dict.fromkeys(TEXTS))] and len(tokens) == len(TEXTS)


def test_no_items_no_tokens(tiny_bert_dir):
    vectors, tokens = _twin(tiny_bert_dir).encode([], "left", return_tokens=True)
    assert vectors.shape[0] == 0 and tokens.shape == (0,)
