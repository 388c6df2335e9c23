"""The package never unpickles: every ``torch.load`` passes ``weights_only=True``; no pickle / joblib / dill /
shelve / marshal load (importing ``pickle`` for its exception types is fine), no ``numpy.load(allow_pickle=True)``,
``pandas.read_pickle`` or unsafe ``yaml.load``.

The scan reads the source with ``ast`` (formatting and aliases do not hide a call); a self-test feeds it planted
violations so that it cannot pass by finding nothing.
"""

from __future__ import annotations

import ast

import pytest

from tests.helpers.fixtures import ROOT

PICKLING_MODULES = {"pickle", "cPickle", "_pickle", "joblib", "dill", "cloudpickle", "shelve", "marshal"}
UNPICKLING_CALLS = {"load", "loads", "Unpickler", "open"}  # (shelve.open unpickles its values)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _kw(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else "<expr>"
    return None


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> full name for every import (``import torch as t``, ``from torch import load``)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    return names


def unsafe_calls(source: str, filename: str = "<src>") -> list[str]:
    tree = ast.parse(source, filename)
    aliases, found = _aliases(tree), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, rest = name.partition(".")
        full = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
        where = f"{filename}:{node.lineno} {full}"
        module, _, func = full.rpartition(".")
        if module.split(".")[0] in PICKLING_MODULES and func in UNPICKLING_CALLS:
            found.append(where)
        elif full == "torch.load" and _kw(node, "weights_only") is not True:
            found.append(f"{where} without weights_only=True")
        elif full in ("numpy.load", "np.load") and _kw(node, "allow_pickle") not in (None, False):
            found.append(f"{where} with allow_pickle")
        elif full in ("pandas.read_pickle", "yaml.unsafe_load", "yaml.full_load"):
            found.append(where)
        elif full == "yaml.load" and "Safe" not in str(ast.unparse(node)):
            found.append(f"{where} without SafeLoader")
    return found


def test_the_package_has_no_unsafe_loads():
    problems = []
    for path in sorted((ROOT / "textsiam").rglob("*.py")):
        problems += unsafe_calls(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert problems == []


def test_the_package_does_load_optimizer_state_safely():
    sources = "".join(p.read_text() for p in (ROOT / "textsiam").rglob("*.py"))
    assert "torch.load(" in sources  # the scan above looked at a real call, not at nothing


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ntorch.load('x.pt')",
        "import torch\ntorch.load('x.pt', weights_only=False)",
        "import torch as t\nt.load(f, map_location='cpu')",
        "from torch import load\nload('x.pt')",
        "import pickle\npickle.loads(b)",
        "import pickle as p\np.Unpickler(f).load()",
        "from pickle import load\nload(f)",
        "from joblib import load\nload('model.joblib')",
        "import dill\ndill.load(f)",
        "import shelve\nshelve.open('db')",
        "import marshal\nmarshal.loads(b)",
        "import numpy as np\nnp.load('a.npy', allow_pickle=True)",
        "import pandas as pd\npd.read_pickle('x')",
        "import yaml\nyaml.load(open('c.yaml'))",
        "import yaml\nyaml.unsafe_load(s)",
    ],
)
def test_the_scan_catches_planted_unsafe_loads(code):
    assert unsafe_calls(code)


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ntorch.load(p, weights_only=True, map_location='cpu')",
        "import numpy as np\nnp.load('a.npy', allow_pickle=False)",
        "import yaml\nyaml.safe_load(s)",
        "import yaml\nyaml.load(s, Loader=yaml.SafeLoader)",
        "import json\njson.load(f)",
        "import pickle\nerrors = (pickle.UnpicklingError, EOFError)",
        "import pickle\npickle.dumps(x)",
    ],
)
def test_the_scan_lets_safe_loads_pass(code):
    assert unsafe_calls(code) == []
