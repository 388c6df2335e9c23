"""Export to sentence-transformers and transformers folders: other tools load them and get the same embeddings, and
textsiam reads a sentence-transformers export back as the same model, decision included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import textsiam
from tests.helpers.fixtures import BATCHED, RELOADED
from textsiam.deploy.export import export_model
from textsiam.encoders import HfTextEncoder, MlpEncoder
from textsiam.errors import ConfigError
from textsiam.eval.decision import fit_decision
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
    again = textsiam.load(out)  # the same modules, the same weights, the same batches: bit for bit
    assert again.get_config() == model.get_config()
    torch.testing.assert_close(again.encode(TEXTS), model.encode(TEXTS), atol=RELOADED, rtol=0)


def test_hf_export_loads_in_transformers(tiny_bert_dir, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    model = _trained(create_model(str(tiny_bert_dir), projection_dim=8, seed=0))
    out = textsiam.export(model, tmp_path / "hf", format="hf")
    auto, tokenizer = AutoModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    features = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model.encoder.transformer(**features).last_hidden_state
        # the same weights and the same batch through transformers' own BertModel: RELOADED (helpers/fixtures.py)
        torch.testing.assert_close(auto(**features).last_hidden_state, expected, atol=RELOADED, rtol=0)
    assert not (out / "modules.json").exists()
    from textsiam.deploy.export import dropped_parts

    assert dropped_parts(model, "hf") == ["mean pooling", "the projection"]


def _pseudo(tiny_bert_dir):
    left = HfTextEncoder(str(tiny_bert_dir))
    right = HfTextEncoder(str(tiny_bert_dir), pooling="cls", normalize=True)
    return _trained(PseudoSiameseModel(left, right, projection_dim=6))


def test_pseudo_exports_one_router_folder_query_left_document_right(tiny_bert_dir, tmp_path):
    model = _pseudo(tiny_bert_dir)
    out = textsiam.export(model, tmp_path / "pseudo")  # sentence-transformers >= 5 (the dev extra) has Router
    router = st.SentenceTransformer(str(out), device="cpu")
    left, right = model.encode(TEXTS, side="left"), model.encode(TEXTS, side="right")
    torch.testing.assert_close(router.encode_query(TEXTS, convert_to_tensor=True), left, atol=BATCHED, rtol=0)
    torch.testing.assert_close(router.encode_document(TEXTS, convert_to_tensor=True), right, atol=BATCHED, rtol=0)
    torch.testing.assert_close(router.encode(TEXTS, convert_to_tensor=True), left, atol=BATCHED, rtol=0)  # default
    assert not torch.allclose(left, right)  # O(0.1) apart: the routes really differ
    again = textsiam.load(out)
    for side in ("left", "right"):
        torch.testing.assert_close(
            again.encode(TEXTS, side=side), model.encode(TEXTS, side=side), atol=RELOADED, rtol=0
        )


def test_pseudo_exports_each_tower_to_its_own_folder_without_a_router(tiny_bert_dir, tmp_path):
    model = _pseudo(tiny_bert_dir)
    out = export_model(model, tmp_path / "pseudo", router=False)  # what a sentence-transformers < 5 gets
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["left", "right"]
    for side in ("left", "right"):
        torch.testing.assert_close(_st_embeddings(out / side), model.encode(TEXTS, side=side), atol=BATCHED, rtol=0)
    again = textsiam.load(out)
    torch.testing.assert_close(
        again.encode(TEXTS, side="right"), model.encode(TEXTS, side="right"), atol=RELOADED, rtol=0
    )


def test_the_decision_travels_and_predicts_the_same(tiny_bert_dir, tmp_path):
    model = _trained(create_model(str(tiny_bert_dir), projection_dim=8, seed=0))
    a, b = TEXTS * 4, TEXTS[1:] + TEXTS[:1] + TEXTS * 3  # 20 pairs, some identical (score 1), some not
    scores = model.similarity_scores(a, b)
    labels = (scores > np.median(scores)).astype(float)
    labels[:2] = 1 - labels[:2]  # not separable: the calibrator has a finite slope
    model.decision = fit_decision(scores, labels, "youden", calibrate="platt")
    out = textsiam.export(model, tmp_path / "st")
    again = textsiam.load(out)
    assert again.decision.to_dict() == model.decision.to_dict()
    np.testing.assert_array_equal(again.predict(a, b), model.predict(a, b))
    np.testing.assert_allclose(again.predict_proba(a, b), model.predict_proba(a, b), atol=RELOADED, rtol=0)
    card = (out / "README.md").read_text()
    assert f"{model.decision.threshold:.6g}" in card and "`platt`" in card


def test_export_refuses_what_it_cannot_write(tiny_bert_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"the tower \(mlp, MlpEncoder\) has no Transformer -> Pooling form"):
        textsiam.export(create_model("digits-mlp-twin"), tmp_path / "a")
    pseudo = PseudoSiameseModel(HfTextEncoder(str(tiny_bert_dir)), MlpEncoder(), projection_dim=4)
    with pytest.raises(ConfigError, match=r"the right tower \(mlp, MlpEncoder\)"):
        textsiam.export(pseudo, tmp_path / "b")
    head = TwinModel(HfTextEncoder(str(tiny_bert_dir)), head={"name": "mlp-head", "args": {"hidden": 4}})
    with pytest.raises(ConfigError, match="learned head"):
        textsiam.export(head, tmp_path / "c")
    textsiam.export(head, tmp_path / "c", format="hf")  # the transformer alone is fine
    with pytest.raises(ConfigError, match="already exists and is not an empty folder"):
        textsiam.export(head, tmp_path / "c", format="hf")
    with pytest.raises(ConfigError, match=r"unknown export format 'tflite'\. Valid exporters: hf, onnx, sentence-tr"):
        textsiam.export(head, tmp_path / "d", format="tflite")
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
