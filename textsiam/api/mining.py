"""``mine_negatives``: hard negatives for the positive pairs of a data set, mined from a corpus with a model and
written as a triplet table that training reads (:mod:`textsiam.index.mining` does the mining)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textsiam.api.common import built_model, check_batch_size, device_of, pair_data
from textsiam.data import PairData
from textsiam.models.base import PairModel


def mine_negatives(
    model: PairModel | str | Path,
    data: PairData | str | Path,
    corpus: str | os.PathLike | Sequence[str],
    out: str | os.PathLike | None = None,
    *,
    negatives: int = 1,
    min_rank: int = 1,
    max_rank: int = 30,
    margin: float | None = None,
    max_ratio: float | None = None,
    sampling: str = "top",
    seed: int = 0,
    index_type: str = "exact",
    batch_size: int = 64,
    chunk_size: int = 1024,
    device: str | None = None,
    show_progress: bool = False,
    **read: Any,
) -> dict[str, Any]:
    """Mine ``negatives`` hard negatives per positive pair of ``data`` (a PairData, or what ``load_data`` reads
    with the reading keywords ``read``) from ``corpus`` (a text file or a list of texts) with ``model`` (an object,
    or a preset / folder / name) on ``device``.

    The settings, the batch size and the device are checked before any model is built or data read. Writes the
    triplets to ``out`` (TSV: ``anchor, positive, negative`` or ``negative_1..k``) when given; returns ``{"anchors",
    "written", "skipped", "filtered", "settings"}`` plus ``"triplets"`` (``(anchor, positive, [negatives])`` rows)
    without ``out``. The filters and their order: :mod:`textsiam.index.mining`."""
    from textsiam.index import mining

    mining.check_settings(negatives, min_rank, max_rank, margin, max_ratio, sampling, chunk_size)
    check_batch_size(batch_size)
    target = device_of(device)
    built = built_model(model, target)
    if not isinstance(model, PairModel):  # loaded here: inference mode (a given model stays as it is)
        built.eval()
    return mining.mine_negatives(
        built, pair_data(data, read), corpus, out, negatives=negatives, min_rank=min_rank, max_rank=max_rank,
        margin=margin, max_ratio=max_ratio, sampling=sampling, seed=seed, index_type=index_type,
        batch_size=batch_size, chunk_size=chunk_size, show_progress=show_progress,
    )  # fmt: skip
