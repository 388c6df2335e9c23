"""One real server: `textsiam serve` under uvicorn on loopback, called over HTTP, over a raw socket and by the official
openai client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import TEXTS

from tests.helpers.fixtures import BATCHED, ROOT

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


BODY_TIMEOUT = 3


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
    cmd += ["--body-timeout", str(BODY_TIMEOUT), "--window-ms", "20"]  # a wider window: concurrent requests merge
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
    assert status == 200 and np.allclose(
        body["scores"], expected, atol=BATCHED
    )  # the server's batches: helpers/fixtures.py
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


# (path, body, words of the 422): each a request the model would refuse, which used to fail its whole batch
POISONED = [
    ("/v1/similarity", {"pairs": [{"a": "", "b": ""}]}, "pairs[0].a is an empty text"),
    ("/v1/similarity", {"pairs": [{"a": "x", "b": "y"}, {"a": "x", "b": " "}]}, "pairs[1].b is a whitespace-only"),
    ("/v1/embed", {"texts": ["a", "b", ""]}, "texts[2] is an empty text"),
    ("/v1/embeddings", {"input": "", "model": "m"}, "input is an empty text"),
]


def _health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/healthz", timeout=30) as answer:
        return json.loads(answer.read())


def _send_at_once(url: str, requests: list[tuple[str, bytes]]) -> list[tuple[int, dict]]:
    """POST each (path, body) from its own thread, all released together; every thread is bounded by timeouts."""
    barrier, answers = threading.Barrier(len(requests)), [None] * len(requests)

    def send(i: int) -> None:
        barrier.wait(timeout=30)
        answers[i] = _post(f"{url}{requests[i][0]}", requests[i][1])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers


def test_poisoned_requests_sent_with_valid_ones_fail_alone(server, twin):
    """16 requests at once, 4 of them poisoned, 3 times: every valid one gets 200 and its scores, every poisoned
    one a 422 naming its field."""
    url, _ = server
    a, b = TEXTS, TEXTS[1:] + TEXTS[:1]
    valid = [("/v1/similarity", {"pairs": [{"a": x, "b": y}]}, i) for i, (x, y) in enumerate(zip(a, b))]
    valid += [("/v1/embed", {"texts": [x]}, i) for i, x in enumerate(a[:4])]
    requests = [*valid[:6], *POISONED[:2], *valid[6:], *POISONED[2:]]
    expected_scores, expected_vectors = twin.similarity_scores(a, b), twin.encode(a[:4], "left").numpy()
    before = _health(url)
    for _ in range(3):
        answers = _send_at_once(url, [(path, json.dumps(body).encode()) for path, body, _ in requests])
        for (path, _, third), (status, body) in zip(requests, answers):
            if isinstance(third, str):  # poisoned: the words of its 422
                assert status == 422 and third in body["error"]["message"], (path, status, body)
            elif path == "/v1/similarity":
                assert status == 200 and np.allclose(body["scores"], expected_scores[third], atol=1e-5), body
            else:
                assert status == 200 and np.allclose(body["embeddings"][0], expected_vectors[third], atol=1e-5)
    after = _health(url)
    batches, jobs = after["batches"] - before["batches"], after["requests"] - before["requests"]
    assert jobs == 3 * len(valid) and batches < jobs  # the valid requests did share batches


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection; fails if nothing comes for the socket timeout."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"no answer and no close within {sock.gettimeout()} s; got {data!r}")
        if not chunk:
            return data
        data += chunk


def test_a_body_short_of_its_content_length_is_a_408_and_other_clients_are_served(server, twin):
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    head = b"POST /v1/similarity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT + 30) as stalled:
        stalled.sendall(head + b"Content-Length: 100\r\n\r\n" + b'{"pairs": ')  # 10 of the 100 bytes
        pair = {"pairs": [{"a": TEXTS[0], "b": TEXTS[1]}]}
        status, body = _post(f"{url}/v1/similarity", json.dumps(pair).encode())  # another client, meanwhile
        assert status == 200 and np.allclose(body["scores"], twin.similarity_scores(TEXTS[:1], TEXTS[1:2]), atol=1e-5)
        answer = _read_until_closed(stalled)
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and b"connection: close" in head.lower()
    message = json.loads(text)["error"]["message"]
    assert f"did not arrive in full within {BODY_TIMEOUT} s (10 bytes of the 100 declared" in message
    assert _health(url)["status"] == "ok"


def test_server_stops_cleanly_on_sigint(server):
    _, proc = server
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
