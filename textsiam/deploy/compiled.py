"""Compiled int8 layers: ``compile=True`` (``--compile``) with per-token int8 (``--quantize int8``).

The int8 products of :class:`~textsiam.deploy.quantize.TokenInt8Linear` are fast on the CPU's int8 units, and the
work around them is then most of the time: each Linear's input is scaled, its per-token maximum found, rounded to
int8, and the product scaled back and biased, each a separate pass over memory in eager torch, and then GELU, the
residual additions, the LayerNorms and the scatter to and gather from attention's padded layout (mpnet, STS-B test,
batch 32: the products are 37 % of an eager int8 encode). ``torch.compile`` (inductor) fuses that work into a few
generated C++ loops per layer, which is what OpenVINO's graph compiler does for its int8 (docs/benchmarks.md,
"Compiled int8").

What is compiled is the unpadded forward's layer (:func:`textsiam.encoders.packed_bert._layer`) itself, so the
compiled path computes what the eager one does: one graph serves every layer of a tower (nn.Module inlining: the
layers' weights are graph inputs, not constants) and every batch shape (``dynamic=True``). The int8 product stays
oneDNN's kernel, called through one opaque op (``textsiam::token_int8_mm``) that finds its layer's packed weights by
the layer's weight-scale tensor. Each token's arithmetic still depends on that token alone, so the embeddings stay
independent of the batch (bit-identical alone or in any batch); they are not bit-identical to the eager path's,
because fused loops round some float32 steps differently, which moves a rare activation by one int8 level.

Costs: a C++ compiler (inductor builds its kernels with ``g++``/``clang++``, or ``$CXX``), and compile time on the
first batches of a process (about 15 s on 2 cores the first time on a machine, a few seconds once inductor's
on-disk cache holds the kernels). So it is an option for long jobs, not the default. Where it cannot run (no
compiler, the per-batch int8 path of CPUs without VNNI/AMX, or a compile that fails) the model runs the eager int8
forward and a warning says why.
"""

from __future__ import annotations

import logging
import os
import shutil
import weakref

import torch
from torch import nn

from textsiam.encoders.packed_bert import LAYER_STEP, _layer

log = logging.getLogger(__name__)

_LAYERS: dict[int, weakref.ref] = {}
"""``weight_scale.data_ptr()`` of each TokenInt8Linear that a compiled graph may call -> that layer (weakly)."""


@torch.library.custom_op("textsiam::token_int8_mm", mutates_args=())
def token_int8_mm(q: torch.Tensor, weight_scale: torch.Tensor) -> torch.Tensor:
    """``q @ W.T * weight_scale`` in float32 for the registered TokenInt8Linear whose ``weight_scale`` this is: its
    oneDNN int8 product, opaque to torch.compile (inductor cannot take oneDNN's packed weights as graph inputs)."""
    ref = _LAYERS.get(weight_scale.data_ptr())
    layer = ref() if ref is not None else None
    if layer is None or layer.weight_scale.data_ptr() != weight_scale.data_ptr():
        raise RuntimeError(
            "textsiam::token_int8_mm: no int8 layer registered for this weight scale; compile the model with "
            "textsiam.deploy.compiled.compile_int8 (a copy of a compiled model must be compiled again)"
        )
    return layer._product(q, weight_scale)


@token_int8_mm.register_fake
def _(q: torch.Tensor, weight_scale: torch.Tensor) -> torch.Tensor:
    return q.new_empty((q.shape[0], weight_scale.shape[0]), dtype=torch.float32)


def cxx_compiler() -> str | None:
    """The C++ compiler inductor would use (``$CXX``, else ``g++``, ``clang++``), or None."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "clang++"]
    return next((found for name in names if (found := shutil.which(name))), None)


class CompiledLayer:
    """:func:`_layer` compiled once (dynamic shapes) for every layer it is called on; on the first compile or run
    that raises, a warning names the error and every later call runs the eager :func:`_layer`."""

    def __init__(self) -> None:
        self._compiled = torch.compile(_layer, dynamic=True)
        self.failed: str | None = None

    def __call__(self, *args):
        if self.failed is None:
            try:
                return self._compiled(*args)
            except Exception as err:  # inductor's errors have no common base; any of them means: run eager
                first_line = (str(err).strip().splitlines() or [""])[0]
                self.failed = f"{type(err).__name__}: {first_line}"
                log.warning("--compile: compiling the int8 layers failed (%s); running them uncompiled", self.failed)
        return _layer(*args)


def compile_int8(model: nn.Module) -> str | None:
    """Run the unpadded towers of an int8 ``model`` (:func:`textsiam.deploy.quantize.quantize_int8`, per token)
    through one :class:`CompiledLayer`, in place. Returns None when done, else why not (and logs it as a warning):
    the model keeps its eager int8 forward."""
    from textsiam.deploy.quantize import TokenInt8Linear
    from textsiam.encoders.hf import HfTextEncoder

    towers = [m.transformer for m in model.modules() if isinstance(m, HfTextEncoder) and m._packable]
    layers = [m for t in towers for m in t.modules() if isinstance(m, TokenInt8Linear)]
    why = None
    if not towers:
        why = "the model has no transformer tower that runs the unpadded forward"
    elif not layers:
        why = "its int8 layers are the per-batch ones (this CPU sums int8 products exactly only with VNNI or AMX)"
    elif cxx_compiler() is None:
        why = "no C++ compiler found (inductor needs g++ or clang++, or $CXX)"
    if why is not None:
        log.warning("--compile: not compiled, %s; running the int8 layers uncompiled", why)
        return why
    for layer in layers:
        _LAYERS[layer.weight_scale.data_ptr()] = weakref.ref(layer)
    step = CompiledLayer()
    for tower in towers:
        setattr(tower, LAYER_STEP, step)
    log.info("--compile: %d int8 Linear layers in %d tower(s) run in compiled layers", len(layers), len(towers))
    return None
