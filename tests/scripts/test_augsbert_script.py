"""scripts/augsbert_sts.py (Augmented SBERT benchmark): silver pair sampling and the cross-encoder teacher."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from fixtures import RELOADED, load_script
from scipy.stats import spearmanr

from textsiam.data import PairData


@pytest.fixture(scope="module")
def augsbert():
    return load_script("augsbert_sts")


def _pairs(rows) -> PairData:
    a, b, y = zip(*rows)
    ds = Dataset.from_dict({"a": list(a), "b": list(b), "label": [float(v) for v in y]})
    return PairData(ds, label_kind="graded", label_range=(0.0, 5.0))


GOLD = _pairs(
    [
        ("a man plays the guitar", "a man plays guitar", 4.8),
        ("a woman eats food", "a dog runs in the park", 0.2),
        ("two children are playing football", "children play football", 4.2),
        ("a cat sits on the red car", "a cat is sitting on a car", 3.9),
        ("a man rides a horse", "a woman rides a bike", 1.4),
        ("people are talking on the phone", "a man reads a book", 0.4),
        ("a man plays the piano", "a man plays the flute", 2.1),
        ("a plane is taking off", "a big plane is taking off", 4.6),
    ]
)


class BagOfWords:
    """A stand-in embedder with a known geometry: word counts (``silver_pairs`` only calls ``encode``)."""

    def __init__(self, sentences):
        self.vocab = {w: i for i, w in enumerate(sorted({w for s in sentences for w in s.split()}))}

    def encode(self, items, batch_size=64, show_progress=False):
        out = torch.zeros(len(items), len(self.vocab))
        for row, s in enumerate(items):
            for w in s.split():
                out[row, self.vocab[w]] += 1
        return out


def test_silver_pairs_are_new_distinct_nearest_neighbour_pairs(augsbert):
    sentences = sorted(set(GOLD.a) | set(GOLD.b))
    model = BagOfWords(sentences)
    k = 2
    pairs = augsbert.silver_pairs(model, GOLD, top_k=k)
    gold = {frozenset(p) for p in zip(GOLD.a, GOLD.b)}
    keys = [frozenset(p) for p in pairs]
    assert pairs and len(pairs) <= k * len(sentences)
    assert all(len(key) == 2 for key in keys), "a sentence paired with itself"
    assert len(set(keys)) == len(keys), "the same unordered pair twice"
    assert not gold & set(keys), "a gold pair came back as silver"
    assert set().union(*keys) <= set(sentences)
    # wherever a sentence's nearest neighbour is unique, it is its gold partner or one of its silver pairs
    emb = torch.nn.functional.normalize(model.encode(sentences), dim=-1)
    sims = (emb @ emb.T).fill_diagonal_(-2)
    checked = 0
    for i, s in enumerate(sentences):
        top2 = sims[i].topk(2)
        if top2.values[0] - top2.values[1] > 1e-6:
            checked += 1
            assert frozenset((s, sentences[int(top2.indices[0])])) in set(keys) | gold
    assert checked >= len(sentences) // 2
    # and a pair of strangers (no shared word) is never sampled when k is small
    assert frozenset(("a plane is taking off", "people are talking on the phone")) not in set(
        augsbert.silver_pairs(model, GOLD, 1)
    )


def test_cross_encoder_is_symmetric_and_keeps_the_best_epoch(augsbert, tiny_bert_dir, tmp_path):
    cross = augsbert.CrossEncoder(tiny_bert_dir)
    scores = cross.predict(GOLD.a, GOLD.b)
    assert scores.shape == (len(GOLD),) and np.all((scores > 0) & (scores < 1))
    # symmetric: the score averages both orders, so the same forward passes run: float32 ulps of scores in (0, 1)
    np.testing.assert_allclose(scores, cross.predict(GOLD.b, GOLD.a), atol=1e-6)
    log = cross.fit(GOLD, GOLD, epochs=3, batch_size=4, lr=1e-3, seed=0)
    assert [e["epoch"] for e in log] == [1, 2, 3]
    restored = spearmanr(cross.predict(GOLD.a, GOLD.b), GOLD.labels).statistic
    assert restored == pytest.approx(max(e["dev_spearman"] for e in log), abs=RELOADED)  # the best epoch's weights
    cross.save(tmp_path / "ce")
    assert (tmp_path / "ce" / "model.safetensors").exists()
    np.testing.assert_allclose(
        augsbert.CrossEncoder(tmp_path / "ce").predict(GOLD.a, GOLD.b), cross.predict(GOLD.a, GOLD.b), atol=RELOADED
    )
