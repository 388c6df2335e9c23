"""``textsiam search``: the top-k corpus entries for each query, by the model's similarity (queries through the
left tower, the corpus through the right one). ``--corpus FILE`` encodes the corpus (streamed); with ``--index DIR``
the encoded corpus is saved there (index.json, embeddings.npy, ids.json) and ``--index DIR`` alone reuses it.
Output: one JSON line per query, ``{"query_id", "query", "results": [{"id", "score"}, ...]}``, best first."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import MODEL_HELP, add_command, add_precision_flags, call_with_flags


def register(sub) -> None:
    p = add_command(sub, "search", "top-k search of a corpus", __doc__, run)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--queries", required=True, help="query texts: one per line, or a csv/tsv/jsonl/parquet file")
    p.add_argument("--corpus", help="corpus texts (same formats); encoded now, saved to --index DIR if given")
    p.add_argument(
        "--index", dest="index_dir", metavar="DIR", help="index folder: written from --corpus, or reused without it"
    )
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--output", required=True, help="OUT.jsonl")
    p.add_argument("--column", help="text column of tabular query/corpus files")
    p.add_argument("--id-column", help="corpus column whose values are the result ids (default: row numbers)")
    p.add_argument("--index-type", choices=["exact", "faiss"], default="exact", help="faiss: approximate (ann extra)")
    p.add_argument("--ann", dest="ann_kind", choices=["hnsw", "ivf"], default="hnsw", help="faiss index kind")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--rerank", metavar="CROSS", help="a cross model that reorders the top --rerank-top hits (needs --corpus)"
    )
    p.add_argument("--rerank-top", type=int, default=20, help="how many retrieved hits --rerank reorders (default 20)")
    add_precision_flags(p)


def run(args: argparse.Namespace) -> int:
    from textsiam.api import search_files

    n = call_with_flags(search_files, args, model_name=args.model, show_progress=not args.quiet)
    print(f"wrote the top {args.top_k} of {n} queries to {args.output}", file=sys.stderr)
    return 0
