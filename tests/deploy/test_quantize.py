from __future__ import annotations

import copy
import os

import pytest
import torch
import torch.ao.nn.quantized.dynamic as nnqd
import torch.nn.functional as F

from tests.helpers.fixtures import needs_minilm
from textsiam.deploy.quantize import has_vnni, is_quantized, quantize
from textsiam.errors import ConfigError
from textsiam.models import create_model

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food"]


def test_int8_replaces_every_linear_and_leaves_the_original_alone(tiny_bert_dir, tmp_path):
    model = create_model(str(tiny_bert_dir), projection_dim=16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    q = quantize(model, "int8")
    linears = [m for m in q.modules() if type(m) is torch.nn.Linear]
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

    from textsiam.deploy.quantize import SmoothedLinear
    from textsiam.encoders import MlpEncoder
    from textsiam.models import TwinModel

    torch.manual_seed(0)
    model = TwinModel(MlpEncoder(in_features=8, hidden=16, n_layers=2, dropout=0.0))
    items = [np.random.default_rng(i).random(8).astype(np.float32) for i in range(6)]
    q = quantize(model, "int8")
    assert not any(isinstance(m, SmoothedLinear) for m in q.modules())
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
