"""A cross model through the trainer, the decision tools, export (transformers, CrossEncoder) and rerank."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from datasets import Dataset

from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.models.io import build_model, load_model

A = ["a man plays the guitar", "a woman eats pizza", "two children read a book", "the dog runs in the park"] * 4
B = ["a man plays music", "the cat sits", "children read", "a red car on the street"] * 4
LABELS = [1.0, 0.0, 1.0, 0.0] * 4


def _cross(folder, seed: int = 0, **args):
    torch.manual_seed(seed)
    config = {"pair_model": "cross", "encoder": {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}}
    return build_model({**config, **args}).eval()


def test_trainer_runs_the_pairs_kind_and_saves_the_best_epoch(tiny_bert_dir, tmp_path):
    from textsiam.train.config import TrainConfig
    from textsiam.train.trainer import Trainer

    model = _cross(tiny_bert_dir)
    data = PairData(Dataset.from_dict({"a": A, "b": B, "label": LABELS}))
    config = TrainConfig(loss="bce", epochs=3, batch_size=4, lr=1e-3, device="cpu")
    summary = Trainer(model, config, data, dev_data=data, out_dir=tmp_path / "out", show_progress=False).train()
    assert summary["best_metric"] == "roc_auc" and summary["best_value"] == 1.0  # 4 distinct pairs, learned
    saved = load_model(tmp_path / "out")
    np.testing.assert_allclose(saved.similarity_scores(A, B), model.similarity_scores(A, B), atol=1e-6)
    log = [json.loads(line) for line in (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log if r["type"] == "eval"] == [1, 2, 3]


def test_decision_tools_work_on_cross_scores(tiny_bert_dir, tmp_path):
    import textsiam

    model = _cross(tiny_bert_dir)
    data = PairData(Dataset.from_dict({"a": A, "b": B, "label": LABELS}))
    decision = textsiam.tune_threshold(model, data, strategy="youden")
    scores = model.similarity_scores(A, B)
    np.testing.assert_array_equal(model.predict(A, B), scores >= decision.threshold)
    model.save(tmp_path / "m")  # the report reads the model folder's train log
    metrics, evaluated = textsiam.evaluate(str(tmp_path / "m"), data, report=tmp_path / "report")
    np.testing.assert_array_equal(evaluated, scores)
    assert metrics["score"] == "cross-encoder" and 0 <= metrics["roc_auc"] <= 1
    assert (tmp_path / "report" / "report.html").exists()


def test_export_hf_loads_in_transformers_with_the_same_logits(tiny_bert_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from textsiam.deploy.export import export_model

    model = _cross(tiny_bert_dir, seed=2)
    export_model(model, tmp_path / "hf", format="hf")
    hf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    tok = AutoTokenizer.from_pretrained(tmp_path / "hf")
    with torch.inference_mode():
        logits = hf(**tok(A, B, padding=True, truncation=True, return_tensors="pt")).logits  # (n, 1)
        ours = model.forward_pairs(model.collate_pairs(A, B))
    torch.testing.assert_close(logits[:, 0], ours, atol=1e-5, rtol=0)  # same weights and ops, batch-order rounding


def test_export_hf_loads_in_sentence_transformers_cross_encoder(tiny_bert_dir, tmp_path):
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import CrossEncoder

    from textsiam.deploy.export import export_model

    model = _cross(tiny_bert_dir, seed=3)
    export_model(model, tmp_path / "hf", format="hf")
    theirs = CrossEncoder(str(tmp_path / "hf"), device="cpu").predict(list(zip(A, B)))  # sigmoid of the one logit
    np.testing.assert_allclose(theirs, model.similarity_scores(A, B), atol=1e-5)  # float32 rounding of the same ops


def test_export_refuses_the_sentence_transformers_format(tiny_bert_dir, tmp_path):
    from textsiam.deploy.export import export_model

    with pytest.raises(ConfigError, match="only with --format hf"):
        export_model(_cross(tiny_bert_dir), tmp_path / "st", format="sentence-transformers")
    assert not (tmp_path / "st").exists()


def test_rerank_orders_documents_by_the_cross_score(tiny_bert_dir):
    import textsiam

    model = _cross(tiny_bert_dir, seed=4)
    docs = B[:4]
    ranked = textsiam.rerank(model, A[0], docs)
    scores = model.similarity_scores([A[0]] * 4, docs)
    assert [r["index"] for r in ranked] == np.argsort(-scores, kind="stable").tolist()
    assert [r["document"] for r in ranked] == [docs[r["index"]] for r in ranked]
    np.testing.assert_allclose([r["relevance_score"] for r in ranked], np.sort(scores)[::-1], atol=1e-6)
    assert textsiam.rerank(model, A[0], docs, top_n=2) == ranked[:2]


def test_rerank_refuses_a_twin(tiny_bert_dir):
    import textsiam
    from textsiam.models.io import create_model

    with pytest.raises(ConfigError, match="must be a cross model"):
        textsiam.rerank(create_model(str(tiny_bert_dir)), "q", ["d"])
