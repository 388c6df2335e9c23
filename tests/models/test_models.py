from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import BATCHED, RELOADED
from textsiam.encoders import HfTextEncoder, MlpEncoder
from textsiam.errors import ConfigError, ModelNotFoundError, NoDecisionError
from textsiam.models import PseudoSiameseModel, TwinModel, create_model, load_model
from textsiam.registry import SIMILARITIES

A = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats"]
B = ["a woman plays piano", "a dog is running", "a child sits", "a red car on the street"]


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_twin_single_pass_equals_separate_passes(pooling, tiny_bert_dir):
    model = TwinModel(HfTextEncoder(str(tiny_bert_dir), pooling=pooling)).eval()
    fa, fb = model.encoder.collate(A), model.encoder.collate(["short", *B[1:]])
    u, v = model(fa, fb)
    torch.testing.assert_close(u, model.embed(fa), atol=BATCHED, rtol=BATCHED)  # one merged batch vs two
    torch.testing.assert_close(v, model.embed(fb), atol=BATCHED, rtol=BATCHED)


@pytest.mark.parametrize("similarity", SIMILARITIES.names())
def test_similarity_scores_match_direct_computation(similarity, tiny_bert_dir):
    model = create_model(str(tiny_bert_dir), similarity=similarity)
    u, v = model.encode(A), model.encode(B)
    expected = SIMILARITIES.build(similarity)(u, v).numpy()
    np.testing.assert_allclose(model.similarity_scores(A, B), expected, atol=BATCHED)


def test_encode_keeps_input_order_across_batches(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir))
    together = model.encode(A + B, batch_size=3)
    one_by_one = torch.cat([model.encode([x]) for x in A + B])
    torch.testing.assert_close(together, one_by_one, atol=BATCHED, rtol=BATCHED)


def test_head_projection_and_pseudo_round_trip(tiny_bert_dir, tmp_path):
    head = {"name": "mlp-head", "args": {"features": ["abs-diff", "sq-diff", "product", "concat"], "hidden": 16}}
    twin = create_model(str(tiny_bert_dir), head=head, projection_dim=8)
    pseudo = PseudoSiameseModel(
        HfTextEncoder(str(tiny_bert_dir)),
        HfTextEncoder(str(tiny_bert_dir), pooling="cls"),
        projection_dim=12,
        similarity="euclidean",
    )
    for i, model in enumerate([twin, pseudo]):
        model.save(tmp_path / str(i))
        again = load_model(tmp_path / str(i))
        assert type(again) is type(model) and again.get_config() == model.get_config()
        np.testing.assert_allclose(again.similarity_scores(A, B), model.similarity_scores(A, B), atol=RELOADED)
    assert twin.encode(A).shape == (4, 8) and pseudo.encode(A, side="right").shape == (4, 12)


def test_pseudo_towers_do_not_share_weights(tiny_bert_dir):
    left = HfTextEncoder(str(tiny_bert_dir))
    with pytest.raises(ValueError, match="twin"):
        PseudoSiameseModel(left, left)
    model = PseudoSiameseModel(left, HfTextEncoder(str(tiny_bert_dir)), projection_dim=8)
    u, v = model(left.collate(A), left.collate(A))
    assert not torch.allclose(u, v)  # different projections even for the same text: O(0.1) apart


def test_predict_without_decision_is_a_clear_error(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir))
    with pytest.raises(NoDecisionError, match="tune-threshold"):
        model.predict(A, B)


def test_unknown_model_name_suggests_presets():
    with pytest.raises(ModelNotFoundError, match="minilm-twin"):
        create_model("minilm-twn")


def test_bad_config_is_rejected(tiny_bert_dir, tmp_path):
    from textsiam.models import build_model

    with pytest.raises(ConfigError, match="projecton_dim"):
        create_model("digits-mlp-twin", projecton_dim=8)
    with pytest.raises(ConfigError, match="pair_model"):
        build_model({"pair_model": "triplet"})
    with pytest.raises(ValueError, match="in_features=16"):
        MlpEncoder(in_features=64).collate([np.zeros((4, 4))])
    with pytest.raises(ModelNotFoundError, match="not a textsiam model folder"):
        load_model(tmp_path)


def test_predict_and_predict_proba_follow_the_saved_decision(tiny_bert_dir, tmp_path):
    import textsiam
    from textsiam.data import read_pairs

    path = tmp_path / "dev.tsv"
    rows = [f"{a}\t{a}\t1\n" for a in A] + [f"{a}\t{b}\t0\n" for a, b in zip(A, B)]  # same text = match
    path.write_text("text_a\ttext_b\tlabel\n" + "".join(rows))
    model = create_model(str(tiny_bert_dir))
    decision = textsiam.tune_threshold(model, read_pairs(path), "youden", calibrate="platt")
    scores = model.similarity_scores(A, B)
    np.testing.assert_array_equal(model.predict(A, B), scores >= decision.threshold)
    probs = model.predict_proba(A, B)
    assert probs.shape == (4,) and ((probs > 0) & (probs < 1)).all()
    assert np.all(np.diff(probs[np.argsort(scores)]) >= 0)  # monotone in the score
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(A, B), model.predict(A, B))
