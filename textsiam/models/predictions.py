"""What a pair model answers once it has a decision: match / no match, calibrated probabilities, class names.

A mixin of :class:`textsiam.models.base.PairModel`, kept apart so that the base holds towers, scores and saving;
it needs only ``pair_outputs``, ``similarity_scores``, ``classes`` and ``decision`` from the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textsiam.encoders import checks
from textsiam.errors import ConfigError, DataError, NoDecisionError


class Predictions:
    """``predict`` / ``predict_proba`` / ``predict_classes`` over the model's scores and its saved decision."""

    def predict_classes(self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64) -> list[str]:
        """The most likely class name of each pair (models with a multi-class head)."""
        if not self.classes:
            raise ConfigError(
                "this model has no multi-class head; use predict() for match / no match, or build the model with "
                "head {'name': 'pair-classifier', 'args': {'classes': [...]}}"
            )
        logits = self.pair_outputs(a, b, batch_size)
        return [self.classes[i] for i in logits.argmax(dim=-1).tolist()]

    def _require_decision(self):
        if self.decision is None:
            raise NoDecisionError(
                "this model has no fitted decision (threshold). Fit one on held-out data first: "
                "`textsiam tune-threshold --model DIR --data DEV_FILE --strategy youden`, "
                "or textsiam.tune_threshold(model, dev_pairs)"
            )
        return self.decision

    def predict(self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64) -> np.ndarray | list[str]:
        """True where the pair matches, using the saved threshold (score >= threshold); with a multi-class head,
        the class name of each pair."""
        a, b = check_pairs(a, b)
        if self.classes:
            return self.predict_classes(a, b, batch_size)
        decision = self._require_decision()
        return decision.predict(self.similarity_scores(a, b, batch_size))

    def predict_proba(self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        """Calibrated probability that each pair matches (needs a decision fitted with a calibrator)."""
        a, b = check_pairs(a, b)
        decision = self._require_decision()
        return decision.predict_proba(self.similarity_scores(a, b, batch_size))


def check_pairs(a: Sequence[Any], b: Sequence[Any]) -> tuple[list, list]:
    """Both sides as lists of equal length (see :func:`textsiam.encoders.checks.item_list`)."""
    a, b = checks.item_list(a, "left"), checks.item_list(b, "right")
    if len(a) != len(b):
        raise DataError(f"a and b must have the same length (one pair per position), got {len(a)} and {len(b)}")
    return a, b
