"""Models saved by earlier textsiam versions keep loading and scoring the same (``tests/models/saved/``).

Each folder there was written once by ``model.save`` and is never rewritten: a change to ``config.json``'s keys,
a registry name or the weight layout that breaks it must come with a loading path (a registry alias, a config
upgrade), not a new fixture. Beside each folder, ``NAME.scores.json`` holds fixed inputs and the scores the model
gave when it was saved.

``2026-12-mlp-twin``: ``create_model`` of a twin with an ``mlp`` tower (``in_features`` 6, ``hidden`` 8,
``n_layers`` 2), a 4-dim projection and cosine similarity, seed 0, saved with textsiam 0.1.0 on 2026-12-02.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from textsiam.encoders import base as encoders_base
from textsiam.encoders.mlp import MlpEncoder
from textsiam.models import io
from textsiam.models.io import load_model
from textsiam.models.twin import TwinModel
from textsiam.registry import Registry, RenamedWarning

SAVED = Path(__file__).parent / "saved"
ATOL = 1e-5
"""Cosine scores lie in [-1, 1] and each passes through three float32 layers of at most 8 inputs and a 4-dim cosine:
rounding (which differs between x86 CPUs only in summation order and FMA use) moves a score by a few float32 ulps,
about 1e-6 at most. 1e-5 is ten times that, and far below what a wrong config, weight or layer would change."""


def _saved(name: str) -> tuple[Path, dict]:
    return SAVED / name, json.loads((SAVED / f"{name}.scores.json").read_text(encoding="utf-8"))


def _check_scores(model, expected: dict) -> None:
    scores = model.similarity_scores(expected["a"], expected["b"])
    np.testing.assert_allclose(scores, expected["scores"], rtol=0, atol=ATOL)


def test_a_model_saved_in_2026_12_loads_without_warnings_and_scores_the_same():
    folder, expected = _saved("2026-12-mlp-twin")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no renamed name, no deprecated path
        model = load_model(folder)
    assert json.loads((folder / "config.json").read_text())["encoder"]["name"] == "mlp"
    _check_scores(model, expected)


@pytest.fixture
def mlp_renamed(monkeypatch) -> Registry:
    """A test-only encoder registry in which ``mlp`` was renamed ``mlp-v2`` (the old name kept as an alias)."""
    encoders = Registry("encoders", "encoder")
    encoders.register("mlp-v2", MlpEncoder, aliases=("mlp",))
    monkeypatch.setattr(io, "ENCODERS", encoders)  # looked up when loading
    monkeypatch.setattr(encoders_base, "ENCODERS", encoders)  # Encoder.spec(): the name written when saving
    return encoders


def test_a_renamed_encoder_loads_an_old_config_with_a_warning_and_saves_the_new_name(mlp_renamed, tmp_path):
    folder, expected = _saved("2026-12-mlp-twin")
    with pytest.warns(RenamedWarning, match=r"encoder 'mlp' was renamed to 'mlp-v2'.*Save the model again"):
        model = load_model(folder)
    _check_scores(model, expected)
    model.save(tmp_path / "resaved")
    assert json.loads((tmp_path / "resaved" / "config.json").read_text())["encoder"]["name"] == "mlp-v2"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_scores(load_model(tmp_path / "resaved"), expected)


def test_a_renamed_pair_model_loads_an_old_config_with_a_warning(monkeypatch):
    pair_models = Registry("pair_models", "pair model")
    pair_models.register("siamese", TwinModel, aliases=("twin",))
    monkeypatch.setattr(io, "PAIR_MODELS", pair_models)
    folder, expected = _saved("2026-12-mlp-twin")
    with pytest.warns(RenamedWarning, match="pair model 'twin' was renamed to 'siamese'"):
        model = load_model(folder)
    _check_scores(model, expected)
