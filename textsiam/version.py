"""The installed package's version, read once from its metadata (the ground floor: imports nothing of textsiam).

``pip install`` (editable or not) writes the version of ``pyproject.toml`` into the package metadata; reading it here
keeps one source of truth. A source tree used without installing (``PYTHONPATH=.``) has no metadata: the version then
comes from the ``pyproject.toml`` beside the package, and is ``"0+unknown"`` when that is absent too.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def package_version() -> str:
    """The version pip recorded for ``textsiam``; for an uninstalled source tree, ``pyproject.toml``'s."""
    try:
        return version("textsiam")
    except PackageNotFoundError:
        return _source_version(_PYPROJECT)


def _source_version(pyproject: Path) -> str:
    import tomllib  # only for an uninstalled source tree

    try:
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return "0+unknown"


__version__ = package_version()
