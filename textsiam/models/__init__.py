"""Pair models (twin, pseudo-siamese), presets, and save/load through the registry."""

from textsiam.models.base import PairModel
from textsiam.models.io import build_model, create_model, load_model, save_model
from textsiam.models.pseudo import PseudoSiameseModel
from textsiam.models.twin import TwinModel
from textsiam.registry import import_submodules

__all__ = [
    "PairModel",
    "PseudoSiameseModel",
    "TwinModel",
    "build_model",
    "create_model",
    "load_model",
    "save_model",
]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
