"""Evaluation: metrics, threshold selection, calibration, saved decisions and HTML reports.

Depends on numpy, scipy, scikit-learn and matplotlib only; nothing here imports torch or textsiam.models.
Threshold strategies and calibrators register in ``textsiam.registry.STRATEGIES`` / ``CALIBRATORS`` (re-exported
here). Scores are "higher = more similar" throughout (distances are negated before they reach this package).
"""

from __future__ import annotations

from textsiam.eval.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    brier_score,
    build_calibrator,
    calibrator_from_dict,
    expected_calibration_error,
    reliability_curve,
)
from textsiam.eval.decision import Decision, fit_decision
from textsiam.eval.metrics import binary_metrics, confusion_at, graded_metrics
from textsiam.eval.report import write_report
from textsiam.eval.strategies import ThresholdStrategy
from textsiam.eval.threshold import (
    CVThresholdResult,
    ThresholdResult,
    bootstrap_ci,
    select_threshold,
    select_threshold_cv,
    threshold_candidates,
)
from textsiam.eval.train_log import read_train_log
from textsiam.registry import CALIBRATORS, STRATEGIES, import_submodules

__all__ = [
    "CALIBRATORS",
    "STRATEGIES",
    "CVThresholdResult",
    "Decision",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "ThresholdResult",
    "ThresholdStrategy",
    "binary_metrics",
    "bootstrap_ci",
    "brier_score",
    "build_calibrator",
    "calibrator_from_dict",
    "confusion_at",
    "expected_calibration_error",
    "fit_decision",
    "graded_metrics",
    "read_train_log",
    "reliability_curve",
    "select_threshold",
    "select_threshold_cv",
    "threshold_candidates",
    "write_report",
]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
