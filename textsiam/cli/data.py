"""``textsiam data list`` prints the dataset catalogue: each dataset the project reads or benchmarks, where
``data get`` takes it from (a Hugging Face datasets id, manual, or embedded) and the flags that read it.
``textsiam data get NAME --to DIR`` fetches it with the datasets library and writes the files its reader expects;
``--from DIR`` converts a local copy instead (a save_to_disk folder or the hub's Parquet files). Offline, the
error says where to put the files by hand. Origins, licences and layouts: data/README.md."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import add_command, call_with_flags, print_table, progress_bars


def register(sub) -> None:
    p = add_command(sub, "data", "list the dataset catalogue, or fetch a dataset", __doc__, run_help)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    add_command(actions, "list", "the catalogue: name, dataset, source, how to read it", None, run_list)
    get = add_command(actions, "get", "fetch a catalogued dataset into a folder", None, run_get)
    get.add_argument("name", help="a name from `textsiam data list`")
    get.add_argument("--to", required=True, help="folder to write the files into (created when missing)")
    get.add_argument(
        "--from",
        dest="from_dir",
        default=None,
        help="convert this local copy: a save_to_disk folder or the hub's Parquet files (default: download)",
    )
    get.add_argument("--quiet", action="store_true", help="no progress bars (default: bars on a terminal)")
    p.set_defaults(data_parser=p)


def run_help(args: argparse.Namespace) -> int:
    args.data_parser.print_help()
    return 0


def run_list(args: argparse.Namespace) -> int:
    from textsiam.api import dataset_catalog

    entries = dataset_catalog().items()
    rows = [[name, entry.title.split(":")[0], entry.source, entry.read] for name, entry in entries]
    print_table(rows, ["name", "dataset", "get from", "read with"])
    return 0


def run_get(args: argparse.Namespace) -> int:
    from textsiam.api import get_dataset

    fetched = call_with_flags(get_dataset, args, show_progress=progress_bars(args))
    entry = fetched.entry
    if entry.embedded:
        print(f"{args.name} is embedded in textsiam, nothing to download: read it with {entry.read}")
        return 0
    for path, rows in fetched.written:
        print(f"wrote {path} ({rows} rows)")
    print(f"read it with {entry.read}", file=sys.stderr)
    return 0
