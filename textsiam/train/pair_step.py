"""The "pairs" training kind: a model that reads both items of a pair together (a cross-encoder) and returns one
logit per pair, or one per class. Its step is ``loss(model.forward_pairs(model.collate_pairs(a, b)), labels)``.

:class:`PairSteps` is the entry ``"pairs"`` of :data:`textsiam.train.steps.STEPS`, with the same methods as the
embedding kind's step class (see that module): the pairs are kept raw and tokenized together per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from textsiam.data import PairData
from textsiam.device import amp_autocast
from textsiam.encoders.base import Prepared
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel, to_device
from textsiam.train.config import TrainConfig
from textsiam.train.distributed import DataParallel


class PairSteps:
    """Steps of a cross model: each batch's pairs tokenized together, ``forward_pairs`` -> logits -> the loss."""

    def __init__(
        self,
        model: PairModel,
        loss_fn: torch.nn.Module,
        config: TrainConfig,
        device: torch.device,
        parallel: DataParallel,
        train_data: PairData,
    ) -> None:
        self.model, self.loss_fn, self.config, self.device = model, loss_fn, config, device
        self.net = parallel.wrap(model)  # DistributedDataParallel under torchrun (its forward is forward_pairs)
        self.tower = model.left  # the one transformer
        self.tower.begin_training()
        self.sides: tuple[Prepared, Prepared] | None = None

    @staticmethod
    def check(model: PairModel, loss_fn: Any, loss_name: str) -> None:
        if loss_fn.takes == "embeddings":
            raise ConfigError(
                f"loss {loss_name!r} compares embeddings, and a cross model has none: it gives one score per pair. "
                "Use loss 'bce' (binary or graded labels), 'mse' (graded labels) or 'cross-entropy' (with classes)"
            )
        if (loss_fn.takes == "logits") != bool(model.classes):
            raise ConfigError(
                f"loss {loss_name!r} does not fit this cross model: cross-entropy trains a model with classes, and a "
                "model with classes trains only with cross-entropy"
            )

    def epoch(self, data: PairData) -> np.ndarray:
        """The epoch's pairs, kept raw, and each pair's length (both texts read together: the sum)."""
        self.sides = Prepared(self.tower, data.a), Prepared(self.tower, data.b)
        return self.sides[0].lengths + self.sides[1].lengths

    def loss(self, rows: Sequence[int], labels: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
        """Float labels in [0, 1] against the logit (bce, mse), or class indices against the class logits (no loss
        of a cross model takes ``groups``: the trainer passes None)."""
        left, right = self.sides
        feats = to_device(self.model.collate_pairs(left.take(rows), right.take(rows)), self.device)
        limit = self.config.checkpoint_tokens
        self.tower.checkpoint_layers(limit is not None and self.tower.step_slots(feats) > limit)
        with amp_autocast(self.device, self.config.amp):
            logits = self.net(feats)  # (piece,) or (piece, classes)
        return self.loss_fn(logits.float(), labels)

    def to_train_mode(self) -> None:
        self.model.train()

    def dev_outputs(self, a: Sequence[Any], b: Sequence[Any], batch_size: int) -> torch.Tensor:
        return self.model.pair_outputs(a, b, batch_size)

    def close(self) -> None:
        """End of the run: the tower ends training (drops its gradient buffers), the pairs are not kept."""
        self.tower.end_training()
        self.sides = None
