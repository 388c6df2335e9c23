"""The pair-loss base class and the argument and input checks every loss shares.

A loss takes tensors, never the model: either two batches of embeddings ``u, v`` with a label per pair
(``takes == "embeddings"``), the logits of a learned scoring head (``takes == "scores"``), or the class logits of a
multi-class head with class indices as labels (``takes == "logits"``). Labels are floats in
[0, 1] where 1 means similar. Constructor arguments are explicit keywords stored under their own names, so
:meth:`PairLoss.get_config` can return them and ``LOSSES.build(name, **config)`` rebuilds the loss.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from textsiam.errors import DataError
from textsiam.layers.similarity import build_similarity
from textsiam.params import Choice, Constraint, Interval, check_params, registered_name
from textsiam.registry import LOSSES, constructor_config

METRIC_DISTANCES = ("cosine", "euclidean", "manhattan")
"""Similarities whose ``distance`` is a true non-negative distance; "dot" is not one, so margin losses refuse it."""
POSITIVE = Interval(float, 0, None, closed="neither")
"""A finite number > 0: a margin, a scale, a temperature."""


class PairLoss(nn.Module):
    """Base class of every loss: tensors in, scalar out.

    Subclasses with ``takes == "embeddings"`` implement ``forward(u, v, labels)`` on ``(batch, dim)`` embeddings;
    those with ``takes == "scores"`` implement ``forward(scores, labels)`` on ``(batch,)`` logits.
    """

    takes: ClassVar[str] = "embeddings"
    in_batch: ClassVar[bool] = False
    """True when the loss of a pair depends on the other pairs of its batch (in-batch negatives, in-batch ranking,
    hard-pair mining). The trainer then draws random batches by default: length-grouped batches would only ever
    compare pairs of similar length (on STS-B, CoSENT reached test Spearman 0.8614 grouped, 0.8654 random)."""
    takes_negatives: ClassVar[bool] = False
    """True when ``forward`` takes extra negatives ``(batch, k, dim)`` as a fourth argument (triplet data); pair
    losses see each (anchor, negative) as a dissimilar pair instead."""
    takes_groups: ClassVar[bool] = False
    """True when ``forward`` takes ``groups=`` (one id per pair; pairs of one group are positives of each other):
    the trainer then passes the ids of data that has them (:meth:`PairData.positive_groups`, e.g. the image of each
    caption pair), so two captions of one image in a batch are not each other's negatives."""
    drives_towers: ClassVar[bool] = False
    """True when the trainer calls ``backward_step(embed, rows, labels)`` instead of ``forward`` + ``backward``: the
    loss embeds mini-batches through ``embed`` itself and back-propagates them (GradCache)."""
    params: ClassVar[dict[str, Constraint]] = {}
    """What each constructor keyword may be (:mod:`textsiam.params`); checked by :meth:`set_params`."""

    def set_params(self, **values: Any) -> None:
        """Check ``values`` against ``params`` (a ConfigError naming the loss, the key, the value and what is
        allowed) and store each under its own name, where ``get_config`` reads it back."""
        for key, value in check_params(f"loss {registered_name(LOSSES, self)!r}", values, self.params).items():
            setattr(self, key, value)

    def get_config(self) -> dict[str, Any]:
        """The constructor keyword arguments, read back from the attributes of the same name (sklearn style)."""
        return constructor_config(self)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())


class DistanceLoss(PairLoss):
    """Base of the losses on a metric distance ``d`` between the two embeddings (contrastive, chopra-exp, ...).

    It checks ``distance`` against :data:`METRIC_DISTANCES` and the inputs once; subclasses implement
    :meth:`from_distance` on ``d`` (``(batch,)``, >= 0) and labels in [0, 1].
    """

    takes = "embeddings"
    params = {"distance": Choice(*METRIC_DISTANCES)}

    def __init__(self, distance: str) -> None:
        super().__init__()
        self.set_params(distance=distance)
        self.sim = build_similarity(distance)

    def forward(self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        u, v, labels = check_pair_inputs(u, v, labels)
        return self.from_distance(self.sim.distance(u, v), labels)  # d: (batch,)

    def from_distance(self, d: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------- input checks


def check_pair_inputs(
    u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate ``(batch, dim)`` embeddings and ``(batch,)`` labels; return them in a float type fit for a loss.

    Half-precision embeddings are promoted to float32: exponentials with a scale of 20 lose too much in 16 bits.
    """
    for name, t in (("u", u), ("v", v), ("labels", labels)):
        if not isinstance(t, torch.Tensor):
            raise DataError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if u.dim() != 2 or u.shape != v.shape:
        raise DataError(f"u and v must both have shape (batch, dim); got u {tuple(u.shape)} and v {tuple(v.shape)}")
    u, v = _promote(u), _promote(v)
    return u, v, _check_labels(labels, u, "u")


def check_score_inputs(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``(batch,)`` logits and ``(batch,)`` labels; return them in a float type fit for a loss."""
    for name, t in (("scores", scores), ("labels", labels)):
        if not isinstance(t, torch.Tensor):
            raise DataError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if scores.dim() != 1:
        raise DataError(f"scores must have shape (batch,), got {tuple(scores.shape)}; squeeze a (batch, 1) head")
    scores = _promote(scores)
    return scores, _check_labels(labels, scores, "scores")


def _promote(t: torch.Tensor) -> torch.Tensor:
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) or not t.is_floating_point() else t


def _check_labels(labels: torch.Tensor, like: torch.Tensor, against: str) -> torch.Tensor:
    """Check labels against the batch of ``like`` and return them with its dtype and device."""
    batch = like.shape[0]
    if labels.shape != (batch,):
        raise DataError(f"labels must have shape (batch,) = ({batch},) to match {against}; got {tuple(labels.shape)}")
    if batch == 0:
        raise DataError("the batch is empty; a loss needs at least one pair")
    labels = labels.to(device=like.device, dtype=like.dtype)
    if not bool(((labels >= 0) & (labels <= 1)).all()):
        bad = labels[~((labels >= 0) & (labels <= 1))][:5].tolist()
        raise DataError(
            f"labels must lie in [0, 1] (1 = similar), got values such as {bad}; "
            "scale graded labels first (e.g. an STS score s in 0..5 becomes s / 5)"
        )
    return labels
