"""Contract over every registered loss, plus the errors bad arguments and bad inputs must raise."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

import textsiam.losses  # noqa: F401  (registers every loss)
from textsiam.errors import ConfigError
from textsiam.losses import PairLoss, build_loss
from textsiam.registry import LOSSES

EXPECTED = {
    "contrastive",
    "chopra-exp",
    "cosine",
    "online-contrastive",
    "cosent",
    "multiple-negatives",
    "bce",
    "mse",
    "cross-entropy",
    "infonce",
}


def inputs(loss: PairLoss, batch: int = 6, dim: int = 4) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    labels = torch.tensor([1.0, 0.0, 0.7, 0.0, 1.0, 0.2])[:batch]
    if loss.takes == "scores":
        return torch.randn(batch, requires_grad=True), labels
    if loss.takes == "logits":  # class indices over 3 classes
        return torch.randn(batch, 3, requires_grad=True), torch.tensor([0, 2, 1, 1, 0, 2])[:batch]
    return torch.randn(batch, dim, requires_grad=True), torch.randn(batch, dim, requires_grad=True), labels


def test_every_assigned_loss_is_registered():
    assert EXPECTED <= set(LOSSES.names())


@pytest.mark.parametrize("name", LOSSES.names())
def test_contract(name):
    loss = LOSSES.build(name)
    assert isinstance(loss, PairLoss)
    assert loss.takes in ("embeddings", "scores", "logits")
    args = inputs(loss)
    value = loss(*args)
    assert value.dim() == 0 and math.isfinite(value.item())
    value.backward()
    assert all(torch.isfinite(a.grad).all() for a in args if a.requires_grad)

    config = loss.get_config()
    assert json.loads(json.dumps(config)) == config
    rebuilt = LOSSES.build(name, **config)
    assert type(rebuilt) is type(loss) and rebuilt.get_config() == config
    assert rebuilt(*args).item() == pytest.approx(value.item(), rel=1e-6)  # same inputs, same ops: float32 ulps


@pytest.mark.parametrize("name", LOSSES.names())
def test_docstring_gives_summary_formula_and_paper(name):
    doc = LOSSES.get(name).__doc__
    summary, _, body = doc.strip().partition("\n")
    assert summary and LOSSES.describe()[name] == summary.strip()
    assert "L = " in body, "the docstring body should state the formula"
    assert re.search(r"\b(19|20)\d\d\b", body), "the docstring body should cite the paper with its year"


def test_non_default_config_round_trips():
    loss = build_loss("online-contrastive", margin=0.3, distance="manhattan")
    assert loss.get_config() == {"margin": 0.3, "distance": "manhattan"}
    assert build_loss("online-contrastive", **loss.get_config()).get_config() == loss.get_config()
    mnr = build_loss("multiple-negatives", scale=5, symmetric=True, min_label=0.8)
    assert mnr.get_config() == {"scale": 5.0, "symmetric": True, "min_label": 0.8, "skip_empty": False}
    assert build_loss("bce", pos_weight=2).get_config() == {"pos_weight": 2.0}


def test_build_loss_passes_a_built_loss_through():
    loss = build_loss("cosent")
    assert build_loss(loss) is loss
    with pytest.raises(ConfigError, match="extra arguments"):
        build_loss(loss, scale=3.0)


def test_build_loss_unknown_name_and_keyword():
    with pytest.raises(ConfigError, match=r"unknown loss 'contrastiv'\. Did you mean 'contrastive'.*Valid losses: bce"):
        build_loss("contrastiv")
    with pytest.raises(ConfigError, match="unknown loss 'cosnt'. Did you mean 'cosent'"):
        build_loss("cosnt+multiple-negatives")
    with pytest.raises(ConfigError, match=r"'temperature'.*accepts 'scale', 'symmetric'"):
        build_loss("multiple-negatives", temperature=0.05)


# ---------------------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("name", ["contrastive", "online-contrastive", "chopra-exp"])
@pytest.mark.parametrize("distance", ["chebyshev", "dot", "Euclidean", None])
def test_unknown_distance_names_the_value_and_the_choices(name, distance):
    expected = rf"loss '{name}': distance must be one of 'cosine', 'euclidean', 'manhattan', got {distance!r}"
    with pytest.raises(ConfigError, match=expected):
        build_loss(name, distance=distance)


@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("contrastive", "margin"),
        ("online-contrastive", "margin"),
        ("chopra-exp", "q"),
        ("cosent", "scale"),
        ("multiple-negatives", "scale"),
        ("bce", "pos_weight"),
        ("infonce", "temperature"),
        ("infonce", "max_scale"),
    ],
)
@pytest.mark.parametrize("value", [-1.0, 0.0, float("nan"), float("inf"), True, "1.0"])
def test_non_positive_numbers_are_refused(name, param, value):
    expected = rf"loss '{name}': {param} must be a finite number > 0( or null)?, got {re.escape(repr(value))}"
    with pytest.raises(ConfigError, match=expected):
        build_loss(name, **{param: value})


def test_symmetric_must_be_a_bool():
    with pytest.raises(ConfigError, match="loss 'multiple-negatives': symmetric must be true or false, got 'yes'"):
        build_loss("multiple-negatives", symmetric="yes")


# ---------------------------------------------------------------------------------------------- bad inputs

EMBEDDING_LOSSES = [n for n in EXPECTED if n not in ("bce", "mse", "cross-entropy")]


@pytest.mark.parametrize("name", EMBEDDING_LOSSES)
@pytest.mark.parametrize(
    ("u_shape", "v_shape", "label_shape", "message"),
    [
        ((4, 3), (4, 2), (4,), r"got u \(4, 3\) and v \(4, 2\)"),
        ((4, 3), (5, 3), (4,), r"got u \(4, 3\) and v \(5, 3\)"),
        ((4,), (4,), (4,), r"got u \(4,\) and v \(4,\)"),
        ((4, 3), (4, 3), (3,), r"\(batch,\) = \(4,\) to match u; got \(3,\)"),
        ((4, 3), (4, 3), (4, 1), r"\(batch,\) = \(4,\) to match u; got \(4, 1\)"),
        ((0, 3), (0, 3), (0,), "the batch is empty"),
    ],
)
def test_mismatched_shapes_report_the_shapes(name, u_shape, v_shape, label_shape, message):
    with pytest.raises(ValueError, match=message):
        build_loss(name)(torch.randn(u_shape), torch.randn(v_shape), torch.ones(label_shape))


@pytest.mark.parametrize("name", [n for n in LOSSES.names() if LOSSES.get(n).takes != "logits"])
@pytest.mark.parametrize("bad", [5.0, -0.5, float("nan")])
def test_labels_outside_unit_interval_are_refused(name, bad):
    loss = build_loss(name)
    *tensors, labels = inputs(loss)
    labels = labels.clone()
    labels[2] = bad
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\].*s / 5"):
        loss(*tensors, labels)


def test_scores_shapes_are_checked():
    loss = build_loss("bce")
    with pytest.raises(ValueError, match=r"scores must have shape \(batch,\), got \(4, 1\)"):
        loss(torch.randn(4, 1), torch.ones(4))
    with pytest.raises(ValueError, match=r"\(batch,\) = \(4,\) to match scores; got \(5,\)"):
        loss(torch.randn(4), torch.ones(5))


def test_multiple_negatives_without_a_positive_row_says_why():
    with pytest.raises(ValueError, match=r"at least one positive pair \(label >= 0.5\).*\[0.0, 0.25, 0.0\]"):
        build_loss("multiple-negatives")(torch.randn(3, 4), torch.randn(3, 4), torch.tensor([0.0, 0.25, 0.0]))


def test_integer_and_bool_labels_are_accepted():
    u, v = torch.randn(4, 3), torch.randn(4, 3)
    loss = build_loss("contrastive")
    expected = loss(u, v, torch.tensor([1.0, 0.0, 1.0, 0.0]))
    # the labels become the same floats, so the same ops run: equal up to float32 ulps (rel 1e-6 ~ 8 of them)
    assert loss(u, v, torch.tensor([1, 0, 1, 0])).item() == pytest.approx(expected.item(), rel=1e-6)
    assert loss(u, v, torch.tensor([True, False, True, False])).item() == pytest.approx(expected.item(), rel=1e-6)


def test_mse_is_the_squared_error_of_the_sigmoid():
    scores, labels = torch.tensor([0.0, 2.0, -1.0]), torch.tensor([0.5, 1.0, 0.2])
    expected = ((torch.sigmoid(scores) - labels) ** 2).mean()
    torch.testing.assert_close(build_loss("mse")(scores, labels), expected, rtol=0, atol=0)  # the same ops
