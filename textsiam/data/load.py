"""``load_data``: one spec string for every source of pairs, a file or an embedded dataset ``NAME:SPLIT``."""

from __future__ import annotations

from pathlib import Path

from textsiam.data import read_pairs
from textsiam.data.pairs import PairData
from textsiam.errors import ConfigError
from textsiam.registry import DATASETS


def load_data(
    spec: str | Path,
    format: str | None = None,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    label_range: tuple[float, float] | None = None,
    bodies: str | Path | None = None,
    split: str | None = None,
    pairs: int | None = None,
    skip_bad_rows: bool | None = None,
    hard_negatives: bool | None = None,
    keep_classes: list[str] | tuple[str, ...] | None = None,
) -> PairData:
    """A file path (any supported format), or an embedded dataset as ``NAME:SPLIT`` (e.g. ``digits:train``).

    ``bodies``: the FNC-1 bodies file of a ``*_stances.csv`` file (default: the ``*_bodies.csv`` beside it).
    The keywords are the fields of :class:`~textsiam.read_options.ReadOptions` (:func:`read_pairs`); ``seed`` also
    draws the pairs of image formats."""
    name, _, part = str(spec).partition(":")
    if name in DATASETS and not Path(str(spec)).exists():
        data = DATASETS.get(name)(split=part or "train", seed=seed)
        if keep_classes is not None:
            raise ConfigError(f"keep_classes applies to pair files with class labels, not the embedded {name!r}")
        return data.select(range(min(limit, len(data)))) if limit else data
    return read_pairs(
        spec,
        format,
        text_a=text_a,
        text_b=text_b,
        label=label,
        limit=limit,
        label_range=label_range,
        seed=seed,
        bodies=bodies,
        split=split,
        pairs=pairs,
        skip_bad_rows=skip_bad_rows,
        hard_negatives=hard_negatives,
        keep_classes=keep_classes,
    )
