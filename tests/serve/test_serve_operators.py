"""What an operator puts in front of users, in process: the API key, /metrics, 429 + Retry-After on a full queue,
query / document towers, request ids and the access log line."""

from __future__ import annotations

import json
import logging
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install '.[serve]')")
pytest.importorskip("prometheus_client", reason="the serve extra is not installed (pip install '.[serve]')")
from conftest import TEXTS  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from tests.helpers.fixtures import BATCHED  # noqa: E402
from textsiam.errors import ConfigError  # noqa: E402
from textsiam.serve import Limits, create_app  # noqa: E402
from textsiam.serve import auth as auth_module  # noqa: E402
from textsiam.serve.access import JsonFormatter  # noqa: E402

KEY = "k3y-Very.Secret_0123456789"
WRONG = "wr0ng-Guess_9876543210"
PAIRS = {"pairs": [{"a": TEXTS[0], "b": TEXTS[1]}, {"a": TEXTS[2], "b": TEXTS[3]}]}
BEARER = {"authorization": f"Bearer {KEY}"}


def _client(model, **kw) -> TestClient:
    return TestClient(create_app(model, name="tiny", **kw))


def _error_shape(answer, status: int) -> str:
    body = answer.json()
    assert answer.status_code == status and set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["code"] == status
    return body["error"]["message"]


# -- the API key ---------------------------------------------------------------------------------------------------
def test_every_path_but_healthz_needs_the_key(twin, caplog):
    caplog.set_level(logging.DEBUG)
    with _client(twin, api_key=KEY) as c:
        assert c.get("/healthz").status_code == 200
        bodies = []
        for method, path in [("POST", "/v1/similarity"), ("GET", "/v1/model"), ("GET", "/metrics"),
                             ("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/no-such-path")]:  # fmt: skip
            for headers in ({}, {"authorization": f"Bearer {WRONG}"}, {"authorization": f"Basic {KEY}"}):
                answer = c.request(method, path, json=PAIRS if method == "POST" else None, headers=headers)
                bodies.append(answer.text)
                message = _error_shape(answer, 401)
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert "Authorization: Bearer KEY" in message or "API key is not valid" in message
        ok = c.post("/v1/similarity", json=PAIRS, headers=BEARER)
        assert ok.status_code == 200 and len(ok.json()["scores"]) == 2
        assert c.post("/v1/similarity", json=PAIRS, headers={"authorization": f"bearer  {KEY} "}).status_code == 200
        assert c.get("/metrics", headers=BEARER).status_code == 200
        bodies += [ok.text, c.get("/v1/model", headers=BEARER).text]
        counted = _samples(c.get("/metrics", headers=BEARER).text)
    refused = ("textsiam_requests_total", (("method", "POST"), ("route", "/v1/similarity"), ("status", "401")))
    assert counted[refused] == 3  # refused before routing, still counted under the route asked for
    logged = caplog.text + "".join(json.dumps(getattr(r, "access", {})) for r in caplog.records)
    for secret in (KEY, WRONG):  # neither the key nor a credential a client sent is echoed or logged
        assert not any(secret in body for body in bodies) and secret not in logged
    assert "/v1/similarity 401" in caplog.text  # the log did see the refused requests


def test_open_metrics_leaves_only_metrics_and_healthz_open(twin):
    with _client(twin, api_key=KEY, open_metrics=True) as c:
        assert c.get("/metrics").status_code == 200 and c.get("/healthz").status_code == 200
        assert c.get("/v1/model").status_code == 401
    with _client(twin, open_metrics=True) as c:  # no key: everything is open
        assert c.get("/v1/model").status_code == 200


def test_the_key_is_compared_in_constant_time(twin, monkeypatch):
    calls = []

    def spy(a, b):
        calls.append((len(a), len(b)))
        return a == b

    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    with _client(twin, api_key=KEY) as c:
        assert c.get("/v1/model", headers={"authorization": "Bearer x"}).status_code == 401
        assert c.get("/v1/model", headers=BEARER).status_code == 200
    assert calls == [(32, 32), (32, 32)]  # sha256 digests: not even the key's length shows in the timing


@pytest.mark.parametrize("key", ["", "has space", "tab\there", "naïve-key"])
def test_a_bad_key_is_a_config_error_that_does_not_show_it(twin, key):
    with pytest.raises(ConfigError, match="API key") as err:
        create_app(twin, api_key=key)
    assert not key or key not in str(err.value)


# -- /metrics ------------------------------------------------------------------------------------------------------
def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_parse_and_count_requests_errors_items_batches(twin):
    with _client(twin, limits=Limits(max_pending=7)) as c:
        assert c.post("/v1/similarity", json=PAIRS).status_code == 200
        assert c.post("/v1/embed", json={"texts": TEXTS[:3]}).status_code == 200
        assert c.post("/v1/embed", json={"texts": [""]}).status_code == 422
        assert c.get("/no/such/path").status_code == 404
        answer = c.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    got = _samples(answer.text)

    def value(name: str, **labels) -> float:
        return got[(name, tuple(sorted(labels.items())))]

    assert value("textsiam_requests_total", method="POST", route="/v1/similarity", status="200") == 1
    assert value("textsiam_requests_total", method="POST", route="/v1/embed", status="422") == 1
    assert value("textsiam_requests_total", method="GET", route="other", status="404") == 1  # no series per path
    assert value("textsiam_request_errors_total", route="/v1/embed", status="422") == 1
    assert ("textsiam_request_errors_total", (("route", "/v1/similarity"), ("status", "200"))) not in got
    assert value("textsiam_items_total", route="/v1/similarity") == 2  # pairs
    assert value("textsiam_items_total", route="/v1/embed") == 3  # texts of answered requests only
    assert value("textsiam_texts_encoded_total") == 4 + 3  # both texts of 2 pairs, 3 texts
    assert value("textsiam_request_duration_seconds_count", route="/v1/embed") == 2
    assert value("textsiam_request_duration_seconds_bucket", route="/v1/embed", le="+Inf") == 2
    assert value("textsiam_batch_texts_count") == 2 and value("textsiam_batch_texts_sum") == 7
    assert value("textsiam_batch_requests_sum") == 2
    assert value("textsiam_queue_depth") == 0 and value("textsiam_queue_limit") == 7
    assert value("process_resident_memory_bytes") > 0


# -- back-pressure -------------------------------------------------------------------------------------------------
def test_a_full_queue_is_a_429_with_retry_after_and_the_queued_requests_complete(twin, monkeypatch):
    gate, running = threading.Event(), threading.Event()
    encode = twin.encode

    def held(*args, **kwargs):  # the worker thread holds the first batch until the test lets it go
        running.set()
        gate.wait(20)
        return encode(*args, **kwargs)

    monkeypatch.setattr(twin, "encode", held)
    answers = {}
    with _client(twin, limits=Limits(max_pending=1, retry_after_s=2, window_ms=0)) as c:

        def post(name: str) -> None:
            answers[name] = c.post("/v1/embed", json={"texts": [TEXTS[0]]})

        first = threading.Thread(target=post, args=("first",))
        first.start()
        assert running.wait(20)  # the first request is on the worker
        second = threading.Thread(target=post, args=("queued",))
        second.start()
        deadline = time.monotonic() + 20
        while c.get("/healthz").json()["pending"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = c.post("/v1/embed", json={"texts": [TEXTS[1]]})
        gate.set()
        first.join(20), second.join(20)
        metrics = _samples(c.get("/metrics").text)
    assert "busy" in _error_shape(refused, 429) and refused.headers["retry-after"] == "2"
    assert answers["first"].status_code == 200 and answers["queued"].status_code == 200
    assert metrics[("textsiam_requests_total", (("method", "POST"), ("route", "/v1/embed"), ("status", "429")))] == 1


# -- query / document towers ---------------------------------------------------------------------------------------
def _vectors(answer) -> np.ndarray:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return np.array([d["embedding"] for d in body["data"]] if "data" in body else body["embeddings"])


def test_input_type_picks_the_tower_of_a_pseudo_siamese_model(pseudo):
    left, right = pseudo.encode(TEXTS[:3], "left").numpy(), pseudo.encode(TEXTS[:3], "right").numpy()
    assert not np.allclose(left, right, atol=1e-3)  # the towers differ: the choice shows
    with _client(pseudo) as c:
        info = c.get("/v1/model").json()["input_types"]
        assert info["default"] == "query" and info["towers"] == {"query": "left", "document": "right"}
        cases = [
            ({}, left),
            ({"input_type": "query"}, left),
            ({"input_type": "document"}, right),
            ({"prompt_name": "document"}, right),
            ({"input_type": "document", "prompt_name": "document"}, right),
        ]
        for extra, expected in cases:
            body = {"input": TEXTS[:3], "model": "tiny", **extra}
            assert np.allclose(_vectors(c.post("/v1/embeddings", json=body)), expected, atol=BATCHED), extra
            native = {"texts": TEXTS[:3], **extra}
            assert np.allclose(_vectors(c.post("/v1/embed", json=native)), expected, atol=BATCHED), extra
        both = {"texts": TEXTS[:3], "side": "right", "input_type": "document"}  # agreeing choices are fine
        assert np.allclose(_vectors(c.post("/v1/embed", json=both)), right, atol=BATCHED)


@pytest.mark.parametrize(
    "route, body, field",
    [
        ("/v1/embeddings", {"input": "x", "model": "m", "input_type": "passage"}, "input_type"),
        ("/v1/embeddings", {"input": "x", "model": "m", "prompt_name": "Query"}, "prompt_name"),
        ("/v1/embeddings", {"input": "x", "model": "m", "input_type": 1}, "input_type"),
        ("/v1/embed", {"texts": ["x"], "input_type": "passage"}, "input_type"),
        ("/v1/embed", {"texts": ["x"], "side": "left", "input_type": "document"}, "input_type"),
        (
            "/v1/embeddings",
            {"input": "x", "model": "m", "input_type": "query", "prompt_name": "document"},
            "input_type",
        ),
    ],
)
def test_a_bad_or_contradicting_input_type_is_a_422_naming_the_field(pseudo, route, body, field):
    with _client(pseudo) as c:
        answer = c.post(route, json=body)
    assert field in _error_shape(answer, 422) and answer.json()["error"]["param"] == field


def test_a_twin_accepts_either_input_type_and_ignores_it(twin):
    with _client(twin) as c:
        assert "changes nothing" in c.get("/v1/model").json()["input_types"]["note"]
        vectors = [
            _vectors(c.post("/v1/embeddings", json={"input": TEXTS[:3], "model": "m", "input_type": kind}))
            for kind in ("query", "document")
        ]
    assert np.allclose(vectors[0], vectors[1], atol=BATCHED)


# -- request ids and the access log --------------------------------------------------------------------------------
def test_request_ids_are_kept_when_valid_made_otherwise_and_on_every_answer(twin, caplog):
    caplog.set_level(logging.INFO, logger="textsiam.serve.access")
    with _client(twin, api_key=KEY, limits=Limits(max_body_bytes=1000)) as c:
        kept = c.post("/v1/similarity", json=PAIRS, headers={**BEARER, "x-request-id": "trace-42.a:b/c+d="})
        bad_ids = ["has space", "x" * 129, 'quote"d', "semi;colon", ""]
        made = [c.get("/v1/model", headers={**BEARER, "x-request-id": rid}) for rid in bad_ids]
        refused = [
            c.get("/v1/model"),  # 401, before the app
            c.post(
                "/v1/embed", content=b"{" + b" " * 2000 + b"}", headers={**BEARER, "content-type": "application/json"}
            ),  # 413
            c.get("/nowhere", headers=BEARER),  # 404
        ]
    assert kept.headers["x-request-id"] == "trace-42.a:b/c+d="
    ids = [a.headers["x-request-id"] for a in made + refused]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids) and len(set(ids)) == len(ids)
    assert [a.status_code for a in refused] == [401, 413, 404]
    records = [r.access for r in caplog.records if hasattr(r, "access")]
    assert len(records) == 1 + len(bad_ids) + len(refused)  # one line per request
    first = records[0]
    assert first["method"] == "POST" and first["path"] == "/v1/similarity" and first["status"] == 200
    assert first["items"] == 2 and first["request_id"] == "trace-42.a:b/c+d=" and first["latency_ms"] > 0
    assert [r["request_id"] for r in records[1:]] == ids and [r["status"] for r in records[-3:]] == [401, 413, 404]


def test_log_lines_are_json_or_plain(twin, caplog):
    caplog.set_level(logging.INFO, logger="textsiam.serve.access")
    with _client(twin) as c:
        c.post("/v1/embed", json={"texts": TEXTS[:2]}, headers={"x-request-id": "abc"})
    record = next(r for r in caplog.records if hasattr(r, "access"))
    line = json.loads(JsonFormatter().format(record))
    assert {k: line[k] for k in ("method", "path", "status", "items", "request_id")} == {
        "method": "POST",
        "path": "/v1/embed",
        "status": 200,
        "items": 2,
        "request_id": "abc",
    }
    assert line["level"] == "info" and line["latency_ms"] > 0 and line["time"].endswith("+00:00")
    plain = record.getMessage()
    assert plain.startswith("POST /v1/embed 200 ") and plain.endswith(" ms items=2 request_id=abc")
