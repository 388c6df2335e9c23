"""The two-stage model: a gate decides related or not, a stance model the related class; joint log-probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textsiam.errors import ConfigError
from textsiam.models.cross import NoEmbeddingsError
from textsiam.models.io import build_model, create_model, load_model
from textsiam.models.two_stage import TwoStageModel

CLASSES = ["unrelated", "discuss", "agree", "disagree"]
A = ["the mayor closes the bridge", "a dog runs", "prices rise again", "the team wins", "rain all week"] * 3
B = ["the bridge stays open, says the mayor", "cats sleep", "prices fell", "a loss for the team", "sun"] * 3


def _gate(folder, seed=0):
    torch.manual_seed(seed)
    head = {"name": "pair-classifier", "args": {"classes": CLASSES, "negative": "unrelated", "hidden": 8}}
    encoder = {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}
    return build_model({"pair_model": "twin", "encoder": encoder, "head": head}).eval()


def _stance(folder, seed=1, classes=("agree", "disagree", "discuss")):
    torch.manual_seed(seed)
    encoder = {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}
    return build_model({"pair_model": "cross", "encoder": encoder, "classes": list(classes)}).eval()


def _spread_gate(gate):
    """The gate's unrelated bias moved so that it calls about half of the pairs unrelated with p >= 1/2."""
    with torch.no_grad():
        logits = gate.pair_outputs(A, B)
        odds = torch.logsumexp(logits[:, 1:], -1) - logits[:, 0]  # log (1 - p) / p per pair
        gate.head.net[-1].bias[0] += odds.median() + 1e-4
    return gate


def test_outputs_are_the_joint_log_probabilities(tiny_bert_dir):
    gate, stance = _spread_gate(_gate(tiny_bert_dir)), _stance(tiny_bert_dir)
    model = TwoStageModel(gate, stance)
    out = model.pair_outputs(A, B, batch_size=4)
    p = torch.softmax(gate.pair_outputs(A, B), -1)  # (n, 4) in CLASSES order
    q = torch.softmax(stance.pair_outputs(A, B)[:, [2, 0, 1]], -1)  # discuss, agree, disagree: the gate's order
    read = p[:, 0] < 0.5
    assert 0 < read.sum() < len(A)  # both kinds of rows are exercised
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(len(A)), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[:, 0].exp(), p[:, 0], atol=1e-5, rtol=0)
    joint = (1 - p[:, 0:1]) * q  # p(c) = (1 - p(unrelated)) q(c) where the stance model reads the pair
    torch.testing.assert_close(out[read, 1:].exp(), joint[read], atol=1e-5, rtol=0)
    # the other rows: q uniform, and unrelated is the prediction whatever q would have been
    torch.testing.assert_close(out[~read, 1:].exp(), (1 - p[~read, 0:1]).expand(-1, 3) / 3, atol=1e-5, rtol=0)
    predicted = model.predict(A, B)
    expected = [
        CLASSES[0] if not r else CLASSES[1 + int(j.argmax())] if pu < j.max() else CLASSES[0]
        for r, pu, j in zip(read.tolist(), p[:, 0], joint)
    ]
    assert predicted == expected
    binary = model.similarity_scores(A, B)
    np.testing.assert_allclose(binary, torch.log((1 - p[:, 0]) / p[:, 0]).numpy(), atol=1e-4)


def test_a_four_way_stance_model_is_renormalised_over_the_related_classes(tiny_bert_dir):
    gate, stance = _spread_gate(_gate(tiny_bert_dir)), _gate(tiny_bert_dir, seed=5)
    out = TwoStageModel(gate, stance).pair_outputs(A, B)
    p, q = torch.softmax(gate.pair_outputs(A, B), -1), torch.softmax(stance.pair_outputs(A, B)[:, 1:], -1)
    read = p[:, 0] < 0.5
    torch.testing.assert_close(out[read, 1:].exp(), ((1 - p[:, 0:1]) * q)[read], atol=1e-5, rtol=0)


def test_saved_as_one_folder_and_built_from_two(tiny_bert_dir, tmp_path):
    gate, stance = _spread_gate(_gate(tiny_bert_dir)), _stance(tiny_bert_dir)
    gate.save(tmp_path / "gate"), stance.save(tmp_path / "stance")
    spec = {"pair_model": "two-stage", "gate": str(tmp_path / "gate"), "stance": str(tmp_path / "stance")}
    (tmp_path / "two.json").write_text(json.dumps(spec))
    built = create_model(str(tmp_path / "two.json"))  # the parts' saved weights, not fresh ones
    expected = TwoStageModel(gate, stance).pair_outputs(A, B)
    torch.testing.assert_close(built.pair_outputs(A, B), expected, atol=0, rtol=0)
    built.save(tmp_path / "both")
    assert (tmp_path / "both/gate/encoder").is_dir() and (tmp_path / "both/stance/encoder").is_dir()
    again = load_model(tmp_path / "both")
    assert isinstance(again, TwoStageModel) and again.get_config() == built.get_config()
    assert again.get_config()["stance"]["pair_model"] == "cross"
    torch.testing.assert_close(again.pair_outputs(A, B), expected, atol=0, rtol=0)
    assert not any(p.requires_grad for p in again.parameters())  # nothing left to train


def test_has_no_embeddings(tiny_bert_dir):
    model = TwoStageModel(_gate(tiny_bert_dir), _stance(tiny_bert_dir))
    assert model.embedding_dim is None
    with pytest.raises(NoEmbeddingsError, match="a two-stage model has no embeddings of its own.*a twin model"):
        model.encode(A)


def test_the_service_scores_with_it_and_refuses_embeddings_and_rerank_clearly(tiny_bert_dir):
    from fastapi.testclient import TestClient

    from textsiam.serve.app import create_app

    model = TwoStageModel(_spread_gate(_gate(tiny_bert_dir)), _stance(tiny_bert_dir))
    with TestClient(create_app(model, name="two")) as client:
        r = client.post("/v1/similarity", json={"pairs": [{"a": a, "b": b} for a, b in zip(A[:5], B[:5])]})
        assert r.status_code == 200
        np.testing.assert_allclose(r.json()["scores"], model.similarity_scores(A[:5], B[:5]), atol=1e-5)
        r = client.post("/v1/embed", json={"texts": ["a"]})
        assert r.status_code == 400 and "two-stage model has no embeddings" in r.json()["error"]["message"]
        r = client.post("/v1/rerank", json={"query": "a", "documents": ["b"]})
        assert r.status_code == 400 and "it has classes ['unrelated'" in r.json()["error"]["message"]


def test_parts_that_do_not_fit_are_config_errors(tiny_bert_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"the gate must be a multi-class model with a negative"):
        TwoStageModel(_stance(tiny_bert_dir), _stance(tiny_bert_dir))
    with pytest.raises(ConfigError, match=r"lack \['discuss'\]"):
        TwoStageModel(_gate(tiny_bert_dir), _stance(tiny_bert_dir, classes=("agree", "disagree")))
    with pytest.raises(ConfigError, match=r"two-stage model 'gate': .*nowhere is not a textsiam model folder"):
        build_model({"pair_model": "two-stage", "gate": str(tmp_path / "nowhere"), "stance": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"needs \['gate', 'stance'\]; missing \['stance'\]"):
        build_model({"pair_model": "two-stage", "gate": str(tmp_path)})


def test_export_refuses_it_and_says_what_to_do(tiny_bert_dir, tmp_path):
    from textsiam.deploy.export import export_model

    model = TwoStageModel(_gate(tiny_bert_dir), _stance(tiny_bert_dir))
    with pytest.raises(ConfigError, match=r"two-stage model is made of whole models \(gate, stance\).*each part"):
        export_model(model, tmp_path / "out", format="hf")
    assert not (tmp_path / "out").exists()


def test_the_trainer_only_scores_dev_and_saves_it(tiny_bert_dir, tmp_path):
    from textsiam.api.fitting import fit

    model = TwoStageModel(_spread_gate(_gate(tiny_bert_dir)), _stance(tiny_bert_dir))
    labels = ["discuss", "unrelated", "agree", "disagree", "unrelated"]
    bodies = "\n".join(f'{i},"{b}"' for i, b in enumerate(B[:5]))
    rows = [f"{a},{i},{y}" for i, (a, y) in enumerate(zip(A[:5], labels))]
    for name, part in (("train", rows), ("dev", rows[::-1])):
        (tmp_path / f"{name}_stances.csv").write_text("Headline,Body ID,Stance\n" + "\n".join(part) + "\n")
        (tmp_path / f"{name}_bodies.csv").write_text("Body ID,articleBody\n" + bodies + "\n")
    before = model.pair_outputs(A[:5], B[:5])
    fit(
        tmp_path / "train_stances.csv",
        tmp_path / "run",
        model=model,
        dev=tmp_path / "dev_stances.csv",
        show_progress=False,
    )
    summary = json.loads((tmp_path / "run/train_summary.json").read_text())
    assert summary["steps"] == 0 and summary["trainable_parameters"] == 0  # no loss runs: nothing is trained
    assert summary["best_metric"] == "fnc_relative"
    torch.testing.assert_close(load_model(tmp_path / "run").pair_outputs(A[:5], B[:5]), before, atol=0, rtol=0)
