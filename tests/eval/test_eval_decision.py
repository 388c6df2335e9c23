"""Decision: JSON round trip, atomic write, predictions, clear errors, held-out metrics from fit_decision."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from textsiam.errors import DataError, NoDecisionError
from textsiam.eval.decision import Decision, fit_decision


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    return np.tanh(labels * 0.8 + rng.normal(scale=0.5, size=n)), labels


@pytest.mark.parametrize("calibrate", [None, "platt", "isotonic"])
def test_round_trip_and_predictions(tmp_path, calibrate):
    scores, labels = _data()
    decision = fit_decision(scores, labels, "max-f1", calibrate=calibrate, data={"file": "dev.tsv", "rows": 300})
    path = decision.to_json(tmp_path / "model" / "decision.json")
    loaded = Decision.from_json(path)
    assert loaded == decision
    assert np.array_equal(loaded.predict(scores), scores >= decision.threshold)
    assert [p.name for p in path.parent.iterdir()] == ["decision.json"]  # no temp file left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    if calibrate is None:
        with pytest.raises(NoDecisionError, match="--calibrate platt"):
            loaded.predict_proba(scores)
    else:
        probs = loaded.predict_proba(scores)
        assert np.array_equal(probs, decision.predict_proba(scores))
        assert np.all((probs >= 0) & (probs <= 1))
        assert {"brier", "ece"} <= set(decision.metrics)


def test_fit_decision_stores_heldout_and_in_sample_metrics():
    scores, labels = _data(seed=1)
    decision = fit_decision(scores, labels, "tpr-at-fpr", target=0.1, score_name="euclidean")
    assert decision.metrics["evaluation"] == "5-fold cv"
    assert decision.metrics["in_sample"]["fpr"] <= 0.1
    assert decision.target == 0.1 and decision.score == "euclidean"
    assert decision.metrics["in_sample"]["accuracy"] == np.mean((scores >= decision.threshold) == labels)


def test_fit_decision_too_small_for_cv_is_in_sample():
    decision = fit_decision([0.9, 0.2, 0.3, 0.1], [1, 0, 0, 0], "youden")
    assert decision.metrics["evaluation"] == "in-sample"
    assert decision.metrics["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"strategy": "youden"}), "threshold"),
        (json.dumps({"strategy": "youden", "threshold": 0.5, "thershold": 1}), "unknown decision keys"),
        (json.dumps({"strategy": "youden", "threshold": "high"}), "finite number"),
        (
            json.dumps({"strategy": "youden", "threshold": 0.5, "calibrator": {"name": "beta", "params": {}}}),
            "calibrator",
        ),
    ],
)
def test_bad_decision_file_names_the_file(tmp_path, content, match):
    path = tmp_path / "decision.json"
    path.write_text(content)
    with pytest.raises(DataError, match=match) as info:
        Decision.from_json(path)
    assert str(path) in str(info.value)
