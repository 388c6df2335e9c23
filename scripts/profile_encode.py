"""Where encode time goes: torch.profiler over textsiam's encode of STS-B test sentences (fp32 or int8), plus the
tokenizer's share measured separately. Prints the top operators by self CPU time.

    python scripts/profile_encode.py --limit 1024 [--quantize int8]
    python scripts/profile_encode.py --model mpnet-twin --quantize int8 --compile --batch-size 64

With ``--compile`` the compiled graphs' own loops show as ``cpp_fused_*`` rows (inductor's kernel profile is
switched on before the graphs compile; a warm-up batch of the same size compiles them outside the profile).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from torch.profiler import ProfilerActivity, profile

from textsiam.data import read_pairs
from textsiam.deploy.quantize import load_for_inference


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb")
    p.add_argument("--limit", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--quantize", choices=["int8"])
    p.add_argument("--rows", type=int, default=15)
    p.add_argument("--model", default="minilm-twin", help="preset or model folder")
    p.add_argument("--compile", action="store_true", help="int8 layers compiled (with --quantize int8)")
    args = p.parse_args()
    test = read_pairs(Path(args.data) / "sts-test.csv")
    texts = (list(test.a) + list(test.b))[: args.limit]
    if args.compile:
        import torch._inductor.config

        torch._inductor.config.cpp.enable_kernel_profile = True  # the generated loops' names in the profile
    model = load_for_inference(args.model, args.quantize, compile=args.compile)
    model.encode(texts[: 2 * args.batch_size], batch_size=args.batch_size)
    tower = model.encoder
    t0 = time.perf_counter()
    tower.long_text.tokenize(tower.tokenizer, texts)  # as encode tokenizes (the Rust backend, checked by the warm-up)
    tokenize = time.perf_counter() - t0
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.encode(texts, batch_size=args.batch_size)
    total = time.perf_counter() - t0
    print(f"{len(texts)} sentences: encode {total:.2f} s under the profiler; tokenizing all of them in one call "
          f"{tokenize:.3f} s ({100 * tokenize / total:.1f}%)")  # fmt: skip
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
