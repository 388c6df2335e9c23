"""textsiam.eval stays light: no torch, no textsiam.models/train/cli, no pyplot global state."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import textsiam.eval

FORBIDDEN = ("torch", "textsiam.models", "textsiam.train", "textsiam.cli", "matplotlib.pyplot")
EVAL_DIR = Path(textsiam.eval.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_forbidden_imports_in_source():
    for path in sorted(EVAL_DIR.glob("*.py")):
        bad = [m for m in _imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
        assert not bad, f"{path.name} imports {bad}"


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: asserts the list of modules a process imported
def test_using_eval_loads_no_torch_or_pyplot(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from textsiam.eval import write_report, fit_decision\n"
        "s = np.linspace(0, 1, 40); y = (s + np.sin(s * 40) / 3 > 0.5).astype(int)\n"
        f"write_report({str(tmp_path)!r}, s, y, graded=False, decision=fit_decision(s, y, calibrate='platt'))\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch' or m == 'matplotlib.pyplot'))\n"
    )
    root = str(EVAL_DIR.parents[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "[]", out.stdout
