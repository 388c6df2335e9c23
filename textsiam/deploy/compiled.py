"""Compiled int8 layers: ``compile=True`` (``--compile``) with per-token int8 (``--quantize int8``).

The int8 products of :class:`~textsiam.deploy.quantize.TokenInt8Linear` are fast on the CPU's int8 units, and the
work around them is then most of the time: each Linear's input is scaled, its per-token maximum found, rounded to
int8, and the product scaled back and biased, each a separate pass over memory in eager torch, and then GELU, the
residual additions, the LayerNorms and the scatter to and gather from attention's padded layout (mpnet, STS-B test,
batch 32: the products are 37 % of an eager int8 encode). ``torch.compile`` (inductor) fuses that work into a few
generated C++ loops per layer, which is what OpenVINO's graph compiler does for its int8 (docs/benchmarks.md,
"Compiled int8").

What is compiled is the unpadded forward's stack of layers (:func:`textsiam.encoders.packed_bert.run_layers`)
itself, so the compiled path computes what the eager one does: one graph per tower for all its layers and every batch
shape (``dynamic=True``; nn.Module inlining: the layers' weights are graph inputs, not constants). The int8 product
stays oneDNN's kernel, called through one opaque op (``textsiam::token_int8_mm``) that finds its layer's packed
weights by the layer's weight-scale tensor. Each token's arithmetic still depends on that token alone, so the
embeddings stay independent of the batch (bit-identical alone or in any batch); they are not bit-identical to the
eager path's, because fused loops round some float32 steps differently, which moves a rare activation by one int8
level. One graph for the stack rather than one per layer, and no guards on the tower's modules, cut the per-batch
overhead of dynamo (MiniLM, batch 32: about 8 % of an encode; docs/benchmarks.md).

Costs: a C++ compiler (inductor builds its kernels with ``g++``/``clang++``, or ``$CXX``), and compile time on the
first batches of a process (15-25 s on 2 cores the first time on a machine, 7-12 s once inductor's
on-disk cache holds the kernels). So it is an option for long jobs, not the default. Where it cannot run (no
compiler, the per-batch int8 path of CPUs without VNNI/AMX, or a compile that fails) the model runs the eager int8
forward and a warning says why.
"""

from __future__ import annotations

import logging
import os
import shutil
import types
import weakref

import torch
from torch import nn

from textsiam.encoders.packed_bert import LAYERS_STEP, run_layers

log = logging.getLogger(__name__)

_LAYERS: dict[int, weakref.ref] = {}
"""``weight_scale.data_ptr()`` of each TokenInt8Linear that a compiled graph may call -> that layer (weakly)."""


_LIB = torch.library.Library("textsiam", "DEF")  # noqa: TOR901 (kept alive: the op lives as long as this object)
_LIB.define("token_int8_mm(Tensor q, Tensor weight_scale) -> Tensor")


def token_int8_mm(q: torch.Tensor, weight_scale: torch.Tensor) -> torch.Tensor:
    """``q @ W.T * weight_scale`` in float32 for the registered TokenInt8Linear whose ``weight_scale`` this is: its
    oneDNN int8 product, opaque to torch.compile (inductor cannot take oneDNN's packed weights as graph inputs).
    Registered with ``torch.library.Library`` rather than ``torch.library.custom_op``: the latter's Python wrappers
    cost about 10 us a call, a third of a small product (docs/benchmarks.md)."""
    ref = _LAYERS.get(weight_scale.data_ptr())
    layer = ref() if ref is not None else None
    if layer is None or layer.weight_scale.data_ptr() != weight_scale.data_ptr():
        raise RuntimeError(
            "textsiam::token_int8_mm: no int8 layer registered for this weight scale; compile the model with "
            "textsiam.deploy.compiled.compile_int8 (a copy of a compiled model must be compiled again)"
        )
    return layer._product(q, weight_scale)


_LIB.impl("token_int8_mm", token_int8_mm, "CPU")


@torch.library.register_fake("textsiam::token_int8_mm", lib=_LIB)
def _(q: torch.Tensor, weight_scale: torch.Tensor) -> torch.Tensor:
    return q.new_empty((q.shape[0], weight_scale.shape[0]), dtype=torch.float32)


def cxx_compiler() -> str | None:
    """The C++ compiler inductor would use (``$CXX``, else ``g++``, ``clang++``), or None."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "clang++"]
    return next((found for name in names if (found := shutil.which(name))), None)


def _own_code(fn, tag: str):
    """A copy of ``fn`` with a code object of its own: dynamo keeps its compiled graphs per code object, so one
    tower's graphs are never tried for another tower, whatever guards :class:`CompiledLayers` leaves out."""
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{tag}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def _without_module_guards(entries) -> list[bool]:
    """dynamo's guard filter: keep every guard but those inside the ``layers`` argument (about a thousand for
    MiniLM: each submodule's type, attributes and parameters, checked on every call, 270 us a batch). A tower's
    modules do not change after :func:`compile_int8`: their weights are graph inputs, read at each call; their
    structure (heads, sizes, which layers) is fixed, and the graphs are the tower's own (:func:`_own_code`)."""
    return [not e.name.startswith(("layers.", "layers[")) for e in entries]


class CompiledLayers:
    """:func:`~textsiam.encoders.packed_bert.run_layers` compiled (dynamic shapes) for one tower's layers: one graph
    for the whole stack and every batch shape. On the first compile or run that raises, a warning names the error and
    every later call runs the eager stack; so does a tower switched to training mode (its guards are dropped)."""

    def __init__(self, tag: str) -> None:
        self._compiled = torch.compile(
            _own_code(run_layers, tag), dynamic=True, options={"guard_filter_fn": _without_module_guards}
        )
        self.failed: str | None = None

    def __call__(self, layers: nn.ModuleList, *args):
        if self.failed is None and not layers.training:
            try:
                return self._compiled(layers, *args)
            except Exception as err:  # inductor's errors have no common base; any of them means: run eager
                first_line = (str(err).strip().splitlines() or [""])[0]
                self.failed = f"{type(err).__name__}: {first_line}"
                log.warning("--compile: compiling the int8 layers failed (%s); running them uncompiled", self.failed)
        return run_layers(layers, *args)


def compile_int8(model: nn.Module) -> str | None:
    """Run the unpadded towers of an int8 ``model`` (:func:`textsiam.deploy.quantize.quantize_int8`, per token)
    through :class:`CompiledLayers` (one per tower), in place. Returns None when done, else why not (and logs it as
    a warning): the model keeps its eager int8 forward."""
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
    for number, tower in enumerate(towers):
        setattr(tower, LAYERS_STEP, CompiledLayers(f"tower{number}_{id(tower):x}"))
    log.info("--compile: %d int8 Linear layers in %d tower(s) run in compiled layers", len(layers), len(towers))
    return None
