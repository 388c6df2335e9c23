from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.helpers.fixtures import needs_minilm
from textsiam.deploy import precision
from textsiam.deploy.precision import dtype_of, resolve_dtype, to_dtype, with_dtype
from textsiam.deploy.quantize import load_for_inference, quantize
from textsiam.errors import ConfigError
from textsiam.models import create_model

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food"]


def test_bf16_converts_the_transformer_only_and_leaves_the_original_alone(tiny_bert_dir, tmp_path):
    model = create_model(str(tiny_bert_dir), projection_dim=16).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    half = to_dtype(model, "bf16")
    tower = half.tower("left")
    assert {p.dtype for p in tower.transformer.parameters()} == {torch.bfloat16}
    rest = [p for n, p in half.named_parameters() if ".transformer." not in f".{n}"]
    assert rest and {p.dtype for p in rest} == {torch.float32}  # projection (and Dense) stay float32
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert dtype_of(half) == "bf16" and dtype_of(model) == "fp32" and to_dtype(model, "fp32") is model
    out = half.encode(TEXTS)
    assert out.dtype == torch.float32
    # bf16 keeps 8 significant bits (relative rounding 2^-9 ~ 0.2% per stored value); two layers of hidden 32 add
    # a few such errors per output, far below the 1% of direction this allows; emulated bf16 (AVX2) rounds the same
    assert bool((F.cosine_similarity(out, model.encode(TEXTS)) > 0.99).all())
    with pytest.raises(ConfigError, match="inference-only"):
        half.save(tmp_path / "h")
    with pytest.raises(ConfigError, match="quantized already"):
        to_dtype(quantize(model, "int8"), "bf16")
    with pytest.raises(ConfigError, match="unknown dtype"):
        to_dtype(model, "fp8")


def test_a_tower_without_a_transformer_stays_float32():
    from textsiam.encoders import MlpEncoder
    from textsiam.models import TwinModel

    model = TwinModel(MlpEncoder(in_features=8, hidden=16, n_layers=2, dropout=0.0))
    assert to_dtype(model, "bf16") is model and dtype_of(model) == "fp32"


@pytest.mark.parametrize("op", ["layer_norm", "softmax"])
def test_torch_bf16_layer_norm_and_softmax_accumulate_in_float32(op):
    # rows of 384 values around 60 (a transformer's hidden size, an offset like its outlier channels): summed in
    # bf16 (8 significant bits) the mean alone would be off by ~0.1-1, far outside one output rounding step
    g = torch.Generator().manual_seed(0)
    x = (60 + torch.randn(8, 384, generator=g)).to(torch.bfloat16)
    if op == "layer_norm":
        got, want = F.layer_norm(x, (384,)), F.layer_norm(x.float(), (384,))
    else:
        got, want = F.softmax(x, dim=-1), F.softmax(x.float(), dim=-1)
    # computed in float32 and rounded once to bf16: within one bf16 step (2^-8 relative) of the float32 result
    assert bool(((got.float() - want).abs() <= want.abs() * 2**-8 + 1e-30).all())


def test_auto_picks_bf16_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    assert resolve_dtype("auto")[0] == "bf16" and "avx512_bf16" in resolve_dtype("auto")[1]
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    chosen, why = resolve_dtype("auto")
    assert chosen == "fp32" and "ONEDNN_MAX_CPU_ISA=AVX2" in why
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert resolve_dtype("auto")[0] == "fp32"
    assert resolve_dtype("bf16") == ("bf16", resolve_dtype("bf16")[1]) and "emulated" in resolve_dtype("bf16")[1]
    with pytest.raises(ConfigError, match="fp16: this CPU has none of avx512_fp16"):
        resolve_dtype("fp16")
    with pytest.raises(ConfigError, match="unknown dtype 'half'"):
        resolve_dtype("half")


def test_load_for_inference_refuses_int8_and_a_reduced_dtype_together(tiny_bert_dir):
    with pytest.raises(ConfigError, match="choose one of --quantize int8 and --dtype bf16"):
        load_for_inference(str(tiny_bert_dir), "int8", "bf16")
    assert dtype_of(load_for_inference(str(tiny_bert_dir), None, "bf16")) == "bf16"


@needs_minilm
@pytest.mark.slow
@pytest.mark.skipif(
    not precision.native("bf16")[0],
    reason="bf16 is emulated on this CPU / ISA cap (ATen's fallback GEMM, ~0.3 GFLOP/s: 10+ minutes for MiniLM); "
    "it rounds as native bf16 does, and the tiny-BERT tests above cover the emulated path",
)
def test_bf16_minilm_keeps_the_sts_spearman(shared_data):
    from scipy.stats import spearmanr

    from textsiam.data import read_pairs

    test = read_pairs(shared_data / "stsb" / "sts-test.csv", limit=300)
    model = create_model("minilm-twin").eval()
    full = spearmanr(model.similarity_scores(test.a, test.b), test.labels).statistic
    half = spearmanr(to_dtype(model, "bf16").similarity_scores(test.a, test.b), test.labels).statistic
    # the same 300 pairs on both sides, so the difference has no sampling noise: it is what bf16 rounding moves the
    # ranking (cosines move by ~1e-3; measured on all 1,379 test pairs: docs/benchmarks.md). 0.003 is the quality
    # guard the bf16 path is held to (issue 22), on the first 300 pairs (short captions and news)
    assert abs(half - full) < 0.003, (full, half)
    assert np.isfinite(half)


def test_with_dtype_says_what_it_chose_and_why(tiny_bert_dir, monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    model = create_model(str(tiny_bert_dir)).eval()
    half, said = with_dtype(model, "auto")
    assert dtype_of(half) == "bf16" and said == "dtype auto -> bf16: CPU has avx512_bf16"
    q, said = with_dtype(quantize(model, "int8"), "auto")
    assert dtype_of(q) == "int8" and said == "dtype auto -> int8: --quantize int8 replaces --dtype auto"
    assert with_dtype(half, "fp32") == (half, "dtype fp32 -> bf16: the model runs in bf16 already")
    with pytest.raises(ConfigError, match="choose one of --quantize int8 and --dtype bf16"):
        with_dtype(q, "bf16")


def test_an_emulated_bf16_asked_for_by_name_warns_and_a_native_one_does_not(tiny_bert_dir, monkeypatch):
    # emulated bf16 encoded MiniLM 4.2x slower than fp32 (docs/benchmarks.md): --verbose alone would hide that
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    model = create_model(str(tiny_bert_dir)).eval()
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    with pytest.warns(
        UserWarning,
        match=r"--dtype bf16: this CPU has none of avx512_bf16 / amx_bf16 .*emulated.*"
        r"use --dtype auto or fp32",
    ):
        half, _ = with_dtype(model, "bf16")
    assert dtype_of(half) == "bf16"  # asked for by name: it still runs
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    with pytest.warns(UserWarning, match="ONEDNN_MAX_CPU_ISA=AVX2 caps it"):
        with_dtype(model, "bf16")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dtype_of(with_dtype(model, "bf16")[0]) == "bf16"
        monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
        assert dtype_of(with_dtype(model, "auto")[0]) == "fp32"  # auto never picks the emulated one: no warning
