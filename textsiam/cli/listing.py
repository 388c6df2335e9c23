"""``textsiam list [KIND]``: every registered component with a one-line description."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("list", help="list registered components (encoders, losses, presets, ...)")
    p.add_argument(
        "kind",
        nargs="?",
        default=None,
        help="encoders, poolers, similarities, heads, pair_models, losses, datasets or presets",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textsiam.api import list_components

    for kind, entries in list_components(args.kind).items():
        print(f"{kind}:")
        width = max((len(n) for n in entries), default=0)
        for name, desc in entries.items():
            print(f"  {name.ljust(width)}  {desc}")
    return 0
