"""A pseudo-siamese model (two different towers, no shared weights) trains end to end through the same Trainer."""

from __future__ import annotations

import numpy as np
import torch

from tests.helpers.fixtures import BATCHED
from textsiam.data import digit_pairs
from textsiam.encoders import MlpEncoder
from textsiam.models import PseudoSiameseModel, load_model
from textsiam.train import TrainConfig, Trainer
from textsiam.train.evaluation import evaluate_scores


def test_two_different_towers_learn_to_match(tmp_path):
    train, dev = digit_pairs("train", n_pairs=2000), digit_pairs("dev")
    torch.manual_seed(0)
    model = PseudoSiameseModel(
        MlpEncoder(), MlpEncoder(hidden=64, n_layers=2), projection_dim=32, similarity="euclidean"
    )
    before = evaluate_scores(model.similarity_scores(dev.a, dev.b), dev)["roc_auc"]
    cfg = TrainConfig(loss="contrastive", epochs=10, batch_size=64, lr=1e-3, warmup_ratio=0.0)
    summary = Trainer(model, cfg, train, dev, tmp_path, show_progress=False).train()
    assert summary["best_value"] > max(before + 0.2, 0.85)
    assert not torch.equal(model.left_projection.weight, model.right_projection.weight)
    again = load_model(tmp_path)
    assert type(again) is PseudoSiameseModel and again.right.hidden == 64
    np.testing.assert_allclose(
        again.similarity_scores(dev.a, dev.b), model.similarity_scores(dev.a, dev.b), atol=BATCHED
    )
