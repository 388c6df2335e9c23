"""textsiam.version: the version comes from the installed metadata (one source: pyproject.toml at install time)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

import textsiam
from textsiam import version as version_module


def test_version_is_the_installed_metadata_and_the_facade_shows_it():
    assert version_module.__version__ == version("textsiam")
    assert textsiam.__version__ == version_module.__version__


def test_without_metadata_the_source_pyproject_gives_the_version(monkeypatch, tmp_path):
    def not_installed(name):
        raise version_module.PackageNotFoundError(name)

    monkeypatch.setattr(version_module, "version", not_installed)
    assert version_module.package_version() == version("textsiam")  # this checkout's pyproject.toml
    monkeypatch.setattr(version_module, "_PYPROJECT", tmp_path / "pyproject.toml")
    assert version_module.package_version() == "0+unknown"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "textsiam"\nversion = "9.8.7"\n')
    assert version_module.package_version() == "9.8.7"
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert version_module.package_version() == "0+unknown"


def test_cli_version_flag_prints_it():
    out = subprocess.run(
        [sys.executable, "-m", "textsiam", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"textsiam {version('textsiam')}"


def test_the_service_reports_the_same_version():
    pytest.importorskip("fastapi")
    from textsiam.serve import app

    assert app.__version__ == version("textsiam")
