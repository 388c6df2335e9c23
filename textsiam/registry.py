"""One registry mechanism for every kind of named component.

Encoders, poolers, similarities, heads, pair models, losses, file readers, embedded datasets, presets, threshold
strategies, calibrators, export formats and catalogued datasets are all looked up by name through a
:class:`Registry`. Registering stores the name (``name_of`` is the reverse lookup) and optional metadata keywords
(``meta``). A duplicate name is an error; an unknown name raises a :class:`~textsiam.errors.ConfigError` that lists
the valid names and the closest match.

Renaming a component keeps saved ``config.json`` files loading: register it under the new name with the old one as
an alias (``register("new", aliases=("old",))``). Looking up an alias returns the component with a
:class:`RenamedWarning`; listings and ``name_of`` give only the registered (canonical) name, so a model saved again
carries the new one.

Each registry knows the subpackage(s) that fill it (``home``: one module name, or a tuple of them when a kind has
components in several areas, e.g. pair models in ``models`` and the ridge-map model in ``ridge``) and imports them
on the first lookup, so
``LOSSES.get("cosent")`` works whatever has been imported before. Each subpackage imports all its modules
(:func:`import_submodules`), so a component registers by being in a file there, and imports its own dependencies
(``import textsiam.encoders`` alone can build a pooled transformer). ``home`` is a module name, never an import
statement: this ground-floor module imports nothing above it (``tests/test_architecture.py``).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from textsiam.errors import ConfigError


class RenamedWarning(FutureWarning):
    """A component was looked up by an old name (an alias). A ``FutureWarning``, not a ``DeprecationWarning``: the
    old name sits in a user's saved ``config.json``, so the user (not a developer) must see it and re-save, and
    Python hides ``DeprecationWarning`` outside ``__main__`` (so does this project's pytest configuration)."""


class Registry:
    """A name -> component table for one kind of component (e.g. ``"losses"``, one of them a ``"loss"``)."""

    def __init__(self, kind: str, singular: str, home: str | tuple[str, ...] | None = None) -> None:
        self.kind = kind
        self.singular = singular
        self.home: tuple[str, ...] = (home,) if isinstance(home, str) else tuple(home or ())
        self._entries: dict[str, Any] = {}
        self._descriptions: dict[str, str] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._names_by_id: dict[int, str] = {}  # id(component) -> name; _entries keeps the components alive
        self._aliases: dict[str, str] = {}  # old name -> registered name
        self._filled = home is None

    def register(
        self,
        name: str,
        obj: Any = None,
        *,
        description: str | None = None,
        aliases: tuple[str, ...] | list[str] = (),
        **meta: Any,
    ) -> Any:
        """Register ``obj`` under ``name``; usable as a decorator: ``@LOSSES.register("contrastive")``.

        ``aliases`` are old names that still resolve to ``name`` (with a :class:`RenamedWarning`), so that saved
        configs keep loading after a rename. ``meta`` keywords are stored for :meth:`meta` (e.g.
        ``patterns=("sts-*.csv",)`` on a reader).
        """
        aliases = (aliases,) if isinstance(aliases, str) else tuple(aliases)

        def _add(target: Any) -> Any:
            for new in (name, *aliases):
                taken = "an entry" if new in self._entries else "an alias" if new in self._aliases else None
                if taken:
                    raise ValueError(f"{self.kind} registry already has {taken} named {new!r}; names must be unique")
            if len(set(aliases) | {name}) != len(aliases) + 1:
                raise ValueError(f"{self.kind} entry {name!r}: repeated names in {(name, *aliases)}")
            self._entries[name] = target
            self._aliases.update(dict.fromkeys(aliases, name))
            self._descriptions[name] = description or _first_doc_line(target)
            self._meta[name] = dict(meta)
            self._names_by_id.setdefault(id(target), name)
            return target

        return _add if obj is None else _add(obj)

    def fill(self) -> Registry:
        """Import the subpackages that register this kind (once), so the table is complete."""
        if not self._filled:
            self._filled = True  # set first: the import may look names up while it runs
            for home in self.home:
                importlib.import_module(home)
        return self

    def get(self, name: str) -> Any:
        """Return the component registered as ``name`` (or as an alias of it, with a :class:`RenamedWarning`), or
        raise a ``ConfigError`` listing the valid names."""
        return self._entries[self.canonical(name)]

    def canonical(self, name: str) -> str:
        """The registered name for ``name``: itself, or the name an alias was renamed to (with a
        :class:`RenamedWarning` naming both); an unknown name raises a ``ConfigError``."""
        self.fill()
        if isinstance(name, str) and name in self._aliases:
            new = self._aliases[name]
            warnings.warn(
                f"{self.singular} {name!r} was renamed to {new!r}; the old name still loads but will be removed. "
                f"Save the model again (or replace {name!r} with {new!r} in its config.json) to keep it loading.",
                RenamedWarning,
                stacklevel=3,
            )
            return new
        if not isinstance(name, str) or name not in self._entries:
            raise ConfigError(self.unknown_message(name))
        return name

    def build(self, name: str, **kwargs: Any) -> Any:
        """Call the component registered as ``name`` with ``kwargs`` (constructs a class, calls a factory)."""
        return self.get(name)(**kwargs)

    def meta(self, name: str) -> dict[str, Any]:
        """The metadata keywords ``name`` was registered with (a copy; ``{}`` when none)."""
        return dict(self._meta[self.canonical(name)])

    def name_of(self, obj: Any) -> str:
        """The name a component was registered under: the component itself, or an instance of a registered class."""
        self.fill()
        for candidate in (obj, type(obj)):
            name = self._names_by_id.get(id(candidate))
            if name is not None and self._entries[name] is candidate:
                return name
        raise ConfigError(
            f"{obj!r} is not a registered {self.singular} (nor an instance of one); "
            f"register it with @{self.kind.upper()}.register('name'). Registered: {', '.join(self.names())}"
        )

    def names(self) -> list[str]:
        self.fill()
        return sorted(self._entries)

    def aliases(self, name: str) -> list[str]:
        """The old names that resolve to the registered ``name`` (sorted; ``[]`` when none)."""
        self.fill()
        return sorted(old for old, new in self._aliases.items() if new == name)

    def describe(self) -> dict[str, str]:
        """Sorted ``{name: one-line description}``; a renamed entry's description ends with its old names."""
        described = {}
        for name in self.names():
            old = self.aliases(name)
            note = f" (alias: {', '.join(old)})" if old else ""
            described[name] = (self._descriptions[name] + note).strip()
        return described

    def unknown_message(self, name: object) -> str:
        """The message for an unknown ``name``: the closest valid name, all of them, and how to list them."""
        valid = self.names()
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5) if isinstance(name, str) else []
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"unknown {self.singular} {name!r}.{hint} Valid {self.kind.replace('_', ' ')}: "
            f"{', '.join(valid) or '(none registered)'} (`textsiam list {self.kind}` describes them)."
        )

    def __contains__(self, name: object) -> bool:
        """True for registered names and for aliases (both load)."""
        self.fill()
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.fill()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def import_submodules(package: str) -> None:
    """Import every module of ``package`` (called at the end of its ``__init__``), so that a component registers by
    being in a file of its subpackage: adding one needs no import line anywhere else."""
    path = importlib.import_module(package).__path__
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        importlib.import_module(f"{package}.{info.name}")


def constructor_config(obj: Any) -> dict[str, Any]:
    """The keyword arguments of ``type(obj).__init__``, read back from ``obj``'s attributes of the same names
    (sklearn's ``get_params``): what ``REGISTRY.build(name, **config)`` needs to rebuild ``obj``. Private keywords
    (``_vocab``: state a loader passes back from saved assets) are not config."""
    params = inspect.signature(type(obj).__init__).parameters
    return {
        name: getattr(obj, name)
        for name, p in params.items()
        if name != "self" and not name.startswith("_") and p.kind in _KEYWORDS
    }


_KEYWORDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _first_doc_line(obj: Callable[..., Any] | Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


ENCODERS = Registry("encoders", "encoder", "textsiam.encoders")
POOLERS = Registry("poolers", "pooler", "textsiam.layers")
SIMILARITIES = Registry("similarities", "similarity", "textsiam.layers")
HEADS = Registry("heads", "head", "textsiam.layers")
PAIR_MODELS = Registry("pair_models", "pair model", ("textsiam.models", "textsiam.ridge"))
LOSSES = Registry("losses", "loss", "textsiam.losses")
READERS = Registry("readers", "reader", "textsiam.data")
"""File formats (and dataset folders): one reader per format, with the file-name patterns that detect it."""
DATASETS = Registry("datasets", "dataset", "textsiam.data")
"""Embedded datasets addressed as ``NAME:SPLIT`` (e.g. ``digits:train``); readers of file formats live in READERS."""
CATALOG = Registry("catalog", "catalogued dataset", "textsiam.data")
"""Every dataset the project reads or benchmarks, with its origin, licence, layout and how to obtain it
(``textsiam data list|get``): :class:`textsiam.data.catalog.Catalogued` entries."""
PRESETS = Registry("presets", "preset", "textsiam.models")
STRATEGIES = Registry("strategies", "strategy", "textsiam.eval")
"""Threshold strategies (youden, max-f1, ...): :class:`textsiam.eval.threshold.ThresholdStrategy` objects."""
CALIBRATORS = Registry("calibrators", "calibrator", "textsiam.eval")
"""Score -> probability calibrators (platt, isotonic)."""
EXPORTERS = Registry("exporters", "export format", "textsiam.deploy")
"""``textsiam export --format``: folders other tools load (sentence-transformers, hf, onnx): ``deploy/``."""

ALL_REGISTRIES: dict[str, Registry] = {r.kind: r for r in list(globals().values()) if isinstance(r, Registry)}
"""kind -> registry, for every registry above in the order they are declared (``textsiam list``, contract tests)."""
