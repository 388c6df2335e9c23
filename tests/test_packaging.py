"""The built wheel carries what an installed textsiam needs besides code: the demo pairs, the presets and the int8
calibration sentences."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.helpers.fixtures import ROOT


@pytest.mark.slow
@pytest.mark.isa_independent  # not in test.sh's avx2 pass: the names and bytes of the files a wheel holds
def test_the_wheel_ships_the_demo_pairs_and_presets(tmp_path):
    src = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    shutil.copytree(ROOT / "textsiam", src / "textsiam", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path, src]
    built = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("textsiam-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "textsiam/cli/demo_pairs.tsv" in names
    assert "textsiam/deploy/calibration_texts.txt" in names  # int8 smoothing reads it (textsiam.deploy.quantize)
    assert {"textsiam/models/presets/minilm-twin.json", "textsiam/models/presets/digits-mlp-twin.json"} <= names
    demo = zipfile.ZipFile(wheel).read("textsiam/cli/demo_pairs.tsv").decode()
    assert demo == (ROOT / "textsiam" / "cli" / "demo_pairs.tsv").read_text()
