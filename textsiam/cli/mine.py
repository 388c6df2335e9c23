"""``textsiam mine-negatives``: for each positive pair (anchor, positive) of --data, the corpus texts the model ranks
highest that are not the positive, written as a triplet table (anchor, positive, negative or negative_1..k) that
``textsiam train`` reads. Filters: ranks --min-rank..--max-rank; --margin / --max-ratio drop texts scoring too close
to the positive (likely unlabelled positives); --negatives per anchor, the best (--sampling top) or drawn at random.
The corpus is encoded once and searched exactly or with faiss (--index-type); the anchors are streamed in chunks;
the output appears only when complete."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import MODEL_HELP, add_command, add_data_flags, add_run_flags, call_with_flags, data_kwargs


def register(sub) -> None:
    p = add_command(sub, "mine-negatives", "mine hard negatives from a corpus", __doc__, run)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--data", required=True, help="pairs to mine negatives for (positive pairs: label >= 0.5 scaled)")
    p.add_argument("--corpus", required=True, help="candidate texts: one per line, or a csv/tsv/jsonl/parquet file")
    p.add_argument("--out", required=True, help="OUT.tsv: the triplets")
    p.add_argument("--negatives", type=int, default=1, help="negatives per anchor (default: 1)")
    p.add_argument("--min-rank", type=int, default=1, help="best rank kept, 1 = top hit (default: 1)")
    p.add_argument("--max-rank", type=int, default=30, help="worst rank kept (default: 30)")
    p.add_argument("--margin", type=float, default=None, help="keep hits scoring <= positive score - MARGIN")
    p.add_argument("--max-ratio", type=float, default=None, help="keep hits scoring <= RATIO x positive score")
    p.add_argument("--sampling", choices=["top", "random"], default="top", help="best candidates or a random draw")
    p.add_argument("--seed", type=int, default=0, help="seed of --sampling random (default: 0)")
    p.add_argument("--index-type", choices=["exact", "faiss"], default="exact", help="faiss: approximate (ann extra)")
    p.add_argument("--chunk-size", type=int, default=1024, help="anchors encoded and searched at once")
    p.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default: 64)")
    add_run_flags(p, batch_size=False)
    add_data_flags(p)


def run(args: argparse.Namespace) -> int:
    from textsiam.api import mine_negatives

    stats = call_with_flags(mine_negatives, args, show_progress=not args.quiet, **data_kwargs(args))
    print(
        f"wrote {stats['written']} of {stats['anchors']} anchors to {args.out} ({stats['skipped']} skipped: fewer "
        f"than {args.negatives} candidates after the filters, {stats['filtered']} hits filtered as too close)",
        file=sys.stderr,
    )
    return 0
