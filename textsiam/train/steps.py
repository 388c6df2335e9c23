"""The per-step machinery of each ``PairModel.training_kind``: one class per kind, chosen through :data:`STEPS`.

A step class is built once per run (after the towers are fitted and frozen and the model is on its device) and
gives the trainer everything that depends on how the model reads a pair:

- ``check(model, loss_fn, loss_name)`` (static, at ``Trainer(...)``): a ConfigError when the loss cannot train
  this model;
- ``epoch(data)``: the epoch's pairs made ready for many batches, and each pair's length (for length grouping);
- ``loss(rows, labels, groups)``: the loss of the pairs at ``rows`` of that epoch (this rank's piece under
  torchrun); ``labels`` and ``groups`` (None, or one id per pair for a loss that ``takes_groups``) cover the batch;
- ``to_train_mode()``, ``dev_outputs(a, b, batch_size)`` (= ``model.pair_outputs``) and ``close()``.

"embeddings" (twin / pseudo-siamese): the towers embed each side (``u``, ``v``), then the loss takes the
embeddings, the head's scores or its logits. "closed-form" models have no step class: the trainer hands them to
:func:`textsiam.train.no_gradient.fit_without_gradients`. A cross-encoder ("pairs": the model reads both items
together) adds one entry here and one class: its ``epoch`` keeps the pairs, its ``loss`` runs
``model.forward_pairs(model.collate_pairs(a, b))`` -> ``(n,)`` scores or ``(n, classes)`` logits into the loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from textsiam.data import PairData
from textsiam.device import amp_autocast
from textsiam.distributed import context
from textsiam.encoders.base import Prepared
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel
from textsiam.train.config import TrainConfig
from textsiam.train.distributed import DataParallel
from textsiam.train.pair_step import PairSteps
from textsiam.train.towers import SideEmbedder


class Steps(Protocol):
    """What the trainer asks of the step machinery of a training kind (see the module doc)."""

    def __init__(
        self,
        model: PairModel,
        loss_fn: Any,
        config: TrainConfig,
        device: torch.device,
        parallel: DataParallel,
        data: Any,
    ) -> None: ...

    @staticmethod
    def check(model: PairModel, loss_fn: Any, loss_name: str) -> None: ...

    def epoch(self, data: PairData) -> np.ndarray: ...

    def loss(self, rows: Sequence[int], labels: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor: ...

    def to_train_mode(self) -> None: ...

    def dev_outputs(self, a: Sequence[Any], b: Sequence[Any], batch_size: int) -> torch.Tensor: ...

    def close(self) -> None: ...


class EmbeddingSteps:
    """Steps of a model whose towers embed each side: ``u, v`` -> loss (embeddings, head scores or logits)."""

    def __init__(
        self,
        model: PairModel,
        loss_fn: torch.nn.Module,
        config: TrainConfig,
        device: torch.device,
        parallel: DataParallel,
        train_data: PairData,
    ) -> None:
        self.model, self.loss_fn, self.config, self.device, self.parallel = model, loss_fn, config, device, parallel
        net = parallel.wrap(model)  # DistributedDataParallel under torchrun, else the model itself
        # under torchrun every step goes through the wrapped forward (no tower cache), so gradients are synced;
        # data that draws new pairs each epoch (images) is not cached here: its towers keep their own caches
        cache = not parallel.ctx.active and not train_data.resamples
        self.embedder = SideEmbedder(
            model, device, train_data.a, net=net, cache=cache, checkpoint_tokens=config.checkpoint_tokens
        )
        self.resamples = train_data.resamples
        self.sides: tuple[Prepared, ...] | None = None  # left, right (, the extra negatives, flat, right tower)
        self.per_pair = 0  # extra negatives per pair (triplet data with an in-batch loss)

    @staticmethod
    def check(model: PairModel, loss_fn: Any, loss_name: str) -> None:
        if loss_fn.takes == "scores" and model.head is None:
            raise ConfigError(f"loss {loss_name!r} trains a learned head; this model has none (set 'head')")
        if (loss_fn.takes == "logits") != bool(model.classes):
            raise ConfigError(
                f"loss {loss_name!r} and the model's head do not fit: cross-entropy trains a multi-class head "
                "(pair-classifier), and a multi-class head trains only with cross-entropy"
            )
        if loss_fn.takes == "embeddings" and model.head is not None:
            raise ConfigError(
                f"this model scores pairs with a learned head, which the embedding loss {loss_name!r} never trains; "
                "use loss 'bce', or a model without a head"
            )
        if loss_fn.drives_towers and context().active:
            raise ConfigError(f"loss {loss_name!r} runs its own backward pass per mini-batch, which torchrun lacks")
        distance = loss_fn.get_config().get("distance")
        if distance and model.head is None and distance != model.similarity_name:
            warnings.warn(
                f"the loss measures {distance} distance but the model scores pairs by {model.similarity_name}: "
                f"pass loss_args {{'distance': '{model.similarity_name}'}} unless the mismatch is intended",
                stacklevel=3,
            )

    def epoch(self, data: PairData) -> np.ndarray:
        """Both sides' items prepared for the epoch's batches, and the pair lengths ``(pairs,)``.

        The training texts are prepared (tokenized) once, before the first epoch; data that draws new pairs each
        epoch is prepared anew. A pair's length is its longer side's for a twin (both sides share one padded
        batch) and the sum of its sides' otherwise."""
        if self.sides is None or self.resamples:
            self.sides = self.embedder.prepare(data.a, data.b)
            if data.negatives is not None:  # every negative of every pair, flat, through the right tower
                self.per_pair = len(data.negatives[0])
                flat = [n for row in data.negatives for n in row]
                self.sides = (*self.sides, self.embedder.prepare_side(flat, "right"))
        left, right = self.sides[:2]
        twin = self.model.left is self.model.right
        return np.maximum(left.lengths, right.lengths) if twin else left.lengths + right.lengths

    def embed(self, rows: Sequence[int]) -> tuple[torch.Tensor, ...]:
        """``(u, v)`` of the pairs at ``rows`` ``(rows, dim)``, plus their extra negatives ``(rows, k, dim)``."""
        with amp_autocast(self.device, self.config.amp):
            u, v = self.embedder.rows(self.sides[0], self.sides[1], rows)  # static towers come from a cache
            if len(self.sides) == 2:
                return u, v
            k = self.per_pair
            flat = self.embedder.side_rows(self.sides[2], [r * k + j for r in rows for j in range(k)], "right")
            return u, v, flat.reshape(len(rows), k, -1)

    def loss(self, rows: Sequence[int], labels: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
        """The loss of the pairs at ``rows``; a loss that ``drives_towers`` (GradCache) embeds mini-batches through
        :meth:`embed` and runs the backward pass itself (its returned loss is detached). ``groups`` (one id per
        pair of the batch) reach a loss that ``takes_groups``; the trainer passes None to any other loss."""
        loss_fn = self.loss_fn
        if loss_fn.drives_towers:
            rows = list(rows)
            return loss_fn.backward_step(lambda chunk: self.embed(rows[chunk.start : chunk.stop]), len(rows), labels)
        return self.pair_loss(labels, *self.embed(rows), groups=groups)

    def pair_loss(
        self,
        labels: torch.Tensor,
        u: torch.Tensor,
        v: torch.Tensor,
        *negatives: torch.Tensor,
        groups: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss on embedded pairs (``u, v``, extra negatives): the embeddings, the head's scores or logits."""
        model, loss_fn = self.model, self.loss_fn
        u, v = self.parallel.gather(u, v)  # (batch, dim) each: the whole global batch under torchrun
        u, v = u.float(), v.float()
        if negatives:
            return loss_fn(u, v, labels, negatives[0].float())
        if loss_fn.takes == "logits":  # labels are class indices
            return loss_fn(model.head(u, v), labels)
        if loss_fn.takes == "scores":
            return loss_fn(model.score(u, v), labels)
        if groups is not None:  # only a loss that takes_groups gets them (train/batches.py groups_of)
            return loss_fn(u, v, labels, groups=groups)
        return loss_fn(u, v, labels)

    def to_train_mode(self) -> None:
        self.model.train()
        self.embedder.static_towers_to_eval()

    def dev_outputs(self, a: Sequence[Any], b: Sequence[Any], batch_size: int) -> torch.Tensor:
        return self.embedder.dev_outputs(a, b, batch_size)

    def close(self) -> None:
        """End of the run: the towers end training, the prepared (tokenized) items are not kept."""
        self.embedder.close()
        self.sides = None


STEPS: dict[str, type[Steps]] = {
    "embeddings": EmbeddingSteps,
    "pairs": PairSteps,  # a cross-encoder: model.forward_pairs on model.collate_pairs(a, b) (train/pair_step.py)
}
"""``PairModel.training_kind`` -> its step class ("closed-form" has none: no gradient steps)."""
NO_STEPS = "closed-form"


def step_class(model: PairModel) -> type[Steps] | None:
    """The step class of ``model``'s training kind; None for a closed-form model; a ConfigError for another."""
    kind = model.training_kind
    if kind == NO_STEPS:
        return None
    if kind not in STEPS:
        raise ConfigError(
            f"{type(model).__name__} declares training_kind {kind!r}; the trainer runs {sorted([*STEPS, NO_STEPS])}"
        )
    return STEPS[kind]
