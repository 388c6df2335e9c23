"""Threshold selection: exactness of reported metrics, agreement with scikit-learn and brute force, tie handling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from tests.helpers.eval_helpers import SAME_RATIO, brute_force_candidates, rates, tied_pairs
from textsiam.eval.metrics import confusion_at
from textsiam.eval.threshold import (
    STRATEGIES,
    bootstrap_ci,
    select_threshold,
    select_threshold_cv,
    threshold_candidates,
)

TARGETS = {"tpr-at-fpr": 0.2, "precision-at-recall": 0.7}
FAST = settings(max_examples=60, deadline=None)


def _select(scores, labels, strategy):
    return select_threshold(scores, labels, strategy, TARGETS.get(strategy))


@FAST
@given(tied_pairs(), st.sampled_from(STRATEGIES.names()))
def test_applying_threshold_reproduces_metrics_and_sklearn(pair, strategy):
    scores, labels = pair
    res = _select(scores, labels, strategy)
    pred = scores >= res.threshold
    assert confusion_at(scores, labels, res.threshold) == {k: v for k, v in res.metrics.items() if k != "eer"}
    assert res.metrics["accuracy"] == pytest.approx(accuracy_score(labels, pred), abs=SAME_RATIO)
    assert res.metrics["f1"] == pytest.approx(f1_score(labels, pred, zero_division=0), abs=SAME_RATIO)
    assert res.metrics["precision"] == pytest.approx(precision_score(labels, pred, zero_division=0), abs=SAME_RATIO)
    assert res.metrics["recall"] == pytest.approx(recall_score(labels, pred, zero_division=0), abs=SAME_RATIO)
    assert res.metrics["fpr"] == pytest.approx(np.mean(pred[labels == 0]), abs=SAME_RATIO)


@FAST
@given(tied_pairs(), st.sampled_from(STRATEGIES.names()), st.randoms(use_true_random=False))
def test_invariant_to_input_order(pair, strategy, rnd):
    scores, labels = pair
    perm = np.arange(len(scores))
    rnd.shuffle(perm)
    assert _select(scores, labels, strategy) == _select(scores[perm], labels[perm], strategy)


@FAST
@given(tied_pairs())
def test_optimising_strategies_match_brute_force(pair):
    scores, labels = pair
    table = [rates(scores, labels, t) for t in brute_force_candidates(scores)]
    best = {
        "max-accuracy": max(r["accuracy"] for r in table),
        "max-f1": max(r["f1"] for r in table),
        "youden": max(r["tpr"] - r["fpr"] for r in table),
    }
    got = {s: _select(scores, labels, s).metrics for s in best}
    assert got["max-accuracy"]["accuracy"] == pytest.approx(best["max-accuracy"], abs=SAME_RATIO)
    assert got["max-f1"]["f1"] == pytest.approx(best["max-f1"], abs=SAME_RATIO)
    assert got["youden"]["tpr"] - got["youden"]["fpr"] == pytest.approx(best["youden"], abs=SAME_RATIO)


@FAST
@given(tied_pairs())
def test_eer_point_has_minimal_gap(pair):
    scores, labels = pair
    res = _select(scores, labels, "eer")
    gaps = [abs(r["fpr"] - (1 - r["tpr"])) for r in (rates(scores, labels, t) for t in brute_force_candidates(scores))]
    assert abs(res.metrics["fpr"] - (1 - res.metrics["tpr"])) == pytest.approx(min(gaps), abs=SAME_RATIO)
    assert res.metrics["eer"] == pytest.approx((res.metrics["fpr"] + 1 - res.metrics["tpr"]) / 2, rel=SAME_RATIO)


@FAST
@given(tied_pairs(), st.floats(0, 1))
def test_tpr_at_fpr_respects_target_and_is_best(pair, target):
    scores, labels = pair
    res = select_threshold(scores, labels, "tpr-at-fpr", target)
    assert res.metrics["fpr"] <= target
    allowed = [
        r["tpr"] for r in (rates(scores, labels, t) for t in brute_force_candidates(scores)) if r["fpr"] <= target
    ]
    assert res.metrics["tpr"] == pytest.approx(max(allowed), abs=SAME_RATIO)


@FAST
@given(tied_pairs(), st.floats(0, 1))
def test_precision_at_recall_respects_target_and_is_best(pair, target):
    scores, labels = pair
    res = select_threshold(scores, labels, "precision-at-recall", target)
    assert res.metrics["recall"] >= target
    table = [rates(scores, labels, t) for t in brute_force_candidates(scores)]
    assert res.metrics["precision"] == pytest.approx(
        max(r["precision"] for r in table if r["tpr"] >= target), rel=SAME_RATIO
    )


@FAST
@given(st.lists(st.integers(-5, 5), min_size=2, max_size=30), st.data())
def test_threshold_never_equals_a_score(ints, data):
    scores = np.asarray(ints, dtype=np.float64) / 4
    labels = np.asarray(data.draw(st.lists(st.integers(0, 1), min_size=len(ints), max_size=len(ints))), float)
    if 0 < labels.sum() < len(labels):
        for strategy in STRATEGIES:
            assert _select(scores, labels, strategy).threshold not in set(scores.tolist())


def test_tie_trap_reports_achievable_accuracy():
    scores, labels = [0.9, 0.8, 0.8, 0.1], [1, 1, 0, 0]
    res = select_threshold(scores, labels, "max-accuracy")
    assert res.metrics["accuracy"] == 0.75
    assert np.mean((np.asarray(scores) >= res.threshold) == np.asarray(labels)) == 0.75
    assert res.threshold == pytest.approx(0.85, rel=SAME_RATIO)  # tie between 0.85 and 0.45: the higher (documented)


def test_tie_break_takes_middle_of_plateau():
    # accuracy is 1.0 for every threshold in the wide gap between 0.2 and 0.8 only: single candidate 0.5
    assert select_threshold([0.8, 0.9, 0.1, 0.2], [1, 1, 0, 0], "max-accuracy").threshold == pytest.approx(
        0.5, rel=SAME_RATIO
    )
    # three tied candidates (thresholds 0.85, 0.65 and 0.45 all give accuracy 0.75): the middle one
    scores, labels = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2], [1, 0, 1, 0, 1, 0, 0, 0]
    res = select_threshold(scores[::-1], labels[::-1], "max-accuracy")
    assert res.metrics["accuracy"] == 0.75
    assert res.threshold == pytest.approx(0.65, rel=SAME_RATIO)


def test_candidates_match_sklearn_roc_without_dropping():
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(0)
    scores, labels = np.round(rng.normal(size=300), 1), rng.integers(0, 2, 300)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    c = threshold_candidates(scores, labels)
    np.testing.assert_allclose(c["fpr"], fpr, rtol=SAME_RATIO)  # counts / class size, divided the same way
    np.testing.assert_allclose(c["tpr"], tpr, rtol=SAME_RATIO)
    assert np.all(np.diff(c["threshold"]) < 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "best"}, "unknown strategy 'best'.*Valid strategies: eer, max-accuracy, max-f1"),
        ({"strategy": "yuoden"}, "Did you mean 'youden'"),
        ({"strategy": "tpr-at-fpr"}, "needs target"),
        ({"strategy": "precision-at-recall", "target": 1.5}, r"\[0, 1\]"),
        ({"strategy": "youden", "target": 0.1}, "takes no target"),
    ],
)
def test_bad_strategy_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        select_threshold([0.1, 0.9], [0, 1], **kwargs)


@pytest.mark.parametrize(
    ("scores", "labels", "match"),
    [
        ([0.1, 0.9], [1, 1], "both classes"),
        ([0.1, float("nan")], [0, 1], r"scores\[1\] = nan"),
        ([0.1, 0.2, 0.3], [0, 1], "same length"),
        ([0.1, 0.2], [0, 0.5], "0 or 1"),
    ],
)
def test_bad_data(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        select_threshold(scores, labels)


def test_cv_holds_out_and_reports_mean():
    rng = np.random.default_rng(1)
    scores, labels = rng.normal(size=200), rng.integers(0, 2, 200)  # pure noise: tuning in-sample overfits
    cv = select_threshold_cv(scores, labels, "max-accuracy", k=5, seed=0)
    full = select_threshold(scores, labels, "max-accuracy")
    assert cv.threshold == full.threshold
    assert len(cv.fold_thresholds) == 5
    assert cv.metrics["accuracy"] == pytest.approx(np.mean([m["accuracy"] for m in cv.fold_metrics]), rel=SAME_RATIO)
    assert sum(m["n"] for m in cv.fold_metrics) == 200
    assert cv.metrics["accuracy"] < full.metrics["accuracy"]
    with pytest.raises(ValueError, match="lower k"):
        select_threshold_cv([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], k=3)


def test_bootstrap_intervals():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 300)
    scores = labels + rng.normal(scale=0.8, size=300)
    out = bootstrap_ci(scores, labels, "eer", n_boot=60, seed=3)
    assert out == bootstrap_ci(scores, labels, "eer", n_boot=60, seed=3)
    assert set(out["intervals"]) >= {"threshold", "accuracy", "f1", "tpr", "fpr", "eer"}
    for low, high in out["intervals"].values():
        assert low <= high
    low, high = out["intervals"]["threshold"]
    assert low < out["estimate"]["threshold"] < high
    assert high - low < 1.0


def test_target_just_below_one_is_not_rounded_up():
    res = select_threshold([0.0, 0.0, 0.0, 0.0], [0, 0, 0, 1], "tpr-at-fpr", float(np.nextafter(1.0, 0.0)))
    assert res.metrics["fpr"] == 0.0 and res.metrics["tpr"] == 0.0
