"""Matryoshka representation learning: one embedding loss on several truncated prefixes at once."""

from __future__ import annotations

from typing import Any

import torch

from textsiam.errors import ConfigError, DataError
from textsiam.losses.base import PairLoss
from textsiam.losses.build import build_loss
from textsiam.params import POSITIVE_INT, Interval, ListOf, Optional, Record, Text
from textsiam.registry import LOSSES


@LOSSES.register("matryoshka")
class MatryoshkaLoss(PairLoss):
    """Trains the prefixes of the embeddings (e.g. the first 384, 256, 128, 64 dims) with one inner loss each.

    With ``L_inner`` any embedding loss and ``x[:, :m]`` the first ``m`` coordinates::

        L = sum over k of  w_k * L_inner(u[:, :m_k], v[:, :m_k], labels)

    so a truncated (then renormalised) embedding stays useful: ``textsiam encode --dim 128`` and the service's
    ``dimensions`` field read such prefixes. A dimension larger than the embedding is an error (the full
    embedding is one of the ``dims`` when it should be trained too). Extra negatives ``(batch, k, dim)`` are
    truncated the same way and passed to inner losses that take them.

    Paper: A. Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022.

    Args:
        loss: the inner embedding loss (a registry name, e.g. "multiple-negatives", "cosent", "cosine").
        loss_args: keyword arguments of the inner loss.
        dims: the prefix lengths, each > 0; default (None) the full dimension and its halves, four in all
            (MiniLM: 384, 192, 96, 48). ``[384, 256, 128, 64]`` is a common explicit choice.
        weights: one weight >= 0 per dim (default all 1).
    """

    takes = "embeddings"
    params = {
        "loss": Text(),  # a name build_loss reads: one loss, or two joined by '+' (its error lists the names)
        "loss_args": Optional(Record()),
        "dims": Optional(ListOf(POSITIVE_INT)),
        "weights": Optional(ListOf(Interval(float, 0))),
    }

    def __init__(
        self,
        loss: str = "multiple-negatives",
        loss_args: dict[str, Any] | None = None,
        dims: list[int] | tuple[int, ...] | None = None,
        weights: list[float] | tuple[float, ...] | None = None,
    ) -> None:
        super().__init__()
        self.set_params(loss=loss, loss_args=loss_args, dims=dims, weights=weights)
        self.loss_args = dict(self.loss_args or {})
        self.inner = build_loss(loss, **self.loss_args)
        if self.inner.takes != "embeddings":
            raise ConfigError(f"matryoshka wraps an embedding loss; {loss!r} takes {self.inner.takes}")
        count = 4 if self.dims is None else len(self.dims)
        if self.weights is None:
            self.weights = [1.0] * count
        elif len(self.weights) != count:  # ties two keys together: checked after the declarations
            raise ConfigError(f"loss 'matryoshka': weights must be {count} numbers >= 0 (one per dim), got {weights!r}")

    @property
    def in_batch(self) -> bool:  # type: ignore[override]
        return self.inner.in_batch

    @property
    def takes_negatives(self) -> bool:
        return bool(getattr(type(self.inner), "takes_negatives", False))

    def forward(
        self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor, negatives: torch.Tensor | None = None
    ) -> torch.Tensor:
        if u.dim() != 2:
            raise DataError(f"u and v must both have shape (batch, dim); got u {tuple(u.shape)} and v {tuple(v.shape)}")
        dims = self.dims or [max(1, u.shape[1] >> k) for k in range(4)]
        if max(dims) > u.shape[1]:
            raise DataError(
                f"matryoshka dims {dims} go beyond the embedding dimension {u.shape[1]}; "
                f"pass dims no larger than {u.shape[1]}"
            )
        total = None
        for m, w in zip(dims, self.weights):
            extra = {} if negatives is None else {"negatives": negatives[..., :m]}
            term = w * self.inner(u[:, :m], v[:, :m], labels, **extra)
            total = term if total is None else total + term
        return total

    def get_config(self) -> dict[str, Any]:
        return {"loss": self.loss, "loss_args": self.loss_args, "dims": self.dims, "weights": self.weights}
