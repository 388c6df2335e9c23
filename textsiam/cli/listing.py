"""``textsiam list [KIND]``: every registered component with a one-line description."""

from __future__ import annotations

import argparse

from textsiam.cli.common import add_command
from textsiam.registry import ALL_REGISTRIES


def register(sub) -> None:
    p = add_command(sub, "list", "list registered components (encoders, losses, presets, ...)", __doc__, run)
    p.add_argument("kind", nargs="?", default=None, help=f"one of {', '.join(ALL_REGISTRIES)} (default: all)")


def run(args: argparse.Namespace) -> int:
    from textsiam.api import list_components

    for kind, entries in list_components(args.kind).items():
        print(f"{kind}:")
        width = max((len(n) for n in entries), default=0)
        for name, desc in entries.items():
            print(f"  {name.ljust(width)}  {desc}")
    return 0
