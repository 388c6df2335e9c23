"""A cross model's ONNX export: onnxruntime alone gives the model's logits; the folder is still a transformers one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import BATCHED
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


def _cross(folder, seed: int, **args):
    torch.manual_seed(seed)
    config = {"pair_model": "cross", "encoder": {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}}
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


def test_cross_onnx_refuses_quantize_and_other_formats(tiny_bert_dir, tmp_path):
    import textsiam

    model = _cross(tiny_bert_dir, seed=6)
    with pytest.raises(ConfigError, match="--quantize int8 is not available for a cross model"):
        textsiam.export(model, tmp_path / "q", format="onnx", quantize="int8")
    with pytest.raises(ConfigError, match="only with --format hf .* or --format onnx"):
        textsiam.export(model, tmp_path / "st", format="sentence-transformers")
    assert not (tmp_path / "q").exists() and not (tmp_path / "st").exists()
