"""PairModel: a left and a right tower, a comparison (similarity or learned head), and an optional decision.

The twin (siamese) model is the case where both towers are one module; the pseudo-siamese model has two different
towers projected into one space. Everything that scores, encodes, predicts or saves lives here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from textsiam.encoders import checks
from textsiam.encoders.base import Encoder
from textsiam.errors import ConfigError, DataError
from textsiam.layers.similarity import Similarity, build_similarity
from textsiam.models.cache import unique_items
from textsiam.models.predictions import Predictions, check_pairs
from textsiam.models.saving import save_model
from textsiam.params import Constraint, Optional, Registered, Spec, check_params, registered_name
from textsiam.registry import HEADS, PAIR_MODELS, SIMILARITIES


def to_device(features: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in features.items()}


class PairModel(Predictions, nn.Module):
    """Base class of every pair model. A subclass registers itself (``@PAIR_MODELS.register("name")``), sets
    ``left``/``right``, and declares what its ``config.json`` holds, which is all that saving and loading need:

    - ``tower_keys``: one per tower, each at once the constructor keyword, the model attribute holding the tower
      and the asset folder it is saved in (``("encoder",)`` for a twin, ``("left", "right")`` otherwise);
    - ``config_keys``: the other constructor keywords, saved in ``config.json`` from the attributes of the same
      names (``similarity`` and ``head`` from ``similarity_name`` / ``head_spec``); override ``get_config`` for
      values kept under other names;
    - ``submodel_keys``: keywords that take whole pair models (``models/two_stage.py``).
    """

    tower_keys: ClassVar[tuple[str, ...]] = ()
    config_keys: ClassVar[tuple[str, ...]] = ()
    submodel_keys: ClassVar[tuple[str, ...]] = ()
    """Keywords that take whole pair models (a two-stage model's gate and stance): each saved as its config under
    the key, its towers' assets in a folder of that name, its weights in the one ``model.safetensors``."""
    params: ClassVar[dict[str, Constraint]] = {"similarity": Registered(SIMILARITIES), "head": Optional(Spec(HEADS))}
    """What each constructor keyword other than the towers may be (:mod:`textsiam.params`): :meth:`check_params`."""

    training_kind: ClassVar[str] = "embeddings"
    """How the trainer runs a step (``textsiam.train.steps``): "embeddings" (towers -> u, v -> loss or head),
    "pairs" (a cross-encoder reads both items together: ``forward_pairs(collate_pairs(a, b))``), "closed-form" (no
    gradient training: ``fit_closed_form`` is the fit)."""

    def __init__(self, similarity: str = "cosine", head: dict[str, Any] | None = None) -> None:
        super().__init__()
        given = {"similarity": similarity, "head": head}
        self.check_params(**{k: v for k, v in given.items() if k in self.params})  # a cross model has neither
        self.similarity_name = similarity
        self.similarity: Similarity = build_similarity(similarity)
        self.head_spec = head
        self.head: nn.Module | None = None
        self.decision = None  # textsiam.eval.Decision, set by tune-threshold or load()

    def check_params(self, **values: Any) -> dict[str, Any]:
        """``values`` checked against ``params``: the converted values, or a ConfigError naming the model, the key,
        the bad value and what is allowed (``twin model: projection_dim must be a positive integer, got -3 (int)``)."""
        return check_params(f"{registered_name(PAIR_MODELS, self)} model", values, self.params)

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

    def check_modality(self, side: str, modality: str, given: str) -> None:
        """A ConfigError naming the tower when ``side``'s tower declares that it reads another kind of item than
        ``modality`` ("text" / "image"): an image path given to a text tower would be scored as a text."""
        tower = self.tower(side)
        takes = tower.modality
        if takes is not None and takes != modality:
            from textsiam.registry import ENCODERS

            raise ConfigError(
                f"{given}: this model's {side} tower ({ENCODERS.name_of(tower)}) reads {takes}s, not {modality}s, so "
                f"it cannot score them; use a model whose {side} tower reads {modality}s (textsiam list presets), "
                f"or give {takes}s"
            )

    def fit_vocabulary(self, a: Sequence[str], b: Sequence[str]) -> dict[str, Any]:
        """Fit the towers that build a vocabulary from training texts (lstm, tfidf) and are not fitted yet.

        Each tower sees the distinct texts of its side (a twin's one tower: both sides), so a body paired with 30
        headlines counts once in the idf. Returns what each tower reported (vocabulary size, GloVe coverage).
        """
        sides = {"encoder": (self.left, [*a, *b])} if self.left is self.right else {}
        sides = sides or {"left": (self.left, list(a)), "right": (self.right, list(b))}
        info = {}
        for name, (tower, texts) in sides.items():
            if not tower.is_fitted:
                info[name] = tower.fit_vocabulary(unique_items(texts)[0]) or {}
        return info

    def fit_closed_form(self, data: Any) -> dict[str, Any] | None:
        """Fit the model in closed form on the training pairs before training (ridge-map); returns what to log.
        None: this model has no closed-form fit."""
        return None

    def held_out_pairs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Out-of-fold ``(scores, labels)`` of training pairs from a closed-form fit, for threshold tuning; None."""
        return None

    def _build_head(self, dim: int) -> None:
        if self.head_spec is not None:
            self.head = HEADS.build(self.head_spec["name"], dim=dim, **self.head_spec.get("args", {}))

    def project(self, x: torch.Tensor, side: str = "left") -> torch.Tensor:
        """Tower outputs ``(batch, tower_dim)`` -> embeddings ``(batch, dim)`` in the shared space."""
        raise NotImplementedError

    def projection_of(self, side: str) -> nn.Module | None:
        """What ``project`` applies to ``side``'s tower output: an ``nn.Linear``, or None for none (an export
        writes it as a Dense layer). A pair model whose projection is no such layer keeps this default: it is not
        exported."""
        raise NotImplementedError(f"{type(self).__name__} does not say what projects its towers")

    def embed(self, features: dict[str, torch.Tensor], side: str = "left") -> torch.Tensor:
        """Tensors from ``collate`` -> embeddings ``(batch, dim)`` in the shared space."""
        return self.project(self.tower(side)(features), side)

    def forward(self, feats_a: dict[str, torch.Tensor], feats_b: dict[str, torch.Tensor]):
        return self.embed(feats_a, "left"), self.embed(feats_b, "right")

    def score(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """One score per pair, higher = more similar: the learned head's logit if there is one, else the similarity.

        A multi-class head scores the binary "not the negative class" decision (its ``binary_score``)."""
        if self.head is None:
            return self.similarity(u, v)
        out = self.head(u, v)
        return self.head.binary_score(out) if self.classes else out

    @property
    def classes(self) -> list[str] | None:
        """Class names of a multi-class head (stored with the model), else None."""
        return getattr(self.head, "classes", None)

    @property
    def negative_class(self) -> str | None:
        """The class of a multi-class head that means "no match" (the head then also gives a binary score)."""
        return getattr(self.head, "negative", None)

    @property
    def score_name(self) -> str:
        return f"head:{self.head_spec['name']}" if self.head is not None else self.similarity_name

    @property
    def device(self) -> torch.device:
        # a tf-idf twin has buffers but no parameters; an int8-quantized MLP has neither left: CPU
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")

    # -- inference ----------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def encode(
        self,
        items: Sequence[Any],
        side: str = "left",
        batch_size: int = 64,
        show_progress: bool = False,
        return_tokens: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Embed raw items (texts, images) with one tower; returns a CPU float tensor ``(n, dim)`` in input order.

        ``items`` is a list (or array) of items; a bare string is refused rather than read as its characters. Each
        distinct text is encoded once (see :mod:`textsiam.models.cache`). ``return_tokens``: also return ``(n,)``
        tokens per item, counted on the batches just encoded (``Encoder.token_counts``), not by tokenizing again.
        """
        table, inverse, tokens = self._encode_unique(items, side, batch_size, show_progress)
        rows = torch.as_tensor(inverse)
        return (table[rows], tokens[rows]) if return_tokens else table[rows]

    def _encode_unique(
        self, items: Sequence[Any], side: str, batch_size: int, show_progress: bool
    ) -> tuple[torch.Tensor, np.ndarray, torch.Tensor]:
        """``(embeddings of the distinct items, index of each item's row, tokens of each distinct item)``.

        The tower batches the distinct items itself (a text tower tokenizes them in one call and groups equal token
        counts, so padding is small); each batch's output is written straight to its rows of the table."""
        tower = self.tower(side)
        checks.positive_int("encode", "batch_size", batch_size)
        items = self.check_items(items, side)
        distinct, inverse = unique_items(items)
        table = torch.empty(len(distinct), self.embedding_dim)
        tokens = torch.zeros(len(distinct), dtype=torch.long)
        if not distinct:
            return table, inverse, tokens
        was_training = self.training
        self.eval()
        try:
            with tqdm(total=len(distinct), desc=f"encode {side}", disable=not show_progress, unit="item") as bar:
                for idx, feats in tower.batches(distinct, batch_size):
                    tokens[idx] = tower.token_counts(feats)  # (batch,)
                    table[idx] = self.embed(to_device(feats, self.device), side).float().cpu()  # (batch, dim)
                    bar.update(len(idx))
        finally:
            self.train(was_training)
        return table, inverse, tokens

    def check_items(self, items: Sequence[Any], side: str = "left") -> list:
        """``items`` as a list (a numpy array or pandas Series becomes one), or a DataError naming the side and tower
        for input this tower cannot take (a bare string, a dict, None, '')."""
        items = checks.item_list(items, side)
        tower = self.tower(side)
        try:
            tower.check_items(items)
        except DataError as err:
            raise DataError(f"{side} input, {side} tower ({type(tower).__name__}): {err}") from None
        return items

    @torch.inference_mode()
    def pair_outputs(
        self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, show_progress: bool = False
    ) -> torch.Tensor:
        """The comparison output per pair: ``(n,)`` scores, or ``(n, classes)`` logits of a multi-class head."""
        a, b = check_pairs(a, b)
        u, ia, _ = self._encode_unique(a, "left", batch_size, show_progress)
        v, ib, _ = self._encode_unique(b, "right", batch_size, show_progress)
        return self.compare_rows(u, ia, v, ib, batch_size)

    @torch.inference_mode()
    def compare_rows(
        self, u: torch.Tensor, ia: np.ndarray, v: torch.Tensor, ib: np.ndarray, batch_size: int = 64
    ) -> torch.Tensor:
        """:meth:`pair_outputs` of pairs already embedded: pair ``k`` is row ``ia[k]`` of ``u`` against row
        ``ib[k]`` of ``v`` (e.g. pairs drawn from one table of texts embedded once); CPU float outputs."""
        was_training = self.training
        self.eval()
        step = max(1, 4 * batch_size)
        out = [
            self.compare(u[ia[s : s + step]].to(self.device), v[ib[s : s + step]].to(self.device)).float().cpu()
            for s in range(0, len(ia), step)  # pairs in slices: (pairs, dim) of wide tf-idf vectors stays small
        ]
        self.train(was_training)
        return torch.cat(out) if out else torch.empty(0)

    def compare(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Embeddings of pairs -> ``(n,)`` scores, or ``(n, classes)`` logits of a multi-class head."""
        return self.head(u, v) if self.classes else self.score(u, v)

    def similarity_scores(
        self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Score each pair (a[i], b[i]); higher = more similar (a multi-class head: "not the negative class")."""
        out = self.pair_outputs(a, b, batch_size, show_progress)
        return (self.head.binary_score(out) if self.classes else out).numpy()

    @property
    def embedding_dim(self) -> int:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """``config.json``: the registered name, each tower's spec and each of ``config_keys``' values."""
        config: dict[str, Any] = {"pair_model": PAIR_MODELS.name_of(self)}
        config |= {key: getattr(self, key).spec() for key in self.tower_keys}
        common = {"similarity": self.similarity_name, "head": self.head_spec}
        return config | {key: common[key] if key in common else getattr(self, key) for key in self.config_keys}

    def save(self, folder) -> None:
        save_model(self, folder)
