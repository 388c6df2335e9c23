"""int8 dynamic quantization for CPU inference (``--quantize int8``).

Every ``nn.Linear`` (attention projections, feed-forward layers, projection heads) gets int8 weights, one scale per
output channel; activations are quantized at run time and the matrix products run in int8. Embeddings, layer norms
and softmax stay float32. Two paths for the activations:

- **per token** (:class:`TokenInt8Linear`, where the CPU sums int8 products exactly: VNNI or AMX,
  :func:`per_token_int8_exact`): each token gets its own scale, so a text's embedding does not depend on the texts
  that share its batch (or, in ``serve``, on other clients' texts), and the products run in oneDNN's int8 matmul
  (AMX tiles or VNNI);
- **per batch** (torch's dynamic quantized Linear, fbgemm): one scale per product call, over every token of the
  batch; the path of CPUs without VNNI, where the per-token products would saturate. One sentence with a large
  activation coarsens the others' steps: on mpnet the STS-B Spearman moved by up to 0.008 between batch sizes and
  orders (docs/benchmarks.md, "int8 quality depends on the batch").

Transformer activations have a few input channels far larger than the rest, and one activation scale per tensor
then leaves the other channels a handful of int8 levels (MiniLM-L6: embedding cosine to float 0.94-0.97). Text towers
are therefore smoothed first (SmoothQuant, Xiao et al. 2023): each Linear's input channel j is divided by
``s_j = max|x_j|^a / max|W_j|^(1-a)`` and its weight column multiplied by it, which leaves the float output unchanged
and moves the outliers into the per-channel weight scales. ``max|x_j|`` is measured on a fixed set of 80 English
sentences shipped with textsiam (or ``calibration=`` texts), so a quantized model does not depend on its input.

fbgemm quantizes activations to 7 bits (``reduce_range``) because AVX2's int8 multiply-add saturates 16-bit sums;
CPUs with VNNI accumulate straight into 32 bits, so there the full 8 bits are used (MiniLM-L6 on 600 STS-B dev
sentences, embedding cosine to float: mean 0.9916 / min 0.952 with 7 bits, 0.9979 / 0.992 with 8).

In the unpadded BERT / MPNet towers (:mod:`textsiam.encoders.packed_bert`) two more float-exact rewrites cut the
per-Linear work around the int8 products (each smoothed Linear multiplies its input by ``1 / s`` and quantizes it):
query, key and value become one Linear over their stacked weights (:class:`FusedQKV`: one multiply, one activation
quantization and one int8 product instead of three; the smoothing scale is shared, from the stacked weights), and the
attention output Linear's ``1 / s`` moves into the value rows (attention is linear in the values, so scaling value
channel j scales context channel j), which removes that multiply. Per layer: 3 input multiplies instead of 6, 4
activation quantizations instead of 6.

The result is an inference-only copy: it cannot be trained or saved, and the float model is left untouched.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import torch
from torch import nn

from textsiam.device import cpu_flags
from textsiam.errors import ConfigError, DataError
from textsiam.layers.linear import FastLinear, plain_linears
from textsiam.models.base import PairModel
from textsiam.osmem import drop_mapped_pages, release_freed_memory

QUANTIZATIONS = ("int8",)
SMOOTH_ALPHA = 0.7
"""Migration strength a. MiniLM-L6, calibrated on 600 STS-B train sentences, lowest embedding cosine to float over 7
other sentences: unsmoothed 0.975, a=0.5 0.956, a=0.7 0.993, a=0.85 0.985."""
CALIBRATION_FILE = Path(__file__).with_name("calibration_texts.txt")
_LINEARS = (nn.Linear, FastLinear)  # smoothed and quantized; not subclasses such as MultiheadAttention's out_proj


class SmoothedLinear(nn.Module):
    """``linear(x / s)`` with ``linear``'s weight columns multiplied by ``s``: the float output is unchanged.

    ``linear`` itself is changed (no second copy of its weights: quantizing works on a copy of the model already,
    or converts the model in place)."""

    def __init__(self, linear: nn.Linear, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("inv_scale", 1.0 / scale)
        self.linear = linear
        with torch.no_grad():
            self.linear.weight.mul_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inv_scale)


@cache
def has_vnni() -> bool:
    """True when the CPU has AVX512-VNNI or AVX-VNNI (:func:`textsiam.device.cpu_flags`; False where unknown)."""
    return bool({"avx512_vnni", "avx_vnni"} & cpu_flags())


def _full_range_linear() -> type[nn.Module]:
    import torch.ao.nn.quantized.dynamic as nnqd

    class FullRangeDynamicLinear(nnqd.Linear):
        """Dynamic int8 Linear with 8-bit activations (``reduce_range=False``): only for CPUs with VNNI."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            packed = self._packed_params._packed_params
            return torch.ops.quantized.linear_dynamic(x, packed, reduce_range=False).to(x.dtype)

    return FullRangeDynamicLinear


_ONE = torch.ones(())
_ZERO = torch.zeros((), dtype=torch.int32)
_ZERO_POINT = 128
"""Zero point of the unsigned activations (:func:`int8_source_unsigned`): level ``q`` is sent as ``q + 128``."""
_SHIFTED = torch.full((), _ZERO_POINT, dtype=torch.int32)


@cache
def int8_source_unsigned() -> bool:
    """Whether oneDNN's int8 products (:func:`_onednn_int8_product`) take their activations as uint8, each int8 level
    plus 128 with zero point 128 (the same exact sums), rather than as int8.

    AMX multiplies signed by signed bytes; AVX512-VNNI and AVX-VNNI multiply unsigned by signed only, and there
    oneDNN runs signed activations on its reference kernel: on an AMD EPYC with AVX512-VNNI and no AMX, a 460 x 768 x
    768 product took 3.2 s with int8 activations and 0.8 ms with uint8 ones (brgemm on avx512_core_vnni), against
    3.7 ms for float32 (docs/benchmarks.md, "int8 on a CPU without AMX"). So: int8 where the CPU has AMX and
    ``ONEDNN_MAX_CPU_ISA`` does not cap oneDNN below it (measured there, and native), uint8 elsewhere."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    amx = "amx_int8" in cpu_flags() and (cap in ("", "ALL", "DEFAULT") or "AMX" in cap)
    return not amx


def _onednn_int8_product(
    weight_int8: torch.Tensor, unsigned: bool | None = None
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``f(q, w_scale) = (levels @ weight_int8.T) * w_scale`` in float32, for weights ``weight_int8`` (out, in) and
    activations ``q`` (tokens, in): the int8 levels themselves, or where ``unsigned`` (default
    :func:`int8_source_unsigned`) the levels + 128 as uint8 (:func:`to_source`). oneDNN's int8 matmul on weights
    packed once (AMX tiles or VNNI where the CPU has them), the per-channel weight scale applied in the kernel as it
    writes its float32 output."""
    packed = torch.ops.onednn.qlinear_prepack(weight_int8.contiguous(), None)
    zeros = torch.zeros(weight_int8.shape[0], dtype=torch.long)
    zero_point = _SHIFTED if _unsigned(unsigned) else _ZERO

    def product(q: torch.Tensor, w_scale: torch.Tensor) -> torch.Tensor:
        return torch.ops.onednn.qlinear_pointwise.tensor(
            q, _ONE, zero_point, packed, w_scale, zeros, None, 1.0, 0, torch.float32, "none", [], ""
        )

    return product


def _unsigned(unsigned: bool | None) -> bool:
    return int8_source_unsigned() if unsigned is None else unsigned


def to_source(levels: torch.Tensor, unsigned: bool | None = None) -> torch.Tensor:
    """Rounded activation levels (float, in [-127, 127]) as :func:`_onednn_int8_product` takes them: int8, or
    ``levels + 128`` as uint8 where ``unsigned`` (default :func:`int8_source_unsigned`). May write into ``levels``."""
    if _unsigned(unsigned):
        return levels.add_(_ZERO_POINT).to(torch.uint8)
    return levels.to(torch.int8)


class TokenInt8Linear(nn.Module):
    """A Linear in int8 with **one activation scale per token** (row of the input): the step of a token's int8
    levels is set by its own largest value, not by the batch's, so a token's output does not depend on which other
    texts share its batch (:func:`quantize_int8`). Weights: int8, one scale per output channel, packed once for
    oneDNN's int8 matmul (:func:`_onednn_int8_product`; exact 32-bit sums where :func:`per_token_int8_exact`).
    ``inv_scale`` (a :class:`SmoothedLinear`'s ``1 / s``) is applied to the input first. Per call: the input's
    per-token max, its rounding to int8, the product (weight scales applied in the kernel), then one pass that
    multiplies each row by its token's scale and adds the bias. An inference module: no gradients, not saved."""

    def __init__(self, linear: nn.Linear, inv_scale: torch.Tensor | None = None) -> None:
        super().__init__()
        w = linear.weight.detach().float()
        scale = w.abs().amax(1).clamp(min=1e-12) / 127
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self._unsigned = int8_source_unsigned()
        self._product = _onednn_int8_product(torch.round(w / scale[:, None]).to(torch.int8), self._unsigned)
        self.register_buffer("weight_scale", scale / 127)  # the activation scale's /127 folded in
        bias = torch.zeros(self.out_features) if linear.bias is None else linear.bias.detach().float().clone()
        self.register_buffer("bias", bias)
        self.register_buffer("inv_scale", None if inv_scale is None else inv_scale.detach().float().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, self.in_features).float()
        if self.inv_scale is not None:
            rows = rows * self.inv_scale
        if rows.shape[0] == 0:
            return x.new_zeros(*shape[:-1], self.out_features)
        # max |x| per token without an |x| copy; the clamp keeps an all-zero token at zero, not NaN
        amax = torch.maximum(rows.amax(1, keepdim=True), rows.amin(1, keepdim=True).neg_()).clamp_(min=1e-12)
        # |level| <= 127: the largest value maps to 127 exactly; int8, or uint8 + 128 (int8_source_unsigned)
        q = to_source(rows.mul(127.0 / amax).round_(), self._unsigned)
        # traced by torch.compile (deploy/compiled.py): the product as an opaque op that finds this layer's weights
        product = torch.ops.textsiam.token_int8_mm if torch.compiler.is_compiling() else self._product
        out = torch.addcmul(self.bias, product(q, self.weight_scale), amax)
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, per-token int8"


def is_smoothed(module: nn.Module) -> bool:
    """Whether ``module`` is a smoothed Linear: a float :class:`SmoothedLinear` or a per-token int8 one that took over
    its ``1 / s``."""
    return isinstance(module, SmoothedLinear) or (isinstance(module, TokenInt8Linear) and module.inv_scale is not None)


@cache
def per_token_int8_exact() -> bool:
    """Whether oneDNN's int8 matmul (:func:`_onednn_int8_product`) sums int8 products exactly here. It does where the
    CPU multiplies int8 into 32-bit sums (VNNI, AMX). Without them (AVX2 alone, or oneDNN limited to it with
    ``ONEDNN_MAX_CPU_ISA=AVX2``) its int8 multiply-add saturates 16-bit pair sums: two products of 127 x 127 already
    overflow them. The probe is that case plus a random full-range product (oneDNN picks its kernel by shape); where
    it fails, or the op is missing (a torch build without oneDNN), int8 takes the per-batch path of
    :func:`quantize_int8`."""
    saturating = torch.full((4, 64), 127, dtype=torch.int8)
    saturating[1] = -127
    weights = torch.full((8, 64), 127, dtype=torch.int8)
    weights[1::2] = -127
    gen = torch.Generator().manual_seed(0)
    rand_a = torch.randint(-127, 128, (64, 256), generator=gen, dtype=torch.int8)
    rand_w = torch.randint(-127, 128, (96, 256), generator=gen, dtype=torch.int8)
    try:
        for a, w in ((saturating, weights), (rand_a, rand_w)):
            # sums up to 256 x 127^2 ~ 4.1e6 < 2^24: exact in the float32 output
            got = _onednn_int8_product(w)(to_source(a.float()), torch.ones(w.shape[0]))
            if not torch.equal(got.double(), (a.long() @ w.long().T).double()):
                return False
    except (RuntimeError, NotImplementedError, AttributeError):  # no oneDNN int8 matmul in this torch build
        return False
    return True


def _to_token_int8(model: nn.Module) -> None:
    """Replace every float Linear (bare or inside a :class:`SmoothedLinear`) by a :class:`TokenInt8Linear`, in
    place. Only ``(parent, name)`` pairs are held while converting, so each float Linear is freed
    as soon as its int8 one replaces it (holding them all raised mpnet's peak by 340 MB)."""
    places = [
        (parent, name)
        for parent in model.modules()
        for name, child in parent.named_children()
        if type(child) in _LINEARS or (isinstance(child, SmoothedLinear) and type(child.linear) in _LINEARS)
    ]
    for parent, name in places:
        child = getattr(parent, name)
        if isinstance(child, SmoothedLinear):
            int8 = TokenInt8Linear(child.linear, child.inv_scale)
        else:
            int8 = TokenInt8Linear(child)
        del child
        setattr(parent, name, int8)


def quantize(
    model: PairModel,
    mode: str | None,
    calibration: Sequence[str] | None = None,
    *,
    inplace: bool = False,
    compile: bool = False,
) -> PairModel:
    """``model`` itself for ``mode=None``, else a quantized inference copy (see :func:`quantize_int8`); ``compile``
    runs its int8 layers compiled (:func:`textsiam.deploy.compiled.compile_int8`; where that cannot run, uncompiled,
    with a warning that says why)."""
    check_compile(compile, mode)
    if mode is None:
        return model
    if mode not in QUANTIZATIONS:
        raise ConfigError(f"unknown quantization {mode!r}; choose one of {', '.join(QUANTIZATIONS)} (or leave it off)")
    quantized = quantize_int8(model, calibration, inplace=inplace)
    if compile:
        from textsiam.deploy.compiled import compile_int8

        compile_int8(quantized)
    return quantized


_QUANTIZED_TENSOR_DEPRECATION = r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other quantized tensor"


def quantize_int8(
    model: PairModel,
    calibration: Sequence[str] | None = None,
    *,
    inplace: bool = False,
    per_token: bool | None = None,
) -> PairModel:
    """A CPU copy of ``model`` whose Linear layers run in int8 (smoothed dynamic quantization); ``inplace``
    converts ``model`` itself instead (no second copy of the weights in memory).

    ``per_token`` (None: where :func:`per_token_int8_exact`) gives each token its own activation scale
    (:class:`TokenInt8Linear`), so the embeddings do not depend on the batch; False takes the per-batch path
    (torch's dynamic quantized Linear: one activation scale per call, over every token of the batch)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    if per_token is None:
        per_token = per_token_int8_exact()
    was_training = model.training
    work = (model if inplace else copy.deepcopy(model)).cpu().eval()  # int8 kernels exist for CPU only
    plain_linears(work)  # oneDNN float32 linears (layers/linear.py) back to nn.Linear: quantize_dynamic maps by type
    if not inplace:
        model.train(was_training)
    floats = _storage_ranges(m.weight for m in work.modules() if type(m) in _LINEARS)
    prepare_int8(work, calibration)
    if per_token:
        _to_token_int8(work)
        quantized = work
    else:
        mapping = (
            {nn.Linear: _full_range_linear()} if has_vnni() and torch.backends.quantized.engine != "qnnpack" else None
        )
        # torch 2.13 deprecates its quantized tensors (qint8 weights) and says so at every conversion: a note to
        # torch's users, not to textsiam's (the pinned torch has them; a torch without them fails the tests of this
        # path, tests/deploy/test_quantize.py, before any user sees it)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_QUANTIZED_TENSOR_DEPRECATION)
            quantized = quantize_dynamic(
                work, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, mapping=mapping, inplace=True
            )
    quantized.quantized = "int8"
    release_freed_memory()  # the float weights and calibration activations freed above (~50 MB of heap)
    # the pages of float Linear weights that quantizing replaced, where they lie in a memory-mapped .safetensors
    # file: transformers maps the file and each weight is a view of its pages; smoothing wrote to them, so they
    # became private copies that stay resident while the embeddings keep the mapping alive (~41 MB for MiniLM-L6).
    # ``dead`` excludes every storage the quantized model still holds.
    drop_mapped_pages(floats - _storage_ranges(quantized.state_dict(keep_vars=True).values()))
    return quantized


def prepare_int8(model: PairModel, calibration: Sequence[str] | None = None) -> PairModel:
    """The float rewrites before the int8 conversion, in place: query, key and value fused (:func:`fuse_qkv`),
    every text-tower Linear smoothed (:func:`smooth`), the attention output's smoothing folded into the values
    (:func:`fold_output_smoothing`). The float outputs are unchanged (up to float32 rounding)."""
    fuse_qkv(model)
    smooth(model, calibration)
    fold_output_smoothing(model)
    return model


class FusedQKV(nn.Module):
    """Query, key and value as one Linear ``hidden -> 3 x hidden`` (their weights and biases stacked in that
    order). The packed forward (:mod:`textsiam.encoders.packed_bert`) calls it once per layer; ``parts`` are the
    three stand-ins left under the old names for the transformers forward (each runs the whole product and keeps
    its third: correct, not fast; that forward runs only while tracing)."""

    def __init__(self, query: nn.Linear, key: nn.Linear, value: nn.Linear) -> None:
        super().__init__()
        self.width = query.out_features
        self.linear = nn.Linear(query.in_features, 3 * self.width, bias=True)
        with torch.no_grad():
            self.linear.weight.copy_(torch.cat([query.weight, key.weight, value.weight]))
            self.linear.bias.copy_(torch.cat([_bias(query), _bias(key), _bias(value)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)

    def value_linear(self) -> nn.Linear:
        """The stacked float Linear (inside its smoothing, once smoothed); its rows ``2w:3w`` are the values'."""
        inner = self.linear
        return inner.linear if isinstance(inner, SmoothedLinear) else inner

    def parts(self) -> list[nn.Module]:
        return [_QKVPart(self, i) for i in range(3)]


class _QKVPart(nn.Module):
    """One third (query, key or value) of a :class:`FusedQKV`'s output; the fused module is held outside the module
    tree (a tuple), so it is counted, smoothed and quantized once, under its own name ``qkv``."""

    def __init__(self, fused: FusedQKV, index: int) -> None:
        super().__init__()
        self.source, self.index = (fused,), index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.source[0].width
        return self.source[0](x)[..., self.index * w : (self.index + 1) * w]


def _bias(linear: nn.Linear) -> torch.Tensor:
    return linear.bias if linear.bias is not None else linear.weight.new_zeros(linear.out_features)


def _attention_blocks(model: nn.Module) -> list[tuple[nn.Module, tuple[str, str, str], nn.Module, str]]:
    """``(self-attention, its query / key / value names, the output Linear's parent, its name)`` for every layer of
    every text tower that runs the packed forward (BERT: ``attention.self`` and ``attention.output.dense``; MPNet:
    ``attention.attn`` with ``q``, ``k``, ``v`` and ``o``)."""
    from textsiam.encoders.hf import HfTextEncoder

    blocks = []
    for tower in model.modules():
        if not (isinstance(tower, HfTextEncoder) and tower._packable):
            continue
        for layer in tower.transformer.encoder.layer:
            if hasattr(layer.attention, "attn"):  # MPNet
                blocks.append((layer.attention.attn, ("q", "k", "v"), layer.attention.attn, "o"))
            else:
                blocks.append((layer.attention.self, ("query", "key", "value"), layer.attention.output, "dense"))
    return blocks


def fuse_qkv(model: nn.Module) -> None:
    """Replace query, key and value of each packed attention block by one :class:`FusedQKV` (``attn.qkv``)."""
    for attn, names, _, _ in _attention_blocks(model):
        linears = [getattr(attn, n) for n in names]
        if all(type(m) in _LINEARS for m in linears) and not hasattr(attn, "qkv"):
            attn.qkv = FusedQKV(*linears)
            for name, part in zip(names, attn.qkv.parts()):
                setattr(attn, name, part)
            # the three weights were read into the stacked copy: where they are pages of a memory-mapped
            # .safetensors file, give those back now, not after the whole model (mpnet: 85 MB more at the peak)
            dead = _storage_ranges([t for m in linears for t in (m.weight, m.bias)])
            del linears
            drop_mapped_pages(dead)


def fold_output_smoothing(model: nn.Module) -> None:
    """Move each attention output Linear's smoothing ``x / s`` into the value rows that make its input: the
    context is ``softmax(scores) @ values`` per channel, so values divided by ``s`` give a context divided by ``s``.
    Per-output-channel int8 weight scales make the scaled value rows quantize exactly as well as before."""
    for attn, names, parent, name in _attention_blocks(model):
        out = getattr(parent, name)
        if not isinstance(out, SmoothedLinear):
            continue
        fused = getattr(attn, "qkv", None)
        if fused is not None:
            value, rows = fused.value_linear(), slice(2 * fused.width, 3 * fused.width)
        else:
            value = getattr(attn, names[2])
            value = value.linear if isinstance(value, SmoothedLinear) else value
            rows = slice(0, value.out_features)
        if type(value) not in _LINEARS or value.bias is None:
            continue
        with torch.no_grad():
            value.weight[rows].mul_(out.inv_scale[:, None])
            value.bias[rows].mul_(out.inv_scale)
        setattr(parent, name, out.linear)


def _storage_ranges(tensors) -> set[tuple[int, int]]:
    """``{(start address, bytes)}`` of the storages behind ``tensors`` (float tensors only)."""
    ranges = set()
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.device.type == "cpu":
            storage = t.untyped_storage()
            ranges.add((storage.data_ptr(), storage.nbytes()))
    return ranges


def smooth(model: PairModel, calibration: Sequence[str] | None) -> None:
    """Smooth the Linear layers of the text towers in place (towers of other modalities are left as they are)."""
    texts = list(calibration) if calibration is not None else CALIBRATION_FILE.read_text().splitlines()
    sides = [s for s in ("left", "right") if _takes(model, s, texts)]
    if not sides:
        return
    amax = _input_maxima(model, sides, texts)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) in _LINEARS and child in amax:
                w = child.weight.detach().abs().amax(0).clamp(min=1e-5)  # (in,)
                scale = (amax[child].clamp(min=1e-5) ** SMOOTH_ALPHA / w ** (1 - SMOOTH_ALPHA)).clamp(min=1e-5)
                setattr(parent, name, SmoothedLinear(child, scale))


def _takes(model: PairModel, side: str, texts: list[str]) -> bool:
    """Whether this side's tower reads texts (an image or vector tower refuses them and is not smoothed)."""
    try:
        model.check_items(texts, side)
    except (DataError, ValueError, TypeError):
        return False
    return True


@torch.inference_mode()
def _input_maxima(model: PairModel, sides: list[str], texts: list[str]) -> dict[nn.Module, torch.Tensor]:
    """``{linear: max |input| per input channel}`` over the calibration texts run through ``model`` as inference
    runs them: each text tower on ``sides`` encodes them; a cross model (no ``encode``: it reads the two texts of a
    pair together) scores them as pairs, each sentence with the next (every sentence is read once first, once second).
    """
    amax: dict[nn.Module, torch.Tensor] = {}

    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        low, high = torch.aminmax(inputs[0].reshape(-1, inputs[0].shape[-1]), dim=0)  # (in,) each
        x = torch.maximum(high, -low)  # max |x| without an |x| copy of the activations (less peak memory)
        amax[module] = torch.maximum(amax[module], x) if module in amax else x

    hooks = [m.register_forward_hook(record) for m in model.modules() if type(m) in _LINEARS]
    try:
        if hasattr(model, "collate_pairs"):  # a cross model's own pair scoring path
            model.pair_outputs(texts, texts[1:] + texts[:1])
        else:
            for side in sides:
                model.encode(texts, side=side)
    finally:
        for h in hooks:
            h.remove()
    return amax


def is_quantized(model: nn.Module) -> bool:
    return getattr(model, "quantized", None) is not None


def load_for_inference(
    name_or_dir: str, quantization: str | None = None, dtype: str = "fp32", *, compile: bool = False
) -> PairModel:
    """``create_model(name_or_dir)``, in eval mode, quantized when asked (``"int8"``, ``compile``: its layers
    compiled) or with its towers in ``dtype`` (``"bf16"``, ``"fp16"``, ``"auto"``: :mod:`textsiam.deploy.precision`)."""
    from textsiam.deploy.precision import check_dtype
    from textsiam.models.io import create_model

    check_dtype(dtype, quantization, "cpu")  # before the model loads (on the CPU)
    check_compile(compile, quantization)
    return for_inference(create_model(name_or_dir).eval(), quantization, dtype, inplace=True, compile=compile)


def check_compile(compile: bool, quantization: str | None) -> None:
    """``compile`` applies to int8 only: a ConfigError otherwise (before a model loads)."""
    if compile and quantization != "int8":
        raise ConfigError(
            "--compile compiles the int8 layers: add --quantize int8, or drop --compile "
            "(float models run uncompiled; --dtype bf16 is their fast path)"
        )


def for_inference(
    model: PairModel,
    quantization: str | None = None,
    dtype: str = "fp32",
    *,
    inplace: bool = False,
    compile: bool = False,
) -> PairModel:
    """``model`` int8-quantized (``quantization``) or with its towers in ``dtype``: the one conversion the commands
    make (``textsiam.api.common.built_model``, :func:`load_for_inference`). ``compile`` runs the int8 layers
    compiled (:mod:`textsiam.deploy.compiled`; where that cannot run, uncompiled, with a warning that says why).
    Not ``inplace``: ``model`` stays as it was and what changes is a copy."""
    from textsiam.deploy.precision import check_dtype, with_dtype

    check_dtype(dtype, quantization)  # before quantizing: int8 with an explicit bf16 / fp16 is refused
    work = quantize(model, quantization, inplace=inplace, compile=compile)
    return with_dtype(work, dtype, inplace=inplace or work is not model)[0]
