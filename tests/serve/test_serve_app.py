"""The service's answers equal the Python API's: scores, decisions, embeddings per tower, exact search."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install '.[serve]')")
from conftest import TEXTS  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from tests.helpers.fixtures import BATCHED
from textsiam.errors import ConfigError  # noqa: E402
from textsiam.eval.decision import fit_decision  # noqa: E402
from textsiam.index.store import load_index  # noqa: E402
from textsiam.serve import create_app  # noqa: E402

A, B = TEXTS[:4], TEXTS[4:]


def _pairs(a, b):
    return {"pairs": [{"a": x, "b": y} for x, y in zip(a, b)]}


@pytest.fixture
def serve():
    def _client(model, **kw):
        return TestClient(create_app(model, name="tiny", **kw))

    return _client


def test_similarity_equals_the_python_scores(twin, serve):
    with serve(twin) as c:
        scores = c.post("/v1/similarity", json=_pairs(A, B)).json()["scores"]
    expected = twin.similarity_scores(A, B)
    # the service batches requests its own way: BATCHED (helpers/fixtures.py); distinct pairs, distinct scores
    assert np.allclose(scores, expected, atol=BATCHED) and np.ptp(expected) > 1e-3


def test_pseudo_siamese_routes_a_left_and_b_right(pseudo, serve):
    with serve(pseudo) as c:
        scores = c.post("/v1/similarity", json=_pairs(A, B)).json()["scores"]
        left = c.post("/v1/embed", json={"texts": A, "side": "left"}).json()["embeddings"]
        right = c.post("/v1/embed", json={"texts": A, "side": "right"}).json()["embeddings"]
    assert np.allclose(scores, pseudo.similarity_scores(A, B), atol=BATCHED)
    assert not np.allclose(scores, pseudo.similarity_scores(B, A), atol=1e-3)  # the towers differ: order matters
    assert np.allclose(left, pseudo.encode(A, "left"), atol=BATCHED)
    assert np.allclose(right, pseudo.encode(A, "right"), atol=BATCHED)
    assert not np.allclose(left, right, atol=1e-3)  # the other tower: O(0.1) apart


@pytest.mark.parametrize("calibrate", ["platt", None])
def test_match_uses_the_decision_and_gives_probability_only_when_calibrated(twin, serve, calibrate):
    scores = twin.similarity_scores(TEXTS, TEXTS[::-1])
    decision = fit_decision(scores, [1, 0, 1, 0, 1, 0, 1, 0], "youden", calibrate=calibrate, cv=2)
    twin.decision = decision
    try:
        with serve(twin) as c:
            body = c.post("/v1/match", json=_pairs(A, B)).json()
    finally:
        twin.decision = None
    expected = twin.similarity_scores(A, B)
    assert body["threshold"] == decision.threshold
    assert [r["match"] for r in body["results"]] == decision.predict(expected).tolist()
    probs = [r["probability"] for r in body["results"]]
    if calibrate:
        # a monotone map of scores that agree within BATCHED: 1e-4 allows the calibrator a slope up to 10
        assert np.allclose(probs, decision.predict_proba(expected), atol=1e-4)
    else:
        assert probs == [None] * len(A)


def test_openai_embeddings_shape_float_and_base64(twin, serve):
    with serve(twin) as c:
        plain = c.post("/v1/embeddings", json={"input": A, "model": "anything"}).json()
        packed = c.post("/v1/embeddings", json={"input": A, "model": "m", "encoding_format": "base64"}).json()
        single = c.post("/v1/embeddings", json={"input": A[0], "model": "m", "user": "u", "extra": 1}).json()
    expected = twin.encode(A, "left").numpy()
    assert plain["object"] == "list" and plain["model"] == "tiny"
    assert [d["index"] for d in plain["data"]] == list(range(len(A))) and plain["data"][0]["object"] == "embedding"
    assert np.allclose([d["embedding"] for d in plain["data"]], expected, atol=BATCHED)
    decoded = [np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in packed["data"]]
    assert np.allclose(decoded, expected, atol=BATCHED)
    assert np.allclose(single["data"][0]["embedding"], expected[0], atol=BATCHED) and len(single["data"]) == 1
    tokens = int(twin.left.collate(A)["attention_mask"].sum())
    assert plain["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}


def test_search_is_exact_top_k_over_the_index(twin, index_dir, serve):
    with serve(twin, index=load_index(index_dir)) as c:
        results = c.post("/v1/search", json={"queries": TEXTS[:3], "k": 3}).json()["results"]
    docs = twin.encode(TEXTS, "right").numpy()
    queries = twin.encode(TEXTS[:3], "left").numpy()
    cos = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (docs / np.linalg.norm(docs, axis=1)[:, None]).T
    for row, hits in zip(cos, results):
        best = np.argsort(-row)[:3]
        assert [h["id"] for h in hits] == [f"doc{i}" for i in best]
        assert np.allclose([h["score"] for h in hits], row[best], atol=BATCHED)
    assert [hits[0]["id"] for hits in results] == ["doc0", "doc1", "doc2"]  # each text finds itself first


def test_index_of_another_size_or_a_head_model_is_refused(twin, index_dir, tmp_path):
    from conftest import write_index

    wrong = load_index(write_index(tmp_path / "wrong", np.ones((2, 7)), ["x", "y"]))
    with pytest.raises(ConfigError, match="7-dim vectors but the model makes 32-dim"):
        create_app(twin, index=wrong)


def test_a_model_of_image_towers_is_refused():
    from textsiam.models import create_model

    with pytest.raises(ConfigError, match="takes text models; this model's left tower refuses text"):
        create_app(create_model("digits-mlp-twin"))


def test_model_info_health_and_openapi(twin, index_dir, serve):
    with serve(twin, index=load_index(index_dir)) as c:
        info = c.get("/v1/model").json()
        c.post("/v1/similarity", json=_pairs(A, B))
        health = c.get("/healthz").json()
        schema = c.get("/openapi.json").json()
    assert info["pair_model"] == "twin" and info["shared_tower"] and info["embedding_dim"] == 32
    assert info["towers"]["left"]["name"] == "hf-transformer" and info["decision"] is None and info["preset"] is None
    assert info["index"]["count"] == len(TEXTS) and info["index"]["query_side"] == "left"
    assert health["status"] == "ok" and health["requests"] >= 1
    paths = {"/v1/similarity", "/v1/match", "/v1/embed", "/v1/embeddings", "/v1/search", "/v1/model", "/healthz"}
    assert paths <= set(schema["paths"]) and "PairsRequest" in schema["components"]["schemas"]
