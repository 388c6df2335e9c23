"""Torch building blocks: poolers, similarity functions, feature mappings, projection heads."""

from textsiam.layers.heads import FEATURES, MlpHead, pair_features
from textsiam.layers.pooling import ClsPooler, MaxPooler, MeanPooler, Pooler
from textsiam.layers.similarity import Similarity, build_similarity
from textsiam.registry import import_submodules

__all__ = [
    "FEATURES",
    "ClsPooler",
    "MaxPooler",
    "MeanPooler",
    "MlpHead",
    "Pooler",
    "Similarity",
    "build_similarity",
    "pair_features",
]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
