"""Distillation in a run (``fit(teacher=...)``, ``textsiam train --teacher MODEL``): what the teacher gives the
student follows from the teacher's kind.

- A cross-encoder (pair model ``cross`` with one score: a trained run folder of ``minilm-cross`` / ``mpnet-cross``)
  labels silver pairs drawn from the training texts (:mod:`textsiam.train.silver`: sampling, count, and how its
  score is put on the gold labels' scale); the student trains on the gold pairs plus the silver ones, with the
  run's own loss.
- A twin (pair model ``twin``, one shared tower, no head: ``mpnet-twin``, ``all-mpnet-base-v2``, a trained twin
  folder) embeds every training text; the student trains with the run's pair loss on the gold pairs plus
  ``distill_weight`` x the squared distance of its (projected) embeddings to the teacher's
  (:mod:`textsiam.train.distill`). Given ``silver_sampling`` or ``silver_pairs``, a twin labels silver pairs
  instead, its scores mapped onto the gold labels by a line fitted on the gold pairs (:func:`silver.fitted_labels`);
  such silver pairs also teach a cross-encoder student, whose ``neighbours`` are then found with the teacher's
  embeddings (a cross-encoder has none of its own).
- Several teachers (``teacher=[A, B]``, ``--teacher A B``) each label the same silver pairs, each on the gold
  labels' scale as it would alone, and a silver pair's label is their mean. Embedding targets come from one twin
  teacher only, so several teachers always label silver pairs.

Any other teacher is a ConfigError naming it and what is accepted. The teacher runs once per run; its outputs are
cached in the run folder (:mod:`textsiam.train.teacher_cache`) and a resumed run reuses them. ``train_data.json``
gets a ``teacher`` row (name, sha256 of its weights, what it gave) and ``train_config.yaml`` the settings, so the
model card says the student was distilled and from what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textsiam.api.settings import RunSettings
from textsiam.data import PairData
from textsiam.errors import ConfigError, DataError
from textsiam.models.base import PairModel
from textsiam.registry import PAIR_MODELS
from textsiam.train import silver, teacher_cache
from textsiam.train.config import TrainConfig
from textsiam.train.distill import TeacherTargets

CROSS, TWIN = "cross", "twin"
ACCEPTED = (
    "a teacher is a cross-encoder (pair model 'cross' with one score, e.g. a trained minilm-cross or mpnet-cross "
    "run folder), whose scores label silver pairs, or a twin (pair model 'twin' without a head, e.g. mpnet-twin, "
    "all-mpnet-base-v2 or a trained twin folder), whose embeddings the student learns (or whose scores label silver "
    "pairs, given silver_sampling or silver_pairs)"
)


@dataclass
class Teaching:
    """What the teacher gives the run: the training pairs (gold + silver), the embedding targets, the record."""

    train_data: PairData
    targets: TeacherTargets | None
    record: dict[str, Any]


def teacher_kind(model: PairModel, name: str) -> str:
    """``"cross"`` or ``"twin"`` for a model that can teach; a ConfigError naming the teacher otherwise."""
    if model.training_kind == "pairs" and not model.classes:
        return CROSS
    if model.training_kind == "embeddings" and model.left is model.right and model.head is None:
        return TWIN
    try:
        kind = PAIR_MODELS.name_of(model)
    except ConfigError:  # a model class registered under no name
        kind = type(model).__name__
    what = f"pair model {kind!r}" + (f" with classes {model.classes}" if model.classes else "")
    raise ConfigError(f"teacher {name!r} is a {what}, which cannot teach a twin; {ACCEPTED}")


def load_teacher(name: str) -> tuple[PairModel, str]:
    """The teacher model (a saved folder, preset, model .json or transformer name) and its kind."""
    from textsiam.models.io import create_model, is_model_folder

    model = create_model(name, seed=0)
    kind = teacher_kind(model, name)
    if kind == CROSS and not is_model_folder(name):
        import warnings

        warnings.warn(
            f"teacher {name!r} is not a trained run folder: a cross-encoder built from a preset has an untrained "
            "head, so its silver labels are noise; pass the folder of a trained cross model",
            stacklevel=4,
        )
    return model, kind


def teacher_names(teacher: str | Path | list[str | Path] | tuple | None) -> list[str]:
    """``teacher`` as a list of names: one model, or several whose silver labels are averaged."""
    if teacher is None:
        return []
    names = [str(teacher)] if isinstance(teacher, str | Path) else [str(t) for t in teacher]
    if not names:
        raise ConfigError("teacher is an empty list: name one model, or several whose silver labels are averaged")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"teacher {twice[0]!r} is named twice; name each teacher once")
    return names


def teach(
    run: RunSettings,
    cfg: TrainConfig,
    student: PairModel,
    gold: PairData,
    out_dir: Path,
    *,
    device: torch.device,
    resume: bool,
    bars: bool,
    say: Callable[[str], None],
    main: bool = True,
) -> Teaching:
    """Run (or read from the cache) the teachers of ``run.teacher`` for this run's training pairs; under torchrun
    every rank runs them (the same pairs, the same scores) and the main rank (``main``) writes the cache.

    Several teachers each label the same silver pairs (a twin among them as with ``silver_pairs``), each on the
    gold labels' scale as it would alone, and a pair's label is their mean: an ensemble teacher. On STS-B dev the
    mean of ``mpnet-cross`` and ``mpnet-twin`` ranks pairs better than either (docs/benchmarks.md)."""
    names = teacher_names(run.teacher)
    several = len(names) > 1
    if several and run.distill_weight is not None:
        raise ConfigError(
            f"several teachers ({', '.join(names)}) label silver pairs together; distill_weight weighs one twin "
            "teacher's target embeddings: name that one teacher alone"
        )
    loaded = [load_teacher(name) for name in names]
    if not (len(gold) and isinstance(gold.a[0], str)):
        raise ConfigError(f"teacher {names[0]!r}: distillation takes text pairs; {gold.source} holds other items")
    texts = silver.training_texts(gold)
    for (teacher, _), name in zip(loaded, names):
        _check_texts(teacher, texts, name)
    kinds, shas = [kind for _, kind in loaded], [teacher_cache.weights_sha256(teacher) for teacher, _ in loaded]
    key: dict[str, Any] = {  # one teacher: the same key (and cache) as before several could be named
        "teacher": names if several else names[0],
        "teacher_sha256": shas if several else shas[0],
        "kind": kinds if several else kinds[0],
        "texts_sha256": teacher_cache.texts_sha256(texts),
    }
    silver_given = [k for k in ("silver_sampling", "silver_pairs") if getattr(run, k) is not None]
    # from here on a distill_weight comes with one teacher (several with one were refused above)
    if kinds[0] == CROSS and run.distill_weight is not None:
        raise ConfigError(
            f"distill_weight apply to a twin teacher; teacher {names[0]!r} is a cross: it gives no embeddings"
        )
    if kinds[0] == TWIN and silver_given and run.distill_weight is not None:
        raise ConfigError(
            f"teacher {names[0]!r} is a twin: it either labels silver pairs ({', '.join(silver_given)}) or gives "
            "target embeddings (distill_weight), not both in one run"
        )
    if kinds[0] == TWIN and not several and not silver_given:
        return _embeddings(run, cfg, student, loaded[0][0], gold, texts, key, out_dir, device, resume, bars, say, main)
    silver.check_gold(gold)
    count = len(gold) if run.silver_pairs is None else int(run.silver_pairs)
    key |= {"sampling": run.silver_sampling or silver.SAMPLINGS[0], "silver_pairs": count, "seed": cfg.seed}
    label = " + ".join(names)
    cached = teacher_cache.read(out_dir, key, resume)
    if cached is None:
        tables = {}  # a twin teacher embeds every training text once: its scores (and a cross student's neighbours)
        for i, (teacher, kind) in enumerate(loaded):
            if kind == TWIN:
                teacher.to(device)
                tables[i] = teacher.encode(texts, "left", cfg.eval_batch_size, show_progress=bars)
        table = next(iter(tables.values()), None)
        pairs = _sample(key["sampling"], count, student, gold, texts, cfg, device, bars, table, label)
        cached = {"pairs": torch.as_tensor(pairs, dtype=torch.long)}
        for i, ((teacher, kind), name) in enumerate(zip(loaded, names)):
            say(f"teacher {name}: scoring {len(pairs)} silver pairs ({key['sampling']})")
            if kind == TWIN:
                scores = _twin_scores(teacher, tables[i], texts, pairs, gold, cfg.eval_batch_size)
            else:
                teacher.to(device)
                a, b = ([texts[x] for x in pairs[:, side].tolist()] for side in (0, 1))
                scores = {"scores": teacher.pair_outputs(a, b, cfg.eval_batch_size, show_progress=bars).float().cpu()}
            cached |= {_named(k, i, several): v for k, v in scores.items()}
        if main:
            teacher_cache.write(out_dir, key, cached, {"silver_pairs": len(pairs)})
    else:
        say(f"teacher {label}: {len(cached['pairs'])} silver pairs from {out_dir / teacher_cache.TENSORS}")
    pairs = cached["pairs"].numpy()
    labels = np.mean([_labels(cached, i, several, kind, gold) for i, kind in enumerate(kinds)], axis=0)
    if several:
        note = (
            f"{len(names)} teachers ({', '.join(kinds)}): {len(pairs)} silver pairs ({key['sampling']}) added to the "
            "gold pairs, each labelled by the mean of the teachers' labels"
        )
    elif kinds[0] == TWIN:
        note = (
            f"twin teacher: {len(pairs)} silver pairs ({key['sampling']}) added to the gold pairs, labelled by its "
            "score through a line fitted on the gold pairs"
        )
    else:
        note = f"cross-encoder teacher: {len(pairs)} silver pairs ({key['sampling']}) added to the gold pairs"
    data = silver.with_silver(gold, texts, pairs, labels)
    return Teaching(data, None, _record(key, len(pairs), note))


def _named(tensor: str, teacher: int, several: bool) -> str:
    """The cache's name of one teacher's tensor: ``scores``, or ``scores.1`` for the second of several."""
    return f"{tensor}.{teacher}" if several else tensor


def _labels(cached: dict[str, torch.Tensor], i: int, several: bool, kind: str, gold: PairData) -> np.ndarray:
    """Teacher ``i``'s silver labels on the gold labels' scale (:func:`silver.silver_labels` of a cross-encoder's
    probabilities, :func:`silver.fitted_labels` of a twin's cosines)."""
    scores = cached[_named("scores", i, several)].numpy()
    if kind == TWIN:
        return silver.fitted_labels(scores, cached[_named("gold_scores", i, several)].numpy(), gold)
    return silver.silver_labels(scores, gold)


def _twin_scores(teacher, table, texts, pairs, gold, batch_size) -> dict[str, torch.Tensor]:
    """A twin teacher's ``scores`` of the silver pairs and ``gold_scores`` of the gold pairs (the line onto the
    labels is fitted on those), both compared from ``table``: every training text embedded once by its one tower."""
    rows = silver.gold_rows(gold, texts)
    return {
        "scores": teacher.compare_rows(table, pairs[:, 0], table, pairs[:, 1], batch_size),
        "gold_scores": teacher.compare_rows(table, rows[:, 0], table, rows[:, 1], batch_size),
    }


def _embeddings(run, cfg, student, teacher, gold, texts, key, out_dir, device, resume, bars, say, main) -> Teaching:
    if student.training_kind != "embeddings":
        raise ConfigError(
            f"teacher {run.teacher!r} is a twin: its embeddings teach a student with embeddings (a twin); the model "
            f"trained here is a {type(student).__name__} (training kind {student.training_kind!r})"
        )
    cached = teacher_cache.read(out_dir, key, resume)
    if cached is None:
        say(f"teacher {run.teacher}: embedding {len(texts)} training texts")
        teacher.to(device)
        table = teacher.encode(texts, "left", cfg.eval_batch_size, show_progress=bars).float().cpu()
        cached = {"embeddings": table}
        if main:
            teacher_cache.write(out_dir, key, cached, {"texts": len(texts), "dim": table.shape[1]})
    else:
        say(f"teacher {run.teacher}: {len(texts)} text embeddings from {out_dir / teacher_cache.TENSORS}")
    table = cached["embeddings"]
    weight = 1.0 if run.distill_weight is None else float(run.distill_weight)
    targets = TeacherTargets(texts, table, student.embedding_dim, weight, seed=cfg.seed)
    if targets.distill.projection is not None:  # (a resumed run then loads the trained one from its checkpoint)
        say(f"student: embedding {len(texts)} training texts to start the projection (least squares)")
        student.to(device)
        start = student.encode(texts, "left", cfg.eval_batch_size, show_progress=bars).float().cpu()
        targets.distill.fit_projection(start, table)
    projected = f", through a learned projection {student.embedding_dim} -> {table.shape[1]}, started by least squares"
    note = f"twin teacher: embeddings of {len(texts)} texts (weight {weight:g}" + (
        projected + ")" if targets.distill.projection is not None else ")"
    )
    return Teaching(gold, targets, _record(key, len(texts), note))


def _sample(sampling, count, student, gold, texts, cfg, device, bars, teacher_table, teacher_name):
    """Silver pairs as text indices. ``neighbours`` embeds the texts with the student as it starts training; a
    student without embeddings (a cross-encoder) takes a twin teacher's (``teacher_table``) instead."""
    embeddings = None
    if sampling == "neighbours" and student.training_kind == "embeddings":
        student.to(device)
        embeddings = student.encode(texts, "left", cfg.eval_batch_size, show_progress=bars)
    elif sampling == "neighbours":
        if teacher_table is None:
            raise ConfigError(
                "silver_sampling 'neighbours' finds each text's neighbours with the student's embeddings, or a twin "
                f"teacher's when the student has none; this student ({type(student).__name__}) has none and teacher "
                f"{teacher_name!r} is a cross-encoder: use silver_sampling 'random', or a twin teacher"
            )
        embeddings = teacher_table
    return silver.sample_pairs(sampling, len(texts), count, silver.gold_keys(gold, texts), cfg.seed, embeddings)


def _check_texts(teacher: PairModel, texts: list[str], name: str) -> None:
    try:
        teacher.check_items(texts[:1])
    except DataError as err:
        raise ConfigError(f"teacher {name!r} cannot read the training texts: {err}") from None


def _record(key: dict[str, Any], rows: int, note: str) -> dict[str, Any]:
    """The ``teacher`` row of ``train_data.json`` (and so of the model card's data table)."""
    several = isinstance(key["teacher"], list)
    name, sha = (" + ".join(key[k]) if several else key[k] for k in ("teacher", "teacher_sha256"))
    return {"file": name, "rows": rows, "sha256": sha, "note": note}
