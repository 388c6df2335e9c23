"""torch's fused CPU attention (``scaled_dot_product_attention``) against the sequence length: milliseconds per call
for a batch of 32 sequences with a padding mask, float32 and bfloat16, one thread (thread CPU time, median). The
steps at multiples of 16 are why inference pads attention's length up to one (encoders/packed_bert.py,
``ATTENTION_MULTIPLE``); the end-to-end effect is ``bench_encode.py``'s ``*-exact-span`` rows.

    python scripts/bench_attention.py --lengths 8 12 14 16 20 24 28 30 32 46 48 --head-dims 32 64
"""

from __future__ import annotations

import argparse
import functools
import json
import time


def _median_ms(fn, repeats: int) -> float:
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        start = time.thread_time()  # this thread's CPU time: less moved by other processes than the wall clock
        fn()
        times.append(time.thread_time() - start)
    return sorted(times)[len(times) // 2] * 1e3


def main(argv: list[str] | None = None) -> None:
    import torch
    import torch.nn.functional as F

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 12, 14, 16, 20, 24, 28, 30, 32, 46, 48])
    parser.add_argument("--head-dims", type=int, nargs="+", default=[32, 64], help="MiniLM-L6: 32; mpnet-base: 64")
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the table here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        for dim in args.head_dims:
            row = {"dtype": str(dtype).removeprefix("torch."), "head_dim": dim, "ms": {}}
            for length in args.lengths:
                q, k, v = (torch.randn(args.batch, args.heads, length, dim, dtype=dtype) for _ in range(3))
                mask = torch.ones(args.batch, 1, 1, length, dtype=torch.bool)
                mask[::2, ..., length * 3 // 4 :] = False  # every other sequence a quarter padding
                call = functools.partial(F.scaled_dot_product_attention, q, k, v, attn_mask=mask)
                row["ms"][length] = round(_median_ms(call, args.repeats), 3)
            rows.append(row)
            cells = "  ".join(f"{length}: {ms:.2f}" for length, ms in row["ms"].items())
            print(f"{row['dtype']:>8} head_dim {dim:>3}  ms by length  {cells}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch": args.batch, "heads": args.heads, "threads": args.threads, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
