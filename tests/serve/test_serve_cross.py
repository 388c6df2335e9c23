"""Serving a cross model: similarity and match by the pairs read together, /v1/rerank with the bodies of TEI, infinity
and Cohere clients, clear errors for embeddings; one real uvicorn server called by httpx with TEI's body."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install '.[serve]')")
import torch  # noqa: E402
from conftest import TEXTS  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from tests.helpers.fixtures import ROOT  # noqa: E402
from textsiam.eval.decision import fit_decision  # noqa: E402
from textsiam.models.io import build_model  # noqa: E402
from textsiam.serve import create_app  # noqa: E402

A, B = TEXTS[:4], TEXTS[4:]
QUERY, DOCS = TEXTS[0], TEXTS[1:7]


@pytest.fixture(scope="module")
def cross(tiny_bert_dir):
    torch.manual_seed(5)
    encoder = {"name": "hf-transformer", "args": {"model_name_or_path": str(tiny_bert_dir)}}
    return build_model({"pair_model": "cross", "encoder": encoder}).eval()


@pytest.fixture(scope="module")
def client(cross):
    with TestClient(create_app(cross, name="tiny-cross")) as c:
        yield c


def _expected(cross) -> tuple[np.ndarray, list[int]]:
    scores = cross.similarity_scores([QUERY] * len(DOCS), DOCS)
    return scores, np.argsort(-scores, kind="stable").tolist()


def test_similarity_and_match_score_the_pairs_together(cross, client):
    pairs = {"pairs": [{"a": a, "b": b} for a, b in zip(A, B)]}
    scores = client.post("/v1/similarity", json=pairs).json()["scores"]
    np.testing.assert_allclose(scores, cross.similarity_scores(A, B), atol=1e-6)  # same batches, same ops
    decision = cross.decision = fit_decision(np.asarray(scores), [1, 0, 1, 0], "youden")
    try:
        results = client.post("/v1/match", json=pairs).json()["results"]
    finally:
        cross.decision = None
    assert [r["match"] for r in results] == [s >= decision.threshold for s in scores]
    assert [r["score"] for r in results] == pytest.approx(scores)


def test_rerank_cohere_and_infinity_body(cross, client):
    scores, order = _expected(cross)
    body = {"model": "tiny-cross", "query": QUERY, "documents": DOCS, "top_n": 3, "return_documents": True}
    answer = client.post("/v1/rerank", json=body)
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["index"] for r in results] == order[:3]
    np.testing.assert_allclose([r["relevance_score"] for r in results], scores[order[:3]], atol=1e-6)
    assert [r["document"] for r in results] == [{"text": DOCS[i]} for i in order[:3]]
    cohere = {"query": QUERY, "documents": [{"text": d} for d in DOCS]}  # Cohere's document objects, no documents back
    results = client.post("/v1/rerank", json=cohere).json()["results"]
    assert [r["index"] for r in results] == order and all("document" not in r for r in results)


def test_rerank_tei_body_gets_tei_answer(cross, client):
    scores, order = _expected(cross)
    tei = {"query": QUERY, "texts": DOCS, "raw_scores": False, "return_text": True, "truncate": False}
    answer = client.post("/rerank", json=tei).json()
    assert [r["index"] for r in answer] == order
    np.testing.assert_allclose([r["score"] for r in answer], scores[order], atol=1e-6)
    assert [r["text"] for r in answer] == [DOCS[i] for i in order]
    raw = client.post("/rerank", json={**tei, "raw_scores": True}).json()
    logits = np.log(scores / (1 - scores))
    np.testing.assert_allclose([r["score"] for r in raw], logits[order], atol=1e-4)  # float32 sigmoid round trip


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"query": "q"}, 422, "give the texts to rank as `documents`"),
        ({"query": "q", "documents": ["d"], "texts": ["d"]}, 422, "one of the two"),
        ({"query": "q", "documents": ["d"], "top_n": 0}, 422, "top_n"),
        ({"query": "q", "documents": [3]}, 422, "documents"),
        ({"query": "q", "documents": [{"txt": "d"}]}, 422, r"documents\[0\] must be a string or"),
        ({"query": "", "documents": ["d"]}, 422, "query"),
        ({"query": "q", "documents": ["d"], "colour": 1}, 422, "colour"),
    ],
)
def test_bad_rerank_bodies_are_clear_4xx(client, body, status, message):
    answer = client.post("/v1/rerank", json=body)
    assert answer.status_code == status
    assert re.search(message, answer.json()["error"]["message"])


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/embed", {"texts": ["a"]}), ("/v1/embeddings", {"input": "a", "model": "m"})],
)
def test_embedding_routes_say_a_cross_model_has_none(client, path, body):
    answer = client.post(path, json=body)
    assert answer.status_code == 400
    assert "a cross-encoder has no embeddings" in answer.json()["error"]["message"]


def test_a_twin_cannot_rerank(twin):
    with TestClient(create_app(twin, name="tiny")) as c:
        answer = c.post("/v1/rerank", json={"query": "q", "documents": ["d"]})
    assert answer.status_code == 400 and "needs a cross model" in answer.json()["error"]["message"]


@pytest.mark.isa_independent
def test_a_tei_client_request_over_http(cross, tmp_path):
    """A real server (uvicorn) and a real HTTP client (httpx) posting the body TEI's clients send to /rerank."""
    try:  # the HTTP client the openai package (a dev dependency) uses: httpx, or its successor httpx2
        import httpx2 as httpx
    except ImportError:
        httpx = pytest.importorskip("httpx", reason="no httpx / httpx2 (pip install '.[dev]')")
    from test_serve_uvicorn import _free_port, _wait_healthy

    cross.save(tmp_path / "cross")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "NO_PROXY": "*"}
    cmd = [sys.executable, "-m", "textsiam.cli.main", "serve", "--model", str(tmp_path / "cross"), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        body = {"query": QUERY, "texts": DOCS, "raw_scores": False, "return_text": False, "truncate": True,
                "truncation_direction": "Right"}  # fmt: skip
        answer = httpx.post(f"{url}/rerank", json=body, timeout=60)
        cohere = httpx.post(f"{url}/v1/rerank", json={"query": QUERY, "documents": DOCS, "top_n": 2}, timeout=60)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    scores, order = _expected(cross)
    assert answer.status_code == 200 and [r["index"] for r in answer.json()] == order
    np.testing.assert_allclose([r["score"] for r in answer.json()], scores[order], atol=1e-6)
    assert [r["index"] for r in cohere.json()["results"]] == order[:2]
