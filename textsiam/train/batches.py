"""An epoch's batches (length-grouped or random) and its labels as the loss takes them."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

from textsiam.data import PairData, length_grouped_batches
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel


def resolve_grouping(group_by_length: bool | None, loss_fn, loss_name: str) -> bool:
    """Length-grouped batches (less padding, faster) unless the loss compares pairs within a batch."""
    if group_by_length is None:
        return not loss_fn.in_batch
    if group_by_length and loss_fn.in_batch:
        warnings.warn(
            f"group_by_length=True with the in-batch loss {loss_name!r}: every batch then holds pairs of similar "
            "length, so the loss never compares short with long ones (usually worse models); leave group_by_length "
            "unset for random batches",
            stacklevel=3,
        )
    return group_by_length


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, grouped: bool) -> list[list[int]]:
    """Row indices of each batch of an epoch: length-grouped (``grouped``) or a random order cut in batches."""
    if grouped:
        return length_grouped_batches(lengths, batch_size, seed=seed)
    order = np.random.default_rng(seed).permutation(len(lengths)).tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def labels_of(data: PairData, loss_fn, model: PairModel) -> torch.Tensor:
    """Float labels in [0, 1]; class indices (by the head's class names) for a loss on a multi-class head's logits."""
    if loss_fn.takes != "logits":
        return torch.as_tensor(data.scaled_labels(), dtype=torch.float32)
    classes = model.classes
    names = data.class_labels
    unknown = sorted(set(names) - set(classes))
    if unknown:
        raise ConfigError(f"{data.source}: classes {unknown} are not among the head's classes {classes}")
    return torch.as_tensor([classes.index(c) for c in names], dtype=torch.long)


def groups_of(data: PairData, loss_fn) -> torch.Tensor | None:
    """Each pair's group id ``(pairs,)`` for a loss that ``takes_groups`` (captions of one image are positives of
    each other); None for other losses and for data where every pair is its own group (text pairs, one caption per
    image): those batches take the plain loss, bit for bit as before groups existed."""
    if not loss_fn.takes_groups:
        return None
    groups = data.positive_groups
    if groups is None or np.unique(groups).size == groups.size:  # every pair its own group: the plain loss
        return None
    return torch.as_tensor(groups, dtype=torch.long)
