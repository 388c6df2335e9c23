"""Search speed and recall on a 100k-row corpus: exact chunked top-k vs faiss HNSW and IVF (``textsiam[ann]``).

The corpus is synthetic (encoding 100k real sentences takes hours on 2 shared cores): 384-dim vectors drawn around
1,000 random centres, unit-normalised, searched by cosine; queries are drawn the same way. Reports build time,
queries/s, recall@10 of each approximate index against exact search, and peak RSS.

    python scripts/bench_search.py --corpus 100000 --queries 1000 --out runs/bench_search.json
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from textsiam.index import exact_top_k
from textsiam.index.ann import build_faiss, faiss_search


def vectors(n: int, dim: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = centres[rng.integers(0, len(centres), n)] + rng.normal(size=(n, dim)) / np.sqrt(dim)  # noise = centre size
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--out", default="runs/bench_search.json")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(1000, args.dim)) / np.sqrt(args.dim)
    corpus, queries = vectors(args.corpus, args.dim, centres, rng), vectors(args.queries, args.dim, centres, rng)
    t = time.perf_counter()
    _, exact = exact_top_k(queries, corpus, "cosine", args.k)
    exact_s = time.perf_counter() - t
    results = {"corpus": args.corpus, "queries": args.queries, "dim": args.dim,
               "exact": {"seconds": exact_s, "queries_per_s": args.queries / exact_s}}  # fmt: skip
    print(f"exact: {args.queries / exact_s:9.1f} queries/s ({exact_s:.2f} s)")
    for kind in ("hnsw", "ivf"):
        t = time.perf_counter()
        index = build_faiss(corpus, "cosine", kind)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        _, found = faiss_search(index, "cosine", queries, args.k)
        search_s = time.perf_counter() - t
        recall = float(np.mean([len(set(a) & set(b)) / args.k for a, b in zip(found, exact)]))
        results[kind] = {"build_seconds": build_s, "queries_per_s": args.queries / search_s, "recall_at_10": recall}
        print(
            f"{kind:5}: {args.queries / search_s:9.1f} queries/s, recall@{args.k} {recall:.4f}, build {build_s:.1f} s"
        )
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {results['peak_rss_mb']:.0f} MB")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
