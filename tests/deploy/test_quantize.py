from __future__ import annotations

import copy
import os
import warnings

import pytest
import torch
import torch.ao.nn.quantized.dynamic as nnqd
import torch.nn.functional as F

from tests.helpers.fixtures import needs_minilm
from textsiam.deploy.quantize import (
    TokenInt8Linear,
    has_vnni,
    is_quantized,
    per_token_int8_exact,
    quantize,
    quantize_int8,
)
from textsiam.errors import ConfigError
from textsiam.models import create_model

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food"]


def test_int8_replaces_every_linear_and_leaves_the_original_alone(tiny_bert_dir, tmp_path):
    model = create_model(str(tiny_bert_dir), projection_dim=16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    q = quantize(model, "int8")
    linears = [m for m in q.modules() if type(m) is torch.nn.Linear]
    if per_token_int8_exact():  # this CPU sums int8 products exactly: one activation scale per token
        dynamic = [m for m in q.modules() if isinstance(m, TokenInt8Linear)]
        assert not any(isinstance(m, nnqd.Linear) for m in q.modules())
    else:
        dynamic = [m for m in q.modules() if isinstance(m, nnqd.Linear)]
        assert all(type(m).__name__ == ("FullRangeDynamicLinear" if has_vnni() else "Linear") for m in dynamic)
    # every float linear (FastLinear included) became a dynamic int8 one; each layer's query, key and value as one
    layers = model.left.transformer.config.num_hidden_layers
    assert not linears and len(dynamic) == sum(isinstance(m, torch.nn.Linear) for m in model.modules()) - 2 * layers
    assert is_quantized(q) and not is_quantized(model) and quantize(model, None) is model
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    # int8 rounds each weight and activation to 1/255 of its tensor's range (1/127 of a symmetric one): ~0.4% noise
    # per linear, which moves an embedding's direction by well under 1% through the tiny BERT; the CPU's int8 kernels
    # (VNNI or not) only add float32 rounding (~1e-6) on top, so this bound is the quantisation's, not the CPU's
    cos = F.cosine_similarity(q.encode(TEXTS), model.encode(TEXTS))
    assert bool((cos > 0.99).all()), cos
    with pytest.raises(ConfigError, match="inference-only"):
        q.save(tmp_path / "q")
    with pytest.raises(ConfigError, match="int8"):
        quantize(model, "int4")


@needs_minilm
@pytest.mark.slow
def test_int8_minilm_embeddings_stay_close_to_float():
    model = create_model("minilm-twin")
    texts = TEXTS + ["a woman is slicing an onion", "a plane is taking off", "the stock market fell sharply today"]
    cos = F.cosine_similarity(quantize(model, "int8").encode(texts), model.encode(texts))
    assert bool((cos > 0.985).all()), cos  # 6 layers of int8 noise (see above); MiniLM's outlier features cost more


def test_a_vector_tower_is_quantized_without_text_calibration():
    import numpy as np

    from textsiam.deploy.quantize import is_smoothed
    from textsiam.encoders import MlpEncoder
    from textsiam.models import TwinModel

    torch.manual_seed(0)
    model = TwinModel(MlpEncoder(in_features=8, hidden=16, n_layers=2, dropout=0.0))
    items = [np.random.default_rng(i).random(8).astype(np.float32) for i in range(6)]
    q = quantize(model, "int8")
    assert not any(is_smoothed(m) for m in q.modules())
    assert bool((F.cosine_similarity(q.encode(items), model.encode(items)) > 0.99).all())  # int8 noise, as above


def test_smoothing_scales_the_linear_itself_and_keeps_its_output():
    from textsiam.deploy.quantize import SmoothedLinear

    torch.manual_seed(0)
    linear = torch.nn.Linear(6, 4)
    x = torch.randn(3, 6)
    expected = linear(x).detach()
    scale = torch.rand(6) + 0.5
    smoothed = SmoothedLinear(linear, scale)
    assert smoothed.linear is linear  # no second copy of the weights while a model is converted
    torch.testing.assert_close(smoothed(x), expected)  # float32 defaults: (x / s) @ (W * s) vs x @ W, a few ulps


def test_calibration_maxima_are_the_largest_absolute_inputs_of_each_linear(tiny_bert_dir):
    from textsiam.deploy.quantize import _input_maxima

    model = create_model(str(tiny_bert_dir)).eval()
    seen: dict = {}

    def record(module, inputs, _output):
        x = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(0)
        seen[module] = torch.maximum(seen[module], x) if module in seen else x

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    model.encode(TEXTS)
    for h in hooks:
        h.remove()
    amax = _input_maxima(model, ["left"], TEXTS)
    assert set(amax) == set(seen) and seen
    for module, value in seen.items():
        torch.testing.assert_close(amax[module], value, rtol=0, atol=0)  # a max of the same values is exact


def _private_dirty_kb(path_end: str) -> int:
    """Private (copied-on-write) resident kB of this process's mappings of files whose path ends with path_end."""
    total, current = 0, ""
    for line in open("/proc/self/smaps"):
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5 and ":" not in fields[0]:
            current = fields[5] if len(fields) >= 6 else ""
        elif fields and fields[0] == "Private_Dirty:" and current.endswith(path_end):
            total += int(fields[1])
    return total


@needs_minilm
@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="reads Linux's /proc/self/smaps")
def test_in_place_int8_gives_back_the_mapped_pages_of_the_replaced_weights():
    """transformers memory-maps model.safetensors; smoothing writes into the Linear weights there (private copies of
    ~41 MB of pages for MiniLM-L6). After quantizing in place those pages are dropped, and the model's output is
    the one of quantizing an unmapped copy (no page that a live tensor uses was dropped)."""
    texts = TEXTS + ["a woman is slicing an onion", "the stock market fell sharply today"]
    copy_q = quantize(create_model("minilm-twin").eval(), "int8")  # deep copy: ordinary heap memory
    model = create_model("minilm-twin").eval()
    model.encode(texts)  # every weight page touched, as in use
    in_place = quantize(model, "int8", inplace=True)
    assert _private_dirty_kb("model.safetensors") < 4096  # was ~42,000 kB before the pages were given back
    assert torch.equal(in_place.encode(texts), copy_q.encode(texts))


@pytest.mark.parametrize("arch", ["bert", "mpnet"])
def test_the_float_rewrites_before_int8_keep_the_outputs(arch, tiny_bert_dir, tmp_path):
    """Fused query / key / value, smoothing and the output smoothing folded into the values are float-exact: the
    packed forward (the fused product) and the transformers forward (the stand-ins) give the float model's output."""
    from tests.helpers.fixtures import make_tiny_mpnet
    from textsiam.deploy.quantize import FusedQKV, SmoothedLinear, prepare_int8

    folder = tiny_bert_dir if arch == "bert" else make_tiny_mpnet(tmp_path, bias_std=1.0)
    model = create_model(str(folder)).eval()
    torch.manual_seed(0)
    with torch.no_grad():  # a fresh model's biases are zero: give them values, so a bias left unscaled shows
        for m in model.modules():
            if isinstance(m, torch.nn.Linear) and m.bias is not None:
                m.bias.normal_(0.0, 0.5)
    expected = model.encode(TEXTS)
    prepared = prepare_int8(copy.deepcopy(model), TEXTS)
    layers = prepared.left.transformer.encoder.layer
    attn = [layer.attention.attn if arch == "mpnet" else layer.attention.self for layer in layers]
    assert all(isinstance(a.qkv, FusedQKV) and isinstance(a.qkv.linear, SmoothedLinear) for a in attn)
    out = [a.o if arch == "mpnet" else layer.attention.output.dense for a, layer in zip(attn, layers)]
    assert all(isinstance(o, torch.nn.Linear) for o in out)  # its 1 / s now lives in the value rows
    # float32: the stacked product and the moved scales round differently from the separate ones (~1e-7 relative
    # per operation over 2 layers); 1e-5 is far above that and far below what a wrong row or scale moves (~1e-1)
    torch.testing.assert_close(prepared.encode(TEXTS), expected, rtol=1e-5, atol=1e-5)
    features = prepared.left.collate(TEXTS)
    with torch.no_grad():
        unpacked = prepared.left.transformer(**features).last_hidden_state  # the stand-ins' path (tracing's)
        packed = prepared.left.hidden_states(features)
    mask = features["attention_mask"].bool()
    torch.testing.assert_close(unpacked[mask], packed[mask], rtol=1e-5, atol=1e-5)


def _int8_products_exact_on(tokens: int, width: int, outputs: int) -> bool:
    from textsiam.deploy.quantize import _onednn_int8_product, to_source

    gen = torch.Generator().manual_seed(tokens)
    a = torch.randint(-127, 128, (tokens, width), generator=gen, dtype=torch.int8)
    w = torch.randint(-127, 128, (outputs, width), generator=gen, dtype=torch.int8)
    got = _onednn_int8_product(w)(to_source(a.float()), torch.ones(outputs))  # sums below 2^24: exact in float32
    return torch.equal(got.double(), (a.long() @ w.long().T).double())


@pytest.mark.skipif(not per_token_int8_exact(), reason="this CPU's int8 products are not exact: int8 runs per batch")
@pytest.mark.parametrize("unsigned", [False, True])
def test_signed_and_unsigned_activations_give_the_same_exact_sums(unsigned):
    """Both encodings of the levels (int8, or uint8 + 128 with zero point 128) are the same product: whichever a CPU
    takes (int8_source_unsigned), the embeddings are the same. Small shapes: the encoding a CPU does not take may run
    on oneDNN's reference kernel (seconds for a layer's product)."""
    from textsiam.deploy.quantize import _onednn_int8_product, to_source

    gen = torch.Generator().manual_seed(3)
    a = torch.randint(-127, 128, (24, 96), generator=gen, dtype=torch.int8)
    a[0], a[1] = 127, -127  # the extremes: uint8 255 and 1
    w = torch.randint(-127, 128, (40, 96), generator=gen, dtype=torch.int8)
    got = _onednn_int8_product(w, unsigned)(to_source(a.float(), unsigned), torch.ones(40))
    assert got.dtype == torch.float32
    assert torch.equal(got.double(), (a.long() @ w.long().T).double())


@pytest.mark.parametrize(
    ("flags", "cap", "unsigned"),
    [
        ({"avx512_vnni", "amx_int8", "amx_tile"}, "", False),  # AMX: signed x signed bytes natively
        ({"avx512_vnni", "amx_int8", "amx_tile"}, "AVX512_CORE_AMX", False),
        ({"avx512_vnni", "amx_int8", "amx_tile"}, "AVX512_CORE_VNNI", True),  # oneDNN capped below AMX
        ({"avx512_vnni", "amx_int8", "amx_tile"}, "avx2", True),
        ({"avx512_vnni", "avx512_bf16"}, "", True),  # AVX512-VNNI (AMD Zen 4, Ice Lake): unsigned x signed only
        ({"avx2", "avx_vnni"}, "", True),
    ],
)
def test_activations_are_unsigned_unless_onednn_may_use_amx(monkeypatch, flags, cap, unsigned):
    from textsiam.deploy import quantize as q

    monkeypatch.setattr(q, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert q.int8_source_unsigned.__wrapped__() is unsigned


@pytest.mark.skipif(not per_token_int8_exact(), reason="this CPU's int8 products are not exact: int8 runs per batch")
def test_the_int8_products_do_not_run_on_onednns_reference_kernel():
    """The encoding this CPU takes reaches one of oneDNN's optimised int8 kernels (brgemm on AMX or VNNI), not its
    reference one (``ref_int8``, about 4,000x slower on a 460 x 768 x 768 product: docs/benchmarks.md). Read from
    oneDNN's own log of the kernels it ran, in a fresh process (the log level is read at start-up)."""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from textsiam.deploy.quantize import _onednn_int8_product, to_source\n"
        "w = torch.randint(-127, 128, (768, 384), dtype=torch.int8)\n"
        "a = to_source(torch.randint(-127, 128, (64, 384)).float())\n"
        "_onednn_int8_product(w)(a, torch.ones(768))\n"
    )
    env = {**os.environ, "ONEDNN_VERBOSE": "1"}
    log = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    runs = [line for line in log.splitlines() if ",exec,cpu,matmul," in line]
    assert runs, f"oneDNN logged no matmul: {log[-2000:]}"
    assert not any(",ref" in line for line in runs), runs


def test_the_exactness_probe_agrees_with_a_brute_force_check_of_the_int8_products():
    """The probe that picks the per-token path must say what the CPU's int8 products do on the shapes a text tower
    multiplies: exact with VNNI / AMX; with oneDNN limited to AVX2 (the suite's second run) its saturating 16-bit
    pair sums make full-range products wrong, and the probe must then say so too."""
    expected = all(_int8_products_exact_on(*shape) for shape in [(200, 384, 1152), (37, 768, 3072), (1, 384, 384)])
    assert per_token_int8_exact() == expected


@pytest.mark.skipif(not per_token_int8_exact(), reason="this CPU's int8 products are not exact: int8 runs per batch")
def test_per_token_int8_linear_is_the_rounded_product_and_does_not_depend_on_the_batch():
    torch.manual_seed(0)
    linear = torch.nn.Linear(48, 20)
    inv_scale = torch.rand(48) + 0.5
    q = TokenInt8Linear(linear, inv_scale)
    x = torch.randn(5, 48)
    # the definition, in float64: each token quantized on its own max |x / s|, weights per output channel
    xs = x.double() * inv_scale.double()
    step = xs.abs().amax(1, keepdim=True) / 127
    w = linear.weight.detach().double()
    wstep = w.abs().amax(1) / 127
    expected = (torch.round(xs / step) * step) @ (torch.round(w / wstep[:, None]) * wstep[:, None]).T
    expected += linear.bias.detach().double()
    # float32 dequantisation of exact int32 sums: a few float32 ulps of outputs of size ~1
    torch.testing.assert_close(q(x).double(), expected, rtol=1e-5, atol=1e-5)
    # a token's output is the same whatever shares its batch, even a token 1000x larger (per-batch scales: its
    # step would be 1000x coarser for every other token); bit for bit, as each row is computed on its own
    outlier = torch.cat([x, 1000 * torch.randn(1, 48)])
    assert torch.equal(q(outlier)[:5], q(x)) and torch.equal(q(x[2:3]), q(x)[2:3])
    assert q(x[:0]).shape == (0, 20) and q(x.reshape(5, 1, 48)).shape == (5, 1, 20)
    assert torch.equal(q(torch.zeros(2, 48)), linear.bias.detach().expand(2, 20))  # an all-zero token: no NaN


def test_int8_takes_the_per_batch_path_where_the_products_are_not_exact(tiny_bert_dir, monkeypatch):
    from textsiam.deploy import quantize as module

    monkeypatch.setattr(module, "per_token_int8_exact", lambda: False)
    with warnings.catch_warnings(record=True) as seen:  # the path of every AVX2-only CPU
        warnings.simplefilter("always")
        q = quantize(create_model(str(tiny_bert_dir)), "int8")
        q.encode(TEXTS)
    assert not any(isinstance(m, TokenInt8Linear) for m in q.modules())
    assert any(isinstance(m, nnqd.Linear) for m in q.modules())
    # torch's note that its quantized tensors are deprecated is not shown to textsiam's users at each conversion
    assert not [str(w.message) for w in seen if "quantized tensor creation" in str(w.message)]


@pytest.mark.skipif(not per_token_int8_exact(), reason="this CPU's int8 products are not exact: int8 runs per batch")
def test_per_token_int8_embeddings_do_not_depend_on_the_batch(tiny_bert_dir):
    """A text's int8 embedding alone and in a batch with others: the same up to float32 rounding of the float parts
    (attention, layer norms: 1e-6); per-batch int8 moves it by the others' activation range (2.5e-4 here)."""
    model = create_model(str(tiny_bert_dir)).eval()
    texts = TEXTS + ["!!! ??? ... ### $$$ %%% &&& @@@ *** ((( )))"]
    per_token = quantize_int8(model, TEXTS, per_token=True)
    alone = torch.cat([per_token.encode([t]) for t in texts])
    torch.testing.assert_close(per_token.encode(texts), alone, rtol=1e-5, atol=1e-5)
