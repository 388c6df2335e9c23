"""Data-parallel training under ``torchrun --nproc_per_node N -m textsiam train ...``.

Every rank draws the same global batches (same seed). Each global batch of B pairs is cut into N contiguous pieces
(sizes differ by at most one; a short piece is padded with a copy of the batch's first pair so that every rank runs
the same shapes). Each rank embeds its piece, the embeddings are gathered from all ranks *with their gradients*
(``torch.distributed.nn.functional.all_gather``), the padding rows are dropped, and the loss is computed on the
whole global batch on every rank. So in-batch losses (multiple-negatives, CoSENT, InfoNCE) see all B pairs, as in
one process. The gradient reaching a rank's rows is the sum over the N identical losses, N times the true one, and
DistributedDataParallel's average over ranks divides it back: the update equals single-process training on the
same global batch, up to floating-point summation order.
"""

from __future__ import annotations

import torch
from torch import nn

from textsiam.distributed import DistContext


class DataParallel:
    """Batch sharding, model wrapping and embedding gathering for one rank (a no-op in a single process)."""

    def __init__(self, ctx: DistContext) -> None:
        self.ctx = ctx
        self._counts: list[int] = []

    def wrap(self, model: nn.Module) -> nn.Module:
        if not self.ctx.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device = next(model.parameters()).device
        ids = [device.index] if device.type == "cuda" else None
        # static_graph: the same parameters are used every step, and some (the transformer's unused pooler) never
        return DistributedDataParallel(model, device_ids=ids, static_graph=True)

    def shard(self, idx: list[int]) -> list[int]:
        """This rank's contiguous piece of a global batch, padded to the size of the largest piece."""
        if not self.ctx.active:
            return idx
        n, world = len(idx), self.ctx.world
        bounds = [r * n // world for r in range(world + 1)]
        self._counts = [bounds[r + 1] - bounds[r] for r in range(world)]
        piece = idx[bounds[self.ctx.rank] : bounds[self.ctx.rank + 1]]
        return piece + [idx[0]] * (max(self._counts) - len(piece))

    def gather(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Each ``(piece, ...)`` tensor -> the ``(global batch, ...)`` tensor in batch order, gradients kept."""
        if not self.ctx.active:
            return tensors
        from torch.distributed.nn.functional import all_gather

        out = []
        for t in tensors:
            pieces = all_gather(t.contiguous())  # one (piece, ...) tensor per rank
            out.append(torch.cat([p[:c] for p, c in zip(pieces, self._counts)]))
        return tuple(out)

    def main_decides(self, flag: bool, device: torch.device) -> bool:
        """The main rank's ``flag`` on every rank (a callback on the main rank stops all ranks after one epoch)."""
        if not self.ctx.active:
            return flag
        shared = torch.tensor([int(flag)], device=device)
        torch.distributed.broadcast(shared, src=0)
        return bool(shared.item())
