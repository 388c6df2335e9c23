"""``textsiam`` entry point: builds the parser from the subcommand modules and maps errors to clean messages."""

from __future__ import annotations

import argparse
import os
import sys

from textsiam import __version__

SUBCOMMANDS = ("listing", "train", "evaluate", "score", "tune", "demo", "export")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="textsiam", description="Similarity learning with siamese networks.")
    parser.add_argument("--version", action="version", version=f"textsiam {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"textsiam.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    from textsiam.errors import TextsiamError

    try:
        return int(args.func(args) or 0)
    except (TextsiamError, ValueError, KeyError, OSError, _yaml_error()) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"textsiam {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _yaml_error() -> type[Exception]:
    import yaml

    return yaml.YAMLError


if __name__ == "__main__":
    sys.exit(main())
