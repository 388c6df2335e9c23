"""HTTP fuzz harness of `textsiam serve`: a table of bad and odd requests over every route (each field of a valid
body replaced by odd values, deleted, joined by an unknown key; raw bodies; content types; methods), then
hypothesis-generated bodies. Each answer is classified:

- ``correct``: a 2xx whose body is the route's well-formed answer (one finite result per item, the model's size);
- ``clear error``: a 4xx whose body is ``{"error": {"message", "type", "param", "code"}}`` and whose message names
  what the case changed (the field's path, e.g. ``pairs[0].a``; the body; the header; the method or path);
- ``failure``: anything else (a 5xx, a traceback, a malformed answer, a hang past the alarm).

A failure fails the test with the cases and the answers. Bounded: a fixed table and a fixed number of derandomized
hypothesis examples; the counts per class are printed (``pytest -s``) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from tests.helpers.fixtures import no_hang

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install '.[serve]')")
hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a test dependency (pip install '.[dev]')")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from textsiam.serve import Limits, create_app  # noqa: E402

LIMITS = Limits(max_items=4, max_chars=200, max_body_bytes=20_000, max_k=10)  # k defaults to 10
TEXTS = ["a man plays the guitar", "a woman eats pizza", "two children read a book", "the dog runs in the park"]
JSON = {"content-type": "application/json"}
HANG_SECONDS = 30

# a valid body per POST route; every field of it is fuzzed
TEMPLATES: dict[str, dict[str, Any]] = {
    "/v1/similarity": {"pairs": [{"a": TEXTS[0], "b": TEXTS[1]}, {"a": TEXTS[2], "b": TEXTS[3]}]},
    "/v1/match": {"pairs": [{"a": TEXTS[0], "b": TEXTS[1]}, {"a": TEXTS[2], "b": TEXTS[3]}]},
    "/v1/embed": {"texts": [TEXTS[0], TEXTS[1]], "side": "left"},
    "/v1/embeddings": {"input": [TEXTS[0], TEXTS[1]], "model": "m", "encoding_format": "float"},
    "/v1/search": {"queries": [TEXTS[0], TEXTS[1]], "k": 3},
}
GETS = ("/v1/model", "/healthz")

# odd values put in place of each field: blank and odd texts, texts at and over the limit, every JSON kind
VALUES: list[Any] = [
    "",
    " ",
    "\t\n\r",
    "\u3000",  # ideographic space: whitespace too
    "\u200b",  # zero-width space: not whitespace to str.strip
    "\x00",
    "\ufeff",
    "é è ê",
    "👍🏽 🇫🇷",
    "مرحبا بالعالم",
    "[{" * 20,
    "a" * 200,
    "a" * 201,
    "left",
    "right",
    "base64",
    None,
    0,
    -1,
    3,
    32,
    10**20,
    1.5,
    1e308,
    True,
    [],
    {},
    ["x"],
    {"a": "x"},
]

# raw bodies sent as application/json to each POST route: (name, bytes, what a clear error names)
RAW: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("empty body", b"", ("request body",)),
    ("whitespace body", b"  \n", ("JSON",)),
    ("truncated", b'{"x": [', ("JSON",)),
    ("trailing garbage", b'{"x": 1} x', ("JSON",)),
    ("null", b"null", ("request body",)),
    ("number", b"1", ("request body",)),
    ("string", b'"x"', ("request body",)),
    ("list", b"[]", ("request body",)),
    ("NaN literal", b'{"x": NaN}', ("JSON", "request body", "x")),
    ("invalid UTF-8", b'{"x": "\xff\xfe"}', ("UTF-8",)),
    ("Latin-1", '{"x": "café"}'.encode("latin-1"), ("UTF-8",)),
    ("UTF-16 with a BOM", '{"x": 1}'.encode("utf-16"), ("UTF-8",)),
    ("lone surrogate escape", b'{"x": "\\ud800"}', ("x", "request body")),
    ("33 levels deep", b"[" * 33 + b"]" * 33, ("nests 33 levels",)),
    ("9,000 levels deep", b"[" * 9000 + b"]" * 9000, ("nests 9000 levels",)),
    ("100,000 levels deep", b"[" * 100_000 + b"]" * 100_000, ("bytes",)),
    ("brackets in strings", json.dumps({"x": "[[[[{{{{" * 10}).encode(), ("x", "request body")),
    ("over the byte limit", json.dumps({"x": "y" * 30_000}).encode(), ("bytes",)),
    ("duplicate keys", b'{"x": 1, "x": 2}', ("x", "request body")),
    ("huge number", b'{"x": 1e999}', ("x", "request body")),
]


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    names: tuple[str, ...] = ()  # a clear error names one of these (a field path, a header, a word of the refusal)
    sent: Any = None  # the JSON sent, to check a 2xx answer against


def where(path: tuple) -> str:
    """The field path as the service names it: ``pairs[0].a``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def paths(obj: Any, path: tuple = ()) -> list[tuple]:
    found = [path] if path else []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found += paths(value, (*path, key))
    return found


def changed(obj: Any, path: tuple, value: Any = None, delete: bool = False) -> Any:
    new = copy.deepcopy(obj)
    parent = new
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return new


def json_case(name: str, path: str, body: Any, names: tuple[str, ...]) -> Case:
    return Case(name, "POST", path, json.dumps(body).encode(), names=names, sent=body)


def _field_cases(route: str, template: dict[str, Any]) -> list[Case]:
    """Each field of ``template`` set to every odd value, over the item limit, deleted; an unknown key beside it."""
    cases, extras = [], set()
    for path in paths(template):
        named = (where(path),)
        for value in VALUES:
            cases.append(json_case(f"{where(path)} = {value!r:.30}", route, changed(template, path, value), named))
        current = template
        for part in path:
            current = current[part]
        if isinstance(current, list):  # one item over the limit
            over = current * (LIMITS.max_items + 1)
            cases.append(json_case(f"{where(path)}: {len(over)} items", route, changed(template, path, over), named))
        if isinstance(path[-1], str):
            cases.append(json_case(f"{where(path)} deleted", route, changed(template, path, delete=True), named))
            extra = (*path[:-1], "fuzz_extra")
            if extra not in extras:
                extras.add(extra)
                cases.append(
                    json_case(f"unknown key {where(extra)}", route, changed(template, extra, 1), (where(extra),))
                )
    return cases


def table() -> list[Case]:
    cases = []
    for route, template in TEMPLATES.items():
        cases.append(json_case("valid", route, template, ()))
        cases += _field_cases(route, template)
        for name, raw, names in RAW:  # a body that parses may be refused for its missing fields instead
            cases.append(Case(f"raw: {name}", "POST", route, raw, names=(*names, *template)))
        body = json.dumps(template).encode()
        for headers, names in [
            ({}, ("Content-Type",)),
            ({"content-type": "text/plain"}, ("content type",)),
            ({"content-type": "application/x-www-form-urlencoded"}, ("content type",)),
            ({"content-type": "multipart/form-data; boundary=x"}, ("content type",)),
            ({"content-type": "application/json; charset=utf-8"}, ()),
            ({"content-type": "application/vnd.api+json"}, ()),
        ]:
            cases.append(Case(f"content type {headers}", "POST", route, body, headers, names, sent=template))
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            cases.append(Case(f"{method} on a POST route", method, route, None, {}, ("not allowed",)))
    for route in GETS:
        cases.append(Case("GET", "GET", route, None, {}))
        cases.append(Case("POST on a GET route", "POST", route, b"{}", names=("not allowed",)))
    for route in ("/v1/similarit", "/v2/similarity", "/", "/v1/similarity/%00", "/v1//embed"):
        cases.append(Case("unknown path", "POST", route, b"{}", names=("no endpoint",)))
    # a trailing slash is redirected (307) to the route, which names its missing fields
    cases.append(Case("trailing slash", "POST", "/v1/embeddings/", b"{}", names=("input", "model")))
    return cases


# -- the classifier ------------------------------------------------------------------------------------------------
def _finite(values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def _vectors(rows: Any, n: int, dim: int) -> bool:
    return (
        isinstance(rows, list)
        and len(rows) == n
        and all(isinstance(r, list) and len(r) == dim and _finite(r) for r in rows)
    )


def well_formed(route: str, sent: Any, body: Any, dim: int) -> str:
    """Why a 2xx answer is malformed for the request ``sent``, or "" when it is the route's answer."""
    if route == "/healthz":
        return "" if body.get("status") == "ok" else "status is not ok"
    if route == "/v1/model":
        return "" if body.get("embedding_dim") == dim and isinstance(body.get("model"), str) else "no model info"
    if not isinstance(sent, dict):
        return "a 2xx for a body that is not a JSON object"
    if route == "/v1/similarity":
        scores = body.get("scores")
        return "" if isinstance(scores, list) and len(scores) == len(sent["pairs"]) and _finite(scores) else "scores"
    if route == "/v1/match":
        results = body.get("results", [])
        good = len(results) == len(sent["pairs"]) and _finite([body.get("threshold")])
        good = good and all(isinstance(r["match"], bool) and _finite([r["score"]]) for r in results)
        good = good and all(r["probability"] is None or 0 <= r["probability"] <= 1 for r in results)
        return "" if good else "results"
    if route == "/v1/embed":
        return "" if _vectors(body.get("embeddings"), len(sent["texts"]), dim) else "embeddings"
    if route == "/v1/embeddings":
        texts = [sent["input"]] if isinstance(sent["input"], str) else sent["input"]
        data = body.get("data", [])
        rows = [d["embedding"] for d in data]
        if sent.get("encoding_format") == "base64":
            rows = [np.frombuffer(base64.b64decode(r), "<f4").tolist() for r in rows]
        good = _vectors(rows, len(texts), dim) and [d["index"] for d in data] == list(range(len(texts)))
        return "" if good and body["usage"]["prompt_tokens"] >= len(texts) else "data"
    if route == "/v1/search":
        results, k = body.get("results"), sent.get("k", 10)
        good = isinstance(results, list) and len(results) == len(sent["queries"])
        for hits in results if good else []:
            scores = [h["score"] for h in hits]
            good = good and 0 < len(hits) <= k and _finite(scores) and scores == sorted(scores, reverse=True)
        return "" if good else "results"
    return f"a 2xx from {route}"


def _names(message: str, words: tuple[str, ...]) -> bool:
    """The message names one of ``words``: a field path as a whole name (``k`` is not the k of "check"; a sub-field
    such as ``pairs[0].b`` names ``pairs[0]``), any other word as it is."""
    for word in words:
        if re.fullmatch(r"[\w\[\].]+", word):
            if re.search(rf"(?<![\w.\]]){re.escape(word)}(?!\w)", message):
                return True
        elif word in message:
            return True
    return not words


def classify(case: Case, status: int, text: str, dim: int) -> tuple[str, str]:
    """("correct" | "clear error" | "failure", why)."""
    try:
        body = json.loads(text)
    except ValueError:
        return "failure", f"HTTP {status}, not JSON: {text[:200]!r}"
    if 200 <= status < 300:
        problem = well_formed(case.path, case.sent, body, dim) if isinstance(body, dict) else "not an object"
        return (
            ("correct", "")
            if not problem
            else ("failure", f"HTTP {status}, malformed answer ({problem}): {text[:200]}")
        )
    error = body.get("error") if isinstance(body, dict) else None
    if not 400 <= status < 500 or not isinstance(error, dict):
        return "failure", f"HTTP {status}: {text[:300]}"
    message = error.get("message")
    shape = (
        isinstance(message, str) and message and error.get("code") == status and "type" in error and "param" in error
    )
    if not shape or "Traceback" in message:
        return "failure", f"HTTP {status}, malformed error body: {text[:300]}"
    if not _names(message, case.names):
        return "failure", f"HTTP {status}, the message does not name {' / '.join(case.names)}: {message}"
    return "clear error", ""


# -- running -------------------------------------------------------------------------------------------------------


def send(client: TestClient, case: Case, dim: int) -> tuple[str, str]:
    try:
        with no_hang(HANG_SECONDS):
            response = client.request(case.method, case.path, content=case.body, headers=case.headers)
    except Exception as err:  # a hang, or an exception out of the app
        return "failure", f"{type(err).__name__}: {err}"
    return classify(case, response.status_code, response.text, dim)


@pytest.fixture(scope="module")
def model(tiny_bert_dir):
    from textsiam.eval.decision import fit_decision
    from textsiam.models.io import create_model

    twin = create_model(str(tiny_bert_dir)).eval()
    scores = twin.similarity_scores(TEXTS, TEXTS[::-1])
    twin.decision = fit_decision(scores, [1, 0, 1, 0], "youden", calibrate="platt", cv=2)
    return twin


@pytest.fixture(scope="module")
def index(model, tmp_path_factory):
    from textsiam.index.store import load_index

    folder = tmp_path_factory.mktemp("fuzz-index")
    vectors = model.encode(TEXTS * 2, "right").numpy().astype(np.float32)
    meta = {"model": "tiny", "side": "right", "similarity": "cosine", "count": len(vectors), "dim": vectors.shape[1]}
    (folder / "index.json").write_text(json.dumps(meta))
    np.save(folder / "embeddings.npy", vectors)
    (folder / "ids.json").write_text(json.dumps([f"doc{i}" for i in range(len(vectors))]))
    return load_index(folder)


@pytest.fixture(scope="module")
def client(model, index):
    with TestClient(create_app(model, name="tiny", limits=LIMITS, index=index), raise_server_exceptions=False) as c:
        yield c


COUNTS: dict[str, Counter] = {}


def _report(label: str, outcomes: list[tuple[Case, str, str]]) -> None:
    COUNTS[label] = Counter(kind for _, kind, _ in outcomes)
    known = {*TEMPLATES, *GETS}
    by_route = Counter((c.path if c.path in known else "unknown paths", kind) for c, kind, _ in outcomes)
    print(f"\n{label}: {dict(COUNTS[label])}")
    for (route, kind), n in sorted(by_route.items()):
        print(f"  {route:16} {kind:12} {n}")


def test_the_table_gets_only_correct_answers_and_clear_errors(client, model):
    cases = table()
    outcomes = [(case, *send(client, case, model.embedding_dim)) for case in cases]
    _report("table", outcomes)
    failures = [f"{c.method} {c.path} [{c.name}]: {why}" for c, kind, why in outcomes if kind == "failure"]
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures[:40])
    kinds = Counter((c.path, kind) for c, kind, _ in outcomes)
    for route in TEMPLATES:  # the table reaches both sides of every route
        assert kinds[(route, "correct")] >= 5 and kinds[(route, "clear error")] >= 50, (route, kinds)
    assert len(cases) >= 800


def test_a_service_without_decision_or_index_refuses_match_and_search_clearly(model):
    decision, model.decision = model.decision, None
    try:
        with TestClient(create_app(model, name="tiny", limits=LIMITS), raise_server_exceptions=False) as c:
            match = send(c, json_case("no decision", "/v1/match", TEMPLATES["/v1/match"], ("tune-threshold",)), 32)
            search = send(c, json_case("no index", "/v1/search", TEMPLATES["/v1/search"], ("--index",)), 32)
    finally:
        model.decision = decision
    assert match == ("clear error", "") and search == ("clear error", "")


# -- hypothesis: random JSON in the shape of each route, and random bytes ----------------------------------------
FUZZ = settings(
    max_examples=100,
    deadline=None,  # a shared 2-core machine makes deadlines flaky; the alarm catches hangs
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
leaf = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30)
anything = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
good = st.text(max_size=40).filter(str.strip)  # a text the model takes
odd = st.sampled_from(["", " ", "\u3000", "\t\n", "\x00", "\u200b"]) | st.text(max_size=3)


def mostly(valid: st.SearchStrategy, one_in: int = 8) -> st.SearchStrategy:
    """``valid`` most of the time (so most requests are valid and their answers are checked), now and then any JSON."""
    return st.integers(1, one_in).flatmap(lambda i: anything if i == 1 else valid)


text = st.integers(0, 19).flatmap(lambda i: anything if i == 0 else odd if i == 1 else good)
texts = mostly(st.lists(text, min_size=1, max_size=5))
pairs = mostly(st.lists(st.fixed_dictionaries({"a": text, "b": text}), min_size=1, max_size=5))
SHAPED = {
    "/v1/similarity": st.fixed_dictionaries({"pairs": pairs}),
    "/v1/match": st.fixed_dictionaries({"pairs": pairs}),
    "/v1/embed": st.fixed_dictionaries({"texts": texts}, optional={"side": mostly(st.sampled_from(["left", "right"]))}),
    "/v1/embeddings": st.fixed_dictionaries(
        {"input": mostly(text | texts), "model": mostly(st.just("m"))},
        optional={"encoding_format": mostly(st.sampled_from(["float", "base64"])), "dimensions": mostly(st.just(32))},
    ),
    "/v1/search": st.fixed_dictionaries({"queries": texts}, optional={"k": mostly(st.integers(-2, 12))}),
}
HYPOTHESIS: list[tuple[Case, str, str]] = []


@FUZZ
@given(route=st.sampled_from(sorted(SHAPED)), data=st.data())
def test_random_bodies_in_the_shape_of_each_route(client, model, route, data):
    body = data.draw(SHAPED[route])
    case = json_case("hypothesis", route, body, tuple(body))  # a clear error names one of the body's keys
    outcome = send(client, case, model.embedding_dim)
    HYPOTHESIS.append((case, *outcome))
    assert outcome[0] != "failure", f"{route} {json.dumps(body)[:300]}: {outcome[1]}"


@FUZZ
@given(route=st.sampled_from(sorted(SHAPED)), raw=st.binary(max_size=300))
def test_random_bytes_to_each_route(client, model, route, raw):
    case = Case("random bytes", "POST", route, raw, names=())
    outcome = send(client, case, model.embedding_dim)
    HYPOTHESIS.append((case, *outcome))
    assert outcome[0] != "failure", f"{route} {raw!r}: {outcome[1]}"


def test_hypothesis_counts():
    """Prints what the two hypothesis tests above saw (they run first, in file order)."""
    _report("hypothesis, JSON in the shape of each route", [o for o in HYPOTHESIS if o[0].name == "hypothesis"])
    _report("hypothesis, random bytes", [o for o in HYPOTHESIS if o[0].name == "random bytes"])
    assert len(HYPOTHESIS) >= 200 and not [o for o in HYPOTHESIS if o[1] == "failure"]
