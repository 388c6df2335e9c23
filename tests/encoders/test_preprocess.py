"""Image preprocessing: shapes, normalisation, channels, train-only augmentation, saved with the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import RELOADED
from textsiam.encoders import CnnEncoder
from textsiam.encoders.preprocess import ImagePreprocess
from textsiam.errors import ConfigError
from textsiam.models import TwinModel, load_model


def test_uint8_scaled_and_normalised():
    pre = ImagePreprocess(channels=1, mean=[0.5], std=[0.25])
    image = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    x = pre.batch([image])
    expected = (torch.tensor([[0.0, 1.0], [0.2, 0.4]]) - 0.5) / 0.25
    torch.testing.assert_close(x[0, 0], expected)  # float32 defaults: (p/255 - 0.5) / 0.25, two roundings


def test_resize_shorter_side_then_centre_crop_and_channels():
    pre = ImagePreprocess(size=16, channels=3, mean=[0, 0, 0], std=[1, 1, 1])
    wide = np.zeros((20, 40), dtype=np.uint8)
    wide[:, 18:22] = 255  # a bright vertical bar in the middle survives the centre crop
    x = pre.batch([wide])
    assert x.shape == (1, 3, 16, 16)
    assert torch.equal(x[0, 0], x[0, 2]) and x[0, 0, :, 8].min() > 0.5 and x[0, 0, :, 0].max() < 0.01
    grey = ImagePreprocess(channels=1).batch([np.full((2, 2, 3), 255, dtype=np.uint8)])
    torch.testing.assert_close(grey, torch.ones(1, 1, 2, 2))  # float32 defaults: 255/255 is exact


def test_augmentation_only_in_training():
    pre = ImagePreprocess(size=12, channels=1, augment=True, crop_scale=[0.3, 0.6], flip=True, shift=2)
    image = np.random.default_rng(0).integers(0, 256, (20, 20), dtype=np.uint8)
    rng = np.random.default_rng(1)
    assert torch.equal(pre.batch([image]), pre.batch([image]))  # eval: deterministic
    train = [pre.batch([image], train=True, rng=rng) for _ in range(3)]
    assert train[0].shape == (1, 1, 12, 12) and not torch.equal(train[0], train[1])


@pytest.mark.parametrize(
    "config", [{"channels": 2}, {"size": 2}, {"channels": 3, "mean": [0.5]}, {"crop_scale": [0.0, 1.0]}, {"std": [0]}]
)
def test_bad_configs_are_refused(config):
    with pytest.raises(ConfigError):
        ImagePreprocess.from_config(config)


def test_saved_model_scores_raw_files_as_trained(image_files, tmp_path):
    """The preprocessing (here: resize 40x30 RGB files to 28x28 greyscale) travels in config.json."""
    files = image_files(4, size=(40, 30), mode="RGB")
    torch.manual_seed(0)
    model = TwinModel(CnnEncoder(image={"size": 28, "channels": 1, "augment": True, "shift": 1}), "euclidean")
    before = model.similarity_scores(files, files[::-1])
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.encoder.preprocess == model.encoder.preprocess
    np.testing.assert_allclose(again.similarity_scores(files, files[::-1]), before, atol=RELOADED)
