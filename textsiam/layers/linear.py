"""float32 ``nn.Linear`` through oneDNN on CPUs where torch's default matrix product (MKL) is slow.

torch multiplies float32 matrices on the CPU with MKL's ``sgemm``. On AMD processors MKL takes a generic code path:
on this project's machine (AMD EPYC, AVX-512) a 512 x 384 x 1,536 product ran at 155-188 GFLOP/s through
``F.linear`` and at 390-417 GFLOP/s through oneDNN (``torch.ops.mkldnn._linear_pointwise``, the kernel torch's own
compiler uses for CPU linears), the backward's two products 1.5-2.3x faster as well (docs/benchmarks.md, issue 22).
:class:`FastLinear` is ``nn.Linear`` with its float32 CPU forward and backward on oneDNN: the same parameters, the
same state dict, float32 accumulation (results differ from MKL's in summation order only: ~1e-6 relative).

It is used where it is measured faster: ``auto`` (the default) means oneDNN on AMD CPUs with AVX-512 (and oneDNN not
capped below it by ``ONEDNN_MAX_CPU_ISA``), the torch default elsewhere: with oneDNN held to AVX2 the two ran alike
here (MiniLM encode 455 against 482 sentences/s), and on Intel CPUs MKL has its fast paths (an Intel Xeon with
AMX: a MiniLM fine-tune at 88 pairs/s with MKL's, 66 with oneDNN's; docs/benchmarks.md).
``TEXTSIAM_FP32_LINEAR=onednn`` or ``torch`` forces one.

oneDNN keeps every primitive it built (one per matrix shape, with its own scratch memory) in a cache of 1,024 by
default, and training batches have many shapes (rows = real tokens): a MiniLM fine-tune peaked 273 MB above MKL's
with that cache, 72 MB above it with 16 entries, at the same speed (1,500 STS-B pairs: 87.6 and 83.4 pairs/s, MKL
59.2; docs/benchmarks.md). Importing this module therefore sets ``ONEDNN_PRIMITIVE_CACHE_CAPACITY=16`` unless it
is set already (it takes effect where oneDNN has not run yet in the process).

Everything else takes ``F.linear`` unchanged: other devices and dtypes (bf16 already runs on oneDNN), autocast,
tracing and export (an exporter sees a plain linear), quantization (:func:`plain_linears`).
"""

from __future__ import annotations

import os
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from textsiam.device import cpu_info
from textsiam.errors import ConfigError

CHOICES = ("auto", "onednn", "torch")
ENV = "TEXTSIAM_FP32_LINEAR"
_BELOW_AVX512 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2"}  # ONEDNN_MAX_CPU_ISA caps that exclude AVX-512
PRIMITIVE_CACHE = "16"
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", PRIMITIVE_CACHE)  # see the module's note


@cache
def onednn_fp32() -> bool:
    """Whether float32 CPU linears run on oneDNN in this process (``TEXTSIAM_FP32_LINEAR``, read once)."""
    choice = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ConfigError(f"{ENV}={choice!r}: choose one of {', '.join(CHOICES)}")
    if choice == "torch" or not torch.backends.mkldnn.is_available():
        return False
    if choice == "onednn":
        return True
    vendor, flags = cpu_info()
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper() in _BELOW_AVX512
    return vendor == "AuthenticAMD" and "avx512f" in flags and not capped


def tracing() -> bool:
    """Whether an exporter (ONNX, TorchScript, torch.export) or the compiler is tracing."""
    compiler = torch.compiler
    return (
        torch.onnx.is_in_onnx_export()
        or torch.jit.is_tracing()
        or compiler.is_compiling()
        or (hasattr(compiler, "is_exporting") and compiler.is_exporting())
    )


def _product(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ weight.T + bias`` for 2-D ``x (n, in)`` and ``weight (out, in)`` on oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class _OneDnnLinear(torch.autograd.Function):
    """``F.linear`` with the forward and both backward products on oneDNN (float32, CPU)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        rows = x.reshape(-1, x.shape[-1]).contiguous()
        return _product(rows, weight, bias).view(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        g = grad.reshape(-1, grad.shape[-1]).contiguous()  # (n, out)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:  # (n, out) @ (out, in): a linear with weight (in, out)
            grad_x = _product(g, weight.t().contiguous(), None).view(x.shape)
        if ctx.needs_input_grad[1]:  # (out, n) @ (n, in): a linear with weight (in, n)
            rows = x.reshape(-1, x.shape[-1])
            grad_w = _product(g.t().contiguous(), rows.t().contiguous(), None)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = g.sum(0)
        return grad_x, grad_w, grad_b


class FastLinear(nn.Linear):
    """``nn.Linear`` whose float32 CPU products run on oneDNN where :func:`onednn_fp32` says so (module note)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        if (
            x.dtype == torch.float32
            and w.dtype == torch.float32
            and x.device.type == "cpu"
            and x.dim() >= 2
            and not torch.is_autocast_enabled("cpu")
            and onednn_fp32()
            and not tracing()
        ):
            return _OneDnnLinear.apply(x, w, self.bias)
        return F.linear(x, w, self.bias)


def fast_linears(module: nn.Module) -> nn.Module:
    """Make every plain ``nn.Linear`` inside ``module`` a :class:`FastLinear` (in place: same parameters, same
    state dict; a no-op where :func:`onednn_fp32` is off). Returns ``module``."""
    if onednn_fp32():
        for m in module.modules():
            if type(m) is nn.Linear:
                m.__class__ = FastLinear
    return module


def plain_linears(module: nn.Module) -> nn.Module:
    """Undo :func:`fast_linears` (in place), for code that matches ``type(m) is nn.Linear`` (int8 quantization)."""
    for m in module.modules():
        if type(m) is FastLinear:
            m.__class__ = nn.Linear
    return module
