"""``textsiam search --rerank CROSS``: the twin retrieves, the cross model reorders its top hits; a cross model has no
embeddings, so encode / search with it as the retriever are clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textsiam.cli.main import main
from textsiam.models.io import build_model, create_model

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food",
         "a woman plays piano", "a red car", "people ride bikes on the street"]  # fmt: skip
QUERIES = ["a man plays music", "a cat and a dog"]


@pytest.fixture
def files(tmp_path, tiny_bert_dir):
    (tmp_path / "corpus.txt").write_text("\n".join(TEXTS) + "\n")
    (tmp_path / "q.txt").write_text("\n".join(QUERIES) + "\n")
    torch.manual_seed(6)
    encoder = {"name": "hf-transformer", "args": {"model_name_or_path": str(tiny_bert_dir)}}
    build_model({"pair_model": "cross", "encoder": encoder}).save(tmp_path / "cross")
    return tmp_path


def _run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_rerank_reorders_the_retrieved_top(capsys, tiny_bert_dir, files):
    code, err = _run(capsys, "search", "--model", tiny_bert_dir, "--corpus", files / "corpus.txt", "--queries",
                     files / "q.txt", "--rerank", files / "cross", "--rerank-top", 5, "--top-k", 3, "--output",
                     files / "out.jsonl", "--quiet")  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in (files / "out.jsonl").read_text().splitlines()]
    twin, cross = create_model(str(tiny_bert_dir)), create_model(str(files / "cross"))
    for line, query in zip(lines, QUERIES):
        retrieved = np.argsort(-twin.similarity_scores([query] * 7, TEXTS), kind="stable")[:5]  # the twin's top 5
        scores = cross.similarity_scores([query] * 5, [TEXTS[i] for i in retrieved])
        expected = [int(retrieved[i]) for i in np.argsort(-scores, kind="stable")[:3]]
        assert [r["id"] for r in line["results"]] == expected
        assert [r["score"] for r in line["results"]] == pytest.approx(sorted(scores)[::-1][:3], abs=1e-6)
        assert all("retrieval_score" in r for r in line["results"])


def test_rerank_needs_a_corpus_and_a_cross_model(capsys, tiny_bert_dir, files):
    code, err = _run(capsys, "search", "--model", tiny_bert_dir, "--index", files / "idx", "--queries",
                     files / "q.txt", "--rerank", files / "cross", "--output", files / "o.jsonl")  # fmt: skip
    assert code == 2 and "--rerank needs --corpus" in err
    code, err = _run(capsys, "search", "--model", tiny_bert_dir, "--corpus", files / "corpus.txt", "--queries",
                     files / "q.txt", "--rerank", tiny_bert_dir, "--output", files / "o.jsonl")  # fmt: skip
    assert code == 2 and "must be a cross model" in err


def test_a_cross_model_cannot_encode_or_retrieve(capsys, files):
    code, err = _run(capsys, "encode", "--model", files / "cross", "--input", files / "corpus.txt", "--output",
                     files / "e.npy")  # fmt: skip
    assert code == 2 and "a cross-encoder has no embeddings" in err
    code, err = _run(capsys, "search", "--model", files / "cross", "--corpus", files / "corpus.txt", "--queries",
                     files / "q.txt", "--output", files / "o.jsonl")  # fmt: skip
    assert code == 2 and "a cross-encoder has no embeddings" in err
