"""textsiam.api, the front door: each public function on small data (the random tiny BERT, data/samples), with its
results and its errors. ``fit`` runs in tests/train/test_fit.py; here: its typed signature."""

from __future__ import annotations

import dataclasses
import inspect
import json

import numpy as np
import pytest

import textsiam
import textsiam.api as api
from tests.helpers.fixtures import BATCHED, ROOT
from textsiam.errors import ConfigError, DataError

SAMPLES = ROOT / "data" / "samples"
SAME = 1e-5
"""Cosine of an embedding with itself in float32: 1 up to the rounding of a normalised dot product of 32 terms."""

PUBLIC_BEFORE = {
    "textsiam": ["create_model", "load", "load_model", "build_model", "export", "fit", "FitResult", "evaluate"]
    + ["score_file", "load_data", "score_pairs", "tune_threshold", "list_components", "read_pairs", "digit_pairs"]
    + ["PairData", "select_threshold", "search", "build_index", "load_index", "encode_file", "quantize", "Decision"]
    + ["PairModel", "TwinModel", "PseudoSiameseModel", "Trainer", "TrainConfig", "__version__"],
    "textsiam.api": ["FitResult", "decision_columns", "evaluate", "fit", "list_components", "rank", "retrieval"]
    + ["similarity_matrix", "load_data", "score_file", "score_pairs", "score_texts", "tune_threshold"],
}
"""The names users imported from the facade and from ``textsiam.api`` before the API became a package."""


@pytest.mark.parametrize("module", sorted(PUBLIC_BEFORE))
def test_every_public_name_of_before_still_imports(module):
    imported = __import__(module, fromlist=["_"])
    missing = [name for name in PUBLIC_BEFORE[module] if getattr(imported, name, None) is None]
    assert not missing
    assert textsiam.fit is api.fit and textsiam.evaluate is api.evaluate and callable(textsiam.load)
    assert set(api.__all__) >= set(PUBLIC_BEFORE["textsiam.api"])


def test_an_unknown_api_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'fitt'"):
        api.fitt  # noqa: B018


@pytest.fixture(scope="module")
def model(tiny_bert_dir):
    return textsiam.create_model(str(tiny_bert_dir))


def test_load_data_reads_a_sample_file_and_an_embedded_set():
    data = api.load_data(SAMPLES / "sts_pairs.tsv", limit=7)
    assert len(data) == 7 and data.label_kind == "graded"
    assert data.a[0] == "A man is playing a guitar on the street."
    assert len(api.load_data("digits:dev", limit=3)) == 3
    with pytest.raises(TypeError, match="txt_a"):
        api.load_data(SAMPLES / "pairs.jsonl", txt_a="x")  # a wrong name fails at the call, as mypy says
    with pytest.raises(DataError, match="missing.tsv"):
        api.load_data(SAMPLES / "missing.tsv")


def test_score_pairs_gives_one_for_identical_texts_and_checks_the_batch_size(model):
    scores = api.score_pairs(model, ["a dog runs", "a cat eats"], ["a dog runs", "the man plays piano"])
    assert scores.shape == (2,) and scores[0] == pytest.approx(1.0, abs=SAME) and scores[1] < scores[0]
    with pytest.raises(ConfigError, match="batch_size"):
        api.score_pairs(model, ["a"], ["b"], batch_size=0)


def test_score_texts_and_decision_columns(model):
    cols = api.score_texts(model, ["a dog runs"], ["a dog runs"])
    assert list(cols) == ["score"] and float(cols["score"][0]) == pytest.approx(1.0, abs=SAME)
    decision = textsiam.Decision(threshold=0.5, strategy="youden")
    decided = api.decision_columns(decision, np.array([0.2, 0.9]))
    assert decided == {"score": ["0.200000", "0.900000"], "match": ["false", "true"]}


def test_score_file_writes_the_input_columns_and_the_scores(model, tmp_path):
    out = tmp_path / "scored.tsv"
    assert api.score_file(model, SAMPLES / "pairs.jsonl", out, limit=4) == 4
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == ["text_a", "text_b", "label", "score"] and len(lines) == 5
    copy = tmp_path / "pairs.jsonl"
    copy.write_text((SAMPLES / "pairs.jsonl").read_text())
    with pytest.raises(ConfigError, match="--pairs file itself"):
        api.score_file(model, copy, copy)


def test_evaluate_returns_metrics_and_scores_and_checks_the_device_first(model, tmp_path):
    metrics, scores = api.evaluate(model, SAMPLES / "paraphrase.csv", report=tmp_path / "r")
    assert metrics["n"] == 60 == len(scores) and 0 <= metrics["roc_auc"] <= 1 and metrics["score"] == "cosine"
    assert (tmp_path / "r" / "report.html").is_file()
    with pytest.raises(ConfigError, match="'tpu'"):  # before the (missing) data is read
        api.evaluate(model, tmp_path / "missing.tsv", device="tpu")


def test_tune_threshold_saves_the_decision_with_a_copy_of_the_model(model, tmp_path):
    decision = api.tune_threshold(model, SAMPLES / "paraphrase.csv", "max-accuracy", cv=3, save_to=tmp_path / "m")
    assert decision is model.decision and 0 <= decision.metrics["accuracy"] <= 1
    assert json.loads((tmp_path / "m" / "decision.json").read_text())["threshold"] == pytest.approx(decision.threshold)
    with pytest.raises(ConfigError, match="not a saved model folder"):
        api.tune_threshold("digits-mlp-twin", SAMPLES / "paraphrase.csv")
    model.decision = None


def test_rank_and_similarity_matrix_put_the_identical_text_first(model):
    texts = ["the man plays piano", "a dog runs", "a cat eats food"]
    matrix = api.similarity_matrix(model, ["a dog runs"], texts)
    assert matrix.shape == (1, 3) and matrix[0, 1] == pytest.approx(1.0, abs=SAME)
    ranked = api.rank(model, "a dog runs", texts)
    assert ranked[0][0] == 1 and [i for i, _ in ranked] == list(np.argsort(-matrix[0], kind="stable"))
    with pytest.raises(ConfigError, match="query_side"):
        api.rank(model, "a dog runs", texts, query_side="up")
    with pytest.raises(ConfigError, match="one --image"):
        api.rank_images_texts(model, texts=["a", "b"])


def test_encode_writes_one_row_per_text(model, tmp_path):
    done = api.encode(model, SAMPLES / "texts.txt", tmp_path / "e.npy")
    rows = np.load(tmp_path / "e.npy")
    assert (done.rows, done.dim, done.main) == (30, model.embedding_dim, True) and rows.shape == (30, done.dim)
    first = model.encode(["The train to the coast leaves every hour from platform two."], "left").numpy()
    np.testing.assert_allclose(rows[:1], first, atol=BATCHED)  # in a batch of 30 vs alone (fixtures.BATCHED)


def test_search_files_finds_a_corpus_line_for_itself(tiny_bert_dir, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("Heavy rain is expected across the north of the country tomorrow.\n")
    out = tmp_path / "hits.jsonl"
    n = api.search_files(model_name=str(tiny_bert_dir), queries=queries, corpus=SAMPLES / "texts.txt", output=out)
    hit = json.loads(out.read_text())["results"][0]
    assert n == 1 and hit["id"] == 2 and hit["score"] == pytest.approx(1.0, abs=SAME)  # line 3, ids from 0
    with pytest.raises(ConfigError, match="say what to search"):
        api.search_files(model_name=str(tiny_bert_dir), queries=queries, output=out)


def test_export_writes_a_sentence_transformers_folder(model, tmp_path):
    done = api.export(model, tmp_path / "st")
    assert done.out == tmp_path / "st" and (done.out / "modules.json").is_file() and done.dropped == []
    hf = api.export(model, tmp_path / "hf", format="hf")
    assert (hf.out / "config.json").is_file()
    with pytest.raises(ConfigError, match="not an empty folder"):
        api.export(model, tmp_path / "st")


def test_the_dataset_catalogue_and_an_embedded_dataset(tmp_path):
    catalog = api.dataset_catalog()
    assert {"stsb", "digits"} <= set(catalog) and catalog["digits"].embedded
    fetched = api.get_dataset("digits", tmp_path / "d")
    assert fetched.entry is catalog["digits"] and fetched.written == [] and not (tmp_path / "d").exists()
    with pytest.raises(ConfigError, match="stsb"):
        api.get_dataset("stsbb", tmp_path / "d")


def test_list_components_by_kind():
    assert "cosent" in api.list_components("losses")["losses"]
    assert set(api.list_components()) >= {"losses", "encoders", "presets"}
    with pytest.raises(ConfigError, match="unknown component kind 'loss'"):
        api.list_components("loss")


def test_demo_reports_each_part_as_it_goes_and_keeps_the_model(tmp_path):
    parts = []
    result = api.demo(
        tmp_path / "d",
        epochs=1,
        pretrained=False,
        overrides={"pairs_per_image": 2},
        report=lambda p, r: parts.append(p),
    )
    assert parts == ["digits-start", "digits"] and result.pretrained is None
    assert result.digits.pairs["test"] == result.digits.metrics["n"] == 900  # the fixed test pairs
    assert result.digits.metrics["accuracy"] > 0.5  # one epoch of the digits twin is well above chance
    assert textsiam.load(tmp_path / "d").decision.threshold == result.digits.metrics["threshold"]


def test_fit_is_typed_and_its_settings_are_the_declared_fields():
    from textsiam.api.settings import READ_KEYS, RunSettings
    from textsiam.read_options import ReadOptions

    params = inspect.signature(api.fit).parameters
    declared = {f.name for f in dataclasses.fields(RunSettings)} | set(READ_KEYS)
    declared |= {f.name for f in dataclasses.fields(textsiam.TrainConfig)}
    own = {"config", "resume", "overwrite", "show_progress", "epoch_lines", "echo", "callbacks"}
    assert set(params) == declared | own and not any(p.kind is p.VAR_KEYWORD for p in params.values())
    assert set(READ_KEYS) == {"format"} | {f.name for f in dataclasses.fields(ReadOptions)} - {"seed"}
    with pytest.raises(TypeError, match="epochz"):
        api.fit("t.tsv", "o", preset="digits-mlp-twin", epochz=2)


def test_read_pairs_and_load_data_take_the_read_options_fields():
    from textsiam.read_options import ReadOptions

    fields = {f.name for f in dataclasses.fields(ReadOptions)}
    for fn in (textsiam.read_pairs, api.load_data):
        keywords = {n for n, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}
        assert keywords == fields, fn.__name__
