"""GradCache: multiple-negatives over a large batch, embedded and back-propagated in mini-batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import torch

from textsiam.losses.multiple_negatives import MultipleNegativesRankingLoss
from textsiam.params import POSITIVE_INT
from textsiam.registry import LOSSES

Embed = Callable[[Sequence[int]], tuple[torch.Tensor, ...]]
"""Rows of the batch -> their embeddings with graph: ``(u, v)`` or ``(u, v, negatives)``, ``(rows, dim)`` each
(negatives ``(rows, k, dim)``)."""


class RandomState:
    """The CPU (and current CUDA device) random state at one moment, to replay a forward with the same dropout."""

    def __init__(self) -> None:
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda)


@LOSSES.register("cached-multiple-negatives")
class CachedMultipleNegativesLoss(MultipleNegativesRankingLoss):
    """Multiple-negatives with GradCache: the whole batch's negatives, the memory of one mini-batch.

    The loss is the multiple-negatives loss ``L(U, V)`` of the whole batch (see ``multiple-negatives``)::

        L = mean over anchors i of -log( exp(S[i, i]) / sum over j of exp(S[i, j]) ),  S = s * cos(U, V)

    computed in three passes: (1) the embeddings of every mini-batch, each mini-batch's graph dropped at once;
    (2) ``L`` on them and its gradient ``G = dL/dU, dL/dV`` (the "representation gradient cache"); (3) each
    mini-batch embedded again, now with a graph and the same random state (same dropout), and back-propagated from
    ``sum(embeddings * G)``. By the chain
    rule the weights get the gradient of ``L`` itself, while only one mini-batch's activations exist at a time.
    Pass 1 runs with gradients enabled (not under ``no_grad``) so that it takes the same kernels as pass 3:
    transformers' attention picks another kernel under ``no_grad``, which draws other dropout masks from the same
    random state, and the replayed mini-batches would then not be the ones the loss saw.
    Called as ``forward(u, v, labels)`` on ready embeddings it is the plain multiple-negatives loss; the trainer
    calls :meth:`backward_step` with an embedding function instead (``drives_towers``).

    Paper: L. Gao, Y. Zhang, J. Han, J. Callan, "Scaling Deep Contrastive Learning Batch Size under Memory Limited
    Setup" (GradCache), 2021.

    Args:
        mini_batch_size: rows embedded at once (> 0); memory follows it, the loss and gradients do not.
        scale, symmetric, min_label, skip_empty: as for ``multiple-negatives``.
    """

    drives_towers: ClassVar[bool] = True
    params = MultipleNegativesRankingLoss.params | {"mini_batch_size": POSITIVE_INT}

    def __init__(
        self,
        scale: float = 20.0,
        symmetric: bool = False,
        min_label: float = 0.5,
        skip_empty: bool = False,
        mini_batch_size: int = 32,
    ) -> None:
        super().__init__(scale=scale, symmetric=symmetric, min_label=min_label, skip_empty=skip_empty)
        self.set_params(mini_batch_size=mini_batch_size)

    def backward_step(self, embed: Embed, rows: int, labels: torch.Tensor) -> torch.Tensor:
        """Back-propagate the loss of ``rows`` pairs (``embed(range)`` embeds some of them) into the weights
        behind ``embed`` (gradients accumulate in ``.grad`` as after ``loss.backward()``); returns the loss,
        detached."""
        chunks = [range(i, min(i + self.mini_batch_size, rows)) for i in range(0, rows, self.mini_batch_size)]
        states, pieces = [], []
        for chunk in chunks:  # pass 1: each mini-batch's graph is dropped as soon as its embeddings are copied out
            states.append(RandomState())
            pieces.append([t.detach().float() for t in embed(chunk)])
        after = RandomState()
        full = [torch.cat(parts).requires_grad_(True) for parts in zip(*pieces)]  # u, v[, negatives]
        loss = self(full[0], full[1], labels, *full[2:])  # pass 2: the loss and its representation gradients
        loss.backward()
        grads = [t.grad if t.grad is not None else torch.zeros_like(t) for t in full]
        for chunk, state in zip(chunks, states):  # pass 3: each mini-batch again, with graph, same dropout
            state.restore()
            outputs = embed(chunk)
            surrogate = sum((out.float() * g[chunk.start : chunk.stop]).sum() for out, g in zip(outputs, grads))
            surrogate.backward()
        after.restore()  # later draws continue as if each mini-batch had been embedded once
        return loss.detach()
