"""Pair losses: tensors in, scalar out. Importing this package registers every loss in ``LOSSES``."""

from __future__ import annotations

from textsiam.losses.base import DistanceLoss, PairLoss
from textsiam.losses.bce import BCEWithLogitsLoss
from textsiam.losses.build import build_loss, loss_names
from textsiam.losses.chopra_exp import ChopraExpLoss
from textsiam.losses.combined import CombinedLoss
from textsiam.losses.contrastive import ContrastiveLoss
from textsiam.losses.cosent import CoSENTLoss
from textsiam.losses.cosine import CosineSimilarityLoss
from textsiam.losses.cross_entropy import CrossEntropyLoss
from textsiam.losses.multiple_negatives import MultipleNegativesRankingLoss
from textsiam.losses.online_contrastive import OnlineContrastiveLoss
from textsiam.registry import import_submodules

__all__ = [
    "BCEWithLogitsLoss",
    "ChopraExpLoss",
    "CombinedLoss",
    "CoSENTLoss",
    "ContrastiveLoss",
    "CosineSimilarityLoss",
    "CrossEntropyLoss",
    "DistanceLoss",
    "MultipleNegativesRankingLoss",
    "OnlineContrastiveLoss",
    "PairLoss",
    "build_loss",
    "loss_names",
]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
