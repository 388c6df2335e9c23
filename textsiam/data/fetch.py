"""``textsiam data get``: fetch a catalogued dataset and write it in the layout textsiam's readers expect.

Online, the hub's tables come from ``datasets.load_dataset(id, config)``; with ``from_dir`` they come from a local
copy instead, and the same converter writes the files either way. A local copy is either

- a folder written by ``datasets``' ``DatasetDict.save_to_disk`` (it holds ``dataset_dict.json``), or
- the hub's Parquet files downloaded by hand (e.g. ``huggingface-cli download ID --repo-type dataset --local-dir
  DIR``; for a dataset stored as JSON, such as mteb/sickr-sts, the ``refs/convert/parquet`` revision):
  ``DIR/SPLIT.parquet``, ``DIR/SPLIT-*.parquet`` or ``DIR/SPLIT/*.parquet``, in any sub-folder (a folder named after
  the config, e.g. ``mrpc/``, is preferred).

Without the hub (no network, or ``HF_HUB_OFFLINE=1``) the error is one line that says where to put the files by hand.
No pickle is read: ``save_to_disk`` folders are Arrow files and JSON.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from textsiam.atomic import atomic_write, check_folder, make_folder
from textsiam.data.catalog import Catalogued
from textsiam.data.convert import Tables, Written
from textsiam.errors import ConfigError, DataError
from textsiam.registry import CATALOG

HUB_ERRORS = (OSError, ValueError)
"""What ``load_dataset`` raises when the hub cannot be reached or has no such dataset: ConnectionError and
huggingface_hub's offline / not-found errors are OSErrors, DatasetNotFoundError a FileNotFoundError."""


def catalog_entry(name: str) -> Catalogued:
    """The catalogue entry ``name`` (a ConfigError naming the closest name and all of them when unknown)."""
    return CATALOG.get(name)


def get_dataset(
    name: str, to: str | os.PathLike, from_dir: str | os.PathLike | None = None, show_progress: bool = False
) -> Written:
    """Fetch dataset ``name`` (from the hub, or convert the local copy ``from_dir``) into the folder ``to``, in the
    layout of its reader; returns ``[(file, rows)]``. Datasets without a hub copy raise a ConfigError with the
    manual route; an embedded one (digits) needs nothing and returns ``[]``."""
    entry = catalog_entry(name)
    if entry.embedded:
        return []
    if entry.convert is None:
        manual = entry.manual.replace("DIR", str(to))
        raise ConfigError(f"{name} cannot be fetched by textsiam: {manual}; then read it with {entry.read}")
    out = Path(to)
    check_folder(out)
    tables = local_tables(from_dir, entry) if from_dir is not None else hub_tables(name, entry, out)
    files = entry.convert(tables, show_progress)
    make_folder(out)
    return [(_write_bytes(out / file_name, data), rows) for file_name, (data, rows) in files.items()]


def _write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def hub_tables(name: str, entry: Catalogued, to: Path) -> Tables:
    """The dataset's splits from the Hugging Face hub as Arrow tables; offline: a one-line DataError with the
    manual route."""
    import datasets

    try:
        loaded = datasets.load_dataset(entry.hub, entry.config)
    except HUB_ERRORS as err:
        reason = " ".join(f"{type(err).__name__}: {err}".split())[:200]
        raise DataError(
            f"{name}: could not fetch {entry.source} from the Hugging Face hub ({reason}); offline, get it by hand: "
            f"{entry.manual.replace('DIR', str(to))}, then read it with {entry.read}; or convert a local copy of "
            "the hub files with --from DIR"
        ) from None
    return _arrow(loaded)


def _arrow(loaded: Mapping) -> Tables:
    return {split: dataset.with_format("arrow")[:] for split, dataset in loaded.items()}


def local_tables(folder: str | os.PathLike, entry: Catalogued) -> Tables:
    """The splits of a local copy (a ``save_to_disk`` folder or the hub's Parquet files) as Arrow tables."""
    import datasets

    root = Path(folder)
    if not root.is_dir():
        raise DataError("is not a folder; --from takes the folder of a local copy of the hub files", path=str(root))
    if (root / "dataset_dict.json").is_file():
        return _arrow(datasets.load_from_disk(str(root)))
    if (root / "state.json").is_file():
        raise DataError(
            "holds one split saved with Dataset.save_to_disk; save the DatasetDict (all splits) instead, so the "
            "split names are known",
            path=str(root),
        )
    return _parquet_tables(root, entry)


def _parquet_tables(root: Path, entry: Catalogued) -> Tables:
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = root / entry.config if entry.config and (root / entry.config).is_dir() else root
    by_split: dict[str, list[Path]] = {}
    for file in sorted(base.rglob("*.parquet")):
        by_split.setdefault(_split_of(file, base), []).append(file)
    if not by_split:
        raise DataError(
            f"has no save_to_disk folder (dataset_dict.json) and no .parquet files; put the hub's files of "
            f"{entry.source} there as SPLIT.parquet, SPLIT-*.parquet or SPLIT/*.parquet",
            path=str(root),
        )
    tables = {}
    for split, files in by_split.items():
        try:
            tables[split] = pa.concat_tables([pq.read_table(f) for f in files])
        except (pa.ArrowException, OSError) as err:
            reason = str(err)[:200]
            raise DataError(f"cannot read the Parquet files of split {split!r} ({reason})", path=str(root)) from None
    return tables


def _split_of(file: Path, base: Path) -> str:
    """``train-00000-of-00001.parquet`` / ``train.parquet`` -> train; ``train/0000.parquet`` -> train."""
    stem = re.split(r"[-.]", file.name, maxsplit=1)[0]
    if stem and not stem.isdigit():
        return stem
    return file.parent.name if file.parent != base else stem
