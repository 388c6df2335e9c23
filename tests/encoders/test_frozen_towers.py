"""Frozen and partly trainable towers: which weights train, and cached frozen outputs are exact."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.fixtures import BATCHED, needs_vision
from textsiam.encoders import EfficientNetLite0Encoder, HfTextEncoder
from textsiam.encoders.freezing import OutputCache
from textsiam.errors import ConfigError

TEXTS = ["a man plays the guitar", "a dog runs in the park", "the cat eats"]


def test_text_tower_trainable_layers(tiny_bert_dir):
    top = HfTextEncoder(str(tiny_bert_dir), trainable_layers=1)
    trainable = {n for n, p in top.transformer.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("encoder.layer.1.") for n in trainable)
    with pytest.raises(ConfigError, match=r"trainable_layers must be an integer in 0..2"):
        HfTextEncoder(str(tiny_bert_dir), trainable_layers=3)


def test_output_cache_computes_each_text_once_in_batches():
    calls = []

    def compute(texts):
        calls.append(list(texts))
        return torch.tensor([[float(len(t))] for t in texts])

    cache = OutputCache(compute, batch_size=2)
    assert cache.get(["ab", "abc", "ab"]).squeeze(-1).tolist() == [2.0, 3.0, 2.0]
    assert cache.get(["abc", "abcd", "a", "ab"]).squeeze(-1).tolist() == [3.0, 4.0, 1.0, 2.0]
    assert calls == [["ab", "abc"], ["abcd", "a"]] and len(cache) == 4


def test_only_a_fully_frozen_text_tower_owns_an_output_cache(tiny_bert_dir):
    assert HfTextEncoder(str(tiny_bert_dir), trainable_layers=1).output_cache is None
    assert HfTextEncoder(str(tiny_bert_dir)).output_cache is None


def test_frozen_text_tower_cache_is_exact(tiny_bert_dir):
    frozen = HfTextEncoder(str(tiny_bert_dir), trainable_layers=0)
    frozen.cache_outputs(True)  # as in a training run
    full = HfTextEncoder(str(tiny_bert_dir)).eval()
    cached = frozen(frozen.collate(TEXTS))
    assert set(frozen.output_cache.store) == set(TEXTS)
    # the frozen tower runs in eval mode under no_grad, the full one with autograd: another kernel path: BATCHED
    torch.testing.assert_close(cached, full(full.collate(TEXTS)), atol=BATCHED, rtol=BATCHED)
    torch.testing.assert_close(frozen(frozen.collate(TEXTS[::-1])), cached.flip(0), atol=0, rtol=0)  # the cache


@needs_vision
def test_efficientnet_partial_finetuning_and_exact_cache(image_files):
    files = image_files(3, size=(70, 50))
    torch.manual_seed(0)
    part = EfficientNetLite0Encoder(trainable_layers=3, image={"size": 64})
    trainable = {n.split(".")[1] for n, p in part.named_parameters() if p.requires_grad}
    assert trainable == {"_blocks", "_conv_head", "_bn1"}
    assert {n for n, p in part.named_parameters() if p.requires_grad and n.startswith("backbone._blocks")} == {
        n for n, _ in part.named_parameters() if n.startswith(("backbone._blocks.14.", "backbone._blocks.15."))
    }
    part.train()
    assert not part.backbone._bn0.training and part.backbone._bn1.training  # frozen BatchNorm stays in eval
    full = EfficientNetLite0Encoder(trainable_layers=18, image={"size": 64})  # same pretrained weights, no cache
    part.eval(), full.eval()
    part.cache_outputs(True)  # as in a training run
    # EfficientNet-Lite0 (~4M weights, 18 blocks of 3x3 depthwise and 1x1 convolutions, features of magnitude ~1-10):
    # the frozen part runs under no_grad and oneDNN picks its convolution kernels by the instruction set and whether
    # gradients are needed. Sums of ~10^3 terms through ~50 layers: rounding ~n * 2^-24 per layer compounds to ~1e-5
    # relative; 1e-4 leaves 10x.
    conv = {"atol": 1e-4, "rtol": 1e-4}
    with torch.no_grad():
        expected = full(full.collate(files))
        torch.testing.assert_close(part(part.collate(files)), expected, **conv)
        assert len(part._cache) == 3
        torch.testing.assert_close(part(part.collate(files)), expected, **conv)  # from the cache
        part.cache_outputs(False)  # the run is over: nothing kept, nothing added
        torch.testing.assert_close(part(part.collate(files)), expected, **conv)
        assert len(part._cache) == 0


@needs_vision
def test_efficientnet_pretrained_weights_classify_a_synthetic_pattern_consistently(image_files):
    """Pretrained and random towers differ: the ImageNet weights were loaded (weights_only=True)."""
    files = image_files(2, size=(64, 64))
    pre = EfficientNetLite0Encoder(image={"size": 64}).eval()
    rnd = EfficientNetLite0Encoder(pretrained=False, image={"size": 64}).eval()
    with torch.no_grad():
        assert not torch.allclose(pre(pre.collate(files)), rnd(rnd.collate(files)))  # other weights: O(1) apart


@needs_vision
def test_efficientnet_bad_arguments():
    with pytest.raises(ConfigError, match="trainable_layers must be an integer in 0..18"):
        EfficientNetLite0Encoder(trainable_layers=19, pretrained=False)
    with pytest.raises(ConfigError, match="views"):
        EfficientNetLite0Encoder(views=-1, pretrained=False)


@needs_vision
@pytest.mark.parametrize("name", ["efficientnet-lite1", "efficientnet-lite2"])
def test_larger_lite_towers_load_their_imagenet_weights(name, image_files):
    from textsiam.registry import ENCODERS

    files = image_files(2, size=(40, 40))
    pre = ENCODERS.build(name, image={"size": 48}).eval()
    rnd = ENCODERS.build(name, pretrained=False, image={"size": 48}).eval()
    assert pre.dim == 1280 and len(pre.frozen_units) == 23 and pre.get_config()["image"]["size"] == 48
    with torch.no_grad():
        assert not torch.allclose(pre(pre.collate(files)), rnd(rnd.collate(files)))  # other weights: O(1) apart
    with pytest.raises(ConfigError, match="0..23"):
        ENCODERS.build(name, trainable_layers=24, pretrained=False)


@needs_vision
def test_frozen_image_features_are_kept_on_disk_across_towers(image_files, tmp_path, monkeypatch):
    files = image_files(3, size=(50, 40))
    monkeypatch.setenv("TEXTSIAM_FEATURE_CACHE", str(tmp_path / "store"))
    first = EfficientNetLite0Encoder(trainable_layers=2, image={"size": 48}).eval()
    with torch.no_grad():
        expected = first.collate(files)["frozen"]
    assert len(list((tmp_path / "store").rglob("*.safetensors"))) == 3
    second = EfficientNetLite0Encoder(trainable_layers=2, image={"size": 48}).eval()
    monkeypatch.setattr(second, "_run", lambda *a, **k: pytest.fail("ran the backbone instead of reading the store"))
    torch.testing.assert_close(second.collate(files)["frozen"], expected, atol=0, rtol=0)  # stored bytes, exact
    other = EfficientNetLite0Encoder(trainable_layers=0, image={"size": 48}).eval()  # another cut: its own entries
    with torch.no_grad():
        assert other.collate(files)["frozen"].shape == (3, 1280) != expected.shape
    assert len(list((tmp_path / "store").rglob("*.safetensors"))) == 6
    from PIL import Image

    Image.new("RGB", (50, 40), (200, 10, 10)).save(files[0])  # an edited image is computed again
    with torch.no_grad():
        changed = EfficientNetLite0Encoder(trainable_layers=2, image={"size": 48}).eval().collate(files)["frozen"]
    assert not torch.equal(changed[0], expected[0]) and torch.equal(changed[1], expected[1])
