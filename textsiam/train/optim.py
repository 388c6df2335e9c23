"""The optimizer side of a training step: seeding, AdamW groups, gradient clipping inside the fused step, and the
linear warmup / decay schedule."""

from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np
import torch

from textsiam.models.base import PairModel
from textsiam.train.config import TrainConfig
from textsiam.train.towers import param_groups


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_optimizer(
    model: PairModel, cfg: TrainConfig, loss_fn: torch.nn.Module | None = None
) -> torch.optim.Optimizer:
    """AdamW over the trainable weights: per tower (its lr multiplier), the rest, and the loss's own (e.g. a
    learnable temperature, not decayed)."""
    groups = param_groups(model, cfg.lr, cfg.weight_decay, cfg.towers)
    own = [p for p in loss_fn.parameters() if p.requires_grad] if loss_fn is not None else []
    if own:
        groups.append({"params": own, "lr": cfg.lr, "weight_decay": 0.0})
    # The fused kernel (one op for all tensors, CPU and CUDA) is several times faster than the per-tensor loop.
    return torch.optim.AdamW(groups, lr=cfg.lr, fused=True)


def clipped_step(optimizer: torch.optim.Optimizer, params: Iterable[torch.Tensor], max_norm: float | None) -> None:
    """``optimizer.step()`` after clipping the total gradient norm of ``params`` to ``max_norm``, exactly as
    ``clip_grad_norm_(params, max_norm)`` would.

    When the optimizer is fused and ``params`` are all the tensors it updates, the clipping factor goes to the fused
    kernel as ``grad_scale`` (it divides each gradient as it reads it, as under a gradient scaler) instead of a
    separate pass that multiplies every gradient: 3% of a MiniLM step at 2 threads (docs/benchmarks.md)."""
    if not max_norm:
        optimizer.step()
        return
    grads = [p.grad for p in params if p.grad is not None]
    factor = (max_norm / (torch.nn.utils.get_total_norm(grads) + 1e-6)).clamp(max=1.0)  # clip_grad_norm_'s
    updated = {id(p.grad) for group in optimizer.param_groups for p in group["params"] if p.grad is not None}
    if not optimizer.defaults.get("fused") or updated != {id(g) for g in grads}:
        torch._foreach_mul_(grads, factor)
        optimizer.step()
        return
    optimizer.grad_scale = 1.0 / factor  # read by the fused step
    try:
        optimizer.step()
    finally:
        del optimizer.grad_scale


def linear_warmup(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
