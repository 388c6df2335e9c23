"""Imports point one way: every textsiam module is parsed (imports inside functions included) and each import of
another textsiam area must be an edge of ALLOWED, the table that DEVELOPERS.md draws ("Where things go").

An area is a subpackage (``textsiam/losses/``) or a top-level module (``textsiam/registry.py``). Imports inside one
area are free; ``from textsiam import X`` counts as an import of the module the package facade lazily maps X to.
Inside ``serve/`` the modules are layered as well (SERVE_LAYERS: app -> routes -> service), with no import cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import textsiam

PACKAGE = Path(textsiam.__file__).parent
GROUND = {
    "registry",
    "errors",
    "atomic",
    "jsonlines",
    "imaging",
    "version",
    "osmem",
    "params",
    "device",
    "names",
    "read_options",
}
"""The ground floor: imports nothing of textsiam but the ground floor itself."""

CLI_DOORS = {"api", "serve"}
"""What the CLI may import besides the ground floor: the Python API, and the HTTP service that ``textsiam serve``
starts (a second front of its own, over the API). Nothing of train/, index/, models/, data/...: a command that needs
one of them needs an API function first, so the CLI and Python users go through the same door and checks."""

# area -> the areas it may import (besides itself). Keep in step with DEVELOPERS.md "Where things go".
ALLOWED: dict[str, set[str]] = {
    **{ground: GROUND for ground in GROUND},
    "layers": GROUND,
    "encoders": GROUND | {"layers"},
    "eval": GROUND,  # numpy/sklearn only: no torch, no models (tests/eval/test_eval_imports.py)
    "models": GROUND | {"layers", "encoders", "eval"},
    "ridge": GROUND | {"layers", "encoders", "eval", "models"},  # a research pair model beside the plain ones
    "deploy": GROUND | {"layers", "encoders", "models", "eval"},  # quantize, export (st, hf, onnx): models travel
    "losses": GROUND | {"layers"},
    "data": GROUND,
    "distributed": GROUND,  # the torchrun process group (torch only)
    "train": GROUND | {"layers", "encoders", "models", "losses", "data", "eval", "distributed"},  # never ridge: hooks
    "index": GROUND | {"layers", "encoders", "models", "deploy", "data", "distributed"},  # encode files, search, faiss
    # the front door: every command and script calls it (fit, evaluate, score, tune, encode, search, export, data)
    "api": GROUND
    | {"layers", "encoders", "models", "ridge", "deploy", "losses", "data", "eval", "train", "index", "distributed"},
    "cli": GROUND | CLI_DOORS,  # parse arguments, call the API (or start the service), print
    "serve": GROUND
    | {
        "layers",
        "encoders",
        "models",
        "ridge",
        "deploy",
        "losses",
        "data",
        "eval",
        "train",
        "api",
        "textsiam",
        "index",
    },
    "__main__": {"cli"},  # python -m textsiam
    "textsiam": GROUND,  # the package facade (textsiam/__init__.py): the rest only lazily, by module name
}
SERVE_LAYERS: dict[str, int] = {
    **dict.fromkeys(
        ("service", "batcher", "limits", "metrics"), 0
    ),  # the model, batching, limits, inference: no FastAPI
    **dict.fromkeys(("routes", "schemas"), 1),  # the HTTP handlers and their request / response bodies
    **dict.fromkeys(
        ("app", "body", "http_errors", "auth", "access", "server", "__init__"), 2
    ),  # the app, middlewares, error handlers
}
"""Inside ``serve/``: app -> routes -> service. A module imports modules of its own layer or below, never above."""
FORBIDDEN = {
    ("models", "serve"),
    ("serve", "cli"),
    ("models", "ridge"),
    ("train", "ridge"),
    ("models", "deploy"),
    ("train", "api"),
    ("api", "cli"),
}
"""Edges the table must never allow, directly or through other areas: the plain pair models and the trainer know
nothing of the ridge-map research model (the trainer reaches its closed-form fit through ``PairModel``'s hooks), pair
models know nothing of how they are deployed, and nothing below the front door calls it (or the CLI)."""
ONLY_THROUGH: dict[tuple[str, str], set[str]] = {("train", "encoders"): {"textsiam.encoders.base"}}
"""Allowed edges that may use only these modules of the target: training knows towers by the ``Encoder`` contract
(``encoders/base.py``, which also exports the types its methods return: ``Prepared``, ``OutputCache``), never a
tower's own module, nor the ``textsiam.encoders`` package (its ``__init__`` loads every tower)."""


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
            else:  # from textsiam.a import b: the submodule a.b where b is one, else the package a
                found += [(node.lineno, _submodule(base, alias.name)) for alias in node.names]
    return [(line, name) for line, name in dict.fromkeys(found) if name == "textsiam" or name.startswith("textsiam.")]


def _submodule(package: str, name: str) -> str:
    folder = PACKAGE.joinpath(*package.split(".")[1:], name)
    return f"{package}.{name}" if folder.is_dir() or folder.with_suffix(".py").exists() else package


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
            elif target_module not in ONLY_THROUGH.get((source, target), {target_module}):
                found.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} imports {target_module}: {source} -> {target} only "
                    f"through {sorted(ONLY_THROUGH[source, target])}"
                )
    return found


def serve_violations() -> list[str]:
    """Imports inside ``serve/`` that point up its layers (SERVE_LAYERS), deferred imports included."""
    found = []
    for path in sorted((PACKAGE / "serve").glob("*.py")):
        source = path.stem
        if source not in SERVE_LAYERS:
            found.append(f"{path.relative_to(PACKAGE.parent)}: serve module {source!r} is not in SERVE_LAYERS")
            continue
        for line, target_module in imported_modules(path):
            parts = target_module.split(".")
            if parts[:2] != ["textsiam", "serve"]:
                continue
            target = parts[2] if len(parts) > 2 else "__init__"
            if SERVE_LAYERS.get(target, 0) > SERVE_LAYERS[source]:
                found.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} imports {target_module}: serve.{source} -> "
                    f"serve.{target} points up (app -> routes -> service)"
                )
    return found


def serve_cycles() -> list[list[str]]:
    """Import cycles among the modules of ``serve/`` (an import inside a function closes a cycle too)."""
    graph = {path.stem: set() for path in (PACKAGE / "serve").glob("*.py")}
    for path in (PACKAGE / "serve").glob("*.py"):
        for _, target_module in imported_modules(path):
            parts = target_module.split(".")
            if parts[:2] == ["textsiam", "serve"]:
                graph[path.stem].add(parts[2] if len(parts) > 2 else "__init__")
    cycles = []

    def walk(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == trail[0]:
                cycles.append([*trail, nxt])
            elif nxt not in trail and nxt > trail[0]:  # each cycle once, from its smallest module
                walk(nxt, [*trail, nxt])

    for start in sorted(graph):
        walk(start, [start])
    return cycles


def reachable(start: str) -> set[str]:
    """Every area ``start`` reaches through one or more edges of ALLOWED (each area visited once)."""
    found: set[str] = set()
    todo = list(ALLOWED.get(start, ()))
    while todo:
        area = todo.pop()
        if area not in found:
            found.add(area)
            todo += ALLOWED.get(area, ())
    return found


def test_imports_point_one_way():
    bad = violations()
    assert not bad, "upward or sideways imports (see DEVELOPERS.md, 'Where things go'):\n" + "\n".join(bad)


def test_allowed_table_has_no_cycle():
    """The table itself is a layering: no two areas may import each other, directly or through others."""

    cyclic = [a for a in ALLOWED if a not in GROUND and a in reachable(a)]
    assert not cyclic, f"areas on an import cycle: {cyclic}"


def test_serve_imports_point_one_way_app_routes_service():
    bad = serve_violations()
    assert not bad, "imports pointing up serve/'s layers (app -> routes -> service):\n" + "\n".join(bad)
    assert not serve_cycles(), f"import cycles in serve/: {serve_cycles()}"


@pytest.mark.parametrize(("source", "target"), sorted(FORBIDDEN))
def test_the_table_forbids_the_edges_that_must_never_be(source, target):
    assert target not in reachable(source), f"ALLOWED lets {source} reach {target}"


@pytest.mark.parametrize(
    ("source", "text", "message"),
    [
        ("models/fake.py", "from textsiam.serve import create_app\n", "models -> serve is not allowed"),
        ("serve/fake.py", "def f():\n    import textsiam.cli.main\n", "serve -> cli is not allowed"),
        (
            "layers/fake.py",
            "def f():\n    from textsiam.models import io\n",
            "layers/fake.py:2 imports textsiam.models",
        ),
        ("eval/fake.py", "import textsiam.train.trainer\n", "eval -> train is not allowed"),
        ("registry.py", "from textsiam import Trainer\n", "registry.py:1 imports textsiam.train.trainer"),
        ("losses/fake.py", "from ..data import reader\n", "imports textsiam.data"),
        (
            "train/fake.py",
            "from textsiam.encoders.packed_bert import drop_grad_buffers\n",
            "train/fake.py:1 imports textsiam.encoders.packed_bert: train -> encoders only through",
        ),
        (
            "train/fake.py",
            "def f():\n    import textsiam.encoders.hf\n",
            "train/fake.py:2 imports textsiam.encoders.hf",
        ),
        ("train/fake.py", "from textsiam.encoders import Encoder\n", "imports textsiam.encoders: train ->"),
        ("cli/fake.py", "def f():\n    from textsiam.train.trainer import Trainer\n", "cli -> train is not allowed"),
        ("cli/fake.py", "from textsiam.models.io import create_model\n", "cli -> models is not allowed"),
        ("cli/fake.py", "from textsiam import Trainer\n", "cli/fake.py:1 imports textsiam.train.trainer"),
    ],
)
def test_an_upward_import_is_reported_with_file_line_and_edge(tmp_path, monkeypatch, source, text, message):
    """The checker itself: a planted upward import (top level, in a function, via the facade, relative) is found."""
    fake = tmp_path / "textsiam"
    for area in ("layers", "encoders", "eval", "losses", "data", "models", "train", "serve", "cli"):
        (fake / area).mkdir(parents=True)
        (fake / area / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / source).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert any(message in v for v in violations()), violations()


def test_the_cli_reaches_the_library_only_through_the_api():
    """The CLI's row is the ground floor plus the API and the service: no direct edge to train/, index/, models/,
    data/, ... (the API reaches them), so a command cannot skip the checks the API makes for Python users."""
    assert ALLOWED["cli"] == GROUND | {"api", "serve"}
    assert ALLOWED["api"] >= {"train", "index", "models", "data"}


def _fake_serve(tmp_path, monkeypatch, source: str, text: str) -> None:
    """A fake package whose serve/ has the layers' modules, app -> routes -> service, plus ``text`` in ``source``."""
    fake = tmp_path / "textsiam"
    (fake / "serve").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    for name in SERVE_LAYERS:
        (fake / "serve" / f"{name}.py").write_text("")
    (fake / "serve" / "app.py").write_text("from textsiam.serve.routes import router\n")
    (fake / "serve" / "routes.py").write_text("from textsiam.serve.service import Service\n")
    with (fake / "serve" / source).open("a") as out:
        out.write(text)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)


@pytest.mark.parametrize(
    ("source", "text", "message"),
    [
        ("service.py", "from textsiam.serve.routes import router\n", "serve.service -> serve.routes points up"),
        ("batcher.py", "def f():\n    from .app import create_app\n", "serve/batcher.py:2 imports textsiam.serve.app"),
        ("routes.py", "def f():\n    from textsiam.serve.app import model_info\n", "serve.routes -> serve.app"),
        ("routes.py", "from textsiam.serve import create_app\n", "serve.routes -> serve.__init__ points up"),
        ("extra.py", "", "serve module 'extra' is not in SERVE_LAYERS"),
    ],
)
def test_an_upward_import_inside_serve_is_reported(tmp_path, monkeypatch, source, text, message):
    """The serve checker itself: an import from a lower layer to a higher one (top level, deferred, relative,
    through the package) is found with the file, the line and the edge."""
    _fake_serve(tmp_path, monkeypatch, source, text)
    assert any(message in v for v in serve_violations()), serve_violations()


def test_a_deferred_import_that_closes_a_cycle_is_found(tmp_path, monkeypatch):
    _fake_serve(tmp_path, monkeypatch, "routes.py", "def f():\n    from textsiam.serve.app import model_info\n")
    assert serve_cycles() == [["app", "routes", "app"]]
