"""`textsiam serve` refuses bad options before it listens: a clean message and exit code 2, never a traceback."""

from __future__ import annotations

import socket

import pytest

from textsiam.cli.main import main

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install '.[serve]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if the model would load: these refusals come before it (and before anything listens)."""
    import textsiam.models.io

    monkeypatch.setattr(textsiam.models.io, "create_model", lambda *a: pytest.fail("the model was loaded"))


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--max-items", "0"], "max_items must be a positive integer"),
        (["--window-ms", "-5"], "window_ms must be between 0 and 1000"),
        (["--body-timeout", "0"], "body_timeout_s must be above 0"),
        (["--threads", "0"], "threads must be a positive integer"),
        (["--index", "{missing}"], "index.json: missing"),
        (["--max-pending", "0"], "max_pending must be a positive integer"),
        (["--retry-after", "0"], "retry_after_s must be a whole number of seconds from 1 to 3600"),
    ],
)
def test_bad_serve_options_are_clean_errors(capsys, twin_dir, tmp_path, extra, words):
    extra = [e.replace("{missing}", str(tmp_path / "nothing")) for e in extra]
    code = main(["serve", "--model", str(twin_dir), "--port", str(_free_port()), *extra])
    assert code == 2 and words in capsys.readouterr().err


def test_unknown_model_is_a_clean_error(capsys, tmp_path):
    assert main(["serve", "--model", str(tmp_path / "no-such-model"), "--port", str(_free_port())]) == 2
    assert "textsiam serve: error:" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["70000", "-1", "0"])
def test_a_port_out_of_range_is_one_line_naming_the_flag(capsys, twin_dir, no_model_load, port):
    assert main(["serve", "--model", str(twin_dir), "--port", port]) == 2
    err = capsys.readouterr().err
    assert err == f"textsiam serve: error: --port {port} is out of range: use a port number from 1 to 65535\n"


def test_an_unresolvable_host_is_one_line_naming_the_flag(capsys, twin_dir, no_model_load, monkeypatch):
    def unknown(host, *args, **kwargs):  # what the resolver answers; no DNS query leaves the machine
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    assert main(["serve", "--model", str(twin_dir), "--host", "no-such-host.invalid"]) == 2
    err = capsys.readouterr().err
    expected = "textsiam serve: error: --host 'no-such-host.invalid' does not resolve to an address (Name or service"
    assert err.count("\n") == 1 and err.startswith(expected)


def test_a_port_in_use_is_one_line_naming_the_flags(capsys, twin_dir, no_model_load):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", str(twin_dir), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on --host 127.0.0.1 --port {port} (Address already in use)" in err


@pytest.mark.parametrize(
    "argv, env, words",
    [
        (["--api-key", ""], {}, "the API key is empty"),
        ([], {"TEXTSIAM_API_KEY": ""}, "set TEXTSIAM_API_KEY to a non-empty value"),
        (["--api-key", "two words"], {}, "holds a space"),
        (["--log-format", "xml"], {}, "invalid choice: 'xml'"),
    ],
)
def test_a_bad_api_key_or_log_format_is_an_error_line_before_the_model_loads(
    capsys, twin_dir, no_model_load, monkeypatch, argv, env, words
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        code = main(["serve", "--model", str(twin_dir), "--port", str(_free_port()), *argv])
    except SystemExit as exit_:  # argparse's own refusal (an unknown choice)
        code = exit_.code
    err = capsys.readouterr().err
    last = err.splitlines()[-1]  # argparse writes its usage lines before its error line
    assert code == 2 and last.startswith("textsiam serve: error:") and words in last
    assert "two words" not in err  # the key is never shown
