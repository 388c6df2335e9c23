"""``textsiam encode``: embed every text of a file (one per line, or one column of a csv/tsv/jsonl/parquet file)
into OUT.npy (float32, rows x dim) or OUT.parquet (an ``embedding`` column); row i of the output is row i of the
input. The input is streamed in chunks, so memory stays flat however long the file is; the output appears only
when complete. Under ``torchrun --nproc_per_node N -m textsiam encode ...`` each process encodes a contiguous
share of the rows and one output is written, in input order."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import MODEL_HELP, add_command, add_precision_flags, call_with_flags


def register(sub) -> None:
    p = add_command(sub, "encode", "embed a file of texts", __doc__, run)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--input", required=True, help="texts: one per line, or a csv/tsv/jsonl/parquet file (--column)")
    p.add_argument("--output", required=True, help="OUT.npy or OUT.parquet")
    p.add_argument("--side", choices=["left", "right"], default="left", help="tower (pseudo-siamese models)")
    p.add_argument("--column", help="column holding the texts (tabular input; default: text, sentence, ...)")
    p.add_argument("--format", help="input format when the suffix does not say: lines, csv, tsv, jsonl, parquet")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dim", type=int, default=None, help="keep the first N coordinates, renormalised (Matryoshka)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_precision_flags(p)


def run(args: argparse.Namespace) -> int:
    from textsiam.api import encode

    done = call_with_flags(encode, args, show_progress=not args.quiet)
    if done.main:
        print(f"wrote {done.rows} x {done.dim} embeddings to {args.output}", file=sys.stderr)
    return 0
