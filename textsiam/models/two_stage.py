"""Two stages: one trained model decides whether a pair is related at all (the gate), another which of the related
classes it is (the stance). Built for FNC-1 stances on unseen stories: a twin that separates ``unrelated`` well and
cheaply, then a cross-encoder that reads the headline with the body for ``discuss`` / ``agree`` / ``disagree``
(docs/benchmarks.md, FNC-1).

The outputs are the log-probabilities of a hierarchical model: ``p(negative)`` from the gate's softmax, and for each
related class ``p(c) = (1 - p(negative)) q(c)``, ``q`` the stance model's softmax over the related classes (a stance
model that also has the negative class is renormalised over the others). The prediction is the most probable class,
and the binary score (related or not) is ``log(1 - p) - log p``: both come from the gate alone wherever
``p(negative) >= 1/2``, because there no related class can beat the negative one, so the stance model reads only the
other pairs, and the related columns of the rows it skips hold ``q`` uniform.

Saved as one folder: ``config.json`` holds both models' configs under ``gate`` and ``stance``, their towers' assets
lie in ``gate/`` and ``stance/``, their weights in the one ``model.safetensors``. A new one is built from two saved
model folders (``{"pair_model": "two-stage", "gate": "runs/gate", "stance": "runs/stance"}``, paths relative to the
working directory); nothing in it is trained further, so ``textsiam train`` with it only scores dev and saves it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from textsiam.errors import ConfigError
from textsiam.layers.heads import negative_log_odds
from textsiam.models.base import PairModel
from textsiam.models.cross import NoEmbeddingsError
from textsiam.models.predictions import check_pairs
from textsiam.params import Constraint
from textsiam.registry import PAIR_MODELS

NO_EMBEDDINGS_TWO_STAGE = (
    "a two-stage model has no embeddings of its own: it gives class log-probabilities per pair (its gate's, then its "
    "stance model's). Use it to score, predict or evaluate pairs; to encode or search texts use a twin model, e.g. "
    "the gate's own folder"
)


class JointHead(nn.Module):
    """The class names, the negative class and the binary score of the joint log-probabilities (no weights)."""

    def __init__(self, classes: list[str], negative: str) -> None:
        super().__init__()
        self.classes, self.negative = list(classes), negative

    def binary_score(self, log_probs: torch.Tensor) -> torch.Tensor:
        """``(n, classes)`` log-probabilities -> ``(n,)`` log-odds of a related pair, ``log(1 - p) - log p``."""
        return negative_log_odds(log_probs, self.classes.index(self.negative))


@PAIR_MODELS.register("two-stage")
class TwoStageModel(PairModel):
    """A gate decides related or not; a stance model picks the related class (joint log-probabilities)."""

    submodel_keys: ClassVar[tuple[str, ...]] = ("gate", "stance")
    training_kind: ClassVar[str] = "pairs"  # scores pairs, no embeddings; nothing trainable (frozen below)
    params: ClassVar[dict[str, Constraint]] = {}

    def __init__(self, gate: PairModel, stance: PairModel) -> None:
        super().__init__()
        negative = gate.negative_class
        if not gate.classes or negative is None:
            raise ConfigError(
                f"two-stage model: the gate must be a multi-class model with a negative (no-match) class, e.g. "
                f"minilm-stance (classes [..., 'unrelated'], negative 'unrelated'); this one has classes "
                f"{gate.classes} and negative {negative}"
            )
        related = [c for c in gate.classes if c != negative]
        missing = [c for c in related if c not in (stance.classes or [])]
        if missing:
            raise ConfigError(
                f"two-stage model: the stance model must score every related class of the gate {related}; its "
                f"classes {stance.classes} lack {missing}"
            )
        self.gate, self.stance = gate, stance
        self.head = JointHead(gate.classes, negative)
        self._stance_columns = [stance.classes.index(c) for c in related]
        self.requires_grad_(False)
        for part in (gate, stance):
            part.eval()

    left = property(lambda self: self.gate.left, doc="The gate's left tower (it reads every pair).")
    right = property(lambda self: self.gate.right, doc="The gate's right tower.")

    @property
    def classes(self) -> list[str]:
        return self.head.classes

    @property
    def score_name(self) -> str:
        return "two-stage"

    @property
    def embedding_dim(self) -> None:
        return None

    def encode(self, *args: Any, **kwargs: Any):
        raise NoEmbeddingsError(NO_EMBEDDINGS_TWO_STAGE)

    embed = compare = score = project = encode

    @torch.inference_mode()
    def pair_outputs(
        self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, show_progress: bool = False
    ) -> torch.Tensor:
        """``(n, classes)`` log-probabilities, in the gate's class order."""
        a, b = check_pairs(a, b)
        return self.joint(self.gate.pair_outputs(a, b, batch_size, show_progress), a, b, batch_size, show_progress)

    @torch.inference_mode()
    def joint(
        self,
        gate_logits: torch.Tensor,
        a: Sequence[Any],
        b: Sequence[Any],
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> torch.Tensor:
        """The joint log-probabilities from the gate's ``(n, classes)`` logits of the pairs ``(a, b)``; the stance
        model scores the pairs the gate does not call negative with probability 1/2 or more."""
        gate = torch.log_softmax(gate_logits.float(), dim=-1)  # (n, classes)
        k = self.classes.index(self.head.negative)
        related = [i for i in range(len(self.classes)) if i != k]
        q = torch.full((len(gate), len(related)), -math.log(len(related)))  # uniform where the stance is not read
        rows = torch.nonzero(gate[:, k] < math.log(0.5)).flatten().tolist()
        if rows:
            stance = self.stance.pair_outputs([a[i] for i in rows], [b[i] for i in rows], batch_size, show_progress)
            q[rows] = torch.log_softmax(stance.float()[:, self._stance_columns], dim=-1)
        out = torch.empty_like(gate)
        out[:, k] = gate[:, k]
        out[:, related] = torch.logsumexp(gate[:, related], dim=-1, keepdim=True) + q  # log(1 - p) + log q
        return out

    def get_config(self) -> dict[str, Any]:
        return {"pair_model": "two-stage", "gate": self.gate.get_config(), "stance": self.stance.get_config()}
