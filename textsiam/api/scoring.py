"""Scores of pairs: ``score_pairs`` (a model and two lists), ``score_texts`` (the columns of ``textsiam score``),
``score_file`` (a pair file in, a TSV with the input's columns and the scores out)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.api.common import built_model, check_batch_size, device_of, pair_data
from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.eval.decision import Decision
from textsiam.models.base import PairModel


def score_pairs(model: PairModel, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, **kw: Any) -> np.ndarray:
    """Similarity score of each pair (higher = more similar)."""
    check_batch_size(batch_size)
    return model.similarity_scores(a, b, batch_size=batch_size, **kw)


def score_file(
    model: PairModel | str | Path,
    pairs: PairData | str | Path,
    out: str | Path | None = None,
    batch_size: int = 64,
    show_progress: bool = False,
    *,
    device: str | None = None,
    quantize: str | None = None,
    dtype: str = "fp32",
    compile: bool = False,
    **read: Any,
) -> int:
    """Score every pair of a file and write a TSV (to ``out``, or standard output when None) with the input's
    columns followed by ``score`` and, when the model carries a decision, ``match`` (true/false) and
    ``probability`` (when calibrated). An output name already used by an input column gets a ``textsiam_``
    prefix. Returns the number of pairs written."""
    from textsiam.data.writer import write_tsv

    check_batch_size(batch_size)
    _check_not_the_input(out, pairs)
    target = device_of(device)
    data = pair_data(pairs, read)
    model = built_model(model, target, quantize, dtype, compile)
    a, b = data.a, data.b  # each property access rebuilds the column: read once
    scores = score_pairs(model, a, b, batch_size=batch_size, show_progress=show_progress)
    header, rows = _input_columns(pairs, data, a, b, read)
    new = decision_columns(model.decision, scores)
    names = [n if n not in header else f"textsiam_{n}" for n in new]
    write_tsv(out, header + names, ([*row, *extra] for row, extra in zip(rows, zip(*new.values()))))
    return len(data)


def _check_not_the_input(out: str | Path | None, pairs: Any) -> None:
    """A ConfigError when ``out`` names the pairs file itself: writing the scores would replace the input."""
    if out is None or isinstance(pairs, PairData) or not Path(str(pairs)).is_file() or not Path(out).exists():
        return
    if Path(out).resolve() == Path(str(pairs)).resolve() or Path(out).samefile(str(pairs)):
        raise ConfigError(
            f"--out {out} is the --pairs file itself: writing the scores there would replace the pairs being "
            "scored; choose another --out (the output holds the input's columns plus the scores)"
        )


def _input_columns(source: Any, data: PairData, a: list, b: list, read: dict[str, Any]) -> tuple[list, list]:
    """Every column of a generic pair file, else text_a, text_b (and label)."""
    from textsiam.data import detect_format
    from textsiam.data.table import TABLE_FORMATS, read_table

    if not isinstance(source, PairData) and Path(str(source)).is_file():
        fmt = read.get("format") or detect_format(source)
        if fmt in TABLE_FORMATS:
            return read_table(source, fmt, limit=len(data))
    if data.label_kind == "none":
        return ["text_a", "text_b"], [list(r) for r in zip(a, b)]
    return ["text_a", "text_b", "label"], [[x, y, f"{v:g}"] for x, y, v in zip(a, b, data.labels)]


def score_texts(
    model: PairModel | str | Path,
    a: Sequence[Any],
    b: Sequence[Any],
    batch_size: int = 64,
    *,
    device: str | None = None,
    quantize: str | None = None,
    dtype: str = "fp32",
    compile: bool = False,
) -> dict[str, list[str]]:
    """The columns ``score_file`` writes (score, match, probability) for the pairs ``zip(a, b)``; a model with a
    multi-class head adds ``class``."""
    check_batch_size(batch_size)
    built = built_model(model, device_of(device), quantize, dtype, compile)
    if not built.classes:
        return decision_columns(built.decision, score_pairs(built, a, b, batch_size=batch_size))
    logits = built.pair_outputs(a, b, batch_size=batch_size)
    cols = decision_columns(built.decision, built.head.binary_score(logits).numpy())
    return cols | {"class": [built.classes[i] for i in logits.argmax(dim=-1).tolist()]}


def decision_columns(decision: Decision | None, scores: np.ndarray) -> dict[str, list[str]]:
    """``score``, plus ``match`` (true/false) and ``probability`` when ``decision`` (and its calibrator) is set."""
    cols: dict[str, list[str]] = {"score": [f"{s:.6f}" for s in scores]}
    if decision is not None:
        cols["match"] = ["true" if m else "false" for m in decision.predict(scores)]
        if decision.calibrator is not None:
            cols["probability"] = [f"{p:.4f}" for p in decision.predict_proba(scores)]
    return cols
