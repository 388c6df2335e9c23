"""The encoder contract every tower (text or image, left or right) fulfils."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from textsiam.encoders.freezing import OutputCache
from textsiam.encoders.parts import TransformerParts
from textsiam.encoders.prepared import Prepared
from textsiam.params import Constraint, check_params, registered_name
from textsiam.registry import ENCODERS, constructor_config

__all__ = ["Encoder", "OutputCache", "Prepared", "normalisation_parameters"]  # the contract the trainer sees

_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm, nn.modules.batchnorm._NormBase)
"""Normalisation layers: their scales and shifts are not decayed."""


def normalisation_parameters(module: nn.Module) -> set[str]:
    """Names (relative to ``module``) of the parameters of its normalisation layers."""
    return {
        f"{prefix}.{name}" if prefix else name
        for prefix, layer in module.named_modules()
        if isinstance(layer, _NORMS)
        for name, _ in layer.named_parameters(recurse=False)
    }


class Encoder(nn.Module):
    """A tower: ``collate`` turns raw items into tensors, ``forward`` maps them to ``(batch, dim)`` vectors.

    Subclasses keep their constructor arguments explicit so ``get_config()`` can return them and the registry can
    rebuild the encoder from ``config.json``. Encoders with files of their own (a tokenizer, a transformer config)
    write them in ``save_assets`` and rebuild from them in ``from_saved`` without downloading any weights.
    """

    modality: str | None = None
    """What the tower reads: "text" or "image" (a tower declares it; None: not declared, nothing is checked)."""
    params: ClassVar[dict[str, Constraint]] = {}
    """What each constructor keyword may be (:mod:`textsiam.params`), checked by :meth:`check_params`."""

    def check_params(self, **values: Any) -> dict[str, Any]:
        """``values`` checked against ``params``: the converted values, or a ConfigError naming the encoder, the key,
        the bad value and what is allowed (``mlp encoder: hidden must be a positive integer, got 0 (int)``)."""
        return check_params(f"{registered_name(ENCODERS, self)} encoder", values, self.params)

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def collate(self, items: Sequence[Any]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def check_items(self, items: Sequence[Any]) -> None:
        """Raise a DataError naming the first item this tower cannot take (called before ``collate``)."""

    def item_length(self, item: Any) -> int:
        """A cheap size estimate of one raw item, used to group batches by length."""
        return 1

    def prepare(self, items: Sequence[Any]) -> Prepared:
        """Training items made ready once for many batches: ``prepare(items).features(rows)`` equals
        ``collate([items[i] for i in rows])``. The default keeps the items and collates per batch; a tower with
        costly per-item work (tokenizing) does that work here, once."""
        return Prepared(self, items)

    def checkpoint_layers(self, on: bool) -> None:
        """Recompute (``on``) the tower's layer activations in the backward pass instead of keeping them: the same
        gradients with less peak memory, for a step on a large batch. Towers without layers to recompute do
        nothing."""

    # -- training lifecycle (the trainer calls these; it knows no tower class) -----------------------------------
    output_cache: OutputCache | None = None
    """The tower's own store of per-text outputs of frozen parts, shared by its ``collate`` and the trainer's steps
    and dev scoring (a fully frozen transformer has one); None: the trainer may keep one for a static tower."""

    def begin_training(self) -> None:
        """A training run starts: frozen parts keep their outputs for the run (``cache_outputs(True)``)."""
        self.cache_outputs(True)

    def end_training(self) -> None:
        """The run is over: drop cached outputs, stop recomputing layers, free what the run kept (a tower with
        state of its own, e.g. gradient buffers, frees it too)."""
        self.cache_outputs(False)
        self.checkpoint_layers(False)

    def step_slots(self, features: dict[str, torch.Tensor]) -> int:
        """The size a training step on this collated batch keeps activations for: its padded token slots (0 for a
        batch without token ids). The trainer sums both sides' slots and recomputes layer activations
        (``checkpoint_layers``) for a step above ``TrainConfig.checkpoint_tokens``."""
        ids = features.get("input_ids")
        return 0 if ids is None else ids.numel()

    def set_inference_dtype(self, dtype: torch.dtype) -> bool:
        """Run the tower's heavy layers (a transformer) in ``dtype`` (bfloat16 / float16) for inference, handing
        float32 to what pools and normalises; returns whether it did. The default: nothing to convert (False), the
        tower stays float32 (``textsiam.deploy.precision``)."""
        return False

    def no_weight_decay(self) -> set[str]:
        """Names of parameters (relative to the tower) kept out of weight decay: those of normalisation layers
        (LayerNorm, BatchNorm, GroupNorm, RMSNorm). The trainer never decays a 1-d tensor (a bias) either."""
        return normalisation_parameters(self)

    def batches(self, items: Sequence[Any], batch_size: int) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        """Inference batches ``(positions in items, collated features)``, longest items first to cut padding.

        Every position appears once; callers write each batch's output at its positions (input order)."""
        order = torch.as_tensor(np.argsort([-self.item_length(x) for x in items], kind="stable"))
        for start in range(0, len(items), batch_size):
            idx = order[start : start + batch_size]
            yield idx, self.collate([items[i] for i in idx.tolist()])

    def count(self, features: dict[str, torch.Tensor]) -> int:
        """How many items a collated batch holds (rows, unless a tower splits items into several rows)."""
        return next(iter(features.values())).shape[0]

    def token_counts(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(items,)`` tokens per item of a collated batch, as its attention mask counts them (what the service
        reports as usage, read off the batch already tokenized); 1 per item for a tower without a mask."""
        mask = features.get("attention_mask")
        return torch.ones(self.count(features), dtype=torch.long) if mask is None else mask.sum(1)

    def merge(self, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Stack two collated batches into one (a first), so a twin runs a single forward pass for both sides."""
        return {k: torch.cat([a[k], b[k]]) for k in a}

    @property
    def is_fitted(self) -> bool:
        """False for a tower whose vocabulary must first be built from training texts (lstm, tfidf)."""
        return True

    def fit_vocabulary(self, texts: Sequence[str]) -> None:
        """Build what the tower learns from the training texts before training (a vocabulary, idf weights).

        The trainer calls it once, on the training texts of this tower's side, when ``is_fitted`` is False;
        towers without such state do nothing.
        """

    def cache_outputs(self, on: bool) -> None:
        """Keep (``on``) or drop (``off``, which also frees them) per-item outputs of frozen parts.

        The trainer switches this on for the length of a training run, where the same texts and images come back
        every epoch; everywhere else (``encode``, ``predict``, a served model) nothing is kept, so memory does not
        grow with every new input. Towers without frozen parts do nothing.
        """

    def export_parts(self) -> TransformerParts | None:
        """This tower as a Transformer -> Pooling -> Dense -> Normalize stack for an export to other libraries'
        folders (``textsiam export``); None (the default): the tower has no such form and is not exported."""
        return None

    def get_config(self) -> dict[str, Any]:
        """The constructor keyword arguments; by default read back from the attributes of the same names."""
        return constructor_config(self)

    def spec(self) -> dict[str, Any]:
        """``{"name": registered name, "args": get_config()}``: what a pair model's config.json holds per tower."""
        return {"name": ENCODERS.name_of(self), "args": self.get_config()}

    def save_assets(self, folder: Path) -> None:
        """Write files besides the weights that ``from_saved`` needs (nothing by default)."""

    @classmethod
    def from_saved(cls, config: dict[str, Any], folder: Path) -> Encoder:
        """Rebuild the architecture from ``config`` and the assets in ``folder``; weights are loaded afterwards."""
        return cls(**config)
