"""Export to sentence-transformers and transformers folders: other tools load them and get the same embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fixtures import BATCHED, RELOADED

import textsiam
from textsiam.encoders import HfTextEncoder, MlpEncoder
from textsiam.errors import ConfigError
from textsiam.models import PseudoSiameseModel, TwinModel, create_model

st = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed (the 'pretrained' extra)")

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats", "a"]


def _trained(model):
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():  # move away from the pretrained/initial weights, as training would
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def _st_embeddings(folder):
    return st.SentenceTransformer(str(folder), device="cpu").encode(TEXTS, convert_to_tensor=True)


@pytest.mark.parametrize(
    "encoder_args",
    [{}, {"pooling": "cls", "normalize": True}, {"pooling": "max", "dense": [{"in_features": 32, "out_features": 16}]}],
)
@pytest.mark.parametrize("projection_dim", [None, 8])
def test_twin_export_loads_in_sentence_transformers_with_the_same_embeddings(
    tiny_bert_dir, tmp_path, encoder_args, projection_dim
):
    model = _trained(create_model(str(tiny_bert_dir), projection_dim=projection_dim, encoder_args=encoder_args, seed=0))
    out = textsiam.export(model, tmp_path / "out")
    torch.testing.assert_close(_st_embeddings(out), model.encode(TEXTS), atol=BATCHED, rtol=0)  # ST's batches
    if not (projection_dim and encoder_args.get("normalize")):  # textsiam reads its own export back
        again = create_model(str(out))
        torch.testing.assert_close(again.encode(TEXTS), model.encode(TEXTS), atol=BATCHED, rtol=0)


def test_hf_export_loads_in_transformers(tiny_bert_dir, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    model = _trained(create_model(str(tiny_bert_dir), projection_dim=8, seed=0))
    out = textsiam.export(model, tmp_path / "hf", format="hf")
    auto, tokenizer = AutoModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    features = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model.encoder.transformer(**features).last_hidden_state
        # the same weights and the same batch through transformers' own BertModel: RELOADED (fixtures.py)
        torch.testing.assert_close(auto(**features).last_hidden_state, expected, atol=RELOADED, rtol=0)
    assert not (out / "modules.json").exists()
    from textsiam.deploy.export import dropped_parts

    assert dropped_parts(model, "hf") == ["mean pooling", "the projection"]


def test_pseudo_exports_each_tower_to_its_own_folder(tiny_bert_dir, tmp_path):
    left = HfTextEncoder(str(tiny_bert_dir))
    right = HfTextEncoder(str(tiny_bert_dir), pooling="cls", normalize=True)
    model = _trained(PseudoSiameseModel(left, right, projection_dim=6))
    out = textsiam.export(model, tmp_path / "pseudo")
    assert sorted(p.name for p in out.iterdir()) == ["left", "right"]
    for side in ("left", "right"):
        torch.testing.assert_close(_st_embeddings(out / side), model.encode(TEXTS, side=side), atol=BATCHED, rtol=0)
    assert not torch.allclose(model.encode(TEXTS, side="left"), model.encode(TEXTS, side="right"))  # O(0.1) apart


def test_export_refuses_what_it_cannot_write(tiny_bert_dir, tmp_path):
    with pytest.raises(ConfigError, match="tower is a MlpEncoder; only transformer"):
        textsiam.export(create_model("digits-mlp-twin"), tmp_path / "a")
    pseudo = PseudoSiameseModel(HfTextEncoder(str(tiny_bert_dir)), MlpEncoder(), projection_dim=4)
    with pytest.raises(ConfigError, match="the right tower is a MlpEncoder"):
        textsiam.export(pseudo, tmp_path / "b")
    head = TwinModel(HfTextEncoder(str(tiny_bert_dir)), head={"name": "mlp-head", "args": {"hidden": 4}})
    with pytest.raises(ConfigError, match="learned head"):
        textsiam.export(head, tmp_path / "c")
    textsiam.export(head, tmp_path / "c", format="hf")  # the transformer alone is fine
    with pytest.raises(ConfigError, match="already exists and is not an empty folder"):
        textsiam.export(head, tmp_path / "c", format="hf")
    with pytest.raises(ConfigError, match=r"unknown export format 'onnx'\. Valid exporters: hf, sentence-transformers"):
        textsiam.export(head, tmp_path / "d", format="onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # nothing half-written left behind


def test_cli_export_and_model_json(tiny_bert_dir, tmp_path, capsys):
    import json

    from textsiam.cli.main import main

    model = _trained(create_model(str(tiny_bert_dir), projection_dim=8, seed=0))
    model.save(tmp_path / "m")
    assert main(["export", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "st")]) == 0
    torch.testing.assert_close(_st_embeddings(tmp_path / "st"), model.encode(TEXTS), atol=BATCHED, rtol=0)
    assert main(["export", "--model", str(tmp_path / "m"), "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    assert "holds no mean pooling, the projection" in capsys.readouterr().out
    (tmp_path / "model.json").write_text(
        json.dumps({"model": json.loads((tmp_path / "m" / "config.json").read_text())})
    )
    assert main(["score", "--model", str(tmp_path / "model.json"), "--a", "a dog", "--b", "a cat"]) == 0
    assert np.isfinite(float(capsys.readouterr().out.split("score: ")[1].split()[0]))
