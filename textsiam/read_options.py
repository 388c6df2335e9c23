"""The one options object every reader gets: ``reader(path, ReadOptions(...)) -> PairData``.

The fields are declared once, here: ``read_pairs`` / ``load_data`` take them as keywords, ``fit`` as settings, and
the CLI's data-format flags are made from them (the ``help`` and ``flag`` entries of each field's metadata; a field
without ``help`` has no flag). This module sits at the ground floor so that building the CLI's flags loads no data
library. A reader declares on registration which of these options it honours (``options=`` metadata, see
:mod:`textsiam.data.reader`); :func:`~textsiam.data.reader.read_pairs` refuses the others with a ConfigError, so a
reader never has to check for options it ignores. Values are checked here, once, for every reader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from textsiam.errors import ConfigError, shown

COLUMN_OPTIONS = ("text_a", "text_b", "label", "label_range", "limit")
"""What a generic table format honours: the caller maps its columns and may fix the label scale."""
FIXED_OPTIONS = ("limit",)
"""What a benchmark format with fixed columns and a fixed label scale honours."""
ANY_READER_OPTIONS = ("keep_classes",)
"""What every reader honours: applied by ``read_pairs`` to what the reader gave (pairs with class labels)."""

DEV_SPLITS = ("group", "topic")
"""How a carved dev split is drawn (:func:`textsiam.data.stories.carve_dev`): ``group`` (whole groups, e.g. FNC-1
bodies; a stratified row split without a group column) or ``topic`` (whole stories)."""


def _option(help: str, *, train_only: bool = False, **flag: Any) -> Any:
    """A ReadOptions field (default None) with its CLI help and argparse keywords (``nargs``, ``action``...; the type
    of an int / float field comes from its annotation);
    ``train_only``: ``fit`` applies it to the training pairs, never to the dev pairs."""
    return field(default=None, metadata={"help": help, "flag": flag, "train_only": train_only})


@dataclass(frozen=True)
class ReadOptions:
    """How to read one pair file or dataset folder; None everywhere means "detect" or "everything".

    ``text_a`` / ``text_b`` / ``label`` name columns (generic tables); ``limit`` keeps the first rows;
    ``label_range`` declares graded labels on that scale (every label must lie inside it); ``split`` picks the part
    of a dataset folder (e.g. ``train`` / ``test``) for folder formats; ``bodies`` is the file an FNC-1 stances
    file joins with; ``keep_classes`` keeps the pairs of those classes only (any reader whose pairs have classes).
    Image formats (:mod:`textsiam.data.images`) also take ``pairs`` (balanced pairs to draw from labelled images),
    ``seed`` (pair sampling), ``skip_bad_rows`` (drop and count missing or corrupt images) and ``hard_negatives``.
    """

    text_a: str | None = _option("column holding the left text (default: detected, e.g. sentence1)")
    text_b: str | None = _option("column holding the right text (default: detected, e.g. sentence2)")
    label: str | None = _option("column holding the label (default: detected, e.g. label, score)")
    limit: int | None = _option("read only the first N pairs (default: all)")
    label_range: tuple[float, float] | None = _option(
        "graded labels on this scale, e.g. 1 5 for ratings (default: 0/1 labels are binary; see README)",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
    )
    split: str | None = _option(
        "part of a dataset folder: mnist train|test, coco train2017|val2017 (default: train, val2017)"
    )
    pairs: int | None = _option("labelled images: balanced pairs to draw (default: 2 per image)")
    seed: int | None = None  # pair sampling; no flag of its own: fit passes its seed, load_data its ``seed``
    skip_bad_rows: bool | None = _option(
        "skip missing/corrupt images, count them (default: error)", action="store_true"
    )
    hard_negatives: bool | None = _option(
        "labelled images, train: each epoch's negatives are the nearest wrong-class images (default: random)",
        action="store_true",
        train_only=True,  # dev pairs are never mined
    )
    bodies: str | None = _option(
        "FNC-1: the *_bodies.csv of a *_stances.csv file (default: the one beside it)"
    )  # FNC-1: the bodies file of a stances file
    keep_classes: tuple[str, ...] | None = _option(
        "keep only the pairs of these classes, e.g. discuss agree disagree for a model of the related FNC-1 "
        "stances (default: all)",
        nargs="+",
        metavar="CLASS",
    )

    def __post_init__(self) -> None:
        for name in ("text_a", "text_b", "label", "split", "bodies"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"{name} must be a non-empty string (a column or split name), got {shown(value)}")
        limit = self.limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"limit must be a positive integer or None (read everything), got {shown(limit)}")
        if self.label_range is not None:
            object.__setattr__(self, "label_range", _check_range(self.label_range))
        pairs = self.pairs
        if pairs is not None and (isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 2):
            raise ConfigError(f"pairs must be an integer >= 2 (--pairs), got {shown(pairs)}")
        if self.keep_classes is not None:
            kept = self.keep_classes
            if isinstance(kept, str) or not kept or not all(isinstance(c, str) and c for c in kept):
                raise ConfigError(f"keep_classes must be a list of class names, e.g. ['agree'], got {shown(kept)}")
            object.__setattr__(self, "keep_classes", tuple(kept))
        for name in ("skip_bad_rows", "hard_negatives"):
            if getattr(self, name) not in (None, True, False):
                raise ConfigError(f"{name} must be true or false, got {shown(getattr(self, name))}")

    @classmethod
    def flag_fields(cls) -> list[Any]:
        """The fields the CLI has a flag for, in declaration order (the order ``--help`` lists them)."""
        return [f for f in fields(cls) if "help" in f.metadata]

    def given(self) -> list[str]:
        """Names of the options that are set (not None)."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


def _check_range(value: object) -> tuple[float, float]:
    fix = "pass label_range=(low, high) with finite numbers and low < high, e.g. (0, 5) for STS scores"
    try:
        lo, hi = (float(x) for x in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ConfigError(f"label_range {shown(value)} is not two numbers; {fix}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"label_range {shown(value)} is not a valid range; {fix}")
    return (lo, hi)
