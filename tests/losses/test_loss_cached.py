"""GradCache (cached-multiple-negatives): the weights get the gradients of the uncached loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from textsiam.errors import ConfigError
from textsiam.losses import build_loss

# Why 1e-5: both paths compute the same float32 gradient; only the order of the sums differs (the cached one adds
# the weight gradients of each mini-batch separately, and the representation gradients pass through one extra
# float32 product). Each partial sum rounds at 6e-8 relative; with gradient entries of size ~0.1-3 and ~10-40 terms
# the two results differ by a few 1e-7 (measured max 5e-7). 1e-5 leaves that 20x headroom, while a real fault (a
# mini-batch dropped, dropout not replayed, a wrong slice of the cached gradient) moves entries by 1e-2 or more.
TOLERANCE = 1e-5


class Tower(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def setting(rows: int = 13, k: int = 0, seed: int = 0):
    torch.manual_seed(seed)
    tower = Tower().train()  # dropout on: the cached path must replay the same masks
    a, b = torch.randn(rows, 6), torch.randn(rows, 6)
    negatives = torch.randn(rows, k, 6)
    labels = (torch.rand(rows) > 0.2).float()
    labels[0] = 1.0

    def embed(chunk):
        out = (tower(a[chunk.start : chunk.stop]), tower(b[chunk.start : chunk.stop]))
        return out + (tower(negatives[chunk.start : chunk.stop]),) if k else out

    return tower, embed, labels


def grads(tower: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in tower.parameters()]


def uncached(embed, labels, rows: int, mini_batch_size: int, symmetric: bool = False) -> torch.Tensor:
    """The plain multiple-negatives loss, with graph, over the embeddings of the same mini-batches in the same
    order (so dropout draws the same masks as the cached loss's first pass); ``loss.backward()`` is the reference."""
    chunks = [range(i, min(i + mini_batch_size, rows)) for i in range(0, rows, mini_batch_size)]
    full = [torch.cat(parts) for parts in zip(*(embed(c) for c in chunks))]
    return build_loss("multiple-negatives", symmetric=symmetric)(full[0], full[1], labels, *full[2:])


@pytest.mark.parametrize("mini_batch_size", [1, 4, 13, 50])
@pytest.mark.parametrize("k", [0, 2])
@pytest.mark.parametrize("symmetric", [False, True])
def test_cached_gradients_equal_the_uncached_loss(mini_batch_size, k, symmetric):
    tower, embed, labels = setting(k=k)
    torch.manual_seed(7)
    expected_loss = uncached(embed, labels, 13, mini_batch_size, symmetric)
    expected_loss.backward()
    expected = grads(tower)
    tower.zero_grad()

    torch.manual_seed(7)  # the same dropout masks as the uncached pass
    cached = build_loss("cached-multiple-negatives", symmetric=symmetric, mini_batch_size=mini_batch_size)
    loss = cached.backward_step(embed, 13, labels)
    assert not loss.requires_grad
    assert loss.item() == pytest.approx(expected_loss.item(), rel=1e-6)  # the same float32 values: a few ulps
    got = grads(tower)
    assert max(g.abs().max().item() for g in expected) > 1e-2  # the gradients are not trivially small
    worst = max((g - e).abs().max().item() for g, e in zip(got, expected))
    assert worst <= TOLERANCE


def test_dropout_is_replayed_not_redrawn():
    """Without the random-state replay the recomputed mini-batches would use new dropout masks: a fault the
    gradient comparison must see (this checks the test above has the power to catch it)."""
    tower, embed, labels = setting()
    torch.manual_seed(7)
    uncached(embed, labels, 13, 4).backward()
    expected = grads(tower)
    tower.zero_grad()
    torch.manual_seed(7)
    cached = build_loss("cached-multiple-negatives", mini_batch_size=4)
    calls = []

    def redrawing(chunk):
        calls.append(chunk)
        if len(calls) > 4:  # the recompute pass: draw fresh masks
            torch.manual_seed(1000 + len(calls))
        return embed(chunk)

    cached.backward_step(redrawing, 13, labels)
    assert max((g - e).abs().max().item() for g, e in zip(grads(tower), expected)) > 100 * TOLERANCE


def test_the_random_stream_continues_as_after_one_pass():
    tower, embed, labels = setting()
    torch.manual_seed(3)
    build_loss("cached-multiple-negatives", mini_batch_size=4).backward_step(embed, 13, labels)
    after_cached = torch.rand(3)
    torch.manual_seed(3)
    with torch.no_grad():
        embed(range(0, 13))
    assert torch.equal(after_cached, torch.rand(3))


def test_cached_forward_is_the_plain_loss_and_config_round_trips():
    u, v, labels = torch.randn(5, 4), torch.randn(5, 4), torch.ones(5)
    cached = build_loss("cached-multiple-negatives", mini_batch_size=2, scale=10.0)
    assert cached(u, v, labels).item() == build_loss("multiple-negatives", scale=10.0)(u, v, labels).item()
    assert cached.get_config()["mini_batch_size"] == 2
    assert cached.drives_towers and cached.in_batch
    with pytest.raises(
        ConfigError, match="loss 'cached-multiple-negatives': mini_batch_size must be a positive integer, got 0"
    ):
        build_loss("cached-multiple-negatives", mini_batch_size=0)
