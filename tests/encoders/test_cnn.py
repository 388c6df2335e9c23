"""The cnn image tower: its layer options, and the MNIST CNN twin preset learning real digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from textsiam.encoders import CnnEncoder
from textsiam.errors import ConfigError


def test_batch_norm_and_fc_hidden_options_shape_the_network():
    plain = CnnEncoder(channels=(4, 8), batch_norm=False, fc_hidden=16, hidden=6)
    kinds = [type(m) for m in plain.net]
    assert nn.BatchNorm2d not in kinds
    linears = [m for m in plain.net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8 * 7 * 7, 16), (16, 6)]
    assert kinds[kinds.index(nn.Linear) + 1] is nn.ReLU  # the extra Dense layer has its non-linearity
    assert plain.get_config()["batch_norm"] is False and plain.get_config()["fc_hidden"] == 16
    again = CnnEncoder(**plain.get_config())
    assert [type(m) for m in again.net] == kinds
    assert sum(isinstance(m, nn.BatchNorm2d) for m in CnnEncoder(channels=(4, 8)).net) == 2  # the default keeps it
    x = torch.rand(3, 1, 28, 28)
    assert plain({"pixels": x}).shape == (3, 6)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_fc_hidden_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="fc_hidden"):
        CnnEncoder(fc_hidden=bad)


def test_mnist_cnn_twin_preset_separates_real_digits(shared_data):
    """One short epoch on 3000 real MNIST digits: the preset's CNN twin ranks held-out test pairs well (with the
    old BatchNorm recipe the same budget gave a test ROC AUC near 0.7)."""
    from textsiam.api import evaluate, load_data
    from textsiam.models import create_model
    from textsiam.models.io import preset_config
    from textsiam.train import TrainConfig, Trainer

    folder = shared_data / "mnist"
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"{folder} has no MNIST files")
    torch.set_num_threads(1)
    train = load_data(folder, format="mnist", split="train", limit=3000, pairs=6000, seed=0)
    model = create_model("mnist-cnn-twin", seed=0)
    recipe = {**preset_config("mnist-cnn-twin")["train"], "epochs": 1, "seed": 0, "save_checkpoints": False}
    Trainer(model, TrainConfig.from_dict(recipe), train, show_progress=False).train()
    metrics, scores = evaluate(model, load_data(folder, format="mnist", split="test", limit=1000, seed=0))
    assert np.isfinite(scores).all()
    assert metrics["roc_auc"] > 0.95
