"""Torch building blocks: poolers, similarity functions, feature mappings, projection heads."""

from textsiam.layers.heads import FEATURES, MlpHead, pair_features
from textsiam.layers.pooling import ClsPooler, MaxPooler, MeanPooler, Pooler
from textsiam.layers.similarity import Similarity, build_similarity

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
