"""``evaluate`` (metrics of a model on labelled pairs, optionally an HTML report), ``rank`` and the score matrix
behind image-text retrieval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.api.common import built_model, check_batch_size, device_of, pair_data
from textsiam.atomic import check_folder
from textsiam.data import CaptionSet, ImagePairData, PairData
from textsiam.data.images import caption_groups
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel


def evaluate(
    model: PairModel | str | Path,
    data: PairData | str | Path,
    batch_size: int = 64,
    show_progress: bool = False,
    *,
    device: str | None = None,
    report: str | Path | None = None,
    quantize: str | None = None,
    dtype: str = "fp32",
    compile: bool = False,
    **read: Any,
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of ``model`` on labelled ``data`` and the scores. Binary data also gets the at-threshold metrics
    (accuracy, F1, precision, recall) when the model carries a tuned decision, and the Brier score and expected
    calibration error when that decision is calibrated. ``report`` writes report.html and its plots there.
    ``quantize="int8"`` or ``dtype`` ("bf16", "fp16", "auto") runs the model in reduced precision (``compile``: the
    int8 layers compiled, :mod:`textsiam.deploy.compiled`)."""
    from textsiam.eval.calibration import brier_score, expected_calibration_error
    from textsiam.eval.classes import class_report, predicted_classes
    from textsiam.train.evaluation import evaluate_scores

    check_batch_size(batch_size)
    if report is not None:
        check_folder(report)
    target = device_of(device)
    data = pair_data(data, read)
    # a model object has no folder (and no training curve): the report names its class
    name = type(model).__name__ if isinstance(model, PairModel) else str(model)
    model = built_model(model, target, quantize, dtype, compile)
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
    dtype: str = "fp32",
) -> list[tuple[int, float]]:
    """Candidates ordered best first for one query: ``[(index, score), ...]``. ``query_side`` "left" ranks right
    items (captions for an image), "right" ranks left items (images for a caption)."""
    from textsiam.encoders.checks import item_list

    check_batch_size(batch_size)
    candidates = item_list(candidates, "candidates")  # a bare string is refused, not ranked character by character
    return _ranked(built_model(model, device_of(device), dtype=dtype), query, candidates, query_side, batch_size)


def _ranked(
    model: PairModel, query: Any, candidates: Sequence[Any], query_side: str, batch_size: int
) -> list[tuple[int, float]]:
    if query_side == "left":
        scores = similarity_matrix(model, [query], candidates, batch_size)[0]
    elif query_side == "right":
        scores = similarity_matrix(model, candidates, [query], batch_size)[:, 0]
    else:
        raise ConfigError(f"query_side must be 'left' or 'right', got {query_side!r}")
    order = np.argsort(-scores, kind="stable")
    return [(int(i), float(scores[i])) for i in order]


@dataclass
class Ranked:
    """One query ranked against items: ``order`` (item indexes, best first) and the ``columns`` of
    :func:`~textsiam.api.scoring.decision_columns` in that order (score, and match / probability with a decision)."""

    query: Any
    items: list[Any]
    by_image: bool  # True: one image, texts ranked; False: one text, images ranked
    order: list[int]
    columns: dict[str, list[str]]


def rank_images_texts(
    model: PairModel | str | Path,
    *,
    images: Sequence[str] = (),
    image_dir: str | Path | None = None,
    texts: Sequence[str] = (),
    texts_file: str | Path | None = None,
    batch_size: int = 64,
    device: str | None = None,
    quantize: str | None = None,
    dtype: str = "fp32",
    compile: bool = False,
) -> Ranked:
    """One image (left tower) against texts, or one text (right tower) against images; the images are ``images``
    plus the image files of ``image_dir``, the texts ``texts`` plus the lines of ``texts_file``. ``quantize``,
    ``dtype``, ``compile``: as for :func:`evaluate`."""
    from textsiam.api.scoring import decision_columns
    from textsiam.data.texts import read_lines
    from textsiam.imaging import image_files

    check_batch_size(batch_size)
    image_flag = f"--image {images[0]}" if images else f"--image-dir {image_dir}"  # the first source, for messages
    text_flag = f"--text {texts[0]!r}" if texts else f"--texts-file {texts_file}"
    images = list(images) + (image_files(Path(image_dir), "--image-dir") if image_dir else [])
    texts = list(texts) + (read_lines(Path(texts_file), "--texts-file") if texts_file else [])
    if not images or not texts or (len(images) > 1 and len(texts) > 1):
        raise ConfigError("give one --image and one or more texts (--text, --texts-file), or one --text and images")
    on = device_of(device)
    built = built_model(model, on, quantize, dtype, compile)
    built.check_modality("left", "image", image_flag)  # images go to the left tower, texts to the right one
    built.check_modality("right", "text", text_flag)
    by_image = len(images) == 1
    query, items = (images[0], texts) if by_image else (texts[0], images)
    ranked = _ranked(built, query, items, "left" if by_image else "right", batch_size)
    columns = decision_columns(built.decision, np.asarray([score for _, score in ranked]))
    return Ranked(query, items, by_image, [i for i, _ in ranked], columns)


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
    log = log if log.is_file() else None
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
        train_log=log,
        title=f"textsiam: {name} on {data.source}",
        classes=classes,
        retrieval=retrieval,
    )
