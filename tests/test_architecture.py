"""Imports point one way: every textsiam module is parsed (imports inside functions included) and each import of
another textsiam area must be an edge of ALLOWED, the table that DEVELOPERS.md draws ("Where things go").

An area is a subpackage (``textsiam/losses/``) or a top-level module (``textsiam/registry.py``). Imports inside one
area are free; ``from textsiam import X`` counts as an import of the module the package facade lazily maps X to.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import textsiam

PACKAGE = Path(textsiam.__file__).parent
GROUND = {"registry", "errors", "atomic", "jsonlines", "imaging", "version"}
"""The ground floor: imports nothing of textsiam but the ground floor itself."""

# area -> the areas it may import (besides itself). Keep in step with DEVELOPERS.md "Where things go".
ALLOWED: dict[str, set[str]] = {
    **{ground: GROUND for ground in GROUND},
    "layers": GROUND,
    "encoders": GROUND | {"layers"},
    "eval": GROUND,  # numpy/sklearn only: no torch, no models (tests/eval/test_eval_imports.py)
    "models": GROUND | {"layers", "encoders", "eval"},
    "losses": GROUND | {"layers"},
    "data": GROUND,
    "distributed": GROUND,  # the torchrun process group (torch only)
    "train": GROUND | {"layers", "encoders", "models", "losses", "data", "eval", "distributed"},
    "index": GROUND | {"layers", "encoders", "models", "data", "distributed"},  # encode files, search, faiss
    "api": GROUND | {"layers", "encoders", "models", "losses", "data", "eval", "train"},
    "cli": GROUND
    | {
        "layers",
        "encoders",
        "models",
        "losses",
        "data",
        "eval",
        "train",
        "api",
        "textsiam",
        "index",
        "distributed",
        "serve",
    },
    "serve": GROUND | {"layers", "encoders", "models", "losses", "data", "eval", "train", "api", "textsiam", "index"},
    "__main__": {"cli"},  # python -m textsiam
    "textsiam": GROUND,  # the package facade (textsiam/__init__.py): the rest only lazily, by module name
}


def area_of(module: str) -> str:
    """``textsiam.losses.base`` -> ``losses``; ``textsiam.registry`` -> ``registry``; ``textsiam`` -> ``textsiam``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "textsiam"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, textsiam module)`` for every import statement in the file, wherever it stands."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base == "textsiam":  # from textsiam import X: a submodule, a facade name or a root constant
                found += [(node.lineno, _resolve_root_name(alias.name)) for alias in node.names]
            else:
                found.append((node.lineno, base))
    return [(line, name) for line, name in found if name == "textsiam" or name.startswith("textsiam.")]


def _resolve_root_name(name: str) -> str:
    if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").exists():
        return f"textsiam.{name}"
    return textsiam._API[name].partition(":")[0] if name in textsiam._API else "textsiam"


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = area_of(module_name(path))
        if source not in ALLOWED:
            found.append(f"{path.relative_to(PACKAGE.parent)}: area {source!r} is not in ALLOWED; add its row")
            continue
        for line, target_module in imported_modules(path):
            target = area_of(target_module)
            if target != source and target not in ALLOWED[source]:
                found.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} imports {target_module}: "
                    f"{source} -> {target} is not allowed ({source} may import {sorted(ALLOWED[source]) or 'nothing'})"
                )
    return found


def test_imports_point_one_way():
    bad = violations()
    assert not bad, "upward or sideways imports (see DEVELOPERS.md, 'Where things go'):\n" + "\n".join(bad)


def test_allowed_table_has_no_cycle():
    """The table itself is a layering: no two areas may import each other, directly or through others."""

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(t == goal or (t not in seen and reaches(t, goal, seen | {t})) for t in ALLOWED.get(start, ()))

    cyclic = [a for a in ALLOWED if a not in GROUND and reaches(a, a, {a})]
    assert not cyclic, f"areas on an import cycle: {cyclic}"


@pytest.mark.parametrize(
    ("source", "text", "message"),
    [
        (
            "layers/fake.py",
            "def f():\n    from textsiam.models import io\n",
            "layers/fake.py:2 imports textsiam.models",
        ),
        ("eval/fake.py", "import textsiam.train.trainer\n", "eval -> train is not allowed"),
        ("registry.py", "from textsiam import Trainer\n", "registry.py:1 imports textsiam.train.trainer"),
        ("losses/fake.py", "from ..data import reader\n", "imports textsiam.data"),
    ],
)
def test_an_upward_import_is_reported_with_file_line_and_edge(tmp_path, monkeypatch, source, text, message):
    """The checker itself: a planted upward import (top level, in a function, via the facade, relative) is found."""
    fake = tmp_path / "textsiam"
    for area in ("layers", "eval", "losses", "data", "models", "train"):
        (fake / area).mkdir(parents=True)
        (fake / area / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / source).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert any(message in v for v in violations()), violations()
