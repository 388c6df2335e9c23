"""The "pairs" training kind: a model that reads both items of a pair together (a cross-encoder) and returns one
logit per pair, or one per class. Its step is ``loss(model.forward_pairs(model.collate_pairs(a, b)), labels)``.

:class:`PairsStep` has the parts of the trainer's per-step machinery that differ from the embedding kind: how the
epoch's items are prepared, one step's loss, the dev outputs, and the end of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from textsiam.encoders.prepared import Prepared
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel, to_device


class PairsStep:
    """Per-step machinery of the "pairs" kind. ``net``: the module whose forward runs ``forward_pairs`` (the model
    wrapped for data-parallel training; default the model itself)."""

    kind = "pairs"

    def __init__(
        self,
        model: PairModel,
        device: torch.device,
        loss_fn: torch.nn.Module,
        net: torch.nn.Module | None = None,
        checkpoint_tokens: int | None = None,
    ) -> None:
        if loss_fn.takes == "embeddings":
            raise ConfigError(
                f"loss {type(loss_fn).__name__} compares embeddings, and a cross model has none: it gives one score "
                "per pair. Use loss 'bce' (binary or graded labels), 'mse' (graded labels) or 'cross-entropy' "
                "(a model with classes)"
            )
        self.model, self.device, self.loss_fn = model, device, loss_fn
        self.net = net if net is not None else model
        self.checkpoint_tokens = checkpoint_tokens

    def prepare(self, a: Sequence[Any], b: Sequence[Any]) -> tuple[Prepared, Prepared]:
        """The raw items of both sides: a pair is tokenized together when its batch is drawn."""
        return Prepared(self.model.left, a), Prepared(self.model.right, b)

    def features(self, sides: tuple[Prepared, Prepared], rows: Sequence[int]) -> dict[str, torch.Tensor]:
        left, right = sides
        return to_device(self.model.collate_pairs(left.take(rows), right.take(rows)), self.device)

    def outputs(self, sides: tuple[Prepared, Prepared], rows: Sequence[int]) -> torch.Tensor:
        """``(len(rows),)`` logits, or ``(len(rows), classes)``, with gradients."""
        feats = self.features(sides, rows)
        slots = feats["input_ids"].numel()
        self.model.left.checkpoint_layers(self.checkpoint_tokens is not None and slots > self.checkpoint_tokens)
        return self.net(feats)

    def loss(self, sides: tuple[Prepared, Prepared], rows: Sequence[int], labels: torch.Tensor) -> torch.Tensor:
        """One step's loss: float labels in [0, 1] against the logit, or class indices against the class logits."""
        return self.loss_fn(self.outputs(sides, rows).float(), labels)

    def dev_outputs(self, a: Sequence[Any], b: Sequence[Any], batch_size: int) -> torch.Tensor:
        return self.model.pair_outputs(a, b, batch_size)

    def static_towers_to_eval(self) -> None:
        """Nothing is cached in this kind: the one transformer trains."""

    def close(self) -> None:
        self.model.left.checkpoint_layers(False)
        from textsiam.encoders.packed_bert import drop_grad_buffers

        drop_grad_buffers(self.model)
