"""FastLinear: float32 CPU linears on oneDNN give F.linear's outputs and gradients; everything else is F.linear itself;
the swap keeps parameters and state dicts and is undone for int8 quantization."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import textsiam.layers.linear as linear
from textsiam.errors import ConfigError
from textsiam.layers.linear import FastLinear, fast_linears, plain_linears

pytestmark = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="torch built without oneDNN")


def _layer(bias: bool) -> FastLinear:
    torch.manual_seed(0)
    layer = nn.Linear(96, 40, bias=bias)
    layer.__class__ = FastLinear
    return layer


@pytest.fixture
def onednn(monkeypatch):
    calls = []
    product = linear._product
    monkeypatch.setattr(linear, "onednn_fp32", lambda: True)
    monkeypatch.setattr(linear, "_product", lambda *a: calls.append(1) or product(*a))
    return calls


@pytest.mark.parametrize("bias", [True, False])
def test_onednn_linear_matches_f_linear_in_outputs_and_gradients(onednn, bias):
    layer = _layer(bias)
    x = torch.randn(3, 7, 96, requires_grad=True)  # 3-D, as inside a transformer: (batch, tokens, features)
    weights = torch.randn(3, 7, 40)  # a loss that weighs every output differently

    def run(fast: bool):
        x.grad = None
        layer.zero_grad(set_to_none=True)
        out = layer(x) if fast else F.linear(x, layer.weight, layer.bias)
        (out * weights).sum().backward()
        grads = [x.grad.clone(), layer.weight.grad.clone()] + ([layer.bias.grad.clone()] if bias else [])
        return out.detach(), grads

    ours, ours_grads = run(True)
    assert len(onednn) == 3  # the forward and the backward's two products went through oneDNN
    theirs, their_grads = run(False)
    # the same float32 products summed in another order (96 or 21 terms of size ~1-10): a few ulps of the result,
    # rtol 1e-5; atol for entries that cancel to ~0
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    for a, b in zip(ours_grads, their_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_other_dtypes_autocast_and_switched_off_take_f_linear(onednn, monkeypatch):
    layer = _layer(True)
    x = torch.randn(4, 96)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(x).dtype == torch.bfloat16  # autocast sees a plain linear
    assert layer.to(torch.bfloat16)(x.to(torch.bfloat16)).dtype == torch.bfloat16
    assert not onednn
    layer.float()
    monkeypatch.setattr(linear, "onednn_fp32", lambda: False)
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias), rtol=0, atol=0)
    assert not onednn


def test_an_exporter_traces_a_plain_linear(onednn):
    traced = torch.jit.trace(_layer(True).eval(), torch.randn(2, 96), check_trace=False)  # no untraced rerun
    assert "aten::linear" in str(traced.graph) and not onednn


def test_swap_keeps_parameters_and_is_undone(monkeypatch):
    monkeypatch.setattr(linear, "onednn_fp32", lambda: True)
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    params, keys = [id(p) for p in model.parameters()], list(model.state_dict())
    fast_linears(model)
    assert [type(m) for m in model if isinstance(m, nn.Linear)] == [FastLinear, FastLinear]
    assert [id(p) for p in model.parameters()] == params and list(model.state_dict()) == keys
    plain_linears(model)
    assert [type(m) for m in model if isinstance(m, nn.Linear)] == [nn.Linear, nn.Linear]
    monkeypatch.setattr(linear, "onednn_fp32", lambda: False)
    assert type(fast_linears(model)[0]) is nn.Linear  # switched off: nothing changes


def test_the_environment_chooses_and_a_bad_value_is_named(monkeypatch):
    for value, expected in (("onednn", True), ("torch", False)):
        monkeypatch.setenv(linear.ENV, value)
        linear.onednn_fp32.cache_clear()
        assert linear.onednn_fp32() is expected
    monkeypatch.setenv(linear.ENV, "mkl")
    linear.onednn_fp32.cache_clear()
    with pytest.raises(ConfigError, match="TEXTSIAM_FP32_LINEAR='mkl'.*auto, onednn, torch"):
        linear.onednn_fp32()
    monkeypatch.delenv(linear.ENV)
    for vendor, flags, cap, expected in (
        ("AuthenticAMD", {"avx2", "avx512f"}, "", True),
        ("AuthenticAMD", {"avx2", "avx512f"}, "AVX2", False),  # oneDNN held to AVX2: no faster than MKL
        ("AuthenticAMD", {"avx2"}, "", False),
        ("GenuineIntel", {"avx2", "avx512f"}, "", False),
    ):
        monkeypatch.setattr(linear, "cpu_info", lambda v=vendor, f=flags: (v, frozenset(f)))
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        linear.onednn_fp32.cache_clear()
        assert linear.onednn_fp32() is expected, (vendor, flags, cap)
    linear.onednn_fp32.cache_clear()


@pytest.mark.parametrize("given, expected", [(None, linear.PRIMITIVE_CACHE), ("256", "256")])
def test_importing_bounds_onednns_primitive_cache_unless_the_user_set_it(given, expected):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    env |= {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": given} if given else {}
    code = "import os, textsiam.layers.linear; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected
