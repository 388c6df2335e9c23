"""The data side of a run: reading the training and dev pairs, carving and saving a dev split, and the libraries'
progress bars while reading and loading."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textsiam.api.settings import TRAIN_ONLY_READ_KEYS, RunSettings
from textsiam.data import PairData
from textsiam.data.image_table import write_image_pairs
from textsiam.data.images import ImagePairData
from textsiam.data.load import load_data
from textsiam.data.stories import carve_dev


@contextlib.contextmanager
def library_bars(on: bool) -> Iterator[None]:
    """transformers' weight-loading bar and datasets' bars on or off for the block (as they were afterwards)."""
    import datasets
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    if not on:
        hf_logging.disable_progress_bar()
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        (hf_logging.enable_progress_bar if was[0] else hf_logging.disable_progress_bar)()
        (datasets.enable_progress_bars if was[1] else datasets.disable_progress_bars)()


def dev_is_train(run: RunSettings, train: PairData, dev: PairData | None) -> bool:
    """True when ``dev`` was read from the same pairs as ``train``: the same argument, or a whole file with the
    same sha256 (an embedded set's splits share the sha256 of their source, so only whole files count)."""
    if dev is None or not run.dev:
        return False
    if str(run.dev) == str(run.train):
        return True
    whole = train.subset_of is None and dev.subset_of is None
    return whole and train.sha256 is not None and train.sha256 == dev.sha256


def load_pairs(run: RunSettings, read: dict[str, Any], seed: int) -> tuple[PairData, PairData | None, bool]:
    """(train, dev, whether dev was carved off train); options marked train-only never reach the dev pairs."""
    train_data = load_data(run.train, **read, seed=seed)
    if run.dev:
        dev_read = {k: v for k, v in read.items() if k not in TRAIN_ONLY_READ_KEYS}
        return train_data, load_data(run.dev, **dev_read, seed=seed), False
    if run.dev_fraction:
        rest, dev = carve_dev(train_data, run.dev_fraction, seed, run.dev_split or "group")
        return rest, dev, True
    return train_data, None, False


def data_record(train: PairData, dev: PairData | None, carved: bool) -> dict[str, Any]:
    """``train_data.json``: which pairs trained the model and which chose its epoch and threshold (the card)."""
    record = {"train": {**train.fingerprint(), "note": "the rest after carving the dev pairs" if carved else ""}}
    if dev is not None:
        record["dev"] = {**dev.fingerprint(), "note": "carved off the training file" if carved else ""}
    return record


def save_dev_split(dev: PairData, out_dir: Path) -> Path | None:
    """Write a carved dev split, so its threshold can be re-tuned on exactly these pairs (image pairs: a table of
    absolute image references that ``--format image-tsv`` reads back)."""
    if isinstance(dev, ImagePairData):
        write_image_pairs(out_dir / "dev_split.images.tsv", dev)
        return out_dir / "dev_split.images.tsv"
    if not (dev.a and isinstance(dev.a[0], str)):
        return None
    if any("\t" in t or "\n" in t or "\r" in t for t in dev.a + dev.b):  # e.g. FNC-1 bodies: TSV cannot hold them
        dev.to_jsonl(out_dir / "dev_split.jsonl")
        return out_dir / "dev_split.jsonl"
    dev.to_tsv(out_dir / "dev_split.tsv")
    return out_dir / "dev_split.tsv"
