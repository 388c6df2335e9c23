"""`textsiam serve` refuses bad options before it listens: a clean message and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from textsiam.cli.main import main

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install '.[serve]')")


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--max-items", "0"], "max_items must be a positive integer"),
        (["--window-ms", "-5"], "window_ms must be between 0 and 1000"),
        (["--threads", "0"], "threads must be a positive integer"),
        (["--index", "{missing}"], "index.json: missing"),
    ],
)
def test_bad_serve_options_are_clean_errors(capsys, twin_dir, tmp_path, extra, words):
    extra = [e.replace("{missing}", str(tmp_path / "nothing")) for e in extra]
    code = main(["serve", "--model", str(twin_dir), "--port", "1", *extra])
    assert code == 2 and words in capsys.readouterr().err


def test_unknown_model_is_a_clean_error(capsys, tmp_path):
    assert main(["serve", "--model", str(tmp_path / "no-such-model"), "--port", "1"]) == 2
    assert "textsiam serve: error:" in capsys.readouterr().err
