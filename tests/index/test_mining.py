"""Hard-negative mining against a brute-force ranking of the whole corpus."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textsiam.api import mine_negatives
from textsiam.data import read_pairs
from textsiam.errors import ConfigError
from textsiam.models import create_model

CORPUS = [
    "a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food",
    "a woman plays piano", "a red car on the street", "people ride bikes", "a man sings a song",
    "the dog sleeps", "a boy kicks a ball", "a girl paints a picture", "birds fly over the sea",
]  # fmt: skip
PAIRS = [("a man is playing a guitar", "a man plays the guitar"), ("a cat eats", "the cat eats food"),
         ("kids reading", "two children read a book")]  # fmt: skip


@pytest.fixture(scope="module")
def model(tiny_bert_dir):
    torch.manual_seed(0)
    return create_model(str(tiny_bert_dir)).eval()


def pairs_file(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("text_a\ttext_b\n" + "".join(f"{a}\t{b}\n" for a, b in PAIRS), encoding="utf-8")
    return path


def brute_force(model, anchor, positive, min_rank, max_rank, margin):
    """Every corpus text scored, sorted, the known texts dropped, the rank window and the margin applied."""
    q = model.encode([anchor])
    scores = model.similarity.pairwise(q, model.encode(CORPUS, side="right"))[0].tolist()
    positive_score = model.similarity(q, model.encode([positive], side="right")).item()
    ranked = sorted(((s, t) for s, t in zip(scores, CORPUS) if t not in (anchor, positive)), key=lambda x: -x[0])
    window = ranked[min_rank - 1 : max_rank]
    return [t for s, t in window if margin is None or s <= positive_score - margin]


@pytest.mark.parametrize(("min_rank", "max_rank", "margin"), [(1, 5, None), (2, 8, None), (1, 11, 0.0)])
def test_top_negatives_match_the_brute_force_ranking(model, tmp_path, min_rank, max_rank, margin):
    out = tmp_path / "triplets.tsv"
    stats = mine_negatives(
        model, pairs_file(tmp_path), CORPUS, out, negatives=2, min_rank=min_rank, max_rank=max_rank, margin=margin,
        chunk_size=2,
    )  # fmt: skip
    triplets = read_pairs(out)
    kept = {a: n for a, n in zip(triplets.a, triplets.negatives)}
    for anchor, positive in PAIRS:
        expected = brute_force(model, anchor, positive, min_rank, max_rank, margin)
        if len(expected) < 2:
            assert anchor not in kept
        else:
            assert kept[anchor] == expected[:2]
    assert stats["written"] == len(kept) and stats["written"] + stats["skipped"] == len(PAIRS)


def test_random_sampling_draws_from_the_window_and_is_seeded(model, tmp_path):
    data = read_pairs(pairs_file(tmp_path))
    first = mine_negatives(model, data, CORPUS, negatives=3, max_rank=6, sampling="random", seed=1)["triplets"]
    again = mine_negatives(model, data, CORPUS, negatives=3, max_rank=6, sampling="random", seed=1)["triplets"]
    assert first == again
    for anchor, positive, negatives in first:
        window = brute_force(model, anchor, positive, 1, 6, None)
        assert len(set(negatives)) == 3 and set(negatives) <= set(window)


def test_a_margin_above_every_gap_skips_every_anchor(model, tmp_path):
    stats = mine_negatives(model, read_pairs(pairs_file(tmp_path)), CORPUS, margin=10.0)
    assert stats["written"] == 0 and stats["skipped"] == len(PAIRS) and stats["triplets"] == []


def test_labelled_pairs_mine_only_the_similar_ones(model, tmp_path):
    path = tmp_path / "labelled.tsv"
    path.write_text("text_a\ttext_b\tlabel\nx y\ta man sings a song\t1\nz w\tthe dog sleeps\t0\n", encoding="utf-8")
    stats = mine_negatives(model, read_pairs(path), CORPUS)
    assert [t[0] for t in stats["triplets"]] == ["x y"]


def test_faiss_finds_the_same_negatives_on_a_small_corpus(model, tmp_path):
    pytest.importorskip("faiss")
    data = read_pairs(pairs_file(tmp_path))
    exact = mine_negatives(model, data, CORPUS, negatives=2)["triplets"]
    approx = mine_negatives(model, data, CORPUS, negatives=2, index_type="faiss")["triplets"]
    assert approx == exact  # HNSW over 12 rows visits every row


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"negatives": 0}, "negatives must be an integer >= 1, got 0"),
        ({"min_rank": 5, "max_rank": 2}, r"max_rank must be an integer >= min_rank \(5\), got 2"),
        ({"negatives": 4, "max_rank": 3}, "ranks 1..3 hold 3 candidates, fewer than negatives=4"),
        ({"sampling": "best"}, "sampling must be one of 'top', 'random', got 'best'"),
        ({"margin": "0.1"}, "margin must be a number or None"),
    ],
)
def test_bad_settings_are_refused_before_any_work(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        mine_negatives(None, None, CORPUS, **kwargs)


def test_output_is_atomic_and_untouched_on_error(model, tmp_path):
    out = tmp_path / "t.tsv"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(Exception, match="tab"):
        mine_negatives(model, read_pairs(pairs_file(tmp_path)), CORPUS + ["a\ttab"], out)
    assert out.read_text(encoding="utf-8") == "keep me"
    assert np.array_equal(sorted(p.name for p in tmp_path.iterdir()), ["pairs.tsv", "t.tsv"])
