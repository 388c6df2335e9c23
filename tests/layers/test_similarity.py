"""Similarities against reference computations: distances are negated (higher = more similar), one direction."""

from __future__ import annotations

import pytest
import torch

from textsiam.registry import SIMILARITIES


@pytest.mark.parametrize(("name", "p"), [("euclidean", 2.0), ("manhattan", 1.0)])
def test_negative_distances_equal_minus_cdist(name, p):
    torch.manual_seed(0)
    u, v = torch.randn(5, 7, dtype=torch.float64), torch.randn(3, 7, dtype=torch.float64)
    sim = SIMILARITIES.build(name)
    reference = torch.cdist(u, v, p=p)  # (5, 3)
    # float32 defaults (rtol 1.3e-6, atol 1e-5): distances over a few dims, cdist sums in another order (a few ulps)
    torch.testing.assert_close(sim.pairwise(u, v), -reference)
    torch.testing.assert_close(sim(u[:3], v), -torch.diagonal(reference[:3]))
    torch.testing.assert_close(sim.distance(u[:3], v), torch.diagonal(reference[:3]))


@pytest.mark.parametrize("name", ["euclidean", "manhattan"])
def test_identical_inputs_score_zero_with_a_finite_gradient(name):
    u = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    scores = SIMILARITIES.build(name)(u, u.detach().clone())
    # identical float64 rows: the euclidean distance's 1e-12 under the square root leaves sqrt(1e-12) = 1e-6
    torch.testing.assert_close(scores, torch.zeros(4, dtype=torch.float64), atol=1e-5, rtol=0)
    scores.sum().backward()
    assert torch.isfinite(u.grad).all()


def test_cosine_and_dot_against_their_formulas():
    torch.manual_seed(1)
    u, v = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    cos = (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1))
    torch.testing.assert_close(SIMILARITIES.build("cosine")(u, v), cos)  # float32 defaults: the same few-term sums
    torch.testing.assert_close(SIMILARITIES.build("cosine").distance(u, v), 1 - cos)
    torch.testing.assert_close(SIMILARITIES.build("dot").pairwise(u, v), u @ v.T)
