"""Bad input at the model boundary: each is a package error naming the side, item, field or file and the fix."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from textsiam.encoders import HfTextEncoder, MlpEncoder
from textsiam.errors import ConfigError, DataError, ModelNotFoundError
from textsiam.eval import fit_decision
from textsiam.models import PseudoSiameseModel, TwinModel, build_model, create_model, load_model

A = ["a man plays the guitar", "a dog runs in the park"]


@pytest.fixture(scope="module")
def text_model(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir))
    model.decision = fit_decision([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0], calibrate="platt")
    return model


@pytest.mark.parametrize("call", ["predict", "predict_proba", "similarity_scores"])
def test_a_bare_string_is_refused_not_scored_by_character(text_model, call):
    with pytest.raises(DataError, match=r"left input is a single str 'hello'.*predict\(\['hello'\], \['hallo'\]\)"):
        getattr(text_model, call)("hello", "hallo")
    with pytest.raises(DataError, match="right input is a single str"):
        getattr(text_model, call)(["hello"], "hallo")


def test_encode_refuses_a_bare_string_and_bad_batch_size(text_model):
    with pytest.raises(DataError, match="single str"):
        text_model.encode("hello")
    with pytest.raises(ConfigError, match="batch_size must be a positive integer, got -1"):
        text_model.encode(A, batch_size=-1)


@pytest.mark.parametrize(
    ("a", "message"),
    [
        ([""], "item 0 is an empty or whitespace-only text"),
        (["ok", "  \t"], "item 1 is an empty or whitespace-only text"),
        ([None], r"item 0 is None \(NoneType\); this tower takes texts"),
        ([3.5], r"item 0 is 3.5 \(float\)"),
    ],
)
def test_empty_or_missing_text_is_refused(text_model, a, message):
    with pytest.raises(DataError, match=rf"left input, left tower \(HfTextEncoder\): {message}"):
        text_model.similarity_scores(a, ["x"] * len(a))
    with pytest.raises(DataError, match=message):
        text_model.predict(["x"] * len(a), a)


def test_lengths_must_match(text_model):
    with pytest.raises(DataError, match="same length.*got 2 and 1"):
        text_model.similarity_scores(A, A[:1])


def test_text_given_to_an_image_model_names_the_tower():
    model = create_model("digits-mlp-twin", seed=0)
    with pytest.raises(DataError, match=r"left tower \(MlpEncoder\): item 0 is a str.*images or numeric vectors"):
        model.similarity_scores(["hello"], ["hallo"])
    images = list(np.zeros((2, 8, 8), dtype=np.float32))
    with pytest.raises(DataError, match=r"right tower \(MlpEncoder\).*text tower"):
        model.similarity_scores(images, ["a", "b"])
    with pytest.raises(DataError, match="in_features=16"):
        model.encode([np.zeros((4, 4))])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"in_features": "abc"}, r"mlp encoder: in_features must be a positive integer, got 'abc' \(str\)"),
        ({"hidden": 0}, "hidden must be a positive integer, got 0"),
        ({"n_layers": 2.5}, "n_layers must be a positive integer, got 2.5"),
        ({"dropout": 1.5}, r"dropout must be a finite number in \[0, 1\), got 1.5 \(float\)"),
        ({"in_features": True}, "in_features must be a positive integer, got True"),
    ],
)
def test_wrong_encoder_arguments_name_the_field_and_value(args, message):
    with pytest.raises(ConfigError, match=message):
        MlpEncoder(**args)


def test_wrong_model_arguments_name_the_field_and_value(tiny_bert_dir):
    with pytest.raises(
        ConfigError, match=r"twin model: projection_dim must be a positive integer or null, got -3 \(int\)"
    ):
        create_model("digits-mlp-twin", projection_dim=-3)
    with pytest.raises(ConfigError, match="pseudo model: projection_dim must be a positive integer, got 'x'"):
        PseudoSiameseModel(MlpEncoder(), MlpEncoder(), projection_dim="x")
    with pytest.raises(
        ConfigError, match=r"twin model: similarity must be a registered similarity: cosine.*got 3 \(int\)"
    ):
        TwinModel(MlpEncoder(), similarity=3)
    with pytest.raises(
        ConfigError, match="hf-transformer encoder: max_length must be a positive integer or null, got 0"
    ):
        HfTextEncoder(str(tiny_bert_dir), max_length=0)
    with pytest.raises(ConfigError, match=r"unknown argument\(s\) \['hiden'\]; it takes \['in_features', 'hidden'"):
        build_model({"pair_model": "twin", "encoder": {"name": "mlp", "args": {"hiden": 3}}})
    with pytest.raises(ConfigError, match=r"needs \['left', 'right'\]; missing \['right'\]"):
        build_model({"pair_model": "pseudo", "left": {"name": "mlp"}})


def _saved_digits(tmp_path):
    folder = tmp_path / "m"
    create_model("digits-mlp-twin", seed=0).save(folder)
    return folder


def test_config_json_with_a_wrong_type_names_the_file_field_and_value(tmp_path):
    folder = _saved_digits(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["encoder"]["args"]["in_features"] = "abc"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ConfigError, match=r"config.json: mlp encoder: in_features must be a positive integer, got 'abc'"
    ):
        load_model(folder)
    config["encoder"]["args"]["in_features"] = 64
    config["projection_dim"] = -3
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ConfigError, match="config.json: twin model: projection_dim must be a positive integer or null, got -3"
    ):
        load_model(folder)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_weights_name_the_file_and_the_fix(tmp_path, damage):
    folder = _saved_digits(tmp_path)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00" * 64)
    with pytest.raises(ModelNotFoundError, match=r"model.safetensors is damaged or truncated.*save the model again"):
        load_model(folder)
    with pytest.raises(ModelNotFoundError, match="damaged"):
        create_model(str(folder))


def test_folder_without_pair_model_or_with_only_a_pickle_says_what_a_model_folder_needs(tmp_path):
    folder = _saved_digits(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    del config["pair_model"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ModelNotFoundError, match=r"no 'pair_model'.*config.json \(with 'pair_model'\) and model.safetensors"
    ):
        load_model(folder)
    with pytest.raises(ModelNotFoundError, match=r"no 'model_type'.*textsiam model folder needs config.json"):
        create_model(str(folder))
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save({"w": torch.zeros(2)}, pickled / "pytorch_model.bin")
    with pytest.raises(ModelNotFoundError, match=r"only pytorch_model.bin.*never loads pickles"):
        create_model(str(pickled))
    with pytest.raises(ModelNotFoundError, match=r"only pickled files \(pytorch_model.bin\).*never loads"):
        load_model(pickled)


def test_transformers_folder_with_only_pickled_weights_is_refused(tiny_bert_dir, tmp_path):
    folder = tmp_path / "bert"
    shutil.copytree(tiny_bert_dir, folder)
    (folder / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(2)}, folder / "pytorch_model.bin")
    with pytest.raises(ModelNotFoundError, match=r"no \*.safetensors weights \(only pytorch_model.bin\).*never loads"):
        create_model(str(folder))


@pytest.mark.parametrize(
    "wrap",
    [np.array, lambda x: np.array(x, dtype=object), lambda x: __import__("pandas").Series(x), tuple],
    ids=["numpy-str", "numpy-object", "pandas-series", "tuple"],
)
def test_arrays_and_series_of_texts_score_like_lists(text_model, wrap):
    b = ["a man plays music", "a cat sits"]
    expected = text_model.similarity_scores(A, b)
    # before: "The truth value of an array with more than one element is ambiguous"
    np.testing.assert_allclose(text_model.similarity_scores(wrap(A), wrap(b)), expected, rtol=1e-6)
    np.testing.assert_array_equal(text_model.predict(wrap(A), wrap(b)), text_model.predict(A, b))
    torch.testing.assert_close(text_model.encode(wrap(A)), text_model.encode(A))


def test_dicts_and_two_dimensional_inputs_are_refused_not_read_by_their_keys(text_model):
    with pytest.raises(DataError, match=r"left input is a dict, not a list.*list\(d.values\(\)\)"):
        text_model.similarity_scores({"a dog": 1}, {"a cat": 0})  # before: scored the keys
    with pytest.raises(DataError, match="left input is a dict"):
        text_model.encode({"a dog": 1})
    pd = pytest.importorskip("pandas")
    with pytest.raises(DataError, match=r"DataFrame with 2 dimensions.*df\['text_a'\]"):
        text_model.encode(pd.DataFrame({"text_a": A}))
    with pytest.raises(DataError, match="0-d array"):
        text_model.encode(np.array("a dog"))
    with pytest.raises(DataError, match=r"item 0 is array\(\[.*this tower takes texts"):
        text_model.encode(np.array([A, A]))  # rows of a 2-d array are items: a text tower refuses them


def test_image_arrays_in_an_array_reach_an_image_tower():
    model = create_model("digits-mlp-twin")
    images = np.random.default_rng(0).random((3, 8, 8), dtype=np.float32) * 16
    expected = model.encode([images[0], images[1], images[2]])
    torch.testing.assert_close(model.encode(images), expected)  # a stack of images: one image per row


def test_a_lone_surrogate_is_a_data_error_naming_the_item_and_the_fix(text_model):
    with pytest.raises(DataError, match=r"left input.*item 1 .*lone surrogate '\\ud800' at character 2.*replace"):
        text_model.predict(["a dog", "a \ud800 cat"], ["x", "y"])  # before: a TypeError from the tokenizer


def test_a_config_json_that_no_longer_matches_the_weights_names_the_tensors_and_the_fix(tiny_bert_dir, tmp_path):
    create_model(str(tiny_bert_dir), projection_dim=16).save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "projection_dim": 8}))
    with pytest.raises(ModelNotFoundError) as err:  # before: torch's RuntimeError "size mismatch for ..."
        load_model(tmp_path / "m")
    message = str(err.value)
    assert "does not match" in message and "projection.weight is [16, 32] in the weights but [8, 32]" in message
    assert "put back the config.json saved with these weights" in message
