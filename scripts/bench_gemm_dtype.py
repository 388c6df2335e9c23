"""GEMM peak per data type on this CPU: an ``n x n`` matmul in fp32, bf16 (and fp16, int8 where torch has the op),
one thread, all in one process, the types alternated round by round; the median GFLOP/s per type. With
``--kernels`` each type runs once more under ``ONEDNN_VERBOSE=1`` in a child process and the oneDNN primitive lines
it prints (the kernel's ISA name: ``brg:avx512_core_amx``, ``avx512_core_bf16``, ``avx2`` ...) are reported, or
"no oneDNN primitive" when ATen ran its own kernel (e.g. fp32 through MKL).

    python scripts/bench_gemm_dtype.py --kernels
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python scripts/bench_gemm_dtype.py --kernels
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

TYPES = ("fp32", "fp32-onednn", "bf16", "fp16", "int8", "qlinear-x86", "qlinear-fbgemm", "qlinear-onednn", "int8-token")
"""fp32: ``torch.matmul`` (MKL); fp32-onednn: the same product through oneDNN (``mkldnn._linear_pointwise``, textsiam's
float32 linear on AMD CPUs: textsiam/layers/linear.py); int8: ``torch._int_mm``; qlinear-ENGINE: a dynamic int8
Linear (textsiam's int8 path) packed under that quantized engine (x86 is torch's default; fbgemm and onednn are the
kernels it may dispatch to); int8-token: the product of textsiam's per-token int8 (``TokenInt8Linear``: int8
activations times weights packed once for oneDNN's int8 matmul, the weight scales applied as it writes float32)."""


def _operands(kind: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    if kind == "int8":
        a = torch.randint(-127, 128, (n, n), dtype=torch.int8, generator=g)
        return a, torch.randint(-127, 128, (n, n), dtype=torch.int8, generator=g)
    dtype = {"fp32": torch.float32, "fp32-onednn": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[kind]
    return torch.randn(n, n, generator=g).to(dtype), torch.randn(n, n, generator=g).to(dtype)


def _matmul(kind: str):
    if kind == "fp32-onednn":  # a @ b as a linear: weight (out, in) = b transposed (a fixed cost outside the timing)
        return lambda a, b: torch.ops.mkldnn._linear_pointwise(a, _transposed(b), None, "none", [], "")
    return torch._int_mm if kind == "int8" else torch.matmul  # int8 x int8 -> int32


_TRANSPOSED: dict[int, torch.Tensor] = {}


def _transposed(b: torch.Tensor) -> torch.Tensor:
    return _TRANSPOSED.setdefault(id(b), b.t().contiguous())


def _qlinear(engine: str, n: int):
    from torch.ao.nn.quantized.dynamic import Linear

    torch.backends.quantized.engine = engine
    g = torch.Generator().manual_seed(0)
    layer = Linear(n, n, dtype=torch.qint8)
    weight = torch.quantize_per_tensor(torch.randn(n, n, generator=g) / n**0.5, 0.01, 0, torch.qint8)
    layer.set_weight_bias(weight, torch.zeros(n))
    return torch.randn(n, n, generator=g), layer


def _token_int8(n: int):
    from textsiam.deploy.quantize import _onednn_int8_product, to_source

    a, w = _operands("int8", n)
    product, scale = _onednn_int8_product(w), torch.full((n,), 1e-4)
    return to_source(a.float()), lambda x, _: product(x, scale)  # uint8 + 128 where the CPU has no AMX


def _seconds(kind: str, n: int, inner: int) -> float:
    if kind == "int8-token":
        (a, mm), b = _token_int8(n), None
    elif kind.startswith("qlinear-"):
        a, layer = _qlinear(kind.removeprefix("qlinear-"), n)
        b, mm = None, lambda x, _: layer(x)  # noqa: E731
    else:
        a, b = _operands(kind, n)
        mm = _matmul(kind)
    mm(a, b)  # warm-up (first call packs / JITs)
    start = time.perf_counter()
    for _ in range(inner):
        mm(a, b)
    return (time.perf_counter() - start) / inner


def _available(kind: str) -> str | None:
    """None when ``kind`` runs here, else why not."""
    try:
        if kind == "int8-token":
            a, mm = _token_int8(64)
            mm(a, None)
        elif kind.startswith("qlinear-"):
            a, layer = _qlinear(kind.removeprefix("qlinear-"), 64)
            layer(a)
        else:
            a, b = _operands(kind, 64)
            _matmul(kind)(a, b)
    except (RuntimeError, NotImplementedError) as err:
        return str(err).splitlines()[0][:120]
    return None


def _kernels(kind: str, n: int) -> list[str]:
    env = {**os.environ, "ONEDNN_VERBOSE": "1"}
    code = f"import sys; sys.argv=['x']; import bench_gemm_dtype as b; b._seconds({kind!r}, {n}, 1)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": os.path.dirname(os.path.abspath(__file__))},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("onednn_verbose") and ",exec," in ln]
    kernels = sorted({_impl(ln) for ln in lines})
    info = [ln for ln in done.stdout.splitlines() if "info,cpu,isa" in ln]
    return (info[:1] + kernels) if kernels else info[:1] + ["no oneDNN primitive (ATen / MKL / fbgemm kernel)"]


def _impl(line: str) -> str:
    """``primitive,implementation`` of a verbose ``exec`` line (e.g. ``matmul,brg_matmul:avx512_core_bf16``)."""
    fields = line.split(",")
    at = fields.index("exec")
    return ",".join(fields[at + 2 : at + 4])  # after exec: engine (cpu), primitive, implementation


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--inner", type=int, default=3, help="matmuls per timed round")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--kernels", action="store_true", help="also report the oneDNN kernels (ONEDNN_VERBOSE)")
    p.add_argument("--types", nargs="+", default=["fp32", "bf16"], choices=TYPES, help="fp16 / int8: emulated here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    skipped = {k: why for k in args.types if (why := _available(k)) is not None}
    kinds = [k for k in args.types if k not in skipped]
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            times[kind].append(_seconds(kind, args.n, args.inner))
            print(f"  {kind}: {times[kind][-1] * 1000:.0f} ms", flush=True)
    flop = 2 * args.n**3
    env = {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA") if k in os.environ}
    print(f"torch {torch.__version__}, ATen capability {torch.backends.cpu.get_cpu_capability()}, env {env}")
    print(f"{args.n}x{args.n} matmul, {args.threads} thread(s), median of {args.rounds} rounds x {args.inner}")
    result = {}
    for kind in kinds:
        med = statistics.median(times[kind])
        result[kind] = {"ms": med * 1000, "gflops": flop / med / 1e9, "x_fp32": statistics.median(times["fp32"]) / med}
        print(f"{kind:5} {med * 1000:9.1f} ms {flop / med / 1e9:8.1f} GFLOP/s  {result[kind]['x_fp32']:5.2f}x fp32")
    for kind, why in skipped.items():
        print(f"{kind:5} not run: {why}")
    if args.kernels:
        for kind in kinds:
            result[kind]["kernels"] = _kernels(kind, args.n)
            print(f"{kind:5} kernels: " + " | ".join(result[kind]["kernels"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
