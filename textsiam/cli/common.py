"""Argument groups and small helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_data_flags(p: argparse.ArgumentParser, *, prefix: str = "") -> None:
    g = p.add_argument_group("data format (auto-detected from the file name where unambiguous)")
    g.add_argument(f"--{prefix}format", dest="format", default=None, help="a file format (textsiam list readers)")
    g.add_argument("--text-a", default=None, help="column holding the left text (generic formats)")
    g.add_argument("--text-b", default=None, help="column holding the right text (generic formats)")
    g.add_argument("--label", default=None, help="column holding the label (generic formats)")
    g.add_argument("--limit", type=int, default=None, help="read only the first N pairs")
    g.add_argument(
        "--label-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=None,
        help="graded labels on this scale, e.g. 1 5 for ratings (default: 0/1 labels are binary; see README)",
    )


def data_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "format": args.format,
        "text_a": args.text_a,
        "text_b": args.text_b,
        "label": args.label,
        "limit": args.limit,
        "label_range": args.label_range,
    }


def print_table(rows: list[list[Any]], header: list[str], file=None) -> None:
    file = file or sys.stdout  # looked up per call: sys.stdout may be swapped (pytest, redirect_stdout)
    cells = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=file)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=file)


def fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def print_metrics(metrics: dict[str, Any]) -> None:
    print_table([[k, fmt(v)] for k, v in metrics.items() if not isinstance(v, dict | list)], ["metric", "value"])


def write_json_file(path: str, obj: Any) -> None:
    from textsiam.atomic import write_json

    write_json(path, obj)
    print(f"wrote {path}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2)
