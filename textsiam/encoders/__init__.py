"""Towers: text (transformers, lstm, tfidf) and image (mlp) encoders, all registered in ``ENCODERS``."""

from textsiam.encoders.base import Encoder
from textsiam.encoders.hf import HfTextEncoder
from textsiam.encoders.lstm import LstmEncoder
from textsiam.encoders.mlp import MlpEncoder
from textsiam.encoders.pretrained import resolve_pretrained
from textsiam.encoders.tfidf import TfidfEncoder
from textsiam.registry import import_submodules

__all__ = ["Encoder", "HfTextEncoder", "LstmEncoder", "MlpEncoder", "TfidfEncoder", "resolve_pretrained"]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
