"""PairModel: a left and a right tower, a comparison (similarity or learned head), and an optional decision.

The twin (siamese) model is the case where both towers are one module; the pseudo-siamese model has two different
towers projected into one space. Everything that scores, encodes, predicts or saves lives here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from textsiam.encoders import checks
from textsiam.encoders.base import Encoder
from textsiam.errors import ConfigError, DataError, NoDecisionError
from textsiam.layers.similarity import Similarity, build_similarity
from textsiam.models.saving import save_model
from textsiam.registry import HEADS


def to_device(features: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in features.items()}


class PairModel(nn.Module):
    """Base class of twin and pseudo-siamese models. Subclasses set ``left``/``right`` and ``get_config``."""

    def __init__(self, similarity: str = "cosine", head: dict[str, Any] | None = None) -> None:
        super().__init__()
        checks.text("pair model", "similarity", similarity)
        if head is not None and not (isinstance(head, dict) and isinstance(head.get("name"), str)):
            raise ConfigError(f"pair model: head must be {{'name': ..., 'args': {{...}}}} or null, got {head!r}")
        self.similarity_name = similarity
        self.similarity: Similarity = build_similarity(similarity)
        self.head_spec = head
        self.head: nn.Module | None = None
        self.decision = None  # textsiam.eval.Decision, set by tune-threshold or load()

    # -- towers -------------------------------------------------------------------------------------------------
    @property
    def left(self) -> Encoder:
        raise NotImplementedError

    @property
    def right(self) -> Encoder:
        raise NotImplementedError

    def tower(self, side: str) -> Encoder:
        if side not in ("left", "right"):
            raise ConfigError(f"side must be 'left' or 'right', got {side!r}")
        return self.left if side == "left" else self.right

    def _build_head(self, dim: int) -> None:
        if self.head_spec is not None:
            self.head = HEADS.build(self.head_spec["name"], dim=dim, **self.head_spec.get("args", {}))

    def embed(self, features: dict[str, torch.Tensor], side: str = "left") -> torch.Tensor:
        """Tensors from ``collate`` -> embeddings ``(batch, dim)`` in the shared space."""
        raise NotImplementedError

    def forward(self, feats_a: dict[str, torch.Tensor], feats_b: dict[str, torch.Tensor]):
        return self.embed(feats_a, "left"), self.embed(feats_b, "right")

    def score(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """One score per pair, higher = more similar: the learned head's logit if there is one, else the similarity."""
        return self.head(u, v) if self.head is not None else self.similarity(u, v)

    @property
    def score_name(self) -> str:
        return f"head:{self.head_spec['name']}" if self.head is not None else self.similarity_name

    @property
    def device(self) -> torch.device:
        first = next(self.parameters(), None)  # an int8-quantized MLP has no float parameters left: CPU
        return first.device if first is not None else torch.device("cpu")

    # -- inference ----------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def encode(
        self, items: Sequence[Any], side: str = "left", batch_size: int = 64, show_progress: bool = False
    ) -> torch.Tensor:
        """Embed raw items (texts, images) with one tower; returns a CPU float tensor ``(n, dim)`` in input order.

        ``items`` is a list (or array) of items; a bare string is refused rather than read as its characters. The
        tower batches the items itself (a text tower tokenizes them in one call and groups equal token counts, so
        padding is small); each batch's output is written straight to its rows of the result."""
        tower = self.tower(side)
        checks.positive_int("encode", "batch_size", batch_size)
        self.check_items(items, side)
        out = torch.empty(len(items), self.embedding_dim)
        if len(items) == 0:
            return out
        was_training = self.training
        self.eval()
        try:
            with tqdm(total=len(items), desc=f"encode {side}", disable=not show_progress, unit="item") as bar:
                for idx, feats in tower.batches(items, batch_size):
                    out[idx] = self.embed(to_device(feats, self.device), side).float().cpu()  # (batch, dim)
                    bar.update(len(idx))
        finally:
            self.train(was_training)
        return out

    def check_items(self, items: Sequence[Any], side: str = "left") -> None:
        """A DataError naming the side and tower for input this tower cannot take (a bare string, None, '')."""
        checks.item_list(items, side)
        tower = self.tower(side)
        try:
            tower.check_items(items)
        except DataError as err:
            raise DataError(f"{side} input, {side} tower ({type(tower).__name__}): {err}") from None

    @torch.inference_mode()
    def similarity_scores(
        self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Score each pair (a[i], b[i]); higher = more similar."""
        _check_pairs(a, b)
        u = self.encode(a, "left", batch_size, show_progress)
        v = self.encode(b, "right", batch_size, show_progress)
        was_training = self.training
        self.eval()
        scores = self.score(u.to(self.device), v.to(self.device)).float().cpu().numpy()
        self.train(was_training)
        return scores

    def _require_decision(self):
        if self.decision is None:
            raise NoDecisionError(
                "this model has no fitted decision (threshold). Fit one on held-out data first: "
                "`textsiam tune-threshold --model DIR --data DEV_FILE --strategy youden`, "
                "or textsiam.tune_threshold(model, dev_pairs)"
            )
        return self.decision

    def predict(self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        """True where the pair matches, using the saved threshold (score >= threshold)."""
        _check_pairs(a, b)
        decision = self._require_decision()
        return decision.predict(self.similarity_scores(a, b, batch_size))

    def predict_proba(self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        """Calibrated probability that each pair matches (needs a decision fitted with a calibrator)."""
        _check_pairs(a, b)
        decision = self._require_decision()
        return decision.predict_proba(self.similarity_scores(a, b, batch_size))

    @property
    def embedding_dim(self) -> int:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def save(self, folder) -> None:
        save_model(self, folder)


def _check_pairs(a: Sequence[Any], b: Sequence[Any]) -> None:
    checks.item_list(a, "left")
    checks.item_list(b, "right")
    if len(a) != len(b):
        raise DataError(f"a and b must have the same length (one pair per position), got {len(a)} and {len(b)}")
