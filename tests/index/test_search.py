from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import BATCHED
from textsiam.encoders import HfTextEncoder
from textsiam.errors import ConfigError
from textsiam.index import build_index, exact_top_k, load_index, search
from textsiam.index.store import INDEX_FILES
from textsiam.models import PseudoSiameseModel, create_model
from textsiam.registry import SIMILARITIES

CORPUS = [
    "a man plays the guitar",
    "a dog runs in the park",
    "two children read a book",
    "the cat eats food",
    "a woman plays piano",
    "a red car on the street",
    "people ride bikes",
]
QUERIES = ["a man is playing a guitar", "a cat eats", "children reading"]


@pytest.mark.parametrize("similarity", SIMILARITIES.names())
def test_chunked_top_k_equals_the_full_score_matrix(similarity):
    gen = torch.Generator().manual_seed(0)
    q, c = torch.randn(37, 8, generator=gen), torch.randn(101, 8, generator=gen)
    scores, pos = exact_top_k(q.numpy(), c.numpy(), similarity, 5, query_chunk=7, corpus_chunk=16)
    full = SIMILARITIES.build(similarity).pairwise(q, c)  # (37, 101)
    ref = full.topk(5, dim=1)
    np.testing.assert_array_equal(pos, ref.indices.numpy())
    np.testing.assert_allclose(scores, ref.values.numpy(), rtol=BATCHED, atol=BATCHED)  # chunked matmuls vs one


def test_top_k_larger_than_the_corpus_returns_every_row():
    scores, pos = exact_top_k(np.eye(2, dtype=np.float32), np.eye(3, 2, dtype=np.float32), "dot", 10)
    assert pos.shape == (2, 3) and pos[0, 0] == 0 and pos[1, 0] == 1


def test_search_ranks_the_corpus_like_brute_force(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir))
    found = search(model, QUERIES + [CORPUS[3]], CORPUS, top_k=3)
    sims = model.similarity.pairwise(model.encode(QUERIES + [CORPUS[3]]), model.encode(CORPUS, side="right"))
    for row, hits in zip(sims, found):  # a random tiny BERT gives near-equal cosines: compare scores, not order
        np.testing.assert_allclose([h["score"] for h in hits], row.topk(3).values.numpy(), atol=BATCHED)
        np.testing.assert_allclose([h["score"] for h in hits], row[[h["id"] for h in hits]].numpy(), atol=BATCHED)
    assert found[-1][0]["id"] == 3 and found[-1][0]["score"] == pytest.approx(1.0, abs=BATCHED)  # itself, cosine 1


def test_pseudo_siamese_queries_go_left_and_the_corpus_right(tiny_bert_dir):
    torch.manual_seed(0)
    left, right = HfTextEncoder(str(tiny_bert_dir)), HfTextEncoder(str(tiny_bert_dir), pooling="max")
    model = PseudoSiameseModel(left, right, projection_dim=8, similarity="dot")
    found = search(model, QUERIES, CORPUS, top_k=len(CORPUS))
    expected = model.encode(QUERIES, side="left") @ model.encode(CORPUS, side="right").T  # (queries, corpus)
    swapped = model.encode(QUERIES, side="right") @ model.encode(CORPUS, side="left").T
    got = torch.tensor([[h["score"] for h in sorted(hits, key=lambda h: h["id"])] for hits in found])
    # dot scores of 8-dim projections, |score| < 1 here: BATCHED (helpers/fixtures.py)
    torch.testing.assert_close(got, expected, atol=BATCHED, rtol=BATCHED)
    assert not torch.allclose(got, swapped, atol=1e-2)  # the towers differ, so the side matters: O(1) apart
    assert all([h["score"] for h in hits] == sorted([h["score"] for h in hits], reverse=True) for hits in found)


def test_index_folder_has_exactly_the_served_format(tiny_bert_dir, tmp_path):
    model = create_model(str(tiny_bert_dir), similarity="euclidean")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"doc": f"d{i}", "text": t}) + "\n" for i, t in enumerate(CORPUS)))
    build_index(model, corpus, tmp_path / "idx", model_name="tiny", id_column="doc")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == sorted(INDEX_FILES)
    meta = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert meta == {"model": "tiny", "side": "right", "similarity": "euclidean", "count": 7, "dim": 32}
    assert json.loads((tmp_path / "idx" / "ids.json").read_text()) == [f"d{i}" for i in range(7)]
    emb = np.load(tmp_path / "idx" / "embeddings.npy", allow_pickle=False)
    assert emb.dtype == np.float32
    np.testing.assert_allclose(emb, model.encode(CORPUS, side="right").numpy(), atol=BATCHED)
    reused = search(model, QUERIES, load_index(tmp_path / "idx"), top_k=2)
    assert reused == search(model, QUERIES, tmp_path / "idx", top_k=2)
    assert [h["id"] for h in reused[0]] == [f"d{i}" for i in [h["id"] for h in search(model, QUERIES, CORPUS, 2)[0]]]


def test_head_models_are_refused_with_the_reason(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir), head={"name": "mlp-head", "args": {"hidden": 8}})
    with pytest.raises(ConfigError, match="learned head"):
        search(model, QUERIES, CORPUS)


def test_an_index_of_another_similarity_is_refused(tiny_bert_dir, tmp_path):
    build_index(create_model(str(tiny_bert_dir), similarity="dot"), CORPUS, tmp_path / "idx")
    with pytest.raises(ConfigError, match="rebuild"):
        search(create_model(str(tiny_bert_dir)), QUERIES, tmp_path / "idx")


def test_a_bare_string_query_is_refused_not_searched_character_by_character(tiny_bert_dir):
    from textsiam.errors import DataError

    model = create_model(str(tiny_bert_dir))
    with pytest.raises(DataError, match=r"queries is a single str 'dog'.*\['dog'\]"):
        search(model, "dog", CORPUS, top_k=1)  # before: one result list per character
    with pytest.raises(DataError, match="corpus input is a dict"):
        search(model, ["dog"], {"a dog": 1}, top_k=1)
    np_queries = np.array(QUERIES)  # an array of queries is a list of queries
    assert search(model, np_queries, CORPUS, top_k=2) == search(model, QUERIES, CORPUS, top_k=2)
