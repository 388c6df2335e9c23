"""The properties each loss's docstring promises, checked directly."""

from __future__ import annotations

import math

import pytest
import torch

from textsiam.losses import build_loss

# Tolerances. Most inputs here are float64 of a handful of terms, where rounding is ~1e-16; the euclidean distance's
# 1e-12 under the square root (textsiam/layers/similarity.py) moves a distance d by 5e-13 / d, a loss by ~1e-11
# relative at the d >= 0.1 used here. REL64 leaves 100x over that: a result off by more is a formula error.
# float32 inputs (torch.randn without dtype) reduce a few rows of 4 through exp/log: REL32 is ~8 float32 ulps
# (eps 1.2e-7), enough for a reordered sum or a vectorised exp/log that rounds differently per instruction set.
# DIFFERS: a reversed/one-way loss must differ by far more than rounding (measured gaps are > 10%).
REL64, REL32, DIFFERS = 1e-9, 1e-6, 1e-3


def pair_at_distance(t: float, dim: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """One pair of (1, dim) embeddings whose euclidean distance is exactly ``t``."""
    u = torch.zeros(1, dim, dtype=torch.float64)
    v = u.clone()
    v[0, 0] = t
    return u, v


# ---------------------------------------------------------------------------------------------- contrastive


@pytest.mark.parametrize("margin", [0.5, 1.0, 2.0])
def test_contrastive_negative_beyond_margin_costs_nothing(margin):
    u, v = pair_at_distance(margin + 0.01)
    u.requires_grad_(True)
    loss = build_loss("contrastive", margin=margin)(u, v, torch.zeros(1))
    loss.backward()
    assert loss.item() == 0.0
    assert u.grad.abs().sum() == 0
    u, v = pair_at_distance(margin - 0.2)  # inside the margin: it costs (m - d)^2 / 2
    assert build_loss("contrastive", margin=margin)(u, v, torch.zeros(1)).item() == pytest.approx(0.02, rel=REL64)


def test_contrastive_positive_cost_grows_with_distance():
    loss_fn = build_loss("contrastive")
    losses = [loss_fn(*pair_at_distance(t), torch.ones(1)).item() for t in (0.0, 0.5, 1.0, 3.0)]
    assert losses[0] == pytest.approx(0.0, abs=1e-11)  # the L2 norm's 1e-12 under the root: d ~ 1e-6, d^2/2 ~ 5e-13
    assert losses == sorted(losses) and losses[-1] == pytest.approx(4.5, rel=REL64)


# ---------------------------------------------------------------------------------------------- chopra-exp

DISTANCES = [0.0, 0.5, 1.0, 2.0, 5.0, 12.0]


@pytest.mark.parametrize("q", [1.0, 10.0])
def test_chopra_exp_similar_pair_loss_falls_as_energy_falls(q):
    loss_fn = build_loss("chopra-exp", q=q)
    losses = [loss_fn(*pair_at_distance(t), torch.ones(1)).item() for t in DISTANCES]
    assert all(a < b for a, b in zip(losses, losses[1:], strict=False))
    assert losses[0] == 0.0


@pytest.mark.parametrize("q", [1.0, 10.0])
def test_chopra_exp_dissimilar_pair_loss_falls_as_energy_grows(q):
    loss_fn = build_loss("chopra-exp", q=q)
    losses = [loss_fn(*pair_at_distance(t), torch.zeros(1)).item() for t in DISTANCES]
    assert all(a > b for a, b in zip(losses, losses[1:], strict=False))
    assert losses[0] == pytest.approx(2 * q, rel=REL64)  # the impostor term's peak 2Q at E = 0
    at_q = loss_fn(*pair_at_distance(q), torch.zeros(1)).item()
    assert at_q == pytest.approx(2 * q * math.exp(-2.77), rel=REL64)


# ---------------------------------------------------------------------------------------------- cosine


def test_cosine_loss_is_zero_when_cosines_equal_labels():
    angles = torch.tensor([0.0, 0.4, 1.0, math.pi / 2], dtype=torch.float64)
    u = torch.zeros(4, 3, dtype=torch.float64)
    u[:, 0] = 2.0
    v = torch.stack([torch.cos(angles), torch.sin(angles), torch.zeros(4, dtype=torch.float64)], dim=1)
    loss_fn = build_loss("cosine")
    assert loss_fn(u, v, torch.cos(angles).clamp(0, 1)).item() == pytest.approx(0.0, abs=1e-12)  # float64 squares
    assert loss_fn(u, v, 1 - torch.cos(angles).clamp(0, 1)).item() > 0.1


# ---------------------------------------------------------------------------------------------- cosent


def test_cosent_depends_only_on_the_order_of_labels():
    torch.manual_seed(0)
    u, v = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0.1, 0.5, 0.3, 0.0, 0.5, 0.2], dtype=torch.float64)
    loss_fn = build_loss("cosent")
    base = loss_fn(u, v, labels).item()
    # CoSENT reads labels only through comparisons: the same float64 arithmetic runs, 1e-12 is rounding of a few terms
    assert loss_fn(u, v, labels + 0.45).item() == pytest.approx(base, rel=1e-12)  # constant shift
    assert loss_fn(u, v, labels.sqrt()).item() == pytest.approx(base, rel=1e-12)  # increasing transform
    assert loss_fn(u, v, 0.5 - labels).item() != pytest.approx(base, rel=DIFFERS)  # reversed order differs


def test_cosent_equal_labels_cost_nothing_and_large_gaps_stay_finite():
    loss_fn = build_loss("cosent", scale=1000.0)
    u = torch.randn(5, 3, requires_grad=True)
    v = -u.detach()  # every cosine is -1: the worst ranking, exp(1000 * 2) would overflow without logsumexp
    assert loss_fn(u, v, torch.full((5,), 0.4)).item() == 0.0
    v = torch.randn(5, 3)
    v[0] = -u.detach()[0]  # the most similar label gets the lowest cosine
    loss = loss_fn(u, v, torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 100 and torch.isfinite(u.grad).all()


# ---------------------------------------------------------------------------------------------- multiple negatives


def test_multiple_negatives_symmetric_is_mean_of_both_directions():
    torch.manual_seed(0)
    u, v = torch.randn(6, 4), torch.randn(6, 4)
    labels = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    one_way = build_loss("multiple-negatives")
    both = build_loss("multiple-negatives", symmetric=True)(u, v, labels)
    assert both.item() == pytest.approx(((one_way(u, v, labels) + one_way(v, u, labels)) / 2).item(), rel=REL32)
    assert both.item() != pytest.approx(one_way(u, v, labels).item(), rel=DIFFERS)


def test_multiple_negatives_negative_rows_are_negatives_not_anchors():
    torch.manual_seed(0)
    u, v = torch.randn(5, 4, requires_grad=True), torch.randn(5, 4, requires_grad=True)
    build_loss("multiple-negatives")(u, v, torch.tensor([1.0, 0.0, 1.0, 0.2, 1.0])).backward()
    assert u.grad[[1, 3]].abs().sum() == 0  # not anchors
    assert (u.grad[[0, 2, 4]].abs().sum(1) > 0).all()
    assert (v.grad.abs().sum(1) > 0).all()  # every v, including rows 1 and 3, is a candidate


def test_multiple_negatives_is_permutation_invariant_and_falls_with_alignment():
    torch.manual_seed(0)
    u, v = torch.randn(6, 4), torch.randn(6, 4)
    labels = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    perm = torch.randperm(6)
    loss_fn = build_loss("multiple-negatives")
    assert loss_fn(u[perm], v[perm], labels[perm]).item() == pytest.approx(loss_fn(u, v, labels).item(), rel=REL32)
    assert loss_fn(u, u + 0.01 * v, labels).item() < loss_fn(u, v, labels).item()


# ---------------------------------------------------------------------------------------------- online contrastive


def test_online_contrastive_ignores_easy_pairs():
    # pairs 0, 1 positives at distances 0.1 and 0.9; pairs 2, 3 negatives at distances 0.5 and 1.5.
    u = torch.zeros(4, 2, dtype=torch.float64, requires_grad=True)
    v = torch.tensor([[0.1, 0.0], [0.9, 0.0], [0.5, 0.0], [1.5, 0.0]], dtype=torch.float64)
    labels = torch.tensor([1.0, 0.9, 0.0, 0.3], dtype=torch.float64)
    loss = build_loss("online-contrastive", margin=1.0, distance="euclidean")(u, v, labels)
    loss.backward()
    # hard: positive 1 (0.9 > 0.5) and negative 2 (0.5 < 0.9); easy: positive 0, negative 3
    assert loss.item() == pytest.approx((0.9**2 / 2 + 0.5**2 / 2) / 2, rel=REL64)
    assert u.grad[[0, 3]].abs().sum() == 0 and (u.grad[[1, 2]].abs().sum(1) > 0).all()


def test_online_contrastive_separated_batch_costs_zero_with_finite_gradient():
    u = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    v = torch.tensor([[0.1, 0.0], [0.5, 0.0]], dtype=torch.float64)
    loss = build_loss("online-contrastive", margin=1.0, distance="euclidean")(u, v, torch.tensor([1.0, 0.0]))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(u.grad).all()


@pytest.mark.parametrize(("label", "expected"), [(1.0, (0.2**2 + 0.6**2) / 4), (0.0, (0.8**2 + 0.4**2) / 4)])
def test_online_contrastive_one_class_batch_uses_all_pairs(label, expected):
    u = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    v = torch.tensor([[0.2, 0.0], [0.6, 0.0]], dtype=torch.float64)
    loss = build_loss("online-contrastive", margin=1.0, distance="euclidean")(u, v, torch.full((2,), label))
    loss.backward()
    assert loss.item() == pytest.approx(expected, rel=REL64)
    assert torch.isfinite(u.grad).all() and (u.grad.abs().sum(1) > 0).all()


# ---------------------------------------------------------------------------------------------- bce


def test_bce_pos_weight_scales_only_the_positive_term():
    torch.manual_seed(0)
    scores = torch.randn(6, dtype=torch.float64)
    ones, zeros = torch.ones(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    plain, weighted = build_loss("bce"), build_loss("bce", pos_weight=3.0)
    assert weighted(scores, ones).item() == pytest.approx(3 * plain(scores, ones).item(), rel=REL64)
    assert weighted(scores, zeros).item() == pytest.approx(plain(scores, zeros).item(), rel=REL64)
    assert build_loss("bce", pos_weight=1.0)(scores, ones).item() == pytest.approx(
        plain(scores, ones).item(), rel=REL64
    )


def test_combined_loss_is_the_weighted_sum_of_its_parts():
    torch.manual_seed(1)
    u, v = torch.randn(6, 4), torch.randn(6, 4)
    labels = torch.tensor([1.0, 0.0, 0.9, 0.3, 0.85, 0.1])
    combined = build_loss(
        "combined",
        parts=[
            {"name": "cosent", "weight": 0.5},
            {"name": "multiple-negatives", "args": {"min_label": 0.8}, "weight": 2},
        ],
    )
    expected = 0.5 * build_loss("cosent")(u, v, labels) + 2 * build_loss("multiple-negatives", min_label=0.8)(
        u, v, labels
    )
    assert combined(u, v, labels).item() == pytest.approx(expected.item(), rel=REL32)
    short = build_loss("cosent+multiple-negatives", **{"multiple-negatives": {"min_label": 0.8}})
    assert short(u, v, labels).item() == pytest.approx(
        (build_loss("cosent")(u, v, labels) + build_loss("multiple-negatives", min_label=0.8)(u, v, labels)).item(),
        rel=REL32,
    )


def test_multiple_negatives_skip_empty_gives_zero_with_gradient():
    u = torch.randn(4, 3, requires_grad=True)
    v = torch.randn(4, 3, requires_grad=True)
    loss = build_loss("multiple-negatives", min_label=0.8, skip_empty=True)(u, v, torch.full((4,), 0.5))
    loss.backward()
    assert loss.item() == 0.0 and u.grad is not None
    with pytest.raises(ValueError, match="label >= 0.8"):
        build_loss("multiple-negatives", min_label=0.8)(u, v, torch.full((4,), 0.5))
