"""Read a YAML run configuration (``textsiam train --config FILE``): a mapping of known option names."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from textsiam.errors import ConfigError


def read_config_file(path: str | Path, valid: Collection[str]) -> dict[str, Any]:
    """The options in a YAML file; a ConfigError naming the file (and line) when it is missing, invalid YAML, not a
    mapping, or sets an unknown option."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config file ({err})") from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of options (name: value), got {type(values).__name__}")
    unknown = sorted(str(k) for k in set(values) - set(valid))
    if unknown:
        raise ConfigError(f"{path}: unknown option(s) {unknown}; valid: {sorted(valid)}")
    return values
