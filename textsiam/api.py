"""The Python API that the CLI mirrors: one call per command (fit, evaluate, score, tune a threshold, list).

``model`` arguments take a PairModel or what ``create_model`` takes (preset, saved folder, transformer name);
``data`` arguments take a PairData or what ``load_data`` takes (a file, or ``NAME:SPLIT`` such as ``digits:test``)
with the reading options ``format``, ``text_a``, ``text_b``, ``label``, ``limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.atomic import check_folder
from textsiam.data import CaptionSet, ImagePairData, PairData
from textsiam.data.images import caption_groups
from textsiam.data.load import load_data
from textsiam.errors import ConfigError
from textsiam.eval.decision import Decision
from textsiam.models.base import PairModel
from textsiam.registry import ALL_REGISTRIES
from textsiam.train.config import check_seed
from textsiam.train.decide import check_decision_names, tune_decision
from textsiam.train.device import resolve_device
from textsiam.train.fit import FitResult, fit
from textsiam.train.names import check_name

__all__ = [
    "FitResult",
    "decision_columns",
    "evaluate",
    "fit",
    "list_components",
    "rank",
    "retrieval",
    "similarity_matrix",
    "load_data",
    "score_file",
    "score_pairs",
    "score_texts",
    "tune_threshold",
]


def _model(model: PairModel | str | Path, device: str | None, quantize: str | None = None) -> PairModel:
    from textsiam.models.io import create_model
    from textsiam.models.quantize import quantize as quantized

    built = model if isinstance(model, PairModel) else create_model(model)
    if quantize is not None and device is not None and resolve_device(device).type != "cpu":
        raise ConfigError(f"int8 quantization runs on the CPU; drop --device {device} or --quantize {quantize}")
    built = built.to(resolve_device(device)) if device is not None else built
    return quantized(built, quantize)  # an int8 CPU copy when asked (textsiam.models.quantize)


def _data(data: PairData | str | Path, read: dict[str, Any]) -> PairData:
    if isinstance(data, PairData):
        return data
    check_name("readers", read.get("format"))
    return load_data(data, **read)


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer (--batch-size), got {batch_size!r}")


def score_pairs(model: PairModel, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, **kw: Any) -> np.ndarray:
    """Similarity score of each pair (higher = more similar)."""
    _check_batch_size(batch_size)
    return model.similarity_scores(a, b, batch_size=batch_size, **kw)


def evaluate(
    model: PairModel | str | Path,
    data: PairData | str | Path,
    batch_size: int = 64,
    show_progress: bool = False,
    *,
    device: str | None = None,
    report: str | Path | None = None,
    quantize: str | None = None,
    **read: Any,
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of ``model`` on labelled ``data`` and the scores. Binary data also gets the at-threshold metrics
    (accuracy, F1, precision, recall) when the model carries a tuned decision, and the Brier score and expected
    calibration error when that decision is calibrated. ``report`` writes report.html and its plots there."""
    from textsiam.eval.calibration import brier_score, expected_calibration_error
    from textsiam.eval.classes import class_report, predicted_classes
    from textsiam.train.evaluation import evaluate_scores

    _check_batch_size(batch_size)
    if report is not None:
        check_folder(report)
    if device is not None:
        resolve_device(device)
    data = _data(data, read)
    name, model = str(model), _model(model, device, quantize)
    outputs = model.pair_outputs(data.a, data.b, batch_size=batch_size, show_progress=show_progress)
    scores = (model.head.binary_score(outputs) if model.classes else outputs).numpy()
    decision = model.decision if data.label_kind == "binary" else None
    metrics = evaluate_scores(scores, data, threshold=decision.threshold if decision is not None else None)
    if decision is not None and decision.calibrator is not None:
        probs = decision.predict_proba(scores)
        metrics["brier"] = brier_score(probs, data.labels)
        metrics["ece"] = expected_calibration_error(probs, data.labels)
    metrics["score"] = model.score_name
    groups, matrix = caption_groups(data), None
    if groups is not None:  # caption data (a caption reader, or a table with several captions per image)
        from textsiam.eval.retrieval import retrieval_recall

        matrix = similarity_matrix(model, groups.refs, groups.captions, batch_size)
        metrics.update(retrieval_recall(matrix, groups.caption_image))
    if model.classes and "class" in data.dataset.column_names:
        pred = predicted_classes(outputs.numpy(), model.classes)
        metrics["classes"] = class_report(data.class_labels, pred, model.classes)
    if report is not None:
        found = None if matrix is None else (matrix, groups.refs, groups.captions, groups.caption_image)
        _write_report(report, model, data, scores, name, metrics.get("classes"), found)
    return metrics, scores


def similarity_matrix(model: PairModel, left: Sequence[Any], right: Sequence[Any], batch_size: int = 64) -> np.ndarray:
    """``(len(left), len(right))`` scores of every left item against every right item (higher = more similar)."""
    import torch

    if model.head is not None:
        raise ConfigError("ranking needs a similarity, not a learned pair head; this model scores with a head")
    u = model.encode(left, "left", batch_size)
    v = model.encode(right, "right", batch_size)
    with torch.inference_mode():
        return model.similarity.pairwise(u, v).float().numpy()


def retrieval(model: PairModel, captions: CaptionSet, batch_size: int = 64) -> dict[str, float]:
    """Recall@1/5/10 image -> text and text -> image over a :class:`~textsiam.data.CaptionSet` (in percent)."""
    from textsiam.eval.retrieval import retrieval_recall

    scores = similarity_matrix(model, captions.refs, captions.captions, batch_size)
    return retrieval_recall(scores, captions.caption_image)


def rank(
    model: PairModel | str | Path,
    query: Any,
    candidates: Sequence[Any],
    query_side: str = "left",
    batch_size: int = 64,
    *,
    device: str | None = None,
) -> list[tuple[int, float]]:
    """Candidates ordered best first for one query: ``[(index, score), ...]``. ``query_side`` "left" ranks right
    items (captions for an image), "right" ranks left items (images for a caption)."""
    from textsiam.encoders.checks import item_list

    _check_batch_size(batch_size)
    candidates = item_list(candidates, "candidates")  # a bare string is refused, not ranked character by character
    model = _model(model, device)
    if query_side == "left":
        scores = similarity_matrix(model, [query], candidates, batch_size)[0]
    elif query_side == "right":
        scores = similarity_matrix(model, candidates, [query], batch_size)[:, 0]
    else:
        raise ConfigError(f"query_side must be 'left' or 'right', got {query_side!r}")
    order = np.argsort(-scores, kind="stable")
    return [(int(i), float(scores[i])) for i in order]


def _write_report(
    folder: str | Path,
    model: PairModel,
    data: PairData,
    scores: np.ndarray,
    name: str,
    classes: dict | None = None,
    retrieval: tuple | None = None,
) -> Path:
    from textsiam.eval.report import write_report

    log = Path(name) / "train_log.jsonl"  # a saved run folder carries its training curve
    images = isinstance(data, ImagePairData)
    captions = images and data.right_is_text
    text = isinstance(data.a[0], str) and not images
    return write_report(
        folder,
        scores,
        data.labels,
        graded=data.label_kind == "graded",
        decision=model.decision,
        texts_a=data.a if text else None,
        texts_b=data.b if text or captions else None,
        images_a=data.a if images else None,
        images_b=data.b if images and not captions else None,
        score_name=model.score_name,
        train_log=log if log.is_file() else None,
        title=f"textsiam: {name} on {data.source}",
        classes=classes,
        retrieval=retrieval,
    )


def score_file(
    model: PairModel | str | Path,
    pairs: PairData | str | Path,
    out: str | Path | None = None,
    batch_size: int = 64,
    show_progress: bool = False,
    *,
    device: str | None = None,
    quantize: str | None = None,
    **read: Any,
) -> int:
    """Score every pair of a file and write a TSV (to ``out``, or standard output when None) with the input's
    columns followed by ``score`` and, when the model carries a decision, ``match`` (true/false) and
    ``probability`` (when calibrated). An output name already used by an input column gets a ``textsiam_``
    prefix. Returns the number of pairs written."""
    from textsiam.data.writer import write_tsv

    _check_batch_size(batch_size)
    _check_not_the_input(out, pairs)
    if device is not None:
        resolve_device(device)
    data = _data(pairs, read)
    model = _model(model, device, quantize)
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
) -> dict[str, list[str]]:
    """The columns ``score_file`` writes (score, match, probability) for the pairs ``zip(a, b)``; a model with a
    multi-class head adds ``class``."""
    _check_batch_size(batch_size)
    built = _model(model, device, quantize)
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


def tune_threshold(
    model: PairModel | str | Path,
    data: PairData | str | Path,
    strategy: str = "youden",
    target: float | None = None,
    calibrate: str | None = None,
    cv: int = 5,
    bootstrap: int = 0,
    seed: int = 0,
    batch_size: int = 64,
    show_progress: bool = False,
    *,
    device: str | None = None,
    save_to: str | Path | None = None,
    **read: Any,
) -> Decision:
    """Choose a threshold (and optionally a calibrator) on held-out ``data``; sets and returns ``model.decision``.

    The decision's metrics are k-fold held-out estimates (``cv`` folds over ``data``), not the optimistic in-sample
    numbers; ``bootstrap`` adds confidence intervals. ``save_to`` saves the model with its decision in that folder;
    without it a saved model folder given by path gets ``decision.json`` in place."""
    from textsiam.models.io import is_model_folder, save_model

    check_decision_names(strategy, calibrate)
    check_seed(seed)
    _check_batch_size(batch_size)
    in_place = not isinstance(model, PairModel) and is_model_folder(model)
    if save_to is None and not isinstance(model, PairModel) and not in_place:
        raise ConfigError(f"{model!r} is not a saved model folder: pass --out DIR to save a copy with the decision")
    if save_to is not None:
        check_folder(save_to)
    if device is not None:
        resolve_device(device)
    data = _data(data, read)
    built = _model(model, device)
    decision = tune_decision(
        built, data, strategy, target, calibrate, cv, bootstrap, seed, batch_size, show_progress=show_progress
    )
    if save_to is not None:
        save_model(built, save_to)
    elif in_place:
        decision.to_json(Path(model) / "decision.json")
    return decision


def list_components(kind: str | None = None) -> dict[str, dict[str, str]]:
    """``{registry kind: {name: one-line description}}``, for one kind or all."""
    if kind is None:
        return {k: r.describe() for k, r in ALL_REGISTRIES.items()}
    key = kind.replace("-", "_")
    if key not in ALL_REGISTRIES:
        raise ConfigError(f"unknown component kind {kind!r}; choose from {sorted(ALL_REGISTRIES)}")
    return {key: ALL_REGISTRIES[key].describe()}
