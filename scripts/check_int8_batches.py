"""Does a model's int8 quality depend on the batch its texts are encoded in? (issue 22)

STS-B test Spearman (cosine of the pairs' embeddings against the gold scores) of the fp32 model and of its int8
copy on the two activation-scale paths of ``textsiam.deploy.quantize``: ``per-token`` (one scale per token, the
default where the CPU's int8 products are exact) and ``per-batch`` (one scale per product call, over every token
of the batch: torch's dynamic quantized Linear). The test's distinct sentences are encoded once per batch size and
order (first appearance, sorted, shuffled with seeds), so a path whose embeddings depend on the batch shows a spread.
Also the largest change of any embedding coordinate between two orders at one batch size (0 up to float rounding
when the embeddings do not depend on the batch).

    python scripts/check_int8_batches.py --model minilm-twin --batch-sizes 32 64
    python scripts/check_int8_batches.py --model mpnet-twin --batch-sizes 32 64 --out runs/int8_batches_mpnet.json

Only quality is measured here (load does not change it); speed is bench_encode.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", str(ROOT.parent / "shared" / "data")) + "/stsb")
    p.add_argument("--model", default="minilm-twin")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64])
    p.add_argument("--shuffles", type=int, default=2, help="shuffled orders (seeds 0..N-1) beside first and sorted")
    p.add_argument("--paths", nargs="+", default=["per-token", "per-batch"], choices=["per-token", "per-batch"])
    p.add_argument("--out", default="runs/int8_batches.json")
    args = p.parse_args()

    import torch
    import torch.nn.functional as F
    from scipy.stats import spearmanr

    from textsiam.data import read_pairs
    from textsiam.deploy.quantize import per_token_int8_exact, quantize_int8
    from textsiam.models.io import create_model

    test = read_pairs(Path(args.data) / "sts-test.csv")
    a, b, gold = list(test.a), list(test.b), np.asarray(test.labels)
    sentences = list(dict.fromkeys(a + b))
    index = {s: i for i, s in enumerate(sentences)}
    rows_a, rows_b = [index[s] for s in a], [index[s] for s in b]
    orders = {"first": np.arange(len(sentences)), "sorted": np.argsort(sentences, kind="stable")}
    orders |= {f"shuffled {s}": np.random.default_rng(s).permutation(len(sentences)) for s in range(args.shuffles)}

    def embed(model, order: np.ndarray, batch_size: int) -> torch.Tensor:
        out = model.encode([sentences[i] for i in order], batch_size=batch_size)
        emb = torch.empty_like(out)
        emb[torch.as_tensor(order)] = out  # back to the sentences' own order
        return F.normalize(emb, dim=-1)

    def spearman(emb: torch.Tensor) -> float:
        return float(spearmanr((emb[rows_a] * emb[rows_b]).sum(1).numpy(), gold).statistic)

    print(f"{args.model}: {len(sentences)} distinct sentences; int8 products exact here: {per_token_int8_exact()}")
    model = create_model(args.model).eval()
    results: dict = {"model": args.model, "sentences": len(sentences), "exact_int8_products": per_token_int8_exact()}
    with torch.inference_mode():
        results["fp32"] = spearman(embed(model, orders["first"], 64))
        print(f"fp32 {results['fp32']:.4f}")
        for path in args.paths:
            q = quantize_int8(model, per_token=path == "per-token")
            for bs in args.batch_sizes:
                row, first, change = {}, None, 0.0
                for name, order in orders.items():
                    start = time.perf_counter()
                    emb = embed(q, order, bs)
                    row[name] = spearman(emb)
                    first = emb if first is None else first
                    change = max(change, float((emb - first).abs().max()))
                    print(f"{path:9} batch {bs:3} {name:11} {row[name]:.4f} ({row[name] - results['fp32']:+.4f}) "
                          f"{time.perf_counter() - start:5.1f} s", flush=True)  # fmt: skip
                scores = list(row.values())
                row |= {"min_vs_fp32": min(scores) - results["fp32"], "max_vs_fp32": max(scores) - results["fp32"]}
                results[f"{path} batch {bs}"] = row | {"max_abs_change_between_orders": change}
                print(f"{path:9} batch {bs:3} range vs fp32 {row['min_vs_fp32']:+.4f} .. {row['max_vs_fp32']:+.4f}, "
                      f"largest coordinate change between orders {change:.2e}")  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
