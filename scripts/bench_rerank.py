"""Retrieve and rerank on STS-B test: recall@1 and MRR@10 of a twin alone and of the twin + a cross-encoder.

The corpus is every distinct sentence of the test file; the queries are sentence 1 of the pairs scored >= 4
(``--min-score``), and each query's one relevant document is its pair's sentence 2. The query's own text is never
counted as a hit (it is in the corpus too). The twin retrieves the top ``--top`` (default 20) by cosine; the
cross-encoder then reorders those. Reported: recall@1 and MRR@10 for each, and the time per query of the twin's
search (the corpus is encoded once, beforehand, and not counted) and of the rerank (``--top`` pairs read together),
so the rerank's added latency per query is one number.

    python scripts/bench_rerank.py --twin minilm-twin --cross runs/stsb-minilm-cross --json runs/rerank.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("TEXTSIAM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def ranks_metrics(ranks: list[int | None]) -> dict[str, float]:
    """recall@1 and MRR@10 from each query's 1-based rank of its relevant document (None: not retrieved)."""
    n = len(ranks)
    return {
        "recall@1": sum(r == 1 for r in ranks) / n,
        "mrr@10": sum(1.0 / r for r in ranks if r is not None and r <= 10) / n,
        "recall@top": sum(r is not None for r in ranks) / n,
    }


def main() -> None:
    import torch

    from textsiam.data import read_pairs
    from textsiam.models.io import create_model
    from textsiam.models.rerank import relevance

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--twin", default="minilm-twin")
    p.add_argument("--cross", required=True, help="a cross model (a run folder trained from minilm-cross, ...)")
    p.add_argument("--data", default=str(DATA / "stsb" / "sts-test.csv"))
    p.add_argument("--min-score", type=float, default=4.0)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--limit", type=int, default=None, help="only the first N queries")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = read_pairs(args.data)
    corpus = list(dict.fromkeys(data.a + data.b))
    position = {t: i for i, t in enumerate(corpus)}
    queries = [(a, b) for a, b, y in zip(data.a, data.b, data.labels) if y >= args.min_score and a != b]
    queries = queries[: args.limit]
    twin, cross = create_model(args.twin).eval(), create_model(args.cross).eval()
    docs = torch.nn.functional.normalize(twin.encode(corpus).float(), dim=1)
    twin_ranks, cross_ranks, search_s, rerank_s = [], [], 0.0, 0.0
    for query, relevant in queries:
        started = time.perf_counter()
        q = torch.nn.functional.normalize(twin.encode([query]).float(), dim=1)
        scores = (docs @ q.T).squeeze(1)
        scores[position[query]] = -float("inf")  # the query's own sentence is not an answer
        hits = torch.topk(scores, args.top).indices.tolist()
        search_s += time.perf_counter() - started
        started = time.perf_counter()
        rel = [prob for prob, _ in relevance(cross, query, [corpus[i] for i in hits])]
        reranked = [hits[i] for i in np.argsort(-np.asarray(rel), kind="stable")]
        rerank_s += time.perf_counter() - started
        target = position[relevant]
        twin_ranks.append(hits.index(target) + 1 if target in hits else None)
        cross_ranks.append(reranked.index(target) + 1 if target in reranked else None)
    n = len(queries)
    result = {
        "data": args.data,
        "corpus": len(corpus),
        "queries": n,
        "top": args.top,
        "twin": args.twin,
        "cross": args.cross,
        "twin_alone": ranks_metrics(twin_ranks),
        "twin_plus_rerank": ranks_metrics(cross_ranks),
        "search_ms_per_query": 1000 * search_s / n,
        "rerank_ms_per_query": 1000 * rerank_s / n,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
