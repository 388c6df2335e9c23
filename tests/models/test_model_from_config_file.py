"""A model is built from a config file alone: a preset's ``model`` part or a saved ``config.json``; fresh weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textsiam.errors import ConfigError
from textsiam.models import create_model, load_model
from textsiam.models.io import preset_config

A = ["a man plays the guitar", "a dog runs in the park", "two children read a book"]
B = ["a woman plays piano", "a dog is running", "a child sits"]


def _same_weights(m1, m2) -> bool:
    s1, s2 = m1.state_dict(), m2.state_dict()
    return s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)


def test_preset_file_builds_the_preset_with_seeded_fresh_weights(tmp_path):
    path = tmp_path / "digits.json"
    path.write_text(json.dumps(preset_config("digits-mlp-twin")))  # a whole preset file: its model part is used
    model = create_model(str(path), seed=3)
    assert model.get_config() == create_model("digits-mlp-twin").get_config()
    assert _same_weights(model, create_model("digits-mlp-twin", seed=3))
    assert not _same_weights(model, create_model(path, seed=4))


def test_saved_config_json_rebuilds_twin_and_pseudo_with_fresh_weights(tiny_bert_dir, tmp_path):
    twin = create_model(str(tiny_bert_dir), projection_dim=8, seed=0)
    pseudo = {
        "pair_model": "pseudo",
        "left": {"name": "hf-transformer", "args": {"model_name_or_path": str(tiny_bert_dir)}},
        "right": {"name": "mlp", "args": {"in_features": 16}},
        "projection_dim": 6,
        "similarity": "euclidean",
    }
    (tmp_path / "pseudo.json").write_text(json.dumps({"model": pseudo}))
    pseudo_model = create_model(tmp_path / "pseudo.json", seed=1)
    for name, model in (("twin", twin), ("pseudo", pseudo_model)):
        torch.nn.init.normal_(next(p for n, p in model.named_parameters() if "projection" in n))  # "trained"
        model.save(tmp_path / name)
        fresh = create_model(str(tmp_path / name / "config.json"), seed=0)
        assert type(fresh) is type(model) and fresh.get_config() == model.get_config()
        assert not _same_weights(fresh, load_model(tmp_path / name))  # the saved weights are not loaded
    images = list(np.random.default_rng(0).random((3, 4, 4), dtype=np.float32))
    assert pseudo_model.similarity_scores(A, images).shape == (3,)
    fresh_twin = create_model(tmp_path / "twin" / "config.json", seed=0)
    torch.testing.assert_close(
        fresh_twin.encoder.transformer.embeddings.word_embeddings.weight,
        twin.encoder.transformer.embeddings.word_embeddings.weight,
        atol=0,
        rtol=0,
    )  # pretrained part: the same file's weights, bit for bit


def test_bad_config_files_name_the_file(tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json: cannot read this model config"):
        create_model(str(bad_json))
    no_model = tmp_path / "train.json"
    no_model.write_text(json.dumps({"epochs": 3}))
    with pytest.raises(ConfigError, match="train.json is not a model config: it needs 'pair_model'"):
        create_model(str(no_model))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"pair_model": "twin", "encoder": {"name": "mlp", "args": {"in_features": "abc"}}}))
    with pytest.raises(ConfigError, match="wrong.json: mlp encoder: in_features must be a positive integer, got 'abc'"):
        create_model(str(wrong))
