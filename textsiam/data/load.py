"""``load_data``: one spec string for every source of pairs, a file or an embedded dataset ``NAME:SPLIT``."""

from __future__ import annotations

from pathlib import Path

from textsiam.data import read_pairs
from textsiam.data.pairs import PairData
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
) -> PairData:
    """A file path (any supported format), or an embedded dataset as ``NAME:SPLIT`` (e.g. ``digits:train``).

    ``bodies``: the FNC-1 bodies file of a ``*_stances.csv`` file (default: the ``*_bodies.csv`` beside it)."""
    name, _, split = str(spec).partition(":")
    if name in DATASETS and not Path(str(spec)).exists():
        data = DATASETS.get(name)(split=split or "train", seed=seed)
        return data.select(range(min(limit, len(data)))) if limit else data
    return read_pairs(
        spec, format, text_a=text_a, text_b=text_b, label=label, limit=limit, label_range=label_range, bodies=bodies
    )
