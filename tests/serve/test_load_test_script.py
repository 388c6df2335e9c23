"""scripts/load_test.py, bounded and small: it starts a server, loads it, reads its memory and stops it."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers.fixtures import load_script

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install '.[serve]')")


@pytest.fixture(scope="module")
def load_test():
    return load_script("load_test")


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: HTTP status codes and the report's fields
def test_small_run_has_no_errors_and_reports_everything(load_test, twin_dir, tmp_path, capsys):
    out = tmp_path / "load.json"
    argv = ["--model", str(twin_dir), "--requests", "40", "--concurrency", "4", "--pairs-per-request", "2"]
    argv += ["--poison-fraction", "0.1"]  # 4 requests with an empty or whitespace-only text, refused alone
    code = load_test.main([*argv, "--rounds", "2", "--baseline-requests", "8", "--json", str(out)])
    result = json.loads(out.read_text())
    assert code == 0 and result["errors"] == 0 and result["completed"] == 36
    assert result["statuses"] == {"valid": {"200": 36}, "poisoned": {"422": 4}}
    assert result["valid_not_200"] == 0 and result["poisoned_not_4xx"] == 0
    assert result["sequential_requests"] == 8 and result["batching_gain"] > 0
    assert all(v > 0 for v in result["server_rss_mib"].values()) and set(result["server_rss_mib"]) == {
        "before",
        "middle",
        "after",
    }
    assert result["latency_ms"]["p99"] >= result["latency_ms"]["p50"] > 0
    printed = capsys.readouterr().out
    assert "batching gain" in printed and re.search(r"poisoned requests by status +422: 4\n", printed)


@pytest.mark.isa_independent  # HTTP status codes and the report's fields
def test_embeddings_requests_with_the_api_key(load_test, twin_dir, tmp_path):
    """--endpoint embeddings sends OpenAI-shaped requests of --texts-per-request texts; --api-key hands the key to
    the server it starts and sends it: without it every request would be a 401 and count as an error."""
    out = tmp_path / "load.json"
    argv = ["--model", str(twin_dir), "--requests", "12", "--concurrency", "3", "--endpoint", "embeddings"]
    argv += ["--texts-per-request", "5", "--api-key", "load-Test.key_42", "--rounds", "2"]
    code = load_test.main([*argv, "--baseline-requests", "0", "--json", str(out)])
    result = json.loads(out.read_text())
    assert code == 0 and result["errors"] == 0 and result["statuses"] == {"valid": {"200": 12}, "poisoned": {}}
    assert result["endpoint"] == "/v1/embeddings" and result["texts_per_request"] == 5 and result["api_key"] is True
    assert result["sequential_requests"] == 0 and "load-Test.key_42" not in out.read_text()
    texts = load_test.make_text_requests(load_test.parse_args([]).pairs, 2, 3)
    assert [len(a) for a, b in texts] == [3, 3] and all(b == [] for _, b in texts)


def test_poisoned_bodies_are_spread_and_hold_one_blank_text(load_test):
    requests = [(["a man plays", "a dog runs"], ["a guitar", "a park"])] * 100
    bodies = load_test.make_bodies(requests, 0.05)
    poisoned = [json.loads(body) for body, bad in bodies if bad]
    assert len(poisoned) == 5 and not bodies[1][1]
    assert all(sum(not t.strip() for p in b["pairs"] for t in p.values()) == 1 for b in poisoned)


@pytest.mark.parametrize(
    "argv",
    [["--url", "http://example.com:80"], ["--requests", "0"], ["--concurrency", "999"], ["--poison-fraction", "0.9"]],
)
def test_refuses_non_loopback_and_unbounded_runs(load_test, argv):
    with pytest.raises(SystemExit):
        load_test.parse_args(argv)
