"""Distillation: a cross-encoder teacher's silver pairs, a twin teacher's target embeddings (train/silver.py,
train/distill.py, api/distill.py), with tiny BERT teachers and students."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import textsiam
from tests.helpers.fixtures import BATCHED, WORDS
from textsiam.api.distill import teach
from textsiam.api.settings import RunSettings
from textsiam.data.pairs import build_text_pairs
from textsiam.errors import ConfigError
from textsiam.losses.distill import EmbeddingDistillation
from textsiam.models.cross import CrossModel
from textsiam.models.io import build_model, create_model, load_model
from textsiam.train import silver
from textsiam.train.config import TrainConfig
from textsiam.train.distill import TeacherTargets
from textsiam.train.trainer import Trainer


def _bert(folder) -> dict:
    return {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}


@pytest.fixture(scope="module")
def cross_teacher(tiny_bert_dir, tmp_path_factory):
    """A saved tiny cross-encoder (random weights: its scores are a fixed function of the pair, all a test needs)."""
    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("cross-teacher")
    build_model({"pair_model": "cross", "encoder": _bert(tiny_bert_dir)}).save(folder)
    return folder


@pytest.fixture(scope="module")
def twin_teacher(tiny_bert_dir, tmp_path_factory):
    """A saved tiny twin with 16-dimensional embeddings (the tiny BERT student has 32: a projection is needed)."""
    torch.manual_seed(2)
    folder = tmp_path_factory.mktemp("twin-teacher")
    build_model({"pair_model": "twin", "encoder": _bert(tiny_bert_dir), "projection_dim": 16}).save(folder)
    return folder


def _graded_pairs(n: int = 24, seed: int = 0):
    """Graded pairs on 0..5 (STS-like): each pair of 5 random words, some texts shared between pairs."""
    rng = np.random.default_rng(seed)
    pool = [" ".join(rng.choice(WORDS, 5, replace=False)) for _ in range(n)]
    a = [pool[i] for i in range(n)]
    b = [pool[(i * 7 + 3) % n] for i in range(n)]
    labels = [float(x) for x in rng.integers(0, 6, n)]
    return build_text_pairs(a, b, labels, source="gold.tsv", sha256="0" * 64, label_kind="graded", label_range=(0, 5))


def _teach(tmp_path, tiny_bert_dir, teacher, *, resume=False, student=None, **run):
    """``teach`` the graded pairs to ``student`` (default: a tiny BERT twin) with ``teacher``, seed 3."""
    student = create_model(tiny_bert_dir, seed=0) if student is None else student
    settings = RunSettings(teacher=[str(t) for t in teacher] if isinstance(teacher, list) else str(teacher), **run)
    kwargs = {"device": torch.device("cpu"), "resume": resume, "bars": False, "say": lambda _: None}
    return teach(settings, TrainConfig(seed=3), student, _graded_pairs(), tmp_path, **kwargs)


@pytest.mark.parametrize("sampling", ["random", "neighbours"])
def test_silver_labels_are_the_teachers_scores_on_the_gold_scale(tmp_path, tiny_bert_dir, cross_teacher, sampling):
    gold = _graded_pairs()
    taught = _teach(tmp_path, tiny_bert_dir, cross_teacher, silver_sampling=sampling, silver_pairs=30)
    data = taught.train_data
    assert len(data) == len(gold) + 30 and data.label_range == gold.label_range
    assert data.a[: len(gold)] == gold.a and data.b[: len(gold)] == gold.b  # every gold pair stays, gold-labelled
    np.testing.assert_array_equal(data.labels[: len(gold)], gold.labels)
    a, b = data.a[len(gold) :], data.b[len(gold) :]
    keys = {frozenset(p) for p in zip(a, b)}
    assert len(keys) == 30 and all(len(k) == 2 for k in keys)  # unordered, drawn once, never a text with itself
    assert not keys & {frozenset(p) for p in zip(gold.a, gold.b)}  # never a gold pair again
    expected = 5 * load_model(cross_teacher).similarity_scores(a, b)  # 0..5 gold: 5 x the teacher's probability
    # the labels are stored as float32 (PairData's label column), and the teacher ran in other batches: BATCHED
    np.testing.assert_allclose(data.labels[len(gold) :], expected, atol=5 * BATCHED + 1e-6)
    assert taught.targets is None and taught.record["rows"] == 30


def test_a_twin_teacher_labels_silver_pairs_through_a_line_fitted_on_the_gold_pairs(
    tmp_path, tiny_bert_dir, twin_teacher
):
    gold = _graded_pairs()
    taught = _teach(tmp_path, tiny_bert_dir, twin_teacher, silver_sampling="random", silver_pairs=30)
    data = taught.train_data
    assert len(data) == len(gold) + 30 and taught.targets is None  # silver pairs, no embedding targets
    np.testing.assert_array_equal(data.labels[: len(gold)], gold.labels)  # gold pairs keep their labels
    teacher = load_model(twin_teacher)
    a, b = data.a[len(gold) :], data.b[len(gold) :]
    slope, intercept = np.polyfit(teacher.similarity_scores(gold.a, gold.b), np.asarray(gold.labels, float), 1)
    expected = np.clip(intercept + slope * teacher.similarity_scores(a, b), 0, 5)
    # float32 label column; the teacher ran in other batches (BATCHED per cosine, times the line's slope)
    np.testing.assert_allclose(data.labels[len(gold) :], expected, atol=abs(slope) * BATCHED + 1e-5)
    assert "twin teacher" in taught.record["note"] and taught.record["rows"] == 30


def test_several_teachers_label_each_silver_pair_with_the_mean_of_their_labels(
    tmp_path, tiny_bert_dir, cross_teacher, twin_teacher
):
    gold, run = _graded_pairs(), {"silver_sampling": "random", "silver_pairs": 30}
    cross, twin = (_teach(tmp_path / t.name, tiny_bert_dir, t, **run) for t in (cross_teacher, twin_teacher))
    both = _teach(tmp_path / "both", tiny_bert_dir, [cross_teacher, twin_teacher], **run)
    data = both.train_data
    assert data.a == cross.train_data.a == twin.train_data.a and data.b == cross.train_data.b  # the same pairs
    np.testing.assert_array_equal(data.labels[: len(gold)], gold.labels)  # gold pairs keep their labels
    alone = [np.asarray(t.train_data.labels[len(gold) :], np.float64) for t in (cross, twin)]
    assert np.abs(alone[0] - alone[1]).max() > 0.1  # two teachers that disagree: the mean is neither
    # each teacher ran the same calls as alone (same pairs, same batches): the labels differ only by the float32
    # label column's rounding of values on 0..5 (5 x 2^-24 per value, twice)
    np.testing.assert_allclose(data.labels[len(gold) :], (alone[0] + alone[1]) / 2, atol=1e-6)
    assert both.record["file"] == f"{cross_teacher} + {twin_teacher}" and both.record["rows"] == 30
    assert "2 teachers (cross, twin)" in both.record["note"] and " + " in both.record["sha256"]
    cache = load_file(tmp_path / "both" / "teacher_cache.safetensors")
    assert set(cache) == {"pairs", "scores.0", "scores.1", "gold_scores.1"}
    key = json.loads((tmp_path / "both" / "teacher.json").read_text())["key"]
    assert key["teacher"] == [str(cross_teacher), str(twin_teacher)] and key["kind"] == ["cross", "twin"]


def test_several_teachers_are_refused_with_embedding_targets_or_a_name_twice(
    tmp_path, tiny_bert_dir, cross_teacher, twin_teacher
):
    with pytest.raises(ConfigError, match="several teachers .* label silver pairs together; distill_weight"):
        _teach(tmp_path, tiny_bert_dir, [twin_teacher, cross_teacher], distill_weight=1.0)
    with pytest.raises(ConfigError, match="is named twice"):
        _teach(tmp_path, tiny_bert_dir, [cross_teacher, twin_teacher, cross_teacher], silver_pairs=3)
    with pytest.raises(ConfigError, match="empty list"):
        _teach(tmp_path, tiny_bert_dir, [], silver_pairs=3)


def test_a_cross_student_draws_neighbours_with_its_twin_teachers_embeddings(tmp_path, tiny_bert_dir, twin_teacher):
    gold = _graded_pairs()
    student = build_model({"pair_model": "cross", "encoder": _bert(tiny_bert_dir)})
    run = {"silver_sampling": "neighbours", "silver_pairs": 20}
    taught = _teach(tmp_path, tiny_bert_dir, twin_teacher, student=student, **run)
    texts = silver.training_texts(gold)
    table = load_model(twin_teacher).encode(texts, "left")
    expected = silver.sample_pairs("neighbours", len(texts), 20, silver.gold_keys(gold, texts), 3, table)
    data = taught.train_data
    # the teacher's nearest pairs, not the (untrained) student's: a cross-encoder has no embeddings to rank by
    assert list(zip(data.a[len(gold) :], data.b[len(gold) :])) == [(texts[i], texts[j]) for i, j in expected.tolist()]
    assert "twin teacher" in taught.record["note"]


def test_a_cross_student_with_a_cross_teacher_cannot_draw_neighbours(tmp_path, tiny_bert_dir, cross_teacher):
    student = build_model({"pair_model": "cross", "encoder": _bert(tiny_bert_dir)})
    with pytest.raises(ConfigError, match=r"student \(CrossModel\) has none and teacher .* is a cross-encoder"):
        _teach(tmp_path, tiny_bert_dir, cross_teacher, student=student, silver_sampling="neighbours", silver_pairs=5)


def test_fitted_labels_follow_the_gold_line_and_stay_in_range():
    gold = build_text_pairs(
        ["a", "b", "c"],
        ["d", "e", "f"],
        [2.0, 3.5, 5.0],
        source="g.tsv",
        sha256="0" * 64,
        label_kind="graded",
        label_range=(0, 5),
    )  # labels = 2 + 3 x score exactly, for scores 0, 0.5, 1
    labels = silver.fitted_labels(np.array([0.25, -1.0, 1.5]), np.array([0.0, 0.5, 1.0]), gold)
    np.testing.assert_allclose(labels, [2.75, 0.0, 5.0], atol=1e-9)  # -1 -> -1 and 1.5 -> 6.5, clipped to 0..5
    with pytest.raises(ConfigError, match="same score"):
        silver.fitted_labels(np.array([0.3]), np.array([0.7, 0.7, 0.7]), gold)


def test_neighbours_sampling_pairs_each_text_with_its_nearest_first():
    # texts 0/1 and 2/3 are near each other, 4 nearest to 2; (0, 1) is gold, so it is never drawn again
    emb = torch.tensor([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99], [-1.0, -0.5]])
    pairs = silver.sample_pairs("neighbours", 5, 3, {(0, 1)}, seed=0, embeddings=emb)
    # every text's nearest first (0->1 and 1->0 gold, 2->3, 3->2 the same pair, 4->2), then 0's second nearest (3)
    assert pairs.tolist() == [[2, 3], [2, 4], [0, 3]]
    everything = silver.sample_pairs("neighbours", 5, 100, {(0, 1)}, seed=0, embeddings=emb)
    assert len(everything) == 9 and len({tuple(p) for p in everything.tolist()}) == 9  # all 10 pairs but the gold


def test_random_sampling_is_seeded_and_never_repeats(tmp_path):
    first = silver.sample_pairs("random", 40, 200, {(0, 1), (2, 3)}, seed=5)
    assert first.tolist() == silver.sample_pairs("random", 40, 200, {(0, 1), (2, 3)}, seed=5).tolist()
    assert first.tolist() != silver.sample_pairs("random", 40, 200, {(0, 1), (2, 3)}, seed=6).tolist()
    keys = {tuple(p) for p in first.tolist()}
    assert len(keys) == 200 and all(i < j for i, j in keys) and not keys & {(0, 1), (2, 3)}


def test_the_teacher_runs_once_and_a_resumed_run_reads_its_cache(tmp_path, tiny_bert_dir, cross_teacher, monkeypatch):
    calls = []
    original = CrossModel.pair_outputs

    def counted(self, *args, **kwargs):
        calls.append(len(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CrossModel, "pair_outputs", counted)
    from tests.helpers.fixtures import write_word_pairs

    pairs = write_word_pairs(tmp_path / "pairs.tsv", n=20)
    out = tmp_path / "run"
    args = {"model": tiny_bert_dir, "teacher": cross_teacher, "silver_pairs": 12, "epochs": 1, "show_progress": False}
    result = textsiam.fit(pairs, out, keep_checkpoint=True, **args)
    assert calls == [12] and result.train_pairs == 20 + 12  # one teacher pass over the silver pairs
    record = json.loads((out / "teacher.json").read_text())
    assert record["key"]["teacher"] == str(cross_teacher) and len(record["key"]["teacher_sha256"]) == 64
    data = json.loads((out / "train_data.json").read_text())
    assert data["train"]["rows"] == 20 and data["teacher"]["rows"] == 12  # gold rows; the teacher's silver pairs
    assert data["teacher"]["sha256"] == record["key"]["teacher_sha256"]  # the card's data table names the teacher
    assert "teacher" in (out / "README.md").read_text()
    textsiam.fit(pairs, out, resume=True, keep_checkpoint=True, **args)
    assert calls == [12]  # resumed: the cached silver labels, no second teacher pass
    with pytest.raises(ConfigError, match="other teacher settings"):
        textsiam.fit(pairs, out, resume=True, **{**args, "silver_pairs": 5})
    with pytest.raises(ConfigError, match="distilled from a teacher"):
        textsiam.fit(pairs, out, resume=True, **{k: v for k, v in args.items() if k not in ("teacher", "silver_pairs")})
    textsiam.fit(pairs, out, overwrite=True, **args)  # the teacher's files are the run's own: replaced, not refused
    assert calls == [12, 12] and (out / "teacher.json").exists() and not (out / "teacher_cache.safetensors").exists()


def test_twin_teacher_starts_a_fitted_projection_and_pulls_the_student_toward_it(tmp_path, tiny_bert_dir, twin_teacher):
    taught = _teach(tmp_path, tiny_bert_dir, twin_teacher)
    targets, gold = taught.targets, taught.train_data
    assert targets.distill.projection.weight.shape == (16, 32) and taught.record["rows"] == len(targets.index)
    assert "least squares" in taught.record["note"]
    texts = list(targets.index)
    student = create_model(tiny_bert_dir, seed=0)
    torch.manual_seed(3)
    random_start = EmbeddingDistillation(32, 16)
    with torch.no_grad():
        fitted, random = (float(t(student.encode(texts), targets.table)) for t in (targets.distill, random_start))
    # 24 texts, 32 student dimensions: a linear map fits the 16-d unit targets all but exactly (~3e-5 over seeds
    # 0..2), where a random map starts near 2 (unrelated directions: 2 - 2 cos with cos ~ 0)
    assert fitted < 1e-3 < 1.0 < random
    start = copy.deepcopy(targets.distill)
    cfg = TrainConfig(epochs=4, lr=1e-3, batch_size=8, seed=0, loss="cosent", save_checkpoints=False)
    Trainer(student, cfg, gold, out_dir=tmp_path / "run", show_progress=False, teacher=targets).train()
    plain = create_model(tiny_bert_dir, seed=0)
    Trainer(plain, cfg, gold, out_dir=tmp_path / "plain", show_progress=False).train()
    with torch.no_grad():
        taught_distance = float(targets.distill(student.encode(texts), targets.table))
        plain_distance = float(start(plain.encode(texts), targets.table))
    # the pair loss moves both students off the fitted start; the distilled one stays nearer the teacher: over seeds
    # 0..3 of student (teacher +2, projection +3) 0.15..0.60 of the plain student's distance (this one: 0.44)
    assert taught_distance < 0.75 * plain_distance
    saved = load_model(tmp_path / "run")
    assert saved.embedding_dim == 32 and not any("distill" in k for k in saved.state_dict())  # the student's own


def test_the_distillation_term_compares_directions_whatever_the_norms():
    """A teacher with ``normalize: false`` (mpnet-twin: the term started at 28 and swamped the pair loss) teaches
    the same as its unit-length self: the term is 2 - 2 cos, in [0, 4], unchanged by either side's scale."""
    torch.manual_seed(0)
    term = EmbeddingDistillation(8, 8)
    student, teacher = torch.randn(32, 8), torch.randn(32, 8)
    cosine = torch.nn.functional.cosine_similarity(student, teacher, dim=1)
    expected = float((2 - 2 * cosine).mean())
    for scale_s, scale_t in ((1.0, 1.0), (1.0, 30.0), (0.01, 1.0), (50.0, 0.2)):
        # float32 rounding of unit vectors of 8 dimensions: ~1e-7 per element; 1e-5 is far above, far below any bug
        assert float(term(scale_s * student, scale_t * teacher)) == pytest.approx(expected, abs=1e-5)
    assert float(term(teacher * 40, teacher)) == pytest.approx(0.0, abs=1e-5)  # same direction, another norm
    assert float(term(-teacher, 3 * teacher)) == pytest.approx(4.0, abs=1e-5)  # the farthest a pair can be


def test_a_large_norm_teacher_trains_like_its_unit_length_self(tmp_path, tiny_bert_dir, twin_teacher):
    """The whole run: targets scaled x100 (norms far beyond mpnet's) give the very steps unit-length ones give."""
    taught = _teach(tmp_path, tiny_bert_dir, twin_teacher)
    texts, table = list(taught.targets.index), taught.targets.table
    finals = []
    for scale in (1.0, 100.0):
        student = create_model(tiny_bert_dir, seed=0)
        targets = TeacherTargets(texts, table * scale, student.embedding_dim, seed=0)
        cfg = TrainConfig(epochs=2, lr=1e-3, batch_size=8, seed=0, loss="cosent", save_checkpoints=False)
        Trainer(
            student, cfg, taught.train_data, out_dir=tmp_path / f"x{scale:g}", show_progress=False, teacher=targets
        ).train()
        with torch.no_grad():
            finals.append(student.encode(texts))
    # same seeds, same data: only the targets' norm differs, which the term divides out (up to float32 rounding of
    # the division, ~1e-7 relative per step over 6 steps); an unnormalised term moves the weights by orders more
    torch.testing.assert_close(finals[0], finals[1], rtol=1e-4, atol=1e-4)


def test_cross_teacher_and_twin_only_settings(tmp_path, tiny_bert_dir, twin_teacher, cross_teacher):
    with pytest.raises(ConfigError, match=r"is a twin: it either labels silver pairs \(silver_pairs\).*not both"):
        _teach(tmp_path, tiny_bert_dir, twin_teacher, silver_pairs=4, distill_weight=1.0)
    with pytest.raises(ConfigError, match="distill_weight apply to a twin teacher"):
        _teach(tmp_path, tiny_bert_dir, cross_teacher, distill_weight=2.0)
    with pytest.raises(ConfigError, match="pass teacher MODEL"):
        textsiam.fit(tmp_path / "missing.tsv", tmp_path / "o", model=tiny_bert_dir, silver_pairs=3)
    with pytest.raises(ConfigError, match="silver_sampling"):
        textsiam.fit(tmp_path / "missing.tsv", tmp_path / "o", model=tiny_bert_dir, silver_sampling="nearest")


def test_a_teacher_of_another_kind_is_refused_by_name(tmp_path, tiny_bert_dir):
    pseudo = tmp_path / "pseudo"
    build_model({"pair_model": "pseudo", "left": _bert(tiny_bert_dir), "right": _bert(tiny_bert_dir)}).save(pseudo)
    with pytest.raises(ConfigError, match=r"teacher '.*pseudo' is a pair model 'pseudo'.*cross-encoder.*twin"):
        _teach(tmp_path / "a", tiny_bert_dir, pseudo)
    classes = tmp_path / "classes"
    build_model({"pair_model": "cross", "encoder": _bert(tiny_bert_dir), "classes": ["x", "y", "z"]}).save(classes)
    with pytest.raises(ConfigError, match=r"pair model 'cross' with classes \['x', 'y', 'z'\]"):
        _teach(tmp_path / "b", tiny_bert_dir, classes)


def test_targets_refuse_a_table_that_does_not_fit():
    with pytest.raises(ConfigError, match="do not fit 3 texts"):
        TeacherTargets(["a", "b", "c"], torch.zeros(2, 4), student_dim=4)
    assert TeacherTargets(["a"], torch.zeros(1, 4), student_dim=4).distill.projection is None  # same size: none


def test_cli_and_api_draw_the_same_silver_pairs(tmp_path, tiny_bert_dir, cross_teacher):
    from tests.helpers.fixtures import write_word_pairs
    from textsiam.cli.main import main

    pairs = write_word_pairs(tmp_path / "pairs.tsv", n=20)
    common = {"silver_sampling": "random", "silver_pairs": 9, "seed": 4, "epochs": 1}
    textsiam.fit(pairs, tmp_path / "api", model=tiny_bert_dir, teacher=cross_teacher, keep_checkpoint=True,
                 show_progress=False, **common)  # fmt: skip
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in common.items()]
    argv = ["train", "--model", tiny_bert_dir, "--teacher", cross_teacher, "--train", pairs, "--out", tmp_path / "cli"]
    assert main([str(x) for x in [*argv, *flags, "--keep-checkpoint", "--quiet"]]) == 0
    api, cli = (load_file(tmp_path / d / "teacher_cache.safetensors") for d in ("api", "cli"))
    assert api["pairs"].tolist() == cli["pairs"].tolist() and len(api["pairs"]) == 9
    torch.testing.assert_close(api["scores"], cli["scores"], atol=0, rtol=0)  # same process, same batches


def test_a_run_trained_without_a_teacher_does_not_resume_with_one(tmp_path, tiny_bert_dir, cross_teacher):
    from tests.helpers.fixtures import write_word_pairs

    pairs, out = write_word_pairs(tmp_path / "pairs.tsv", n=12), tmp_path / "run"
    textsiam.fit(pairs, out, model=tiny_bert_dir, epochs=1, keep_checkpoint=True, show_progress=False)
    with pytest.raises(ConfigError, match="trained without a teacher"):
        textsiam.fit(pairs, out, model=tiny_bert_dir, epochs=1, teacher=cross_teacher, resume=True)


def test_cli_and_api_take_several_teachers_and_a_resumed_run_reads_their_cache(
    tmp_path, tiny_bert_dir, cross_teacher, twin_teacher
):
    from tests.helpers.fixtures import write_word_pairs
    from textsiam.cli.main import main

    pairs = write_word_pairs(tmp_path / "pairs.tsv", n=20)
    common = {"silver_sampling": "random", "silver_pairs": 9, "seed": 4, "epochs": 1}
    api = {"model": tiny_bert_dir, "teacher": [cross_teacher, twin_teacher], "keep_checkpoint": True}
    textsiam.fit(pairs, tmp_path / "api", show_progress=False, **api, **common)  # Paths in a list
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in common.items()]
    argv = ["train", "--model", tiny_bert_dir, "--teacher", cross_teacher, twin_teacher, "--train", pairs]
    assert main([str(x) for x in [*argv, "--out", tmp_path / "cli", *flags, "--keep-checkpoint", "--quiet"]]) == 0
    first, cli = (load_file(tmp_path / d / "teacher_cache.safetensors") for d in ("api", "cli"))
    assert first.keys() == cli.keys() and all(torch.equal(first[k], cli[k]) for k in first)  # same process, batches
    config = (tmp_path / "api" / "train_config.yaml").read_text()
    assert f"teacher:\n- {cross_teacher}\n- {twin_teacher}\n" in config  # strings, not Python objects
    calls = []
    monkey = pytest.MonkeyPatch()
    monkey.setattr(CrossModel, "pair_outputs", lambda *a, **k: calls.append(1))
    try:
        textsiam.fit(pairs, tmp_path / "api", resume=True, show_progress=False, **api, **common)
    finally:
        monkey.undo()
    assert calls == []  # resumed: both teachers' labels from the cache
    with pytest.raises(ConfigError, match="other teacher settings"):
        textsiam.fit(pairs, tmp_path / "api", resume=True, **{**api, "teacher": [cross_teacher]}, **common)
