"""A weighted sum of embedding losses, e.g. a graded loss plus in-batch negatives."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from textsiam.errors import ConfigError
from textsiam.losses.base import PairLoss
from textsiam.losses.build import build_loss
from textsiam.params import Interval, ListOf, Optional, Spec
from textsiam.registry import LOSSES


@LOSSES.register("combined")
class CombinedLoss(PairLoss):
    """Weighted sum of embedding losses, e.g. CoSENT plus in-batch negatives among the close pairs.

    L = sum_k w_k * L_k(u, v, labels)

    ``parts`` is a list of ``{"name": loss name, "args": {...}, "weight": w}``. On the command line and in
    ``TrainConfig`` the short form ``loss="cosent+multiple-negatives"`` builds the same thing, with
    ``loss_args`` keyed by part name (``{"multiple-negatives": {"min_label": 0.8, "skip_empty": true}}``).
    Combining a graded regression loss with in-batch negatives follows the multi-task recipes used to train
    sentence embedders (e.g. Reimers & Gurevych 2019; Henderson et al. 2017).
    """

    takes = "embeddings"
    params = {"parts": Optional(ListOf(Spec(LOSSES, weight=Interval(float))))}

    def __init__(self, parts: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.set_params(parts=parts)
        if parts is None:  # default: graded ranking + in-batch negatives among the close pairs
            parts = [{"name": "cosent"}, {"name": "multiple-negatives", "args": {"min_label": 0.8, "skip_empty": True}}]
        self.parts = [
            {"name": p["name"], "args": dict(p.get("args", {})), "weight": float(p.get("weight", 1.0))} for p in parts
        ]
        self.losses = nn.ModuleList(build_loss(p["name"], **p["args"]) for p in self.parts)
        bad = [p["name"] for p, loss in zip(self.parts, self.losses) if loss.takes != "embeddings"]
        if bad:
            raise ConfigError(f"combined loss parts must take embeddings; {bad} take scores")

    @property
    def in_batch(self) -> bool:  # type: ignore[override]
        return any(loss.in_batch for loss in self.losses)

    def forward(self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return sum(p["weight"] * loss(u, v, labels) for p, loss in zip(self.parts, self.losses))

    def get_config(self) -> dict[str, Any]:
        return {"parts": self.parts}
