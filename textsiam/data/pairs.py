"""The one in-memory pair dataset type every reader returns.

A :class:`PairData` wraps a Hugging Face :class:`datasets.Dataset` with columns ``"a"``, ``"b"`` and ``"label"``
(float32), plus where it came from (file path and sha256, so runs can record exactly which data they saw) and how to
read its labels (binary 0/1, graded on a known range such as STS 0..5, or none).

For text pairs ``a`` and ``b`` are strings. For image pairs (see :mod:`textsiam.data.digits`) they are flattened
float32 vectors (one list of ``height * width`` floats per image); ``np.asarray(pairs.a, dtype=np.float32)`` gives a
``(n, height * width)`` array. A file without labels has ``label_kind == "none"`` and no ``"label"`` column.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import datasets
import numpy as np

from textsiam.data.labels import label_scale
from textsiam.errors import ConfigError, DataError

LABEL_KINDS = ("binary", "graded", "none")


@dataclass
class PairData:
    """Pairs ``(a, b)`` with float labels, backed by a ``datasets.Dataset`` (columns ``a``, ``b``, ``label``)."""

    dataset: datasets.Dataset
    source: str | None = None
    sha256: str | None = None
    label_kind: str = "binary"
    label_range: tuple[float, float] = (0.0, 1.0)
    subset_of: int | None = None  # rows of the file this is a selection of (a carved dev split), None = whole file

    def __post_init__(self) -> None:
        if self.label_kind not in LABEL_KINDS:
            raise ConfigError(f"label_kind must be one of {LABEL_KINDS}, got {self.label_kind!r}")
        lo, hi = (float(x) for x in self.label_range)
        if not hi > lo:
            raise ConfigError(f"label_range must be (low, high) with high > low, got {self.label_range!r}")
        self.label_range = (lo, hi)
        missing = [c for c in ("a", "b") if c not in self.dataset.column_names]
        if self.label_kind != "none" and "label" not in self.dataset.column_names:
            missing.append("label")
        if missing:
            raise ConfigError(f"PairData needs columns {missing}; the dataset has {self.dataset.column_names}")

    def __len__(self) -> int:
        return len(self.dataset)

    # -- per-epoch pairs (the trainer's protocol; data drawn from a collection resamples, see ImagePairData) ----
    resamples: ClassVar[bool] = False
    """True when ``epoch_pairs`` draws new pairs per epoch (the trainer then prepares each epoch's items anew)."""

    def epoch_pairs(self, epoch: int, model: Any = None, in_batch: bool = False) -> PairData:
        """The training pairs of ``epoch`` (1-based): always these pairs."""
        return self

    def epoch_size(self, in_batch: bool = False) -> int:
        """Pairs per epoch."""
        return len(self)

    @property
    def positive_groups(self) -> np.ndarray | None:
        """One id per pair where pairs of one id are positives of each other (captions of one image); None when
        every pair is its own group (text pairs). A loss that ``takes_groups`` receives each batch's ids."""
        return None

    def __repr__(self) -> str:
        return (
            f"PairData(rows={len(self)}, source={self.source!r}, label_kind={self.label_kind!r}, "
            f"label_range={self.label_range})"
        )

    @property
    def a(self) -> list:
        """First items of the pairs, in order (strings, or float lists for images)."""
        return self.dataset.with_format("arrow")["a"].to_pylist()

    @property
    def b(self) -> list:
        """Second items of the pairs, in order."""
        return self.dataset.with_format("arrow")["b"].to_pylist()

    @property
    def negatives(self) -> list[list[str]] | None:
        """The extra negatives of each pair (triplet data: ``negative`` / ``negative_1..k`` columns), or None."""
        if "negatives" not in self.dataset.column_names:
            return None
        return self.dataset.with_format("arrow")["negatives"].to_pylist()

    def negatives_as_pairs(self) -> PairData:
        """These pairs plus each (a, negative) as a dissimilar pair (label at the low end of ``label_range``), for
        losses that score one pair at a time; pairs without negatives come back unchanged."""
        negatives = self.negatives
        if negatives is None:
            return self
        a = [x for x, row in zip(self.a, negatives) for _ in row]
        b = [n for row in negatives for n in row]
        return replace(self.with_pairs_added(a, b, [self.label_range[0]] * len(a)), subset_of=None)

    def with_pairs_added(self, a: Sequence[str], b: Sequence[str], labels: Sequence[float]) -> PairData:
        """These pairs (first, unchanged) followed by the text pairs ``(a[i], b[i])`` labelled ``labels[i]``, as plain
        ``a, b, label`` columns (extra per-pair columns are not carried)."""
        features = text_features()
        features["label"] = datasets.Value("float32")
        columns = {"a": self.a + list(a), "b": self.b + list(b), "label": self.labels.tolist() + list(labels)}
        return replace(self, dataset=datasets.Dataset.from_dict(columns, features=features))

    @property
    def has_labels(self) -> bool:
        return self.label_kind != "none"

    @property
    def labels(self) -> np.ndarray:
        """Raw labels as float64 (e.g. 0..5 for STS); use :meth:`scaled_labels` for [0, 1]."""
        if not self.has_labels:
            raise DataError(
                "these pairs have no labels (label_kind 'none'); pass label=<column> when reading the file "
                "or use a labelled file",
                path=self.source,
            )
        column = self.dataset.with_format("arrow")["label"]
        return np.asarray(column.to_numpy(), dtype=np.float64)

    def scaled_labels(self) -> np.ndarray:
        """Labels mapped linearly from ``label_range`` to [0, 1] (1 = most similar); a label outside the range is a
        DataError (never clipped: a 2 on a 0..1 scale is a mistake in the data, not a very similar pair)."""
        lo, hi = self.label_range
        labels = self.labels
        outside = np.flatnonzero((labels < lo) | (labels > hi))
        if outside.size:
            raise DataError(
                f"label {labels[outside[0]]:g} of pair {outside[0] + 1} lies outside label_range {lo:g}..{hi:g}; "
                "fix the label or build the pairs with a label_range that covers it",
                path=self.source,
            )
        return (labels - lo) / (hi - lo)

    def select(self, indices: Sequence[int] | np.ndarray) -> PairData:
        """A new PairData with the rows at ``indices`` (same source, sha256 and label semantics)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"indices must be in [0, {len(self)}) for {len(self)} rows, got {idx.min()}..{idx.max()}")
        idx = np.where(idx < 0, idx + len(self), idx)
        return replace(self, dataset=self.dataset.select(idx.tolist()), subset_of=self.subset_of or len(self))

    def split(self, fraction: float, seed: int = 0) -> tuple[PairData, PairData]:
        """Deterministically split into ``(rest, held_out)`` with about ``fraction`` of the rows held out.

        Binary labels are stratified (each class keeps its share in both parts), so a dev split carved from an
        unbalanced train file keeps the positive rate. Both parts keep file order.
        """
        if not 0.0 < fraction < 1.0:
            raise ConfigError(f"split fraction must be strictly between 0 and 1, got {fraction!r}")
        if "group" in self.dataset.column_names:
            held_idx = held_out_groups(self.dataset["group"], fraction, seed)
        else:
            held_idx = self._stratified_held_out(fraction, seed)
        rest_idx = np.setdiff1d(np.arange(len(self)), held_idx)
        if held_idx.size == 0 or rest_idx.size == 0:
            raise ConfigError(
                f"split fraction {fraction} of {len(self)} rows leaves an empty part "
                f"({rest_idx.size} rest, {held_idx.size} held out); use a fraction that keeps both non-empty"
            )
        return self.select(rest_idx), self.select(held_idx)

    def to_tsv(self, path: str | os.PathLike) -> None:
        """Write text pairs as ``text_a<TAB>text_b[<TAB>label]`` with a header; ``read_pairs`` reads it back."""
        from textsiam.data.writer import write_tsv

        a, b = self.a, self.b
        if a and not isinstance(a[0], str):
            raise ConfigError("to_tsv writes text pairs only; this data holds arrays (e.g. images)")
        if self.label_kind == "none":
            write_tsv(path, ["text_a", "text_b"], zip(a, b))
        else:
            write_tsv(path, ["text_a", "text_b", "label"], ((x, y, f"{v:g}") for x, y, v in zip(a, b, self.labels)))

    def to_jsonl(self, path: str | os.PathLike) -> None:
        """Write text pairs as JSON lines ``{"text_a", "text_b"[, "label"]}`` (for texts with tabs or line breaks,
        such as FNC-1 bodies, which TSV cannot hold); ``read_pairs`` reads it back."""
        import json

        from textsiam.atomic import atomic_write_text

        labels = self.labels.tolist() if self.has_labels else [None] * len(self)
        lines = (
            json.dumps({"text_a": a, "text_b": b} | ({} if y is None else {"label": y}), ensure_ascii=False)
            for a, b, y in zip(self.a, self.b, labels)
        )
        atomic_write_text(path, "".join(line + "\n" for line in lines))

    def _stratified_held_out(self, fraction: float, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        held = []
        for members in self._strata():
            n_held = int(round(fraction * len(members)))
            held.extend(rng.permutation(members)[:n_held].tolist())
        return np.sort(np.asarray(held, dtype=np.int64))

    @property
    def class_labels(self) -> list[str]:
        """The class name of each pair (e.g. the FNC-1 stance), from the ``class`` column."""
        if "class" not in self.dataset.column_names:
            raise DataError(
                "these pairs have no class column; a multi-class head needs a reader that keeps one (e.g. fnc1)",
                path=self.source,
            )
        return self.dataset.with_format("arrow")["class"].to_pylist()

    def _strata(self) -> list[np.ndarray]:
        if self.label_kind == "binary":
            labels = self.labels
            return [np.flatnonzero(labels == value) for value in (0.0, 1.0)]
        return [np.arange(len(self))]

    def fingerprint(self) -> dict:
        """What a run records about its data: ``{"file": basename, "rows": n, "sha256": ...}``, plus
        ``subset_of_rows`` when these pairs are a selection (e.g. a carved dev split) of the file's rows."""
        name = os.path.basename(self.source) if self.source else None
        info = {"file": name, "rows": len(self), "sha256": self.sha256}
        if self.subset_of is not None:
            info["subset_of_rows"] = self.subset_of
        return info


def held_out_groups(groups: Sequence[str], fraction: float, seed: int) -> np.ndarray:
    """Rows of the held-out groups: whole groups (e.g. FNC-1 bodies) go to one side, never both.

    As the FNC-1 baseline's ``generate_hold_out_split``: the distinct groups in ascending order (numeric when every
    group is an integer, as Body IDs are) are shuffled by ``random.Random(seed)``; the first ``int((1 - fraction)
    * n)`` stay, the rest are held out (seed 1489215, fraction 0.2 reproduce its hold-out bodies exactly).
    """
    distinct = sorted(set(groups), key=lambda g: (int(g), g) if g.lstrip("-").isdigit() else (0, g))
    random.Random(seed).shuffle(distinct)
    held = set(distinct[int((1.0 - fraction) * len(distinct)) :])
    return np.flatnonzero(np.fromiter((g in held for g in groups), dtype=bool, count=len(groups)))


# Helpers shared by the readers ---------------------------------------------------------------------------------


def text_features() -> datasets.Features:
    return datasets.Features({"a": datasets.Value("string"), "b": datasets.Value("string")})


def build_text_pairs(
    a: list[str],
    b: list[str],
    labels: list[float] | None,
    *,
    source: str,
    sha256: str,
    label_kind: str | None = None,
    label_range: tuple[float, float] | None = None,
    negatives: list[list[str]] | None = None,
) -> PairData:
    """Make a text PairData; the label kind and range follow :mod:`textsiam.data.labels` unless both are given.
    ``negatives`` (one list of texts per pair, the same length for every pair) become the ``negatives`` column."""
    columns: dict[str, list] = {"a": a, "b": b}
    features = text_features()
    if negatives is not None:
        columns["negatives"] = negatives
        features["negatives"] = datasets.Sequence(datasets.Value("string"))
    if labels is None:
        kind, label_range = "none", label_range or (0.0, 1.0)
    else:
        columns["label"] = labels
        features["label"] = datasets.Value("float32")
        kind = label_kind
        if kind is None or label_range is None:
            rows = range(1, len(labels) + 1)
            kind, label_range = label_scale(labels, rows, path=source, column=None, kind=kind, label_range=label_range)
    dataset = datasets.Dataset.from_dict(columns, features=features)
    return PairData(dataset, source=source, sha256=sha256, label_kind=kind, label_range=label_range)
