"""Where encode time goes: torch.profiler over textsiam's encode of STS-B test sentences (fp32 or int8), plus the
tokenizer's share measured separately. Prints the top operators by self CPU time.

    python scripts/profile_encode.py --limit 1024 [--quantize int8]
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
    args = p.parse_args()
    test = read_pairs(Path(args.data) / "sts-test.csv")
    texts = (list(test.a) + list(test.b))[: args.limit]
    model = load_for_inference("minilm-twin", args.quantize)
    model.encode(texts[:64])
    tok = model.encoder.tokenizer
    t0 = time.perf_counter()
    tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
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
