"""Reduced-precision inference (``--dtype fp32|bf16|fp16|auto``).

A tower that has heavy layers (a transformer) runs them in bfloat16 or float16: weights and activations of the
matrix products, embeddings and attention. What accumulates stays float32: torch's CPU LayerNorm, softmax and the
attention kernel of a bf16 / fp16 tensor accumulate in float32 internally (``tests/deploy/test_precision.py`` checks
LayerNorm and softmax against float32 arithmetic on the same inputs), and the tower hands its last hidden states to
pooling, Dense layers and normalisation as float32 (``Encoder.set_inference_dtype``). Projections, heads and
similarities are not converted. Towers without such layers (tf-idf, GloVe, LSTM, CNN ...) stay float32.

``auto`` picks bf16 where the device multiplies it natively, else fp32:

- CPU: the ``avx512_bf16`` or ``amx_bf16`` flag in ``/proc/cpuinfo``, and ``ONEDNN_MAX_CPU_ISA`` (oneDNN, which runs
  torch's bf16 matrix products) not capped below ``AVX512_CORE_BF16``; ``torch.backends.cpu.get_cpu_capability()``
  says only AVX2 / AVX512, not whether bf16 is native, so it is not the test. Without native bf16, oneDNN emulates it
  (converting to fp32 per block), which is slower than fp32: ``--dtype bf16`` still runs there when asked, with a
  warning (MiniLM encoded 4.2x slower than in fp32 on an AMD EPYC held to ``ONEDNN_MAX_CPU_ISA=AVX2``;
  docs/benchmarks.md, "Encode on a fourth host").
- CUDA: ``torch.cuda.is_bf16_supported()``.

fp16 on the CPU needs ``avx512_fp16`` or ``amx_fp16`` (Sapphire Rapids and later); elsewhere it is refused with the
reason, since an emulated fp16 is slower than fp32 and less exact than bf16.

The result is an inference-only model: saving it is refused (save the float model, convert after loading).
"""

from __future__ import annotations

import copy
import logging
import os
import warnings

import torch

from textsiam.device import cpu_flags
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
CHOICES = (*DTYPES, "auto")
# oneDNN's ISA caps (ONEDNN_MAX_CPU_ISA) at or above which a CPU's native bf16 / fp16 instructions may be used
_BF16_ISAS = {"AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512", "AVX512_CORE_AMX", "AVX10_1_512_AMX"}
_BF16_ISAS |= {"AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX_FP16", "ALL", "DEFAULT"}
_FP16_ISAS = _BF16_ISAS - {"AVX512_CORE_BF16", "AVX512_CORE_AMX"}
log = logging.getLogger(__name__)  # what with_dtype chose and why, at INFO (the CLI's --verbose shows it on stderr)


def _isa_allows(allowed: set[str]) -> bool:
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return not cap or cap in allowed


def native(kind: str, device: torch.device | str = "cpu") -> tuple[bool, str]:
    """Whether ``device`` multiplies ``kind`` ("bf16" / "fp16") natively, and the reason in words."""
    device = torch.device(device)
    if kind == "fp32":
        return True, "fp32 is native everywhere"
    if device.type == "cuda":
        ok = kind == "fp16" or torch.cuda.is_bf16_supported()
        return ok, f"CUDA device {torch.cuda.get_device_name(device)}: {kind} {'supported' if ok else 'unsupported'}"
    if device.type != "cpu":
        return False, f"{device.type}: textsiam runs reduced precision on CPU and CUDA only"
    wanted = ("avx512_bf16", "amx_bf16") if kind == "bf16" else ("avx512_fp16", "amx_fp16")
    has = [f for f in wanted if f in cpu_flags()]
    if not has:
        return False, f"this CPU has none of {' / '.join(wanted)} (/proc/cpuinfo)"
    if not _isa_allows(_BF16_ISAS if kind == "bf16" else _FP16_ISAS):
        return False, f"CPU has {', '.join(has)} but ONEDNN_MAX_CPU_ISA={os.environ['ONEDNN_MAX_CPU_ISA']} caps it"
    return True, f"CPU has {', '.join(has)}"


def resolve_dtype(name: str, device: torch.device | str = "cpu") -> tuple[str, str]:
    """``(dtype name, why)``: ``auto`` becomes bf16 or fp32; an explicit name is checked (fp16 on a CPU without it
    is a ConfigError)."""
    check_dtype(name)
    if name == "auto":
        ok, why = native("bf16", device)
        return ("bf16" if ok else "fp32"), why
    ok, why = native(name, device)
    if name == "fp16" and not ok:
        raise ConfigError(
            f"--dtype fp16: {why}, so float16 would be emulated (slower than fp32); use --dtype bf16 or fp32"
        )
    return name, why if ok else f"{why}: {name} is emulated and may be slower than fp32"


def check_dtype(name: str, quantization: str | None = None, device: torch.device | str | None = None) -> None:
    """What a command checks before it loads a model: a ConfigError for an unknown dtype name, for int8 asked
    together with an explicit bf16 / fp16 (``auto`` gives way to int8) and, given the ``device`` the model will run
    on, for fp16 where that device lacks it."""
    if name not in CHOICES:
        raise ConfigError(f"unknown dtype {name!r}; choose one of {', '.join(CHOICES)} (--dtype)")
    if quantization is not None and name not in ("fp32", "auto"):
        raise ConfigError(
            f"choose one of --quantize {quantization} and --dtype {name}: both set the precision (int8 replaces the "
            "dtype); drop one of the two flags"
        )
    if device is not None and quantization is None:
        resolve_dtype(name, device)


def to_dtype(model: PairModel, name: str, *, inplace: bool = False) -> PairModel:
    """``model`` with its towers' heavy layers in ``name`` ("bf16" / "fp16"); ``model`` itself for fp32 (or a
    model whose towers all stay float32). Not ``inplace``: a converted copy, ``model`` is left as it was."""
    if name not in DTYPES:
        raise ConfigError(f"unknown dtype {name!r}; choose one of {', '.join(DTYPES)} (resolve 'auto' first)")
    if name == "fp32":
        return model
    if getattr(model, "quantized", None):
        raise ConfigError(f"this model is {model.quantized}-quantized already; choose --quantize or --dtype {name}")
    work = model if inplace else copy.deepcopy(model)
    towers = {id(work.tower(side)): work.tower(side) for side in ("left", "right")}
    converted = [t for t in towers.values() if t.set_inference_dtype(DTYPES[name])]
    if not converted:
        return model if not inplace else work
    work.eval()
    work.inference_dtype = name
    return work


def with_dtype(model: PairModel, name: str, *, inplace: bool = False) -> tuple[PairModel, str]:
    """``(model in the dtype `name` resolves to on the model's device, what was chosen and why)``: the one call a
    command makes for ``--dtype``; the second value (e.g. "dtype auto -> bf16: CPU has avx512_bf16") is also logged
    at INFO, which ``--verbose`` prints."""
    quantized, current = getattr(model, "quantized", None), dtype_of(model)
    check_dtype(name, quantized)
    if current != "fp32" and name in ("fp32", "auto"):  # quantized or converted before: kept as it is
        why = f"--quantize {quantized} replaces --dtype {name}" if quantized else f"the model runs in {current} already"
        return model, _said(f"dtype {name} -> {current}: {why}")
    chosen, why = resolve_dtype(name, model.device)
    converted = to_dtype(model, chosen, inplace=inplace)
    ran = dtype_of(converted)
    if ran != "fp32" and not native(ran, model.device)[0]:  # asked for by name: it runs, but the user should know
        warnings.warn(f"--dtype {ran}: {why} (MiniLM: 4x slower, measured); use --dtype auto or fp32", stacklevel=2)
    note = "" if ran == chosen else f"; this model's towers have no layers to convert, they run in {ran}"
    head = f"dtype auto -> {chosen}" if name == "auto" else f"dtype {chosen}"
    return converted, _said(f"{head}: {why}{note}")


def _said(line: str) -> str:
    log.info(line)
    return line


def dtype_of(model: PairModel) -> str:
    """The precision ``model``'s towers run in: "fp32", "bf16", "fp16" (or "int8" for a quantized copy)."""
    return getattr(model, "quantized", None) or getattr(model, "inference_dtype", "fp32")
