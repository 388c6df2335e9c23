from __future__ import annotations

import pytest
import torch

from textsiam.errors import ConfigError
from textsiam.models import create_model
from textsiam.models.soup import average, interpolate


def test_interpolation_endpoints_and_midpoint():
    torch.manual_seed(0)
    a, b = create_model("digits-mlp-twin"), create_model("digits-mlp-twin")
    sa, sb = a.state_dict(), b.state_dict()
    for alpha, expected in ((0.0, sa), (1.0, sb)):
        got = interpolate(a, b, alpha).state_dict()
        assert all(torch.allclose(got[k], expected[k]) for k in got)  # (1 - a) x + a y at a in {0, 1}: ~1 ulp
    mid = interpolate(a, b, 0.25).state_dict()
    assert all(torch.allclose(mid[k], 0.75 * sa[k] + 0.25 * sb[k], atol=1e-6) for k in mid)  # two roundings
    assert a.state_dict()["encoder.net.1.weight"].data_ptr() != mid["encoder.net.1.weight"].data_ptr()


def test_average_refuses_mismatched_models_and_bad_weights(tiny_bert_dir):
    a = create_model("digits-mlp-twin")
    with pytest.raises(ConfigError, match="another architecture"):
        average([a, create_model("digits-mlp-twin", similarity="cosine")])
    with pytest.raises(ConfigError, match="summing to 1"):
        average([a, a], [0.7, 0.7])
    with pytest.raises(ConfigError, match="alpha"):
        interpolate(a, a, 1.5)


def test_create_model_seed_makes_new_weights_reproducible():
    a, b = create_model("digits-mlp-twin", seed=5), create_model("digits-mlp-twin", seed=5)
    c = create_model("digits-mlp-twin", seed=6)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.state_dict()["encoder.net.1.weight"], c.state_dict()["encoder.net.1.weight"])
