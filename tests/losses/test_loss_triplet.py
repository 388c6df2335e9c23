"""The triplet loss and its batch-hard / batch-semi-hard mining against brute-force loops over all triplets."""

from __future__ import annotations

import math

import pytest
import torch

from textsiam.errors import ConfigError, DataError
from textsiam.losses import build_loss


def dist(x: list[float], y: list[float], distance: str) -> float:
    if distance == "cosine":
        dot = sum(a * b for a, b in zip(x, y))
        return 1.0 - dot / (math.sqrt(sum(a * a for a in x)) * math.sqrt(sum(b * b for b in y)))
    p = 2 if distance == "euclidean" else 1
    return sum(abs(a - b) ** p for a, b in zip(x, y)) ** (1 / p)


def brute_force(items: list[list[float]], classes: list[int], margin: float, mining: str, distance: str) -> float:
    """Loops over every anchor, positive and negative, exactly as the papers state the selection."""
    n = len(items)
    d = [[dist(items[i], items[j], distance) for j in range(n)] for i in range(n)]
    terms = []
    for a in range(n):
        positives = [p for p in range(n) if p != a and classes[p] == classes[a]]
        negatives = [k for k in range(n) if classes[k] != classes[a]]
        if not positives or not negatives:
            continue
        if mining == "batch-hard":
            terms.append(max(0.0, max(d[a][p] for p in positives) - min(d[a][k] for k in negatives) + margin))
            continue
        for p in positives:
            if mining == "all":
                terms += [max(0.0, d[a][p] - d[a][k] + margin) for k in negatives]
                continue
            farther = [d[a][k] for k in negatives if d[a][k] > d[a][p]]
            chosen = min(farther) if farther else max(d[a][k] for k in negatives)
            terms.append(max(0.0, d[a][p] - chosen + margin))
    return sum(terms) / len(terms)


def batch(seed: int, n: int = 6, dim: int = 5, k: int = 0):
    g = torch.Generator().manual_seed(seed)
    u, v = torch.randn(n, dim, generator=g, dtype=torch.float64), torch.randn(n, dim, generator=g, dtype=torch.float64)
    labels = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0], dtype=torch.float64)[:n]
    negatives = torch.randn(n, k, dim, generator=g, dtype=torch.float64) if k else None
    return u, v, labels, negatives


def classes_of(labels: torch.Tensor, k: int) -> list[int]:
    n = len(labels)
    second = [i if labels[i] >= 0.5 else n + i for i in range(n)]
    return list(range(n)) + second + list(range(2 * n, 2 * n + n * k))


@pytest.mark.parametrize("mining", ["all", "batch-hard", "batch-semi-hard"])
@pytest.mark.parametrize("distance", ["cosine", "euclidean", "manhattan"])
@pytest.mark.parametrize("k", [0, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplet_matches_the_brute_force_loop(mining, distance, k, seed):
    u, v, labels, negatives = batch(seed, k=k)
    loss = build_loss("triplet", margin=0.7, distance=distance, mining=mining)
    items = torch.cat([u, v] + ([negatives.reshape(-1, u.shape[1])] if k else [])).tolist()
    expected = brute_force(items, classes_of(labels, k), 0.7, mining, distance)
    # float64 on both sides; the Lp distance adds 1e-12 under the square root (a gradient guard), so ~1e-9 apart
    assert loss(u, v, labels, negatives).item() == pytest.approx(expected, rel=1e-8, abs=1e-8)


def test_semi_hard_picks_a_different_negative_than_batch_hard():
    """A batch where the closest negative is closer than the positive: batch-hard takes it, semi-hard does not."""
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[0.6, 0.8], [-1.0, 0.0]])  # pair 0's positive at cos 0.6; pair 1 is a label-0 pair
    labels = torch.tensor([1.0, 0.0])
    hard = build_loss("triplet", margin=0.1, mining="batch-hard")(u, v, labels)
    semi = build_loss("triplet", margin=0.1, mining="batch-semi-hard")(u, v, labels)
    assert hard.item() != pytest.approx(semi.item())


def test_triplet_trains_the_right_direction():
    u, v, labels, negatives = batch(0, k=1)
    u.requires_grad_(True)
    loss = build_loss("triplet", margin=1.0, mining="all")
    value = loss(u, v, labels, negatives)
    value.backward()
    with torch.no_grad():
        stepped = loss(u - 0.01 * u.grad, v, labels, negatives)
    assert stepped < value


def test_triplet_errors_name_the_problem():
    with pytest.raises(
        ConfigError, match="loss 'triplet': mining must be one of 'all', 'batch-hard', 'batch-semi-hard', got 'hardest'"
    ):
        build_loss("triplet", mining="hardest")
    with pytest.raises(ConfigError, match="loss 'triplet': distance must be one of .*, got 'dot'"):
        build_loss("triplet", distance="dot")
    with pytest.raises(DataError, match="no anchor with both a positive and a negative"):
        build_loss("triplet")(torch.randn(1, 3), torch.randn(1, 3), torch.ones(1))
    with pytest.raises(DataError, match=r"negatives must have shape \(batch, k, dim\) = \(2, k, 3\); got \(2, 3\)"):
        build_loss("triplet")(torch.randn(2, 3), torch.randn(2, 3), torch.ones(2), torch.randn(2, 3))
