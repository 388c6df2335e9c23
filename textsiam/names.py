"""The names a user picks (loss, format, preset, threshold strategy, calibrator), checked against the registries
before any data is read or any model is built."""

from __future__ import annotations

from textsiam.registry import ALL_REGISTRIES


def check_name(kind: str, name: str | None) -> None:
    """The registry's ConfigError (valid names, closest match) unless ``name`` (when given) is registered."""
    if name is not None:
        ALL_REGISTRIES[kind].get(name)
