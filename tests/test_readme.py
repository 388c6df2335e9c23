"""The README's code blocks run as a new user would run them: from a fresh clone, with no ``../shared`` beside it.

Each fenced ``bash`` / ``python`` block of README.md is extracted (so the README cannot drift from what is tested)
and run in order, in one temporary folder holding a copy of ``data/samples`` and nothing else: later blocks use
what earlier ones wrote (``runs/para`` trained in one block is served in another), as when a user reads top to
bottom. ``json`` blocks must parse, and a model config among them must build.

A block may be preceded by one directive, an HTML comment on the line just above its fence:

- ``<!-- readme-test: needs-download -->``: the block needs a dataset that is not in the repository; its first
  command must be the ``textsiam data get`` that fetches it (the README says first what a block needs). Not run
  (the suite never touches the network), but checked for that first line.
- ``<!-- readme-test: skip REASON -->``: not run, for the reason given (the README's two commands: CI runs them,
  and ``scripts/test.sh`` runs this very suite).

Every other block runs, with the package's ``textsiam`` first on PATH, the hub offline (``HF_HUB_OFFLINE=1``) and
``TEXTSIAM_DATA`` unset. A ``textsiam serve`` block listens on a free loopback port instead of the README's 8000.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*readme-test:\s*(needs-download|skip)\b\s*(.*?)\s*-->\s*$")
RUNNABLE = ("bash", "python")
BLOCK_TIMEOUT_S = 900  # a hang guard, not a timing: the slowest block (two trainings) takes about a minute on 2 cores


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # 1-based line of the opening fence in README.md
    directive: str | None  # "needs-download", "skip" or None
    reason: str

    @property
    def label(self) -> str:
        first = next((s.strip() for s in self.code.splitlines() if s.strip()), "")
        return f"L{self.line}-{self.lang}: {first[:50]}"


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of ``text`` with the directive (if any) on the line above each fence."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        start, lang = i, opened.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise ValueError(f"README.md line {start + 1}: code fence never closed")
        above = lines[start - 1] if start > 0 else ""
        found = DIRECTIVE.match(above)
        if "readme-test" in above and not found:
            raise ValueError(f"README.md line {start}: unknown readme-test directive {above!r}")
        directive, reason = (found.group(1), found.group(2)) if found else (None, "")
        blocks.append(Block(lang, "\n".join(lines[start + 1 : j]) + "\n", start + 1, directive, reason))
        i = j + 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_runnable_examples_and_every_block_is_accounted_for():
    runnable = [b for b in BLOCKS if b.lang in RUNNABLE and b.directive is None]
    assert len(runnable) >= 10, f"only {len(runnable)} README blocks run: the test would prove little"
    for b in BLOCKS:
        assert b.lang in (*RUNNABLE, "json"), f"README.md line {b.line}: a ```{b.lang} block is neither run nor parsed"
        assert b.directive != "skip" or b.reason, f"README.md line {b.line}: a skipped block must say why"
        assert "../shared" not in b.code, f"README.md line {b.line}: a user's clone has no ../shared"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder like a fresh clone's root as far as the examples can tell: ``data/samples`` and nothing else."""
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "data" / "samples", root / "data" / "samples")
    return root


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEXTSIAM_DATA"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(block: Block, folder: Path) -> list[str]:
    if block.lang == "python":
        script = folder / f"readme_block_L{block.line}.py"
        script.write_text(block.code)
        return [sys.executable, str(script)]
    code = block.code
    if "textsiam serve" in code:  # never a fixed port in a test: another process may hold 8000
        code = code.replace("8000", str(_free_port()))
    # -e: the first failing command fails the block; a background server is ended with the shell
    return ["bash", "-e", "-o", "pipefail", "-c", code + "\nkill $(jobs -p) 2>/dev/null || true\n"]


@pytest.mark.slow
@pytest.mark.isa_independent  # not in test.sh's avx2 pass: asserts exit codes only, never a number kernels compute
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang in RUNNABLE], ids=lambda b: b.label)
def test_readme_block_runs_from_a_fresh_clone(block, workdir):
    if block.directive == "needs-download":
        first = next(s.strip() for s in block.code.splitlines() if s.strip() and not s.startswith("#"))
        assert first.startswith("textsiam data get "), (
            f"README.md line {block.line}: a block that needs a download must start with its `textsiam data get`"
        )
        pytest.skip("needs a dataset download (`textsiam data get`); the suite stays offline")
    if block.directive == "skip":
        pytest.skip(block.reason)
    done = subprocess.run(
        _command(block, workdir),
        cwd=workdir,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"README.md block at line {block.line} exited {done.returncode}:\n{block.code}\n"
        f"--- stdout (tail)\n{done.stdout[-3000:]}\n--- stderr (tail)\n{done.stderr[-3000:]}"
    )


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: a JSON parse and a model build, no number compared
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "json"], ids=lambda b: b.label)
def test_readme_json_blocks_parse_and_model_configs_build(block):
    config = json.loads(block.code)
    if isinstance(config, dict) and "pair_model" in config:
        import textsiam
        from textsiam.registry import PAIR_MODELS

        model = textsiam.build_model(config)
        assert PAIR_MODELS.name_of(model) == config["pair_model"]
