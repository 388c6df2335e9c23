"""GPU paths (CUDA placement, bfloat16 autocast). Skipped on machines without CUDA, such as CI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textsiam.data import digit_pairs
from textsiam.models import create_model
from textsiam.train import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@pytest.mark.parametrize("amp", [False, True])
def test_training_on_cuda_with_and_without_bf16_autocast(amp, tiny_bert_dir):
    from textsiam.data import PairData

    train = digit_pairs("train", n_pairs=256)
    model = create_model("digits-mlp-twin")
    cfg = TrainConfig(loss="contrastive", epochs=2, batch_size=64, lr=1e-3, device="cuda", amp=amp)
    Trainer(model, cfg, train, show_progress=False).train()
    assert model.device.type == "cuda"
    scores = model.similarity_scores(train.a[:32], train.b[:32])
    assert np.isfinite(scores).all()

    twin = create_model(str(tiny_bert_dir))
    a = ["a man plays the guitar", "a dog runs"] * 8
    b = ["a man plays a guitar", "the cat eats"] * 8
    from datasets import Dataset

    pairs = PairData(Dataset.from_dict({"a": a, "b": b, "label": [1.0, 0.0] * 8}))
    Trainer(
        twin, TrainConfig(loss="cosine", epochs=1, batch_size=8, device="cuda", amp=amp), pairs, show_progress=False
    ).train()
    assert np.isfinite(twin.similarity_scores(a, b)).all()
