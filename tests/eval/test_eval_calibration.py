"""Calibrators: JSON round trip without pickle, monotonicity, recovery of known parameters; ECE and Brier."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss

from tests.helpers.eval_helpers import SAME_RATIO, SAME_STATISTIC
from textsiam.eval.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    brier_score,
    build_calibrator,
    calibrator_from_dict,
    expected_calibration_error,
    reliability_curve,
)


def _noisy(n=400, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    return labels * 0.6 + rng.normal(scale=0.4, size=n), labels


@pytest.mark.parametrize("name", ["platt", "isotonic"])
def test_json_round_trip_gives_identical_probabilities(name):
    scores, labels = _noisy()
    cal = build_calibrator(name).fit(scores, labels)
    rebuilt = calibrator_from_dict(json.loads(json.dumps(cal.to_dict())))
    probe = np.linspace(-3, 3, 101)  # includes scores outside the fitted range
    assert np.array_equal(cal.predict_proba(probe), rebuilt.predict_proba(probe))
    assert type(rebuilt) is type(cal)


def test_isotonic_interp_equals_sklearn():
    scores, labels = _noisy(seed=1)
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, labels)
    probe = np.linspace(scores.min() - 1, scores.max() + 1, 257)
    np.testing.assert_allclose(
        IsotonicCalibrator().fit(scores, labels).predict_proba(probe), ref.predict(probe), atol=SAME_RATIO
    )  # the same pooled means and the same linear interpolation in float64


def test_platt_is_monotone_and_finite_on_separable_data():
    scores = np.r_[np.linspace(-1, -0.2, 20), np.linspace(0.2, 1, 20)]
    labels = np.r_[np.zeros(20), np.ones(20)]
    cal = PlattCalibrator().fit(scores, labels)
    probs = cal.predict_proba(np.sort(scores))
    assert np.isfinite(cal.a_) and cal.a_ > 0
    assert np.all(np.diff(probs) >= 0) and probs[0] < 0.1 and probs[-1] > 0.9


def test_platt_recovers_known_sigmoid():
    rng = np.random.default_rng(3)
    scores = rng.uniform(-2, 2, 20000)
    labels = rng.random(20000) < 1 / (1 + np.exp(-(3.0 * scores - 1.0)))
    cal = PlattCalibrator().fit(scores, labels.astype(float))
    # a maximum-likelihood fit to 20000 Bernoulli draws: standard errors 0.043 (a) and 0.028 (b), so these are
    # 7 and 5 standard errors of sampling noise (seeded; numpy only, so no torch CPU kernels)
    assert cal.a_ == pytest.approx(3.0, rel=0.1)
    assert cal.b_ == pytest.approx(-1.0, abs=0.15)


def test_ece_small_when_calibrated_large_when_not():
    rng = np.random.default_rng(4)
    probs = rng.random(20000)
    labels = (rng.random(20000) < probs).astype(float)
    assert expected_calibration_error(probs, labels) < 0.02
    overconfident = np.where(probs > 0.5, 0.99, 0.01)
    coin = (rng.random(20000) < 0.5).astype(float)
    assert expected_calibration_error(overconfident, coin) > 0.4


def test_brier_matches_sklearn_and_reliability_bins():
    rng = np.random.default_rng(5)
    probs, labels = rng.random(500), rng.integers(0, 2, 500)
    assert brier_score(probs, labels) == pytest.approx(brier_score_loss(labels, probs), rel=SAME_STATISTIC)
    curve = reliability_curve(np.r_[probs, 1.0, 0.0], np.r_[labels, 1, 0], n_bins=10)
    assert curve["count"].sum() == 502 and len(curve["bin_edges"]) == 11
    assert curve["mean_predicted"][-1] <= 1.0 and np.all(np.diff(curve["mean_predicted"]) > 0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: build_calibrator("beta"), "unknown calibrator 'beta'.*Valid calibrators: isotonic, platt"),
        (lambda: calibrator_from_dict({"name": "platt", "params": {"a": 1.0}}), "lack"),
        (
            lambda: IsotonicCalibrator.from_dict(
                {"name": "isotonic", "params": {"x_thresholds": [1, 0], "y_thresholds": [0, 1]}}
            ),
            "strictly increasing",
        ),
        (lambda: PlattCalibrator().predict_proba([0.1]), "not fitted"),
        (lambda: PlattCalibrator().fit([0.1, 0.2], [1, 1]), "both classes"),
        (lambda: brier_score([1.2], [1]), r"\[0, 1\]"),
    ],
)
def test_bad_calibration_input(call, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        call()
