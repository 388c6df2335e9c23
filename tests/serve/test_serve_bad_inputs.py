"""Bad HTTP input: every case gets a 4xx JSON error that names the problem, and the service keeps serving."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install '.[serve]')")
from fastapi.testclient import TestClient  # noqa: E402

from tests.helpers.fixtures import BATCHED
from textsiam.index.store import load_index  # noqa: E402
from textsiam.serve import Limits, create_app  # noqa: E402

LIMITS = Limits(max_items=4, max_chars=50, max_body_bytes=20_000, max_k=5)
OK = {"a": "a man plays", "b": "a dog runs"}
JSON = {"content-type": "application/json"}

# (method, path, body: dict/list -> JSON, str/bytes -> raw JSON, None -> no body), status, words in the message
CASES = {
    "no body": ("POST", "/v1/similarity", None, 422, "request body"),
    "malformed JSON": ("POST", "/v1/similarity", "{bad", 400, "malformed JSON"),
    "truncated JSON": ("POST", "/v1/similarity", '{"pairs": [', 400, "malformed JSON"),
    "not UTF-8": (
        "POST",
        "/v1/similarity",
        b'{"pairs": "\xff\xfe"}',
        400,
        "not valid UTF-8 (byte 0xff at position 11)",
    ),
    "Latin-1 text": ("POST", "/v1/embed", '{"texts": ["caf\xe9"]}'.encode("latin-1"), 400, "send UTF-8 JSON"),
    "deeply nested JSON": ("POST", "/v1/similarity", "[" * 100_000 + "]" * 100_000, 413, "bytes"),
    "nested JSON under the size limit": ("POST", "/v1/similarity", "[" * 9_000 + "]" * 9_000, 413, "nests 9000 levels"),
    "JSON one level too deep": (
        "POST",
        "/v1/similarity",
        '{"pairs": [{"a": ' + "[" * 30 + '"x"' + "]" * 30 + ', "b": "x"}]}',  # 33 levels
        413,
        "the JSON body nests 33 levels deep; the limit is 32",
    ),
    "brackets inside strings do not nest": (
        "POST",
        "/v1/similarity",
        {"pairs": [{"a": "[{" * 20, "b": ""}]},
        422,
        "pairs[0].b is an empty text",
    ),
    "body is a list": ("POST", "/v1/similarity", [OK], 422, "JSON object"),
    "body is a string": ("POST", "/v1/similarity", '"pairs"', 422, "JSON object"),
    "body is null": ("POST", "/v1/similarity", "null", 422, "request body"),
    "missing pairs": ("POST", "/v1/similarity", {}, 422, "pairs: Field required"),
    "misspelt key": ("POST", "/v1/similarity", {"pair": [OK]}, 422, "pair: Extra inputs are not permitted"),
    "pairs not a list": ("POST", "/v1/similarity", {"pairs": "a b"}, 422, "pairs: Input should be a valid list"),
    "pairs empty": ("POST", "/v1/similarity", {"pairs": []}, 422, "pairs is empty"),
    "pair not an object": ("POST", "/v1/similarity", {"pairs": ["a"]}, 422, "pairs[0]"),
    "pair missing b": ("POST", "/v1/similarity", {"pairs": [{"a": "x"}]}, 422, "pairs[0].b: Field required"),
    "a is a number": ("POST", "/v1/similarity", {"pairs": [{"a": 1, "b": "x"}]}, 422, "pairs[0].a: Input should be"),
    "b is null": ("POST", "/v1/similarity", {"pairs": [{"a": "x", "b": None}]}, 422, "pairs[0].b"),
    "a is a list": ("POST", "/v1/similarity", {"pairs": [{"a": ["x"], "b": "x"}]}, 422, "pairs[0].a"),
    "a is a bool": ("POST", "/v1/similarity", {"pairs": [{"a": True, "b": "x"}]}, 422, "got bool True"),
    "extra key in a pair": ("POST", "/v1/similarity", {"pairs": [{**OK, "c": "x"}]}, 422, "pairs[0].c: Extra"),
    "second pair bad": ("POST", "/v1/similarity", {"pairs": [OK, {"a": "x", "b": 2}]}, 422, "pairs[1].b"),
    "too many pairs": ("POST", "/v1/similarity", {"pairs": [OK] * 5}, 413, "limit is 4 per request"),
    "text too long": ("POST", "/v1/similarity", {"pairs": [OK, {"a": "x", "b": "y" * 51}]}, 413, "pairs[1].b is 51"),
    "a is empty": ("POST", "/v1/similarity", {"pairs": [{"a": "", "b": "x"}]}, 422, "pairs[0].a is an empty text"),
    "b is whitespace": (
        "POST",
        "/v1/similarity",
        {"pairs": [OK, {"a": "x", "b": " \t\n"}]},
        422,
        "pairs[1].b is a whitespace-only",
    ),
    "a is an ideographic space": (
        "POST",
        "/v1/similarity",
        {"pairs": [{"a": "\u3000", "b": "x"}]},
        422,
        "pairs[0].a is a",
    ),
    "lone surrogate": ("POST", "/v1/similarity", '{"pairs": [{"a": "\\ud800", "b": "x"}]}', 422, "not valid Unicode"),
    "NaN for the pairs": ("POST", "/v1/similarity", '{"pairs": NaN}', 422, "pairs: Input should be a valid list"),
    "body over the byte limit": ("POST", "/v1/similarity", {"pairs": [{"a": "x" * 30_000, "b": "y"}]}, 413, "20000"),
    "GET on a POST endpoint": ("GET", "/v1/similarity", None, 405, "GET is not allowed"),
    "unknown endpoint": ("POST", "/v1/simlarity", {"pairs": [OK]}, 404, "no endpoint POST /v1/simlarity"),
    "match without a decision": ("POST", "/v1/match", {"pairs": [OK]}, 409, "tune-threshold"),
    "match with no pairs": ("POST", "/v1/match", {"pairs": []}, 409, "no decision"),
    "embed: unknown side": ("POST", "/v1/embed", {"texts": ["x"], "side": "middle"}, 422, "side: Input should be"),
    "embed: texts empty": ("POST", "/v1/embed", {"texts": []}, 422, "texts is empty"),
    "embed: texts missing": ("POST", "/v1/embed", {"side": "left"}, 422, "texts: Field required"),
    "embed: a number among texts": ("POST", "/v1/embed", {"texts": ["x", 3]}, 422, "texts[1]"),
    "embed: a string, not a list": ("POST", "/v1/embed", {"texts": "x"}, 422, "texts: Input should be a valid list"),
    "embed: too many texts": ("POST", "/v1/embed", {"texts": ["x"] * 5}, 413, "texts holds 5 items"),
    "embed: an empty text": ("POST", "/v1/embed", {"texts": ["x", "y", ""]}, 422, "texts[2] is an empty text"),
    "embed: text too long": ("POST", "/v1/embed", {"texts": ["x" * 51]}, 413, "texts[0] is 51 characters"),
    "openai: token arrays": ("POST", "/v1/embeddings", {"input": [1, 2], "model": "m"}, 422, "token arrays"),
    "openai: no model": ("POST", "/v1/embeddings", {"input": "x"}, 422, "model: Field required"),
    "openai: wrong dimensions": (
        "POST",
        "/v1/embeddings",
        {"input": "x", "model": "m", "dimensions": 64},
        422,
        "32-dim",
    ),
    "openai: unknown format": (
        "POST",
        "/v1/embeddings",
        {"input": "x", "model": "m", "encoding_format": "int8"},
        422,
        "encoding_format",
    ),
    "openai: input is an empty string": (
        "POST",
        "/v1/embeddings",
        {"input": "", "model": "m"},
        422,
        "input is an empty text",
    ),
    "openai: a whitespace text in input": (
        "POST",
        "/v1/embeddings",
        {"input": ["x", "  "], "model": "m"},
        422,
        "input[1] is a whitespace-only text",
    ),
    "openai: empty input": ("POST", "/v1/embeddings", {"input": [], "model": "m"}, 422, "input is empty"),
    "search: k is 0": ("POST", "/v1/search", {"queries": ["x"], "k": 0}, 422, "k: Input should be greater"),
    "search: k is a string": ("POST", "/v1/search", {"queries": ["x"], "k": "3"}, 422, "k: Input should be"),
    "search: k over the limit": ("POST", "/v1/search", {"queries": ["x"], "k": 6}, 413, "k=6 is over the limit of 5"),
    "search: no queries": ("POST", "/v1/search", {"queries": []}, 422, "queries is empty"),
    "search: an empty query": ("POST", "/v1/search", {"queries": ["x", " "]}, 422, "queries[1] is a whitespace-only"),
    "search: query is an object": ("POST", "/v1/search", {"queries": [{"q": "x"}]}, 422, "queries[0]"),
}


@pytest.fixture(scope="module")
def client(twin, index_dir):
    with TestClient(create_app(twin, name="tiny", limits=LIMITS, index=load_index(index_dir))) as c:
        yield c


def _send(client, method: str, path: str, body):
    if body is None:
        return client.request(method, path)
    if isinstance(body, str | bytes):
        return client.request(method, path, content=body, headers=JSON)
    return client.request(method, path, json=body)


def test_there_are_over_30_distinct_cases():
    assert len(CASES) >= 30 and len({(c[0], c[1], json.dumps(c[2], default=str)) for c in CASES.values()}) == len(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_a_clear_4xx_json_error(client, case):
    method, path, body, status, words = CASES[case]
    response = _send(client, method, path, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"] and error["code"] == status and error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "headers, words",
    [
        ({"content-type": "text/plain"}, "content type 'text/plain' is not accepted"),
        ({"content-type": "application/x-www-form-urlencoded"}, "-H 'content-type: application/json'"),  # curl -d
        ({}, "no Content-Type header; send JSON with the header `Content-Type: application/json`"),
    ],
)
def test_a_body_not_declared_as_json_gets_the_header_to_send(client, headers, words):
    response = client.post("/v1/similarity", content=json.dumps({"pairs": [OK]}), headers=headers)
    assert response.status_code == 415 and words in response.json()["error"]["message"]


def test_a_post_without_a_body_or_content_type_names_the_missing_body(client):
    response = client.post("/v1/similarity")
    assert response.status_code == 422 and "request body: Field required" in response.json()["error"]["message"]


def test_match_refuses_an_empty_text_naming_it(twin):
    from textsiam.eval.decision import fit_decision

    twin.decision = fit_decision([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], "youden", cv=2)
    try:
        with TestClient(create_app(twin, name="tiny", limits=LIMITS)) as c:
            response = c.post("/v1/match", json={"pairs": [OK, {"a": " ", "b": "x"}]})
    finally:
        twin.decision = None
    assert response.status_code == 422 and "pairs[1].a is a whitespace-only text" in response.json()["error"]["message"]


def test_search_without_an_index_says_how_to_start_one(twin):
    with TestClient(create_app(twin, name="tiny", limits=LIMITS)) as c:
        response = c.post("/v1/search", json={"queries": ["x"]})
    assert response.status_code == 404 and "--index" in response.json()["error"]["message"]


def test_the_service_still_answers_after_every_bad_input(client, twin):
    for case in CASES.values():
        _send(client, *case[:3])
    response = client.post("/v1/similarity", json={"pairs": [OK]})
    assert response.status_code == 200
    expected = twin.similarity_scores([OK["a"]], [OK["b"]]).tolist()
    assert response.json()["scores"] == pytest.approx(
        expected, abs=BATCHED
    )  # the service's batches: helpers/fixtures.py
    assert client.get("/healthz").json()["status"] == "ok"


def test_a_fault_inside_the_model_is_a_json_500_and_the_next_request_works(twin, monkeypatch):
    with TestClient(create_app(twin, name="tiny", limits=LIMITS), raise_server_exceptions=False) as c:
        with monkeypatch.context() as m:
            m.setattr(twin, "score", lambda u, v: (_ for _ in ()).throw(RuntimeError("boom")))
            broken = c.post("/v1/similarity", json={"pairs": [OK]})
        assert broken.status_code == 500 and "RuntimeError" in broken.json()["error"]["message"]
        assert c.post("/v1/similarity", json={"pairs": [OK]}).status_code == 200


@pytest.mark.parametrize("depth", [100_000, 1_000_000])
def test_deep_json_under_the_default_byte_limit_is_a_413_naming_the_depth(twin, depth):
    with TestClient(create_app(twin, name="tiny")) as c:  # default limits: 8 MB of body, 32 levels
        response = c.post("/v1/similarity", content=b"[" * depth + b"]" * depth, headers=JSON)
    assert response.status_code == 413
    assert f"the JSON body nests {depth} levels deep; the limit is 32" in response.json()["error"]["message"]


def test_json_depth_skips_strings_and_escaped_quotes():
    from textsiam.serve.body import json_depth

    assert json_depth(b'{"pairs": [{"a": "[[[\\"{{", "b": "x"}]}') == 3
    assert json_depth(b"[" * 40 + b"]" * 40) == 40 and json_depth(b"") == 0 and json_depth(b'"[[["') == 0
