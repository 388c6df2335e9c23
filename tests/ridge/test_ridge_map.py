"""ridge-map: closed-form image -> text-space map, the class-name prior, cohort score normalisation as a dot product."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.helpers.fixtures import BATCHED, make_coco, needs_vision
from textsiam.api import load_data
from textsiam.data.images import CaptionSet, pairs_from_collection
from textsiam.encoders import EfficientNetLite0Encoder, MlpEncoder, TfidfEncoder
from textsiam.errors import ConfigError
from textsiam.models import load_model
from textsiam.ridge.model import RidgeMapModel
from textsiam.train import TrainConfig, Trainer

pytestmark = needs_vision


def _model(tiny_bert_dir, **kw) -> RidgeMapModel:
    torch.manual_seed(0)
    image = EfficientNetLite0Encoder(pretrained=False, class_logits=True, image={"size": 32})
    return RidgeMapModel(image, TfidfEncoder(max_features=64), **kw)


def _fitted(tiny_bert_dir, tmp_path, n_images=6, **kw):
    read = load_data(make_coco(tmp_path / "coco", n_images=n_images), format="coco", split="train2017").images
    words = ["cat dog", "bird fish", "horse cow", "sun moon", "tree leaf", "car bus", "hat shoe", "pen ink"]
    colours = ["red", "green", "blue", "black", "white"]  # tf-idf needs real words
    captions = [f"{words[i]} {colours[k % 5]}" for k, i in enumerate(read.caption_image)]
    data = pairs_from_collection(CaptionSet(read.refs, captions, read.caption_image))
    model = _model(tiny_bert_dir, **kw)
    cfg = TrainConfig(loss="infonce", epochs=1, save_checkpoints=False)
    summary = Trainer(model, cfg, data, out_dir=tmp_path / "out", show_progress=False).train()
    return model, data, summary


def _brute_force(model, images, texts, cohort_images, cohort_texts):
    """cos(map, t) + w cos(prior, t) + w' BC(p, q), standardised against the cohorts both ways, averaged."""
    left, right = model._tower_outputs(images, "left"), model._tower_outputs(texts, "right")
    ci, ct = model._tower_outputs(cohort_images, "left"), model._tower_outputs(cohort_texts, "right")

    def raw(x, t):
        feats = x[:, :1280]
        z = F.normalize(((feats - model.mean) / model.std) @ model.weight, dim=-1)
        p = torch.softmax(x[:, 1280:] / model.prior_temperature, dim=-1)
        prior = F.normalize(p @ model.names, dim=-1)
        t = F.normalize(t, dim=-1)
        q = torch.softmax(t @ model.names.T / model.text_class_temperature, dim=-1)
        overlap = torch.stack([(p_i[None, :] * q).sqrt().sum(-1) for p_i in p])  # Bhattacharyya coefficient
        return z @ t.T + model.prior_weight * (prior @ t.T) + model.class_match_weight * overlap

    s = raw(left, right)  # (images, texts)
    against_images = raw(ci, right)  # (cohort images, texts)
    against_texts = raw(left, ct)  # (images, cohort texts)
    z_text = (s - against_images.mean(0)) / against_images.std(0)
    z_image = (s - against_texts.mean(1, keepdim=True)) / against_texts.std(1, keepdim=True)
    return 0.5 * (z_text + z_image)


def test_scores_are_the_cohort_normalised_map_plus_prior(tiny_bert_dir, tmp_path):
    model, data, summary = _fitted(tiny_bert_dir, tmp_path, prior_weight=0.5, class_match_weight=0.3, cv_folds=0)
    assert not any(p.requires_grad for p in model.parameters())  # closed form: nothing trains
    caps = data.images
    assert summary["epochs"] == 0 and model.get_config()["cohort_images"] == len(caps.refs) == 6
    assert model.get_config()["cohort_texts"] == len(caps.captions) == 30
    images, texts = caps.refs[:3], caps.captions[:4]
    expected = _brute_force(model, images, texts, caps.refs, caps.captions)
    got = model.similarity_scores([i for i in images for _ in texts], [t for _ in images for t in texts])
    # cohort z-scores (s - mean) / std over 6 images / 30 texts: the division magnifies BATCHED rounding of s by
    # 1 / std; 1e-4 allows a std down to 0.1
    np.testing.assert_allclose(got.reshape(3, 4), expected.numpy(), atol=1e-4)


def test_the_map_fits_its_training_captions_and_survives_save_load(tiny_bert_dir, tmp_path):
    model, data, _ = _fitted(
        tiny_bert_dir, tmp_path, ridge=1e-4, prior_weight=0.0, class_match_weight=0.0, score_norm=False, cv_folds=0
    )
    caps = data.images
    u, v = model.encode(caps.refs, "left"), model.encode(caps.captions, "right")
    best = (u @ v.T).argmax(dim=0).numpy()  # each caption's best image
    assert (best == caps.caption_image).mean() > 0.8  # nearly interpolates 30 rows with 1280 features
    again = load_model(tmp_path / "out")
    a, b = caps.refs[:4], caps.captions[:4]
    np.testing.assert_allclose(again.similarity_scores(a, b), model.similarity_scores(a, b), atol=BATCHED)


def test_bad_settings_are_config_errors(tiny_bert_dir):
    with pytest.raises(ConfigError, match="ridge-map model: similarity must be one of 'dot', got 'cosine'"):
        _model(tiny_bert_dir, similarity="cosine")
    with pytest.raises(ConfigError, match="class logits"):
        RidgeMapModel(MlpEncoder(in_features=4), TfidfEncoder(max_features=8), class_match_weight=0.5)
    with pytest.raises(ConfigError, match=r"ridge-map model: ridge must be a finite number > 0, got 0 \(int\)"):
        _model(tiny_bert_dir, ridge=0)
    with pytest.raises(ConfigError, match="prompt must be a string containing '{}', got 'a photo'"):
        _model(tiny_bert_dir, prompt="a photo")


def test_class_logits_are_the_pretrained_classifier_on_the_pooled_features():
    from textsiam.encoders.effnet import pretrained_weights_path

    encoder = EfficientNetLite0Encoder(class_logits=True, image={"size": 32}).eval()
    state = torch.load(pretrained_weights_path(), map_location="cpu", weights_only=True)
    assert torch.equal(encoder.classifier.weight, state["_fc.weight"])
    assert not encoder.classifier.weight.requires_grad
    out = encoder(encoder.collate(list(np.random.default_rng(0).integers(0, 256, (2, 40, 40, 3), dtype=np.uint8))))
    assert out.shape == (2, 2280) == (2, encoder.dim)
    expected = out[:, :1280] @ state["_fc.weight"].T + state["_fc.bias"]  # sums of 1280 terms: float32 defaults hold
    torch.testing.assert_close(out[:, 1280:], expected)
    names = encoder.class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[1] == "goldfish"
    with pytest.raises(ConfigError, match="class_logits=true"):
        EfficientNetLite0Encoder(pretrained=False).class_names()


@pytest.mark.parametrize(("rows", "feats"), [(12, 30), (40, 9)])
def test_ridge_solve_is_the_normal_equations_in_either_form(rows, feats):
    """Fewer rows than features takes the dual form, more the primal: both give (X^T X + lam I)^-1 X^T Y."""
    from textsiam.ridge.model import ridge_solve

    g = torch.Generator().manual_seed(rows)
    x, y = (
        torch.randn(rows, feats, generator=g, dtype=torch.float64),
        torch.randn(rows, 5, generator=g, dtype=torch.float64),
    )
    lam = 0.7
    expected = torch.linalg.inv(x.T @ x + lam * torch.eye(feats, dtype=torch.float64)) @ x.T @ y
    # float64 solves of systems with condition number < 1e3: errors ~1e-13; 1e-9 leaves room
    torch.testing.assert_close(ridge_solve(x, y, lam), expected, rtol=1e-9, atol=1e-9)
    # the normal equations hold: X^T (X W - Y) + lam W = 0
    w = ridge_solve(x, y, lam)
    torch.testing.assert_close(x.T @ (x @ w - y) + lam * w, torch.zeros_like(w), rtol=0, atol=1e-9)
