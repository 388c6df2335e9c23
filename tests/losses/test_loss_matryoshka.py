"""The Matryoshka wrapper and multiple-negatives with extra negatives, against brute-force loops."""

from __future__ import annotations

import math

import pytest
import torch

from textsiam.errors import ConfigError, DataError
from textsiam.losses import build_loss


def cos(x: list[float], y: list[float]) -> float:
    dot = sum(a * b for a, b in zip(x, y))
    return dot / (math.sqrt(sum(a * a for a in x)) * math.sqrt(sum(b * b for b in y)))


def mnr_loop(u, v, labels, negatives=None, scale=20.0) -> float:
    """-log softmax of each anchor's own positive among every v and every extra negative, averaged over anchors."""
    candidates = list(v) + ([row for rows in negatives for row in rows] if negatives is not None else [])
    terms = []
    for i, anchor in enumerate(u):
        if labels[i] < 0.5:
            continue
        logits = [scale * cos(anchor, c) for c in candidates]
        top = max(logits)
        terms.append(-(logits[i] - top - math.log(sum(math.exp(s - top) for s in logits))))
    return sum(terms) / len(terms)


def data(seed: int, n: int = 5, dim: int = 8, k: int = 2):
    g = torch.Generator().manual_seed(seed)
    shape = (n, dim)
    u, v = torch.randn(shape, generator=g, dtype=torch.float64), torch.randn(shape, generator=g, dtype=torch.float64)
    negatives = torch.randn(n, k, dim, generator=g, dtype=torch.float64)
    return u, v, torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0], dtype=torch.float64)[:n], negatives


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiple_negatives_with_extra_negatives_matches_the_loop(seed):
    u, v, labels, negatives = data(seed)
    got = build_loss("multiple-negatives")(u, v, labels, negatives).item()
    # float64 both ways, same formula: only summation order differs (~1e-15 relative)
    assert got == pytest.approx(mnr_loop(u.tolist(), v.tolist(), labels.tolist(), negatives.tolist()), rel=1e-10)
    assert got > build_loss("multiple-negatives")(u, v, labels).item()  # more negatives, larger loss


@pytest.mark.parametrize("seed", [0, 1])
def test_matryoshka_sums_the_inner_loss_over_prefixes(seed):
    u, v, labels, negatives = data(seed)
    loss = build_loss("matryoshka", loss="multiple-negatives", dims=[8, 4, 2], weights=[1.0, 0.5, 2.0])
    expected = sum(
        w * mnr_loop(u[:, :m].tolist(), v[:, :m].tolist(), labels.tolist(), negatives[..., :m].tolist())
        for m, w in ((8, 1.0), (4, 0.5), (2, 2.0))
    )
    assert loss(u, v, labels, negatives).item() == pytest.approx(expected, rel=1e-10)  # float64, as above


def test_matryoshka_default_dims_halve_the_embedding():
    u, v, labels, _ = data(0)
    loss = build_loss("matryoshka", loss="cosine")
    inner = build_loss("cosine")
    expected = sum(inner(u[:, :m], v[:, :m], labels) for m in (8, 4, 2, 1))
    assert loss(u, v, labels).item() == pytest.approx(expected.item(), rel=1e-12)  # the same float64 ops
    assert loss.in_batch is False and build_loss("matryoshka").in_batch is True


def test_matryoshka_errors():
    with pytest.raises(ConfigError, match=r"loss 'matryoshka': dims\[1\] must be a positive integer, got 0"):
        build_loss("matryoshka", dims=[64, 0])
    with pytest.raises(ConfigError, match="loss 'matryoshka': weights must be 2 numbers >= 0"):
        build_loss("matryoshka", dims=[8, 4], weights=[1.0])
    with pytest.raises(ConfigError, match="wraps an embedding loss; 'bce' takes scores"):
        build_loss("matryoshka", loss="bce")
    with pytest.raises(DataError, match=r"dims \[384, 64\] go beyond the embedding dimension 8"):
        build_loss("matryoshka", dims=[384, 64])(*data(0)[:3])
    with pytest.raises(ConfigError, match="unknown loss 'cosnt'"):
        build_loss("matryoshka", loss="cosnt")


def test_matryoshka_config_round_trips():
    loss = build_loss("matryoshka", loss="cosent", loss_args={"scale": 10.0}, dims=[384, 128], weights=[1, 1])
    config = loss.get_config()
    assert config == {"loss": "cosent", "loss_args": {"scale": 10.0}, "dims": [384, 128], "weights": [1.0, 1.0]}
    assert build_loss("matryoshka", **config).get_config() == config
