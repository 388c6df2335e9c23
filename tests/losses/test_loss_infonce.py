"""Symmetric InfoNCE with a learnable temperature: brute-force reference, the temperature learns, label handling."""

from __future__ import annotations

import math

import pytest
import torch

from textsiam.losses import build_loss


def brute_force(u, v, scale):
    n = u.shape[0]
    cos = [[float(torch.nn.functional.cosine_similarity(u[i], v[j], dim=0)) for j in range(n)] for i in range(n)]
    total = 0.0
    for i in range(n):
        row = [scale * cos[i][j] for j in range(n)]
        col = [scale * cos[j][i] for j in range(n)]
        total += -row[i] + math.log(sum(math.exp(x) for x in row))
        total += -col[i] + math.log(sum(math.exp(x) for x in col))
    return total / (2 * n)


def test_matches_brute_force_and_ignores_negative_rows():
    torch.manual_seed(0)
    u, v = torch.randn(5, 3), torch.randn(5, 3)
    loss = build_loss("infonce", temperature=0.1)
    labels = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    keep = labels == 1
    # float32 cosines (1.2e-7 each) times scale 10 through logsumexp of 3: ~1e-6 relative; 1e-5 leaves 10x
    assert loss(u, v, labels).item() == pytest.approx(brute_force(u[keep], v[keep], 10.0), rel=1e-5)


def test_temperature_is_learned_and_clamped():
    loss = build_loss("infonce", temperature=0.5, max_scale=4.0)
    assert loss.scale == pytest.approx(2.0, rel=1e-6)  # exp(log(2)) in float32: an ulp or two
    u = torch.eye(4, requires_grad=True)
    value = loss(u, u.detach().clone(), torch.ones(4))
    value.backward()
    assert loss.log_scale_.grad is not None and loss.log_scale_.grad < 0  # sharper helps when pairs are aligned
    with torch.no_grad():
        loss.log_scale_.fill_(10.0)
    assert loss.scale == pytest.approx(4.0, rel=1e-6)  # clamped to exp(log(4)) in float32: an ulp or two
    fixed = build_loss("infonce", learn_temperature=False)
    assert not fixed.log_scale_.requires_grad


def test_needs_a_matching_pair():
    with pytest.raises(ValueError, match="at least one matching pair"):
        build_loss("infonce")(torch.randn(3, 2), torch.randn(3, 2), torch.zeros(3))


def test_trainer_optimises_the_temperature(tiny_bert_dir):
    """The learnable temperature is in the trainer's optimizer: it moves during training."""
    import numpy as np

    from textsiam.data.pairs import build_text_pairs
    from textsiam.models import create_model
    from textsiam.train import TrainConfig, Trainer

    a = ["a man plays the guitar", "a dog runs", "two children read a book", "the cat eats", "a woman rides a bike"]
    data = build_text_pairs(a, [t.upper() for t in a], [1.0] * 5, source="mem", sha256="x")
    model = create_model(str(tiny_bert_dir), seed=0)
    trainer = Trainer(model, TrainConfig(loss="infonce", epochs=3, batch_size=5, lr=1e-2), data, show_progress=False)
    start = trainer.loss_fn.scale
    trainer.train()
    assert not np.isclose(trainer.loss_fn.scale, start)  # 3 AdamW steps of ~1e-2 on log(scale): ~3%, isclose is 1e-5


def brute_force_grouped(u, v, groups, scale, beta=0.0):
    """Per row and direction: -log(P / (P + sum_neg w exp(s))), P the row's own group's mass and
    w = n exp(beta s) / sum_neg exp(beta s) (all 1 at beta 0: the softmax mass on the own group)."""
    n = u.shape[0]
    cos = [[float(torch.nn.functional.cosine_similarity(u[i], v[j], dim=0)) for j in range(n)] for i in range(n)]
    total = 0.0
    for i in range(n):
        for sims in ([scale * cos[i][j] for j in range(n)], [scale * cos[j][i] for j in range(n)]):
            own = sum(math.exp(sims[j]) for j in range(n) if groups[j] == groups[i])
            neg = [sims[j] for j in range(n) if groups[j] != groups[i]]
            norm = sum(math.exp(beta * s) for s in neg)
            weighted = sum(len(neg) * math.exp(beta * s) / norm * math.exp(s) for s in neg)
            total += -math.log(own / (own + weighted))
    return total / (2 * n)


def test_groups_make_captions_of_one_image_positives_as_brute_force():
    torch.manual_seed(1)
    u, v = torch.randn(7, 4), torch.randn(7, 4)
    groups = torch.tensor([0, 1, 0, 2, 1, 0, 3])  # three captions of image 0, two of image 1
    loss = build_loss("infonce", temperature=0.1)
    labels = torch.ones(7)
    # float32 cosines (1.2e-7 each) times scale 10 through logsumexp of 7: ~1e-6 relative; 1e-5 leaves 10x
    assert loss(u, v, labels, groups).item() == pytest.approx(brute_force_grouped(u, v, groups, 10.0), rel=1e-5)
    # a group per pair is the plain loss; sharing a group lowers it (a false negative no longer pushes away)
    # (two float32 formulas of one value: logsumexp differences vs cross_entropy, ~1e-7 each; 1e-5 leaves room)
    assert loss(u, v, labels, torch.arange(7)).item() == pytest.approx(loss(u, v, labels).item(), rel=1e-5)
    assert loss(u, v, labels, groups).item() < loss(u, v, labels).item()


def test_groups_skip_negative_rows_and_need_one_id_per_pair():
    torch.manual_seed(2)
    u, v = torch.randn(5, 3), torch.randn(5, 3)
    loss = build_loss("infonce", temperature=0.2)
    labels = torch.tensor([1.0, 0.0, 1.0, 1.0, 1.0])
    groups = torch.tensor([0, 0, 0, 1, 2])
    keep = labels == 1
    # as above: float32 cosines through a logsumexp of 4, scale 5
    assert loss(u, v, labels, groups).item() == pytest.approx(
        brute_force_grouped(u[keep], v[keep], groups[keep], 5.0), rel=1e-5
    )
    with pytest.raises(ValueError, match="one id per pair"):
        loss(u, v, labels, torch.tensor([0, 1]))


@pytest.mark.parametrize("beta", [0.3, 1.0])
def test_hard_negative_weights_match_brute_force(beta):
    torch.manual_seed(3)
    u, v = torch.randn(6, 4), torch.randn(6, 4)
    groups = torch.tensor([0, 1, 0, 2, 3, 4])
    loss = build_loss("infonce", temperature=0.2, hard_negative_beta=beta)
    # float32 cosines through two logsumexps of 6 at scale 5 (beta 1 doubles it): ~1e-6 relative; 1e-5 leaves room
    assert loss(u, v, torch.ones(6), groups).item() == pytest.approx(
        brute_force_grouped(u, v, groups, 5.0, beta), rel=1e-5
    )
    assert loss(u, v, torch.ones(6)).item() == pytest.approx(
        brute_force_grouped(u, v, torch.arange(6), 5.0, beta), rel=1e-5
    )


def test_hard_negatives_push_the_closest_negative_harder():
    """A negative's gradient is its share of the denominator: exp(s) plainly, w exp(s) = exp((1 + beta) s) / Z
    with the (gradient-free) weights; so the hard-to-easy gradient ratio is exp(delta) at beta 0 and exp((1 + beta)
    delta) at beta."""
    from textsiam.losses.infonce import _grouped_ce

    positive = torch.tensor([[True, False, False]])
    delta = 3.0  # the hard negative's logit minus the easy one's
    for beta in (0.0, 0.5, 2.0):
        logits = torch.tensor([[3.0, 2.0, 2.0 - delta]], requires_grad=True)
        _grouped_ce(logits, positive, beta).backward()
        hard, easy = logits.grad[0, 1].item(), logits.grad[0, 2].item()
        assert hard > 0 and easy > 0  # raising a negative's logit raises the loss
        # float32 exps of logits below 10: relative error ~1e-6; 1e-4 leaves room
        assert hard / easy == pytest.approx(math.exp((1 + beta) * delta), rel=1e-4)


@pytest.mark.parametrize("value", [-0.5, float("nan"), float("inf"), "1"])
def test_hard_negative_beta_must_be_a_finite_number_at_least_zero(value):
    from textsiam.errors import ConfigError

    with pytest.raises(ConfigError, match=r"loss 'infonce': hard_negative_beta must be a finite number >= 0"):
        build_loss("infonce", hard_negative_beta=value)
