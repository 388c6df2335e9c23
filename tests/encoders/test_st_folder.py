"""Loading a sentence-transformers folder honours its modules.json: pooling mode, Dense, Normalize.

Folders are built with the sentence-transformers package itself (tests may import it; textsiam never does) over the
tiny BERT, and textsiam's embeddings must equal sentence-transformers' own within 1e-5.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers.fixtures import BATCHED, RELOADED
from textsiam.errors import ConfigError
from textsiam.models import create_model, load_model

st = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed (the 'pretrained' extra)")

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats", "a"]


def _st_folder(tiny_bert_dir, out, pooling="mean", dense=None, normalize=False):
    try:  # sentence-transformers >= 6
        from sentence_transformers.base.modules import Dense, Normalize, Transformer
        from sentence_transformers.sentence_transformer.modules import Pooling
    except ImportError:  # 5.x
        from sentence_transformers.models import Dense, Normalize, Pooling, Transformer

    torch.manual_seed(0)
    modules = [Transformer(str(tiny_bert_dir)), Pooling(32, pooling_mode=pooling)]
    if dense:
        modules.append(Dense(32, dense, activation_function=torch.nn.Tanh()))
    if normalize:
        modules.append(Normalize())
    model = st.SentenceTransformer(modules=modules, device="cpu")
    model.save(str(out))
    return model


@pytest.mark.parametrize(
    ("pooling", "dense", "normalize"),
    [("cls", None, False), ("mean", None, True), ("max", 8, True), ("mean", 12, False)],
)
def test_embeddings_equal_sentence_transformers(tiny_bert_dir, tmp_path, pooling, dense, normalize):
    reference = _st_folder(tiny_bert_dir, tmp_path / "st", pooling, dense, normalize)
    model = create_model(str(tmp_path / "st"))
    config = model.encoder.get_config()
    assert config["pooling"] == pooling and config["normalize"] == normalize
    assert [d["out_features"] for d in config["dense"]] == ([dense] if dense else [])
    expected = reference.encode(TEXTS, convert_to_tensor=True)
    torch.testing.assert_close(model.encode(TEXTS), expected, atol=BATCHED, rtol=0)  # sentence-transformers' batches
    model.save(tmp_path / "saved")  # the resolved stack is explicit in config.json: no need for the ST folder
    torch.testing.assert_close(load_model(tmp_path / "saved").encode(TEXTS), expected, atol=BATCHED, rtol=0)


def test_explicit_arguments_override_the_folder(tiny_bert_dir, tmp_path):
    _st_folder(tiny_bert_dir, tmp_path / "st", "cls", None, True)
    model = create_model(str(tmp_path / "st"), encoder_args={"pooling": "mean", "normalize": False})
    plain = create_model(str(tiny_bert_dir))
    torch.testing.assert_close(model.encode(TEXTS), plain.encode(TEXTS), atol=RELOADED, rtol=0)  # same weights, batches


def test_legacy_pooling_config_and_max_seq_length(tiny_bert_dir, tmp_path):
    reference = _st_folder(tiny_bert_dir, tmp_path / "st", "max")
    legacy = {"word_embedding_dimension": 32, "pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": False}
    (tmp_path / "st" / "1_Pooling" / "config.json").write_text(json.dumps(legacy))
    (tmp_path / "st" / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 5}))
    model = create_model(str(tmp_path / "st"))
    assert model.encoder.pooling_name == "max" and model.encoder.max_length == 5
    reference.max_seq_length = 5
    torch.testing.assert_close(
        model.encode(TEXTS), reference.encode(TEXTS, convert_to_tensor=True), atol=BATCHED, rtol=0
    )


def test_unsupported_or_pickled_modules_are_refused(tiny_bert_dir, tmp_path):
    _st_folder(tiny_bert_dir, tmp_path / "st", "mean", dense=8)
    pooling = tmp_path / "st" / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({"embedding_dimension": 32, "pooling_mode": "weightedmean"}))
    with pytest.raises(ConfigError, match=r"1_Pooling/config.json: pooling mode 'weightedmean' is not supported"):
        create_model(str(tmp_path / "st"))
    pooling.write_text(json.dumps({"embedding_dimension": 32, "pooling_mode": "mean"}))
    dense = tmp_path / "st" / "2_Dense"
    torch.save({"linear.weight": torch.zeros(8, 32)}, dense / "pytorch_model.bin")
    (dense / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match=r"2_Dense holds its Dense weights only as a pickle \(pytorch_model.bin\)"):
        create_model(str(tmp_path / "st"))
    modules = json.loads((tmp_path / "st" / "modules.json").read_text())
    modules[2] = {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.LayerNorm"}
    (tmp_path / "st" / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ConfigError, match="module 'sentence_transformers.models.LayerNorm' is not supported"):
        create_model(str(tmp_path / "st"))
