"""``textsiam`` entry point: builds the parser from the subcommand modules and maps the package's errors to one-line
messages (exit 2); any other exception is a bug and keeps its traceback."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from textsiam.version import __version__

SUBCOMMANDS = (
    "listing",
    "train",
    "evaluate",
    "score",
    "tune",
    "demo",
    "export",
    "encode",
    "search",
    "serve",
    "data",
    "mine",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="textsiam", description="Similarity learning with siamese networks.")
    parser.add_argument("--version", action="version", version=f"textsiam {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"textsiam.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from textsiam.errors import TextsiamError

    try:
        with warnings.catch_warnings(), _verbose(args):
            warnings.showwarning = _warning_line(args.command)
            return int(args.func(args) or 0)
    except TextsiamError as err:
        print(f"textsiam {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _verbose(args: argparse.Namespace):
    """With ``--verbose``: the library's INFO lines (what ``--dtype`` chose and why) on stderr as ``textsiam COMMAND:
    ...`` while the command runs."""
    if not getattr(args, "verbose", False):
        yield
        return
    import logging

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:  # sys.stderr looked up per line (it may be swapped)
            print(f"textsiam {args.command}: {record.getMessage()}", file=sys.stderr)

    logger, handler = logging.getLogger("textsiam"), Lines(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _warning_line(command: str):
    """Warnings as one line, ``textsiam COMMAND: warning: ...``, without the source line Python shows."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"textsiam {command}: warning: {message}", file=file or sys.stderr)

    return show


if __name__ == "__main__":
    sys.exit(main())
