"""What textsiam knows by name: the registered components (``list_components``) and the dataset catalogue
(``dataset_catalog``, ``get_dataset``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textsiam.data.catalog import Catalogued
from textsiam.errors import ConfigError
from textsiam.registry import ALL_REGISTRIES, CATALOG

__all__ = ["Fetched", "dataset_catalog", "get_dataset", "list_components"]


def list_components(kind: str | None = None) -> dict[str, dict[str, str]]:
    """``{registry kind: {name: one-line description}}``, for one kind or all."""
    if kind is None:
        return {k: r.describe() for k, r in ALL_REGISTRIES.items()}
    key = kind.replace("-", "_")
    if key not in ALL_REGISTRIES:
        raise ConfigError(f"unknown component kind {kind!r}; choose from {sorted(ALL_REGISTRIES)}")
    return {key: ALL_REGISTRIES[key].describe()}


def dataset_catalog() -> dict[str, Catalogued]:
    """``{name: catalogue entry}`` (:class:`~textsiam.data.catalog.Catalogued`: title, source, licence, how to read
    it) for every dataset ``textsiam data list`` shows, in catalogue order."""
    return {name: CATALOG.get(name) for name in CATALOG.names()}


@dataclass(frozen=True)
class Fetched:
    """What ``get_dataset`` did: the catalogue entry, and the files written with their row counts (none for an
    embedded dataset, which needs no download)."""

    entry: Catalogued
    written: list[tuple[Path, int]]


def get_dataset(
    name: str, to: str | os.PathLike, from_dir: str | os.PathLike | None = None, show_progress: bool = False
) -> Fetched:
    """Fetch the catalogued dataset ``name`` (from the hub, or convert the local copy ``from_dir``) into the folder
    ``to``, in the layout its reader expects (:mod:`textsiam.data.fetch`)."""
    from textsiam.data import fetch

    entry = fetch.catalog_entry(name)
    if entry.embedded:
        return Fetched(entry, [])
    return Fetched(entry, list(fetch.get_dataset(name, to, from_dir=from_dir, show_progress=show_progress)))
