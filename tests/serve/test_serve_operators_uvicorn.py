"""The operator features through a real server (`textsiam serve` under uvicorn on loopback, the key from
TEXTSIAM_API_KEY, JSON logs, a one-request queue): the official openai client retries through 429s, /metrics parses,
the log is one JSON object per line and never holds the key; and the container's entry command serves."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import TEXTS

from tests.helpers.fixtures import BATCHED, ROOT, load_script

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install '.[serve]')")
pytest.importorskip("prometheus_client", reason="the serve extra is not installed (pip install '.[serve]')")
openai = pytest.importorskip("openai", reason="the openai client is a test dependency (pip install '.[dev]')")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from test_serve_uvicorn import _free_port, _wait_healthy  # noqa: E402  (one way to start and wait, for both files)

KEY = "uvicorn-Test.Key_0123456789abcdef"
CALLERS = 8


def _get(url: str, key: str | None = None) -> tuple[int, bytes, dict]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def _stop(proc: subprocess.Popen) -> str:
    """SIGINT (uvicorn's graceful shutdown), then everything the server wrote to stderr."""
    if proc.poll() is None:
        load_script("load_test").stop_server(proc)
    return proc.stderr.read().decode()


@pytest.fixture(scope="module")
def server(twin_dir):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "NO_PROXY": "*"}
    env["TEXTSIAM_API_KEY"] = KEY
    cmd = [sys.executable, "-m", "textsiam.cli.main", "serve", "--model", str(twin_dir), "--port", str(port)]
    cmd += ["--log-format", "json", "--max-pending", "1", "--retry-after", "1", "--window-ms", "20"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    state = {"url": url, "proc": proc}
    try:
        _wait_healthy(url, proc)
        yield state
    finally:
        state["log"] = _stop(proc)


def test_401_without_the_key_200_with_it(server):
    url = server["url"]
    status, body, headers = _get(f"{url}/v1/model")
    assert status == 401 and headers["www-authenticate"] == "Bearer" and json.loads(body)["error"]["code"] == 401
    assert _get(f"{url}/v1/model", "not-the-key")[0] == 401
    status, body, headers = _get(f"{url}/v1/model", KEY)
    assert status == 200 and json.loads(body)["pair_model"] == "twin" and len(headers["x-request-id"]) == 32


def _metrics(url: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(_get(f"{url}/metrics", KEY)[1].decode())}


def _refused(url: str, route: str) -> float:
    labels = {"method": "POST", "route": route, "status": "429"}
    return sum(s.value for s in _metrics(url)["textsiam_requests"].samples if s.labels == labels)


HOLD_PAIRS = 256  # a full request (max_items) of long pairs: tens to hundreds of ms of the tiny model's time per batch
HOLD_LIMIT_S = 60.0


def _hold_the_worker(url: str, stop: threading.Event) -> None:
    """Keep the one inference thread busy and the one-request queue full until ``stop``: /v1/similarity requests
    of HOLD_PAIRS long pairs, sent again as soon as each is answered (or refused). Two of these keep a request
    running and one queued almost all the time, on any host, however fast it runs the tiny model: the callers of the
    test below then meet a full queue by construction, not by the luck of a burst landing in a batch's run (a burst
    that lands in the batcher's gathering window joins the batch; on a fast host that was every burst)."""
    text = " ".join(TEXTS) * 20
    body = json.dumps({"pairs": [{"a": text, "b": text[::-1]}] * HOLD_PAIRS}).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}"}
    while not stop.is_set():
        request = urllib.request.Request(f"{url}/v1/similarity", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()
        except urllib.error.HTTPError as err:  # a 429 of a full queue: the other holder's request is queued
            err.read()


def test_openai_client_retries_through_429s_of_a_full_queue(server, twin):
    """CALLERS clients at once on a queue of one request that two holders keep full: the callers are answered 429 +
    Retry-After: 1, and once one has been refused the holders stop and the client's own retry logic (max_retries)
    brings every caller to its embeddings."""
    url = server["url"]
    results, failures = {}, []

    def call(i: int) -> None:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=20, timeout=60)
        try:
            results[i] = client.embeddings.create(model="tiny", input=[TEXTS[i % len(TEXTS)]] * 4)
        except Exception as err:  # reported below with the others
            failures.append(repr(err))

    stop = threading.Event()
    holders = [threading.Thread(target=_hold_the_worker, args=(url, stop)) for _ in range(2)]
    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLERS)]
    try:
        for t in holders:
            t.start()
        deadline = time.monotonic() + HOLD_LIMIT_S
        while not _metrics(url)["textsiam_queue_depth"].samples[0].value and time.monotonic() < deadline:
            time.sleep(0.005)  # a request queued: one is running (the batcher leaves the queue empty while idle)
        for t in threads:
            t.start()
        while not (refused := _refused(url, "/v1/embeddings")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()  # the callers retry after 1 s into a queue the holders no longer fill
        for t in holders + threads:
            t.join(120)
    assert refused > 0, f"no caller met the full queue in {HOLD_LIMIT_S} s: the retries were not exercised"
    families = _metrics(url)
    assert not failures, failures[:3]
    assert len(results) == CALLERS
    expected = twin.encode(TEXTS, "left").numpy()
    for i, answer in results.items():
        vectors = np.array([d.embedding for d in answer.data])
        assert np.allclose(vectors, np.repeat(expected[i % len(TEXTS)][None], 4, 0), atol=BATCHED)
    queue = families["textsiam_queue_limit"].samples[0].value
    assert queue == 1


def test_the_log_is_one_json_object_per_line_with_the_access_fields_and_never_the_key(server):
    url = server["url"]
    request = urllib.request.Request(
        f"{url}/v1/similarity",
        data=json.dumps({"pairs": [{"a": TEXTS[0], "b": TEXTS[1]}]}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {KEY}", "x-request-id": "op-test-1"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200 and answer.headers["x-request-id"] == "op-test-1"
    log = _stop(server["proc"])
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is JSON
    access = [line for line in lines if line["logger"] == "textsiam.serve.access"]
    mine = [line for line in access if line["request_id"] == "op-test-1"]
    assert len(mine) == 1 and mine[0]["path"] == "/v1/similarity" and mine[0]["status"] == 200
    assert mine[0]["items"] == 1 and mine[0]["method"] == "POST" and mine[0]["latency_ms"] > 0
    assert any(line["status"] == 401 for line in access) and any(line["status"] == 429 for line in access)
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's own lines in the same format
    warned = [line for line in lines if line["logger"] == "py.warnings"]  # the holders' long texts were cut
    assert warned and "long_text='truncate'" in warned[0]["message"]
    assert KEY not in log


# -- the container's entry command, outside Docker -----------------------------------------------------------------
def test_the_dockerfile_entrypoint_is_the_entry_script():
    dockerfile = (ROOT / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.M).group(1))
    copied = re.search(r"^COPY scripts/serve-entry\.sh (\S+)$", dockerfile, re.M).group(1)
    assert entry == [Path(copied).name] and copied.startswith("/usr/local/bin/")
    assert re.search(r'^RUN pip install --index-url \S+/whl/cpu "torch==2\.13\.0"$', dockerfile, re.M)


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: the entry script's server: status codes, JSON log lines
def test_the_entry_command_serves(twin_dir, tmp_path):
    """scripts/serve-entry.sh, the image's ENTRYPOINT, run as the image runs it (`python` on PATH, the settings in
    the environment) and asked /healthz, then /v1/model with and without the key."""
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "NO_PROXY": "*",
        "TEXTSIAM_MODEL": str(twin_dir),
        "TEXTSIAM_HOST": "127.0.0.1",  # the image listens on 0.0.0.0; a test stays on loopback
        "PORT": str(port),
        "TEXTSIAM_API_KEY": KEY,
    }
    cmd = ["sh", str(ROOT / "scripts" / "serve-entry.sh"), "--threads", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        assert _get(f"{url}/healthz")[0] == 200
        assert _get(f"{url}/v1/model")[0] == 401 and _get(f"{url}/v1/model", KEY)[0] == 200
    finally:
        log = _stop(proc)
    assert proc.returncode == 0, log[-2000:]
    assert all(json.loads(line) for line in log.splitlines() if line.strip()), shlex.join(cmd)  # JSON by default
    assert KEY not in log
