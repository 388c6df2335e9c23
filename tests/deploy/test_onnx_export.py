"""ONNX export: onnxruntime alone gives textsiam's embeddings; the folder is a sentence-transformers folder too."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import textsiam
from tests.helpers.fixtures import BATCHED, needs_minilm
from textsiam.encoders import HfTextEncoder
from textsiam.models import PseudoSiameseModel, create_model

ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (the 'onnx' extra)")
pytest.importorskip("onnxscript", reason="onnxscript not installed (the 'onnx' extra)")

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats", "a"]
LONGER = [" ".join(["a man plays the guitar on a stage while people dance"] * 6), "ok"]  # longer than the trace
# ONNX_FP32: the same float32 weights through onnxruntime's kernels instead of torch's: each output sums ~10^2
# products per layer in another order (another GEMM blocking, fused attention), which is the BATCHED situation
# (helpers/fixtures.py): n * 2^-24 with n ~ 10^2 is ~1e-5 of values of norm ~1. Measured: max |diff| 2e-7 (tiny BERT).
ONNX_FP32 = BATCHED


def _trained(model):
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():  # away from the initial weights, as training would
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def _run(path, tower, texts):
    """``(last_hidden_state, sentence_embedding)`` from onnxruntime, on the tokens textsiam's tower makes."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    cut = tower.export_parts().max_length  # the tiny BERT's 64 positions
    features = tower.tokenizer(texts, padding=True, truncation=True, max_length=cut, return_tensors="np")
    names = [i.name for i in session.get_inputs()]
    feeds = {n: features[n].astype(np.int64) for n in names}
    hidden, embedding = session.run(["last_hidden_state", "sentence_embedding"], feeds)
    return torch.from_numpy(hidden), torch.from_numpy(embedding)


@pytest.mark.parametrize(
    ("encoder_args", "projection_dim"),
    [({}, None), ({"pooling": "cls", "normalize": True}, 8), ({"dense": [{"in_features": 32, "out_features": 16}]}, 4)],
)
def test_onnxruntime_alone_gives_textsiams_embeddings(tiny_bert_dir, tmp_path, encoder_args, projection_dim):
    model = _trained(create_model(str(tiny_bert_dir), projection_dim=projection_dim, encoder_args=encoder_args, seed=0))
    out = textsiam.export(model, tmp_path / "onnx", format="onnx")
    tower = model.encoder
    for texts in (TEXTS, LONGER):  # other batch sizes and lengths than the traced example: the axes are dynamic
        hidden, embedding = _run(out / "onnx" / "model.onnx", tower, texts)
        torch.testing.assert_close(embedding, model.encode(texts), atol=ONNX_FP32, rtol=0)
        cut = tower.export_parts().max_length
        features = tower.tokenizer(texts, padding=True, truncation=True, max_length=cut, return_tensors="pt")
        with torch.no_grad():
            expected = tower.transformer(**features).last_hidden_state
        torch.testing.assert_close(hidden, expected, atol=ONNX_FP32, rtol=0)
    manifest = json.loads((out / "textsiam_export.json").read_text())
    assert manifest["onnx"]["opset"] == 18 and manifest["onnx"]["files"] == ["onnx/model.onnx"]
    import onnx

    assert {o.version for o in onnx.load(str(out / "onnx" / "model.onnx")).opset_import if o.domain == ""} == {18}
    torch.testing.assert_close(textsiam.load(out).encode(TEXTS), model.encode(TEXTS), atol=BATCHED, rtol=0)


def test_a_pseudo_model_exports_one_graph_per_tower(tiny_bert_dir, tmp_path):
    right = HfTextEncoder(str(tiny_bert_dir), pooling="cls", normalize=True)
    model = _trained(PseudoSiameseModel(HfTextEncoder(str(tiny_bert_dir)), right, projection_dim=6))
    out = textsiam.export(model, tmp_path / "onnx", format="onnx")
    files = json.loads((out / "textsiam_export.json").read_text())["onnx"]["files"]
    assert len(files) == 2
    for side, file in zip(("left", "right"), files, strict=True):
        _, embedding = _run(out / file, model.tower(side), TEXTS)
        torch.testing.assert_close(embedding, model.encode(TEXTS, side=side), atol=ONNX_FP32, rtol=0)


def test_cli_onnx_int8_writes_the_quantized_file_and_refuses_quantize_elsewhere(tiny_bert_dir, tmp_path, capsys):
    from textsiam.cli.main import main

    model = _trained(create_model(str(tiny_bert_dir), seed=0))
    model.save(tmp_path / "m")
    assert main(["export", "--model", str(tmp_path / "m"), "--format", "onnx", "--quantize", "int8",
                 "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    quantized = sorted(p.name for p in (tmp_path / "o" / "onnx").glob("model_qint8_*.onnx"))
    assert quantized in (["model_qint8_avx2.onnx"], ["model_qint8_avx512_vnni.onnx"])
    _, embedding = _run(tmp_path / "o" / "onnx" / quantized[0], model.encoder, TEXTS)
    cosine = torch.nn.functional.cosine_similarity(embedding, model.encode(TEXTS))
    # a random tiny BERT has no activation outliers; int8 weights and activations keep each embedding's direction
    # to within a few int8 steps (1/127 ~ 0.008 relative) per layer: cosine well above 0.95, unlike a broken graph
    assert float(cosine.min()) > 0.95, cosine
    # torch's exporter talks about itself on every export (shared axis names, a deprecated pytree check): none of it
    # reaches the user as a "textsiam export: warning:" line
    assert "warning:" not in capsys.readouterr().err
    assert main(["export", "--model", str(tmp_path / "m"), "--quantize", "int8", "--out", str(tmp_path / "s")]) == 2
    assert "--quantize int8 applies to --format onnx" in capsys.readouterr().err


def test_quiet_exporter_drops_torchs_own_messages_only():
    import logging
    import warnings

    from textsiam.deploy.onnx_export import _EXPORTER_LOGGER, quiet_exporter

    logger = logging.getLogger(_EXPORTER_LOGGER)
    before = logger.level
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_exporter():
            warnings.warn("# The axis name: batch will not be used, since it shares the same shape constraints "
                          "with another axis: batch.", UserWarning, stacklevel=1)  # fmt: skip
            warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=1)
            warnings.warn("aten::foo has no ONNX symbolic: exported as a custom op", UserWarning, stacklevel=1)
            assert not logger.isEnabledFor(logging.WARNING)  # "torchvision is not installed. Skipping ..." lines
    assert [str(w.message) for w in seen] == ["aten::foo has no ONNX symbolic: exported as a custom op"]
    assert logger.level == before


@pytest.mark.slow
@needs_minilm
def test_int8_minilm_keeps_the_ranking_of_sts_pairs(shared_data, tmp_path):
    """On 300 STS-B test pairs the int8 graph's Spearman is within 0.01 of the float graph's. The full test set
    (docs/benchmarks.md, scripts/bench_onnx.py) measures the real gap; on 300 pairs a 0.01 bound leaves room for the
    sample (the two scorers differ on a handful of close pairs) while a broken quantization (unsmoothed MiniLM
    loses ~0.02-0.05) fails."""
    from scipy.stats import spearmanr

    from textsiam.data import read_pairs

    pairs = read_pairs(str(shared_data / "stsb" / "sts-test.csv"), limit=300)
    model = create_model("minilm-twin")
    out = textsiam.export(model, tmp_path / "onnx", format="onnx", quantize="int8")
    (int8,) = (out / "onnx").glob("model_qint8_*.onnx")
    rho = {}
    for name, path in (("fp32", out / "onnx" / "model.onnx"), ("int8", int8)):
        _, u = _run(path, model.encoder, pairs.a)
        _, v = _run(path, model.encoder, pairs.b)
        rho[name] = spearmanr(torch.nn.functional.cosine_similarity(u, v), pairs.labels).statistic
    assert abs(rho["int8"] - rho["fp32"]) < 0.01, rho
