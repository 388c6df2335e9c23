"""A fault inside the model answers its request with a JSON 500 and leaves the client's keep-alive connection open:
the next request on the same connection is served (uvicorn closes a connection whose app raised)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import numpy as np
import pytest
from conftest import TEXTS

uvicorn = pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install '.[serve]')")
from textsiam.serve import create_app  # noqa: E402


@pytest.fixture
def faulty_server(twin, monkeypatch):
    """uvicorn in a thread on a free loopback port, serving ``twin`` whose scoring raises for 3-pair requests."""
    score = twin.score

    def faulty(u, v):
        if len(u) == 3:
            raise RuntimeError("boom")
        return score(u, v)

    monkeypatch.setattr(twin, "score", faulty)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(twin, name="tiny"), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within 60 s"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _post(conn: http.client.HTTPConnection, pairs: list[tuple[str, str]]) -> tuple[int, dict]:
    body = json.dumps({"pairs": [{"a": a, "b": b} for a, b in pairs]})
    conn.request("POST", "/v1/similarity", body=body, headers={"content-type": "application/json"})
    answer = conn.getresponse()
    return answer.status, json.loads(answer.read())


def test_a_fault_is_a_json_500_and_the_same_connection_serves_the_next_request(faulty_server, twin):
    conn = http.client.HTTPConnection("127.0.0.1", faulty_server, timeout=30)
    try:
        status, body = _post(conn, list(zip(TEXTS[:3], TEXTS[3:6])))
        assert status == 500 and "RuntimeError" in body["error"]["message"]
        sock = conn.sock
        assert sock is not None  # the answer did not ask to close the connection
        status, body = _post(conn, [(TEXTS[0], TEXTS[1])])  # on the same socket: reset there before
        assert conn.sock is sock and status == 200
        assert np.allclose(body["scores"], twin.similarity_scores(TEXTS[:1], TEXTS[1:2]), atol=1e-5)
    finally:
        conn.close()
