"""Embedding distillation in the trainer: a twin teacher's embedding of every training text is the target of the
student's, beside the run's pair loss.

:class:`TeacherTargets` holds the teacher's embeddings (one row per distinct training text, computed once per run
by the API and cached in the run folder) and the :class:`~textsiam.losses.distill.EmbeddingDistillation` term with
its projection. Its :meth:`~TeacherTargets.steps_class` is the step class the trainer uses instead of the plain
"embeddings" one: each step's loss is ``pair loss + weight * (distillation of u + distillation of v) / 2``. The
projection trains with the student (the optimizer and the checkpoint hold it beside the loss's own weights) and is
not part of the saved model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from textsiam.data import PairData
from textsiam.distributed import context
from textsiam.errors import ConfigError
from textsiam.losses.distill import EmbeddingDistillation
from textsiam.models.base import PairModel
from textsiam.train.steps import EmbeddingSteps


class TeacherTargets(nn.Module):
    """The teacher's embeddings ``table (texts, teacher_dim)`` of ``texts`` and the distillation term (its weight
    against the pair loss, and the projection from ``student_dim`` when the sizes differ)."""

    def __init__(
        self, texts: Sequence[str], table: torch.Tensor, student_dim: int, weight: float = 1.0, seed: int = 0
    ) -> None:
        super().__init__()
        if table.dim() != 2 or table.shape[0] != len(texts):
            raise ConfigError(f"teacher embeddings {tuple(table.shape)} do not fit {len(texts)} texts")
        self.index = {text: i for i, text in enumerate(texts)}
        # a plain attribute: the targets are no weights (not in the checkpoint); a copy made here is an ordinary
        # tensor, which autograd may save (encode returns inference-mode tensors)
        self.table = table.detach().float().clone()
        self.weight = float(weight)
        with torch.random.fork_rng():  # the projection starts from ``seed``, whatever ran before
            torch.manual_seed(seed)
            self.distill = EmbeddingDistillation(student_dim, table.shape[1])

    def rows_of(self, texts: Sequence[str]) -> torch.Tensor:
        """The table's row of each text; a text the teacher never embedded is an error (a bug, not bad data)."""
        try:
            return torch.as_tensor([self.index[t] for t in texts], dtype=torch.long)
        except KeyError as err:
            raise ConfigError(f"the teacher's embeddings lack the training text {str(err)[:80]}") from None

    def loss(self, u: torch.Tensor, v: torch.Tensor, rows_a: torch.Tensor, rows_b: torch.Tensor) -> torch.Tensor:
        """``weight`` x the mean of both sides' distillation terms for the pairs whose texts are at those rows."""
        ta, tb = self.table[rows_a].to(u.device), self.table[rows_b].to(v.device)
        return self.weight * (self.distill(u, ta) + self.distill(v, tb)) / 2

    def steps_class(self, model: PairModel) -> type[EmbeddingSteps]:
        """The step class of a run distilled toward these targets (a ConfigError for a model it cannot train)."""
        if model.training_kind != "embeddings":
            raise ConfigError(
                f"embedding distillation trains a model with embeddings (a twin or pseudo-siamese model); this "
                f"{type(model).__name__} has training kind {model.training_kind!r}"
            )
        return type("TeacherSteps", (DistillSteps,), {"targets": self})


class DistillSteps(EmbeddingSteps):
    """The "embeddings" steps plus the distillation term (see the module doc); ``targets`` is set per run."""

    targets: ClassVar[TeacherTargets]

    def __init__(self, model: PairModel, loss_fn, config, device, parallel, train_data: PairData) -> None:
        super().__init__(model, loss_fn, config, device, parallel, train_data)
        self.rows_a = self.rows_b = torch.empty(0, dtype=torch.long)

    @staticmethod
    def check(model: PairModel, loss_fn, loss_name: str) -> None:
        EmbeddingSteps.check(model, loss_fn, loss_name)
        if loss_fn.drives_towers:
            raise ConfigError(
                f"loss {loss_name!r} runs its own backward pass per mini-batch, which embedding distillation (one "
                "loss over the whole batch) cannot join; use the loss without its cached variant"
            )
        if context().active:
            raise ConfigError("embedding distillation runs in one process; start it without torchrun")

    def epoch(self, data: PairData) -> np.ndarray:
        if data.resamples:
            raise ConfigError("embedding distillation takes text pairs; these pairs draw new items every epoch")
        lengths = super().epoch(data)
        self.rows_a, self.rows_b = self.targets.rows_of(data.a), self.targets.rows_of(data.b)
        return lengths

    def loss(self, rows: Sequence[int], labels: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
        embedded = self.embed(rows)
        pair = self.pair_loss(labels, *embedded, groups=groups)
        at = torch.as_tensor(list(rows), dtype=torch.long)
        u, v = embedded[0].float(), embedded[1].float()
        return pair + self.targets.loss(u, v, self.rows_a[at], self.rows_b[at])
