"""Adding a pair model is one new class: it registers itself and declares its towers (``tower_keys``) and the rest
of its config (``config_keys``); saving, ``textsiam.load``, ``build_model`` and scoring need no other edit (no table
of pair models in ``models/io.py`` or ``models/saving.py``).

The toy model lives in this file only and is registered under a test name for one test at a time.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import textsiam
from tests.helpers.fixtures import RELOADED, register_for_test
from textsiam.encoders.mlp import MlpEncoder
from textsiam.encoders.tfidf import TfidfEncoder
from textsiam.errors import ConfigError
from textsiam.models import PairModel, build_model
from textsiam.models.io import tower_folders
from textsiam.registry import PAIR_MODELS

NAME = "test-toy-pair"


class ToyPairModel(PairModel):
    """A vector query tower and a text document tower compared by a dot product, the query scaled by a learned
    gain."""

    tower_keys = ("query", "doc")  # towers with folder names no other pair model uses
    config_keys = ("similarity", "gain_init")

    def __init__(self, query, doc, similarity: str = "dot", head=None, gain_init: float = 1.0) -> None:
        super().__init__(similarity=similarity, head=head)
        self.query, self.doc, self.gain_init = query, doc, gain_init
        self.gain = nn.Parameter(torch.tensor(float(gain_init)))

    left = property(lambda self: self.query)
    right = property(lambda self: self.doc)
    embedding_dim = property(lambda self: self.query.dim)

    def project(self, x: torch.Tensor, side: str = "left") -> torch.Tensor:
        return x * self.gain if side == "left" else x  # (batch, dim)


@pytest.fixture
def toy_registered(monkeypatch):
    """``ToyPairModel`` registered as NAME for this test only."""
    register_for_test(monkeypatch, PAIR_MODELS, NAME, ToyPairModel)
    return ToyPairModel


DOCS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats", "a dog"]


def _toy(gain_init: float = 1.5) -> ToyPairModel:
    torch.manual_seed(0)
    doc = TfidfEncoder(max_features=8)
    doc.fit_vocabulary(DOCS)  # a tower with assets of its own (vocabulary and idf), saved in its folder
    return ToyPairModel(MlpEncoder(in_features=6, hidden=8, n_layers=2), doc, gain_init=gain_init)


def test_a_new_pair_model_saves_loads_through_textsiam_load_and_scores_the_same(toy_registered, tmp_path):
    model = _toy().eval()
    with torch.no_grad():
        model.gain.add_(0.25)  # a trained weight, away from its initial value: the reload must carry it
    rng = np.random.default_rng(0)
    a, b = list(rng.random((5, 6), dtype=np.float32)), DOCS[::-1]
    scores = model.similarity_scores(a, b)

    model.save(tmp_path / "toy")
    config = json.loads((tmp_path / "toy" / "config.json").read_text())
    assert config["pair_model"] == NAME
    assert {k: config[k] for k in ("similarity", "gain_init")} == {"similarity": "dot", "gain_init": 1.5}
    assert (config["query"]["name"], config["doc"]["name"]) == ("mlp", "tfidf")
    assert any((tmp_path / "toy" / "doc").iterdir())  # the doc tower's assets, in the folder named by its key

    loaded = textsiam.load(tmp_path / "toy")
    assert type(loaded) is ToyPairModel and loaded.query is not loaded.doc
    assert loaded.gain.detach().item() == pytest.approx(1.75)  # the saved weight, not gain_init
    # the same weights on the same inputs in the same batches: RELOADED (helpers/fixtures.py)
    np.testing.assert_allclose(loaded.similarity_scores(a, b), scores, rtol=0, atol=RELOADED)
    assert {"query", "doc"} <= tower_folders()  # a training run folder keeps the new towers' asset folders


def test_a_new_pair_model_config_is_checked_against_its_declared_keys(toy_registered):
    config = _toy().get_config()
    with pytest.raises(ConfigError, match=r"unknown test-toy-pair model config key\(s\) \['projection_dim'\]"):
        build_model({**config, "projection_dim": 4})
    with pytest.raises(ConfigError, match=r"needs \['query', 'doc'\]; missing \['doc'\]"):
        build_model({k: v for k, v in config.items() if k != "doc"})
    assert build_model(config).gain_init == 1.5


def test_the_toy_model_is_gone_after_its_test():
    assert NAME not in PAIR_MODELS
    with pytest.raises(ConfigError, match=f"config 'pair_model': unknown pair model '{NAME}'"):
        build_model({"pair_model": NAME})
