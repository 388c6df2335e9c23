"""Multi-class metrics and the FNC-1 score against scikit-learn and the official scorer's rules."""

from __future__ import annotations

import pytest
from sklearn.metrics import f1_score

from tests.helpers.eval_helpers import SAME_RATIO, SAME_STATISTIC
from textsiam.eval.classes import class_metrics, fnc_score


def official_score(gold, pred):
    """FakeNewsChallenge/fnc-1 scorer.py score_submission, restated."""
    related = {"agree", "disagree", "discuss"}
    score = 0.0
    for g, t in zip(gold, pred):
        if g == t:
            score += 0.25
            if g != "unrelated":
                score += 0.50
        if g in related and t in related:
            score += 0.25
    return score


GOLD = ["unrelated", "agree", "discuss", "disagree", "agree", "unrelated", "discuss"]
PRED = ["unrelated", "discuss", "discuss", "unrelated", "agree", "agree", "discuss"]


def test_fnc_score_matches_the_official_scorer():
    out = fnc_score(GOLD, PRED)
    assert out["fnc_score"] == official_score(GOLD, PRED) == 0.25 + 0.25 + 1 + 0 + 1 + 0 + 1
    assert out["fnc_max"] == official_score(GOLD, GOLD) == 5 * 1.0 + 2 * 0.25
    assert out["fnc_relative"] == pytest.approx(3.5 / 5.5, rel=SAME_RATIO)


def test_class_metrics_match_scikit_learn():
    classes = ["unrelated", "discuss", "agree", "disagree"]
    m = class_metrics(GOLD, PRED, classes)
    assert m["macro_f1"] == pytest.approx(
        f1_score(GOLD, PRED, labels=classes, average="macro", zero_division=0), rel=SAME_STATISTIC
    )
    assert m["per_class"]["discuss"] == {
        "precision": pytest.approx(2 / 3, rel=SAME_RATIO),
        "recall": 1.0,
        "f1": 0.8,
        "support": 2,
    }
    rows = m["confusion_matrix"]["rows_gold_cols_predicted"]
    assert rows[classes.index("disagree")] == [1, 0, 0, 0]  # the one disagree was called unrelated
    assert sum(map(sum, rows)) == len(GOLD)


def test_unknown_gold_class_is_an_error():
    with pytest.raises(ValueError, match=r"gold classes \['maybe'\] are not among"):
        class_metrics(["maybe"], ["agree"], ["agree", "unrelated"])
