"""Metrics agree with scipy / scikit-learn and reject bad input with a message that says what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from tests.helpers.eval_helpers import SAME_STATISTIC, tied_pairs
from textsiam.eval.metrics import binary_metrics, graded_metrics


@settings(max_examples=40, deadline=None)
@given(tied_pairs(), st.floats(-60, 60))
def test_binary_metrics_match_sklearn(pair, threshold):
    scores, labels = pair
    m = binary_metrics(scores, labels, threshold)
    pred = scores >= threshold
    assert m["roc_auc"] == pytest.approx(roc_auc_score(labels, scores), rel=SAME_STATISTIC)
    assert m["average_precision"] == pytest.approx(average_precision_score(labels, scores), rel=SAME_STATISTIC)
    assert m["f1"] == pytest.approx(f1_score(labels, pred, zero_division=0), rel=SAME_STATISTIC)
    assert m["tp"] + m["fp"] == int(pred.sum()) and m["tp"] + m["fn"] == int(labels.sum())
    assert m["n"] == len(scores) and m["threshold"] == threshold


def test_binary_metrics_without_threshold_has_only_ranking_metrics():
    assert set(binary_metrics([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])) == {"n", "roc_auc", "average_precision"}


def test_graded_metrics_match_scipy():
    rng = np.random.default_rng(0)
    gold = rng.uniform(0, 5, 100)
    scores = np.tanh(gold / 5 + rng.normal(scale=0.3, size=100))
    m = graded_metrics(scores, gold)
    assert m == {
        "n": 100,
        "spearman": pytest.approx(stats.spearmanr(scores, gold).statistic, rel=SAME_STATISTIC),
        "pearson": pytest.approx(stats.pearsonr(scores, gold).statistic, rel=SAME_STATISTIC),
    }


def test_graded_constant_input_is_nan_not_error():
    assert np.isnan(graded_metrics([0.5, 0.5, 0.5], [1, 2, 3])["spearman"])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: graded_metrics([0.1, 0.2], [1, 2, 3]), "same length"),
        (lambda: graded_metrics([0.1, np.nan], [1, 2]), r"scores\[1\] = nan"),
        (lambda: binary_metrics([0.1, 0.2], [1, 1]), "all 2 labels are positive"),
        (lambda: binary_metrics([0.1, 0.2], [0, 0]), "both classes"),
        (lambda: binary_metrics([0.1, np.inf], [0, 1]), "finite"),
        (lambda: binary_metrics([[0.1, 0.2]], [0, 1]), "1-D"),
    ],
)
def test_bad_input_is_explained(call, match):
    with pytest.raises(ValueError, match=match):
        call()
