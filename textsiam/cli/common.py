"""Argument groups and small helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
from collections.abc import Callable
from typing import Any

from textsiam.api import settings
from textsiam.registry import READERS, Registry


class Names:
    """A registry's names, joined for a help text when the help is shown (so ``textsiam --help`` imports nothing)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __str__(self) -> str:
        return ", ".join(self.registry)


MODEL_HELP = settings.MODEL_HELP


def plain(doc: str | None) -> str:
    """A docstring as help text: without reST double backticks."""
    return (doc or "").replace("``", "")


def add_command(sub, name: str, help: str, doc: str | None, run, *, raw: bool = False) -> argparse.ArgumentParser:
    """A subcommand calling ``run(args)``; ``doc`` (its module docstring) without reST markup is the description,
    with its line breaks kept when ``raw``."""
    formatter = argparse.RawDescriptionHelpFormatter if raw else argparse.HelpFormatter
    p = sub.add_parser(name, help=help, description=plain(doc) or None, formatter_class=formatter)
    p.set_defaults(func=run)
    return p


def add_model_command(
    sub,
    name: str,
    help: str,
    doc: str | None,
    run,
    *,
    data: str | None = None,
    precision: bool = False,
    pair_count: bool = True,
) -> argparse.ArgumentParser:
    """A command that runs a model over pairs (evaluate, score, tune-threshold): ``--model``, a required ``--data``
    with the help text ``data`` (when given), the run flags, the data-format flags (``pair_count``: see
    :func:`add_data_flags`) and the precision flags (when ``precision``); the caller adds its own."""
    p = add_command(sub, name, help, doc, run)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    if data is not None:
        p.add_argument("--data", required=True, help=data)
    add_run_flags(p)
    add_data_flags(p, pair_count=pair_count)
    if precision:
        add_precision_flags(p)
    return p


def add_data_flags(p: argparse.ArgumentParser, *, pair_count: bool = True) -> None:
    """``--format`` and a flag per ReadOptions field (help from the field's metadata); ``pair_count`` False leaves
    out --pairs N (score, whose --pairs is a file)."""
    from textsiam.read_options import ReadOptions

    g = p.add_argument_group("data format (auto-detected from the file name where unambiguous)")
    g.add_argument(
        "--format",
        default=None,
        choices=READERS,  # a registry fills itself on first use: --help stays fast
        metavar="FORMAT",
        help="file format: %(choices)s (default: from the file name)",
    )
    fields = [f for f in ReadOptions.flag_fields() if pair_count or f.name != "pairs"]
    add_field_flags(g, fields)
    p.set_defaults(read_options=[f.name for f in fields])


def add_field_flags(group, fields: list[dataclasses.Field]) -> None:
    """A flag ``--field-name`` (default None) per dataclass field, from its metadata: ``help``, argparse keywords
    (``flag``), ``names`` (a registry whose names the help lists as %(names)s) and ``default_from`` (the help ends
    with where the default comes from). The type of an int / float field comes from its annotation."""
    for f in fields:
        meta, kwargs = f.metadata, dict(f.metadata.get("flag", {}))
        kind = _FLAG_TYPES.get(str(f.type).removesuffix(" | None"))
        if kind is not None and "action" not in kwargs:
            kwargs.setdefault("type", kind)
        text = meta["help"]
        if meta.get("default_from"):
            text += f" (default: the {meta['default_from']}'s, else {f.default})"
        action = group.add_argument(f"--{f.name.replace('_', '-')}", default=None, help=text, **kwargs)
        if meta.get("names") is not None:
            action.names = Names(meta["names"])


_FLAG_TYPES = {"int": int, "float": float}


def add_run_flags(p: argparse.ArgumentParser, *, batch_size: bool = True) -> None:
    """--device and --quiet (and --batch-size), shared by every command that runs a model."""
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto = cuda if available)")
    p.add_argument(
        "--quiet", action="store_true", help="no progress output: bars, per-epoch lines, weight loading (default: off)"
    )
    if batch_size:
        p.add_argument("--batch-size", type=int, default=64, help="pairs per forward pass (default: 64)")


DTYPES = ("fp32", "bf16", "fp16", "auto")
"""``--dtype`` choices: textsiam.deploy.precision.CHOICES, written out so ``--help`` imports no torch (a test keeps
the two equal)."""


def add_precision_flags(p: argparse.ArgumentParser, *, quantize: bool = True) -> None:
    """``--dtype`` and ``--verbose`` (which prints what ``--dtype`` chose and why), and ``--quantize`` and
    ``--compile`` (when ``quantize``): the flags of every command that runs a model for inference."""
    if quantize:
        p.add_argument(
            "--quantize",
            choices=["int8"],
            default=None,
            help="CPU inference with int8 Linear layers (dynamic quantization): faster, slightly different scores",
        )
        p.add_argument(
            "--compile",
            action="store_true",
            help="with --quantize int8: compile the int8 layers (torch.compile; needs a C++ compiler): faster on "
            "long jobs, after a compile of ~15 s (a few s once cached); falls back with a warning where it cannot",
        )
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default="fp32",
        help="precision of the towers' transformer layers: bf16 / fp16 are faster where the CPU (or GPU) has them, "
        "with slightly different scores; auto: bf16 where the CPU has native bf16, else fp32 (default: fp32)",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="say on stderr what the run chose and why (e.g. what --dtype auto picked)",
    )


def call_with_flags(fn: Callable[..., Any], args: argparse.Namespace, **given: Any) -> Any:
    """``fn(**given)`` plus every parsed flag named like one of ``fn``'s parameters: a command's flags carry the
    library's parameter names, so each is passed on without being listed twice. ``given`` holds the rest (a loaded
    model, values derived from flags, the data-reading keywords of :func:`data_kwargs`)."""
    params = inspect.signature(fn).parameters
    flags = {name: getattr(args, name) for name in params if name not in given and hasattr(args, name)}
    return fn(**flags, **given)


def data_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The reading keywords the data flags gave: ``format`` and each ReadOptions field whose flag was set."""
    read = {name: getattr(args, name) for name in args.read_options if getattr(args, name) is not None}
    if "label_range" in read:
        read["label_range"] = tuple(read["label_range"])
    return {"format": args.format, **read}


def progress_bars(args: argparse.Namespace) -> bool:
    """Bars only on a terminal and without --quiet; otherwise the libraries' bars are silenced too."""
    quiet = getattr(args, "quiet", False)
    bars = not quiet and sys.stderr.isatty()
    if not bars:
        silence_library_bars(warnings=not quiet)
    return bars


def silence_library_bars(warnings: bool = True) -> None:
    """Turn off transformers' weight-loading bar and datasets' bars; ``warnings=False`` also mutes their logs."""
    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    if not warnings:
        hf_logging.set_verbosity_error()


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


def print_classes(report: dict[str, Any]) -> None:
    """Per-class precision/recall/F1 and the confusion matrix of a multi-class head."""
    print_metrics({k: report[k] for k in ("class_accuracy", "macro_f1", "fnc_relative") if k in report})
    per_class = report["per_class"].items()
    rows = [[c, *(f"{v[k]:.4f}" for k in ("precision", "recall", "f1")), v["support"]] for c, v in per_class]
    print_table(rows, ["class", "precision", "recall", "f1", "support"])
    cm = report["confusion_matrix"]
    print_table(
        [[f"gold {c}", *row] for c, row in zip(cm["classes"], cm["rows_gold_cols_predicted"])],
        ["", *(f"pred {c}" for c in cm["classes"])],
    )
