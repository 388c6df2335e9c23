"""A cross model's ONNX export: onnxruntime alone gives the model's logits; the folder is still a transformers one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import BATCHED, WORDS
from textsiam.errors import ConfigError
from textsiam.models.io import build_model

ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (the 'onnx' extra)")
pytest.importorskip("onnxscript", reason="onnxscript not installed (the 'onnx' extra)")

A = ["a man plays the guitar", "a woman eats pizza", "two children read a book in the garden", "the dog", "a"]
B = ["a man plays music", "the cat sits", "children read", "a red car on the street near the old station", "b"]
# longer than the traced pairs, within the tiny BERT's 64 positions
LONG = [" ".join(["a man plays the guitar on a stage while people dance"] * 2), "ok"]
# ONNX_FP32: the same float32 weights through onnxruntime's kernels instead of torch's: each logit sums ~10^2
# products per layer in another order (another GEMM blocking, fused attention), the BATCHED situation
# (helpers/fixtures.py): ~1e-5 of values of magnitude ~1 (here the logits are ~0.2, the hidden states ~1).
# Measured max |diff|: 9e-8, natively and with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2.
ONNX_FP32 = BATCHED
# INT8_LOGITS (a fraction of the float logits' spread over the pairs): int8 weights per output channel (a step of
# ~1/127 of a row's largest weight) and 7- or 8-bit activations per batch (a step of ~1/64-1/128 of the tensor's
# largest |x|, after smoothing) through 2 layers and the head leave an error of ~1-2% of the logits' own size (~0.2).
# The tiny random model reads every pair almost alike (its logits spread only ~0.01-0.04, 5-20% of their size), so
# that error is a large part of the spread: measured max |diff| / spread over seeds 7-16, 50 pairs: onnxruntime
# 0.08-0.27, torch 0.04-0.34 (natively and with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2). 0.5 leaves room
# for other kernels' rounding and still fails when the int8 graph stops following the pairs (an error as large as
# the spread).
INT8_LOGITS = 0.5
# INT8_RANKS: Spearman between int8 and float logits over the same 50 pairs; measured 0.94-0.99 (onnxruntime) and
# 0.95-0.99 (torch) over seeds 7-16: pairs whose float logits differ by less than the int8 error swap places. 0.9
# holds for all of them; a graph that ranks unrelated to the float model gives ~0 +- 0.14 (1 / sqrt(49)).
INT8_RANKS = 0.9


def _cross(folder, seed: int, **args):
    torch.manual_seed(seed)
    config = {
        "pair_model": "cross",
        "encoder": {"name": "hf-transformer", "args": {"model_name_or_path": str(folder), "max_length": 64}},
    }
    model = build_model({**config, **args}).eval()
    with torch.no_grad():
        for p in model.parameters():  # away from the initial weights (the head's bias starts at 0), as training would
            p.add_(0.05 * torch.randn_like(p))
    return model


def _logits(path, folder, a, b):
    """onnxruntime's ``logits`` for the pairs, on the tokens the exported folder's tokenizer makes."""
    from transformers import AutoTokenizer

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    features = tokenizer(a, b, padding=True, truncation=True, return_tensors="np")
    feeds = {i.name: features[i.name].astype(np.int64) for i in session.get_inputs()}
    assert [o.name for o in session.get_outputs()] == ["logits"]  # the name optimum's sequence classification reads
    (logits,) = session.run(["logits"], feeds)
    return torch.from_numpy(logits)


@pytest.mark.parametrize("classes", [None, ["agree", "disagree", "unrelated"]])
def test_onnxruntime_alone_gives_the_cross_models_logits(tiny_bert_dir, tmp_path, classes):
    import textsiam

    args = {"classes": classes, "negative": "unrelated"} if classes else {}
    model = _cross(tiny_bert_dir, seed=5, **args)
    out = textsiam.export(model, tmp_path / "onnx", format="onnx")
    for a, b in ((A, B), (LONG, LONG[::-1])):  # other batch sizes and lengths than the trace: the axes are dynamic
        logits = _logits(out / "onnx" / "model.onnx", out, a, b)
        with torch.inference_mode():
            ours = model.forward_pairs(model.collate_pairs(a, b))
        assert logits.shape == (len(a), len(classes) if classes else 1)
        torch.testing.assert_close(logits if classes else logits[:, 0], ours, atol=ONNX_FP32, rtol=0)
    record = json.loads((out / "textsiam_onnx.json").read_text())
    assert record["opset"] == 18 and record["outputs"] == ["logits"]
    assert record["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]  # BERT's pair encoding uses segments
    import onnx

    assert {o.version for o in onnx.load(str(out / "onnx" / "model.onnx")).opset_import if o.domain == ""} == {18}
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(out)  # the folder is still the --format hf folder


def _word_pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` pairs of tiny-BERT vocabulary sentences; every third pair a sentence and a shuffle of it (higher logits
    on a trained model; here they spread the untrained logits)."""
    import random

    rng = random.Random(seed)
    a = [" ".join(rng.sample(WORDS, rng.randint(3, 9))) for _ in range(n)]
    b = [
        " ".join(rng.sample(t.split(), len(t.split()))) if i % 3 == 0 else " ".join(rng.sample(WORDS, 6))
        for i, t in enumerate(a)
    ]
    return a, b


def _rank_agreement(x: torch.Tensor, y: torch.Tensor) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x.numpy(), y.numpy()).statistic)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_int8_onnx_logits_stay_close_to_float_and_rank_the_pairs_alike(tiny_bert_dir, tmp_path, seed):
    import onnx

    import textsiam
    from textsiam.deploy.onnx_export import int8_file_name

    model = _cross(tiny_bert_dir, seed=seed)
    out = textsiam.export(model, tmp_path / "onnx", format="onnx", quantize="int8")
    name = int8_file_name()
    assert sorted(p.name for p in (out / "onnx").iterdir()) == sorted(["model.onnx", name])  # no scratch file left
    record = json.loads((out / "textsiam_onnx.json").read_text())
    assert record["files"] == ["onnx/model.onnx", f"onnx/{name}"] and record["quantize"] == "int8"
    graph = onnx.load(str(out / "onnx" / name)).graph
    assert any(n.op_type in ("DynamicQuantizeLinear", "MatMulInteger") for n in graph.node)  # really int8
    a, b = _word_pairs(50, seed)
    int8 = _logits(out / "onnx" / name, out, a, b)[:, 0]
    with torch.inference_mode():
        ours = model.forward_pairs(model.collate_pairs(a, b))
    spread = float(ours.max() - ours.min())
    assert float((int8 - ours).abs().max()) <= INT8_LOGITS * spread
    assert _rank_agreement(int8, ours) >= INT8_RANKS


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_textsiams_own_int8_scores_a_cross_model_like_float(tiny_bert_dir, seed):
    from textsiam.deploy.quantize import is_quantized, is_smoothed, quantize

    model = _cross(tiny_bert_dir, seed=seed)
    q = quantize(model, "int8")  # calibrated on pairs: a cross model has no encode
    assert is_quantized(q) and any(is_smoothed(m) for m in q.modules())
    assert not any(isinstance(m, torch.nn.Linear) for m in q.modules())  # every Linear runs in int8, head included
    a, b = _word_pairs(50, seed)
    with torch.inference_mode():
        ours, int8 = (m.forward_pairs(m.collate_pairs(a, b)) for m in (model, q))
    spread = float(ours.max() - ours.min())
    assert float((int8 - ours).abs().max()) <= INT8_LOGITS * spread
    assert _rank_agreement(int8, ours) >= INT8_RANKS
    scores = q.pair_outputs(a, b)  # the scoring path score / evaluate / serve use
    torch.testing.assert_close(scores, torch.sigmoid(int8), atol=BATCHED, rtol=0)


def test_the_int8_file_is_named_by_the_cpu(monkeypatch):
    from textsiam.deploy import onnx_export

    monkeypatch.setattr(onnx_export, "has_vnni", lambda: True)
    assert onnx_export.int8_file_name() == "model_qint8_avx512_vnni.onnx"
    monkeypatch.setattr(onnx_export, "has_vnni", lambda: False)
    assert onnx_export.int8_file_name() == "model_qint8_avx2.onnx"


def test_cross_onnx_refuses_unknown_quantization_and_other_formats(tiny_bert_dir, tmp_path):
    import textsiam

    model = _cross(tiny_bert_dir, seed=6)
    with pytest.raises(ConfigError, match="unknown quantization 'int4'; choose one of int8"):
        textsiam.export(model, tmp_path / "q", format="onnx", quantize="int4")
    with pytest.raises(ConfigError, match="only with --format hf .* or --format onnx"):
        textsiam.export(model, tmp_path / "st", format="sentence-transformers")
    assert not (tmp_path / "q").exists() and not (tmp_path / "st").exists()
