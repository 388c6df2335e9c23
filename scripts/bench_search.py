"""Search speed and recall on a 100k-row corpus: exact chunked top-k vs faiss HNSW and IVF (``textsiam[ann]``).

Two corpora:

- ``--real``: distinct real sentences from ../shared/data (FNC-1 headlines, body sentences and passages of two and
  three consecutive body sentences, STS-B and MRPC sentences, COCO captions), shuffled (seed 0); the first
  ``--corpus`` are the corpus, the next ``--queries`` the queries (none of them in the corpus). They are embedded
  once with all-MiniLM-L6-v2 (``textsiam.index.encode_file``, streamed) and cached in ``--cache`` (texts.txt +
  embeddings.npy), so a rerun only searches. ``--quantize int8`` embeds with the int8 model (faster; recall is
  measured against exact search over the same vectors either way).
- default: synthetic, 384-dim vectors drawn around 1,000 random centres, unit-normalised; queries drawn the same way
  (clustered data is easy for approximate indexes: an upper bound on recall).

Reports build time, queries/s, recall@10 of each approximate index against exact search, and peak RSS.

    python scripts/bench_search.py --real --corpus 100000 --queries 1000 --out runs/bench_search_real.json
    python scripts/bench_search.py --corpus 100000 --queries 1000 --out runs/bench_search.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import time
from pathlib import Path

import numpy as np

from textsiam.index import exact_top_k
from textsiam.index.ann import build_faiss, faiss_search


def vectors(n: int, dim: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = centres[rng.integers(0, len(centres), n)] + rng.normal(size=(n, dim)) / np.sqrt(dim)  # noise = centre size
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def real_texts(data: Path) -> list[str]:
    """Distinct real sentences from the benchmark data, in a fixed order (shuffled with seed 0)."""
    from textsiam.data import read_pairs

    csv.field_size_limit(1 << 24)
    texts: dict[str, None] = {}
    with open(data / "fnc1" / "train_stances.csv", newline="", encoding="utf-8") as f:
        texts.update((row["Headline"].strip(), None) for row in csv.DictReader(f))
    with open(data / "fnc1" / "train_bodies.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for para in row["articleBody"].split("\n"):
                sents = [s.strip() for s in re.split(r"(?<=[.!?])\s+", para.strip()) if 20 <= len(s.strip()) <= 300]
                texts.update((s, None) for s in sents)
                texts.update((f"{a} {b}", None) for a, b in zip(sents, sents[1:]))  # passages of two sentences
                texts.update((f"{a} {b} {c}", None) for a, b, c in zip(sents, sents[1:], sents[2:]))  # and three
    for path in sorted((data / "stsb").glob("sts-*.csv")) + [data / "mrpc" / "msr_paraphrase_train.txt"]:
        pairs = read_pairs(path)
        texts.update((t.strip(), None) for t in [*pairs.a, *pairs.b])
    for name in ("captions_val2017_full5000.json", "captions_train2017.json"):
        captions = json.loads((data / "coco_mini" / "annotations" / name).read_text())["annotations"]
        texts.update((c["caption"].strip(), None) for c in captions)
    out = [t for t in texts if t and "\n" not in t]
    return [out[i] for i in np.random.default_rng(0).permutation(len(out))]


def real_vectors(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """(corpus, queries) embeddings of real sentences, encoded once and cached in ``args.cache``."""
    cache = Path(args.cache)
    emb_path = cache / f"embeddings-{args.corpus + args.queries}-{args.quantize or 'fp32'}.npy"
    if not emb_path.exists():
        from textsiam.deploy.quantize import load_for_inference
        from textsiam.index import encode_file

        texts = real_texts(Path(args.data))
        if len(texts) < args.corpus + args.queries:
            raise SystemExit(f"only {len(texts)} distinct real sentences; ask for fewer (--corpus, --queries)")
        cache.mkdir(parents=True, exist_ok=True)
        src = cache / "texts.txt"
        src.write_text("\n".join(texts[: args.corpus + args.queries]) + "\n", encoding="utf-8")
        model = load_for_inference("minilm-twin", args.quantize)
        t = time.perf_counter()
        encode_file(model, src, emb_path, batch_size=64, show_progress=True)
        print(f"encoded {args.corpus + args.queries} sentences in {time.perf_counter() - t:.1f} s -> {emb_path}")
    emb = np.load(emb_path, mmap_mode="r")
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)  # cosine
    return np.ascontiguousarray(emb[: args.corpus], np.float32), np.ascontiguousarray(emb[args.corpus :], np.float32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--out", default="runs/bench_search.json")
    p.add_argument("--real", action="store_true", help="real sentences embedded with all-MiniLM-L6-v2 (cached)")
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data"))
    p.add_argument("--cache", default="runs/search_corpus", help="--real: where texts and embeddings are cached")
    p.add_argument("--quantize", choices=["int8"], help="--real: embed with the int8 model")
    args = p.parse_args()
    if args.real:
        corpus, queries = real_vectors(args)
    else:
        rng = np.random.default_rng(0)
        centres = rng.normal(size=(1000, args.dim)) / np.sqrt(args.dim)
        corpus, queries = vectors(args.corpus, args.dim, centres, rng), vectors(args.queries, args.dim, centres, rng)
    t = time.perf_counter()
    _, exact = exact_top_k(queries, corpus, "cosine", args.k)
    exact_s = time.perf_counter() - t
    results = {"corpus": args.corpus, "queries": args.queries, "dim": corpus.shape[1], "real": args.real,
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
