"""ridge-map weights chosen by K-fold cross-validation over the training images; out-of-fold pairs for the threshold."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers.fixtures import make_coco, needs_vision
from textsiam.api import load_data, tune_threshold
from textsiam.data.images import CaptionSet, pairs_from_collection
from textsiam.encoders import EfficientNetLite0Encoder, MlpEncoder, TfidfEncoder
from textsiam.errors import ConfigError, DataError
from textsiam.eval.decision import fit_decision
from textsiam.models import load_model
from textsiam.models.cache import unique_items
from textsiam.ridge.cv import DEFAULT_GRID, image_folds, retrieval_score
from textsiam.ridge.model import RidgeMapModel
from textsiam.train import TrainConfig, Trainer

pytestmark = needs_vision

GRID = {"prior_weight": [0.0, 2.0], "class_match_weight": [0.0, 0.5]}  # 4 settings: all in the summary's top 5
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220), "yellow": (230, 220, 30)}
NOUNS = ["square", "picture", "photo", "patch", "block"]


def _fitted(tmp_path, n_images=8, **kw):
    """A learnable toy: image i is a noisy patch of colour i % 4, 3 of its 5 captions name that colour (so held-out
    images resemble training ones, imperfectly); pretrained EfficientNet (with class logits) and tf-idf towers."""
    root = make_coco(tmp_path / "coco", n_images=n_images)
    read = load_data(root, format="coco", split="train2017").images
    rng = np.random.default_rng(0)
    names = list(COLOURS)
    for i, ref in enumerate(read.refs):
        pixels = np.clip(np.array(COLOURS[names[i % 4]]) + rng.normal(0, 60, (40, 40, 3)), 0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(ref)
    wrong = [k % 5 >= 3 for k in range(len(read.captions))]  # 2 of every 5 captions name another colour
    captions = [
        f"a {names[(i + w * (1 + k % 3)) % 4]} {NOUNS[k % 5]}"
        for k, (i, w) in enumerate(zip(read.caption_image, wrong, strict=True))
    ]
    data = pairs_from_collection(CaptionSet(read.refs, captions, read.caption_image))
    image = EfficientNetLite0Encoder(class_logits=True, image={"size": 32})
    model = RidgeMapModel(image, TfidfEncoder(max_features=64), **kw)
    cfg = TrainConfig(loss="infonce", epochs=1, save_checkpoints=False)
    summary = Trainer(model, cfg, data, out_dir=tmp_path / "out", show_progress=False).train()
    return model, data, summary


def test_retrieval_score_counts_ranks_both_ways():
    scores = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.8, 0.7]])  # 2 images x 3 captions
    caption_image = np.array([0, 1, 0])  # caption 2 belongs to image 0 but image 1 scores it higher
    # caption -> image ranks 1, 1, 2; image -> caption: image 0's best own caption (0.9) ranks 1, image 1's (0.8) too
    assert retrieval_score(scores, caption_image, "r@1") == (2.0, 2.0)
    assert retrieval_score(scores, caption_image, "mrr") == pytest.approx((2.5, 2.0), rel=1e-12)  # sums of 1/rank


def test_folds_are_by_image_seeded_and_hold_two_or_more():
    fold = image_folds(13, 5)
    assert sorted(np.bincount(fold)) == [2, 2, 3, 3, 3]
    assert np.array_equal(fold, image_folds(13, 5)) and not np.array_equal(fold, image_folds(13, 5, seed=1))
    with pytest.raises(DataError, match="9 training images cannot make 5 folds.*cv_folds 0"):
        image_folds(9, 5)


def _by_hand_cv_score(model, data, setting, folds):
    """Mean reciprocal rank both ways on each held-out fold, from a fresh cv_folds=0 model fitted on the other
    folds' pairs only (sharing the fitted towers), pooled over folds; and each fold's held-out (own image,
    caption) scores."""
    keep = [i for i, y in enumerate(data.labels) if y >= 0.5]
    images, image_of_pair = unique_items([data.a[i] for i in keep])
    fold = image_folds(len(images), folds)
    t2i, i2t, n_captions, positives = [], [], 0, []
    for f in range(folds):
        train = [i for i, r in zip(keep, image_of_pair, strict=True) if fold[r] != f]
        fitted = RidgeMapModel(model.left, model.right, cv_folds=0, ridge=model.ridge, **setting)
        fitted.fit_closed_form(
            SimpleNamespace(a=[data.a[i] for i in train], b=[data.b[i] for i in train], labels=[1.0] * len(train))
        )
        out = [images[r] for r in np.flatnonzero(fold == f)]
        caps = [(data.b[i], out.index(data.a[i])) for i in keep if data.a[i] in out]
        s = fitted.similarity_scores([im for im in out for _ in caps], [c for _ in out for c, _ in caps])
        s = s.reshape(len(out), len(caps))
        positives.append(np.array([s[own, k] for k, (_, own) in enumerate(caps)]))
        for k, (_, own) in enumerate(caps):
            t2i.append(1 / (1 + (s[:, k] > s[own, k]).sum()))
        for i in range(len(out)):
            mine = [k for k, (_, own) in enumerate(caps) if own == i]
            i2t.append(1 / (1 + (np.delete(s[i], mine) > s[i, mine].max()).sum()))
        n_captions += len(caps)
    assert n_captions == len(keep)  # every training caption was held out exactly once
    return 0.5 * (np.mean(t2i) + np.mean(i2t)), positives


def test_cv_scores_each_setting_on_held_out_folds_and_refits_the_winner(tmp_path):
    model, data, _ = _fitted(tmp_path, n_images=8, cv_folds=3, cv_grid=GRID)
    summary = model.cv_summary
    assert summary["settings"] == 4 and summary["folds"] == 3 and len(summary["top"]) == 4
    assert len({round(r["score"], 6) for r in summary["top"]}) > 1  # the settings do differ on held-out folds
    positives = {}
    for row in summary["top"]:
        setting = {k: row[k] for k in ("prior_weight", "class_match_weight")}
        score, positives[tuple(setting.values())] = _by_hand_cv_score(model, data, setting, 3)
        # the same closed-form fits, by hand in float32 (ridge solves on 8 images): ~1e-6 of retrieval scores ~1
        assert row["score"] == pytest.approx(score, abs=1e-6)
    best = max(summary["top"], key=lambda r: r["score"])
    # the kept out-of-fold pairs are the winner's fold models' scores: per fold, its positives then its negatives
    oof, labels = model.held_out_pairs()
    own = positives[(best["prior_weight"], best["class_match_weight"])]
    # z-normalised scores of the same fold models, via another batch and order of the cohort statistics: the division
    # by a cohort std magnifies BATCHED rounding by 1 / std; 1e-4 allows a std down to 0.1
    np.testing.assert_allclose(oof[labels == 1], np.concatenate(own), atol=1e-4)
    assert summary["chosen_score"] == best["score"]
    assert (model.prior_weight, model.class_match_weight) == (best["prior_weight"], best["class_match_weight"])
    # the winner is refitted on every training image: its cohort is all 8 images and their distinct captions
    assert model.get_config()["cohort_images"] == 8 and model.get_config()["cohort_texts"] == len(set(data.b))


def test_chosen_weights_and_cv_scores_are_saved_and_logged(tmp_path):
    model, _, _ = _fitted(tmp_path, n_images=8, cv_folds=3, cv_grid=GRID)
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    saved = saved.get("model", saved)
    assert saved["cv_result"]["chosen"]["prior_weight"] == saved["prior_weight"] == model.prior_weight
    assert saved["cv_grid"] == {k: [float(v) for v in vals] for k, vals in GRID.items()} and saved["cv_pairs"] == 80
    log = [json.loads(line) for line in (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()]
    fit = next(e for e in log if e["type"] == "fit_vocabulary")
    assert fit["towers"]["closed_form"]["cv"]["chosen"] == model.cv_summary["chosen"]
    again = load_model(tmp_path / "out")
    a, b = list(model.cv_scores.numpy()), list(again.cv_scores.numpy())
    assert a == b and again.cv_summary == model.cv_summary


def test_threshold_tuning_adds_the_out_of_fold_pairs(tmp_path):
    model, data, _ = _fitted(tmp_path, n_images=8, cv_folds=3, cv_grid=GRID)
    oof_scores, oof_labels = model.held_out_pairs()
    assert len(oof_labels) == 80 and oof_labels.sum() == 40  # each of the 40 captions: own image and another one
    assert oof_scores[oof_labels == 1].mean() > oof_scores[oof_labels == 0].mean() + 0.3  # held-out images do match
    dev = data.select(range(20))
    decision = tune_threshold(model, dev, "max-accuracy")
    scores = np.r_[model.similarity_scores(dev.a, dev.b), oof_scores]
    expected = fit_decision(scores, np.r_[dev.labels, oof_labels], "max-accuracy")
    assert decision.threshold == pytest.approx(expected.threshold, rel=1e-6)  # midpoint of the same scores
    assert decision.data["plus_out_of_fold_training_pairs"] == 80
    model.threshold_from_cv = False
    assert model.held_out_pairs() is None
    alone = tune_threshold(model, dev, "max-accuracy")
    assert "plus_out_of_fold_training_pairs" not in alone.data


def test_bad_cv_settings_are_config_errors():
    from test_ridge_map import _model

    with pytest.raises(ConfigError, match=r"cv_folds must be 0 \(no cross-validation\) or an integer >= 2, got 1"):
        _model(None, cv_folds=1)
    with pytest.raises(ConfigError, match=r"ridge-map model: cv_grid: unknown option\(s\) \['prompt'\]"):
        _model(None, cv_grid={"prompt": [1.0]})
    with pytest.raises(ConfigError, match=r"cv_grid\['ridge'\]\[0\] must be a finite number > 0, got 0 \(int\)"):
        _model(None, cv_grid={"ridge": [0]})
    with pytest.raises(
        ConfigError, match=r"cv_grid\['prior_weight'\] must be a non-empty list of \(a finite number >= 0"
    ):
        _model(None, cv_grid={"prior_weight": []})
    with pytest.raises(ConfigError, match="cv_metric must be one of 'mrr', 'r@1', got 'auc'"):
        _model(None, cv_metric="auc")
    mlp = dict(left=MlpEncoder(in_features=4), right=TfidfEncoder(max_features=8), prior_weight=0, class_match_weight=0)
    assert RidgeMapModel(**mlp).cv_grid == {"ridge": DEFAULT_GRID["ridge"]}  # no class logits: no class terms
    with pytest.raises(ConfigError, match="need a left tower with class logits"):
        RidgeMapModel(**mlp, cv_grid={"class_match_weight": [0.0, 1.0]})


def test_too_few_training_images_for_the_folds_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="6 training images cannot make 5 folds"):
        _fitted(tmp_path, n_images=6)
