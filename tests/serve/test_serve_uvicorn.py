"""One real server: `textsiam serve` under uvicorn on loopback, called over HTTP and by the official openai client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import TEXTS
from fixtures import BATCHED, ROOT

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install '.[serve]')")
openai = pytest.importorskip("openai", reason="the openai client is a test dependency (pip install '.[dev]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:  # refused until uvicorn listens
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer /healthz within {timeout} s")


def _post(url: str, data: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def server(twin_dir):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "NO_PROXY": "*"}
    cmd = [sys.executable, "-m", "textsiam.cli.main", "serve", "--model", str(twin_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_real_server_scores_like_the_python_model(server, twin):
    url, _ = server
    pairs = [{"a": a, "b": b} for a, b in zip(TEXTS[:4], TEXTS[4:])]
    status, body = _post(f"{url}/v1/similarity", json.dumps({"pairs": pairs}).encode())
    expected = twin.similarity_scores(TEXTS[:4], TEXTS[4:])
    assert status == 200 and np.allclose(body["scores"], expected, atol=BATCHED)  # the server's batches: fixtures.py
    status, body = _post(f"{url}/v1/similarity", b"{nope")
    assert status == 400 and "malformed JSON" in body["error"]["message"]


@pytest.mark.parametrize("encoding_format", [None, "float"])  # the client asks for base64 unless told otherwise
def test_openai_client_gets_the_vectors_of_model_encode(server, twin, encoding_format):
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=30)
    kw = {"encoding_format": encoding_format} if encoding_format else {}
    answer = client.embeddings.create(input=TEXTS, model="text-embedding-3-small", **kw)
    got = np.array([d.embedding for d in sorted(answer.data, key=lambda d: d.index)])
    assert got.shape == (len(TEXTS), twin.embedding_dim)
    assert np.allclose(got, twin.encode(TEXTS, "left").numpy(), atol=BATCHED)
    assert answer.usage.prompt_tokens > len(TEXTS)


def test_openai_client_sees_the_error_message(server):
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=30)
    with pytest.raises(openai.UnprocessableEntityError, match="input is empty"):
        client.embeddings.create(input=[], model="m")


def test_server_stops_cleanly_on_sigint(server):
    _, proc = server
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
