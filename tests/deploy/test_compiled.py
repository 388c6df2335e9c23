"""Compiled int8 layers (textsiam/deploy/compiled.py): the same model, fewer passes over memory."""

from __future__ import annotations

import logging

import pytest
import torch

from tests.helpers.fixtures import make_tiny_mpnet
from textsiam.deploy.compiled import CompiledLayers, compile_int8, cxx_compiler
from textsiam.deploy.quantize import (
    for_inference,
    load_for_inference,
    per_token_int8_exact,
    quantize,
    quantize_int8,
)
from textsiam.encoders.packed_bert import LAYERS_STEP
from textsiam.errors import ConfigError
from textsiam.models import create_model

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food"]
needs_compiled_int8 = pytest.mark.skipif(
    not per_token_int8_exact() or cxx_compiler() is None,
    reason="compiled int8 needs the per-token int8 path (VNNI or AMX) and a C++ compiler for torch.compile",
)


def _steps(model) -> list:
    return [getattr(m.transformer, LAYERS_STEP, None) for m in model.modules() if hasattr(m, "_packable")]


def _cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=1)


@needs_compiled_int8
@pytest.mark.parametrize("arch", ["bert", "mpnet"])
def test_compiled_int8_is_the_eager_int8_and_does_not_depend_on_the_batch(arch, tiny_bert_dir, tmp_path):
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    folder = tiny_bert_dir if arch == "bert" else make_tiny_mpnet(tmp_path, bias_std=1.0)
    model = create_model(str(folder)).eval()
    eager = quantize_int8(model, TEXTS)
    compiled = quantize_int8(model, TEXTS)
    assert compile_int8(compiled) is None
    step = _steps(compiled)[0]
    assert isinstance(step, CompiledLayers)
    texts = TEXTS + ["!!! ??? ... ### $$$ %%% &&& @@@ *** ((( )))"]
    got = compiled.encode(texts)
    assert step.failed is None  # it ran compiled, not the fallback
    # fused loops round some float32 steps differently (here: 1.2e-7 at most, cosine 0.9999998), and on real
    # models that can move an activation across an int8 rounding boundary (one level: 1/127 of its token's largest
    # value; mpnet's STS-B test Spearman stays 0.8343 either way). 0.999 allows such a level; a wrong scale, bias or
    # row gives cosines far below 0.99.
    assert _cosines(got, eager.encode(texts)).min() > 0.999
    # each token's arithmetic depends on that token alone: bit-identical alone, in any batch, and in any order
    alone = torch.cat([compiled.encode([t]) for t in texts])
    assert torch.equal(alone, got)
    assert torch.equal(compiled.encode(texts[::-1]), got.flip(0))
    # one graph for the whole stack, and for every batch shape but the one-row specialisation (batch 1)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] <= 2


def _other_bert(tiny_bert_dir, folder):
    """The tiny BERT's tokenizer with another structure (4 heads, 3 layers, other weights)."""
    import shutil

    from transformers import BertConfig, BertModel

    shutil.copytree(tiny_bert_dir, folder)
    config = BertConfig.from_pretrained(folder)
    config.num_attention_heads, config.num_hidden_layers = 4, 3
    torch.manual_seed(1)
    BertModel(config).save_pretrained(folder)
    return folder


@needs_compiled_int8
def test_each_tower_runs_its_own_graphs(tiny_bert_dir, tmp_path):
    # the compiled stack keeps no guards on a tower's modules, so a graph traced for one tower (2 heads, 2 layers)
    # must never run another's (4 heads, 3 layers): each tower's graphs hang off its own code object
    models = [create_model(str(tiny_bert_dir)).eval(), create_model(str(_other_bert(tiny_bert_dir, tmp_path / "b")))]
    eager = [quantize_int8(m.eval(), TEXTS) for m in models]
    compiled = [quantize_int8(m, TEXTS) for m in models]
    for model in compiled:
        assert compile_int8(model) is None
    for _ in range(2):  # alternate: a, b, a, b
        for fast, slow in zip(compiled, eager, strict=True):
            assert _cosines(fast.encode(TEXTS), slow.encode(TEXTS)).min() > 0.999
    assert all(step.failed is None for model in compiled for step in _steps(model))


@needs_compiled_int8
def test_a_tower_in_training_mode_runs_the_eager_stack(tiny_bert_dir, monkeypatch):
    from textsiam.deploy import compiled as module

    model = quantize_int8(create_model(str(tiny_bert_dir)).eval(), TEXTS)
    compile_int8(model)
    step = _steps(model)[0]
    monkeypatch.setattr(step, "_compiled", lambda *_args: "compiled")
    monkeypatch.setattr(module, "run_layers", lambda *_args: "eager")
    layers = torch.nn.ModuleList([torch.nn.Linear(1, 1)])
    assert step(layers.eval(), "x") == "compiled"
    assert step(layers.train(), "x") == "eager"  # dropout is not in the graphs, and no guard would notice


@needs_compiled_int8
def test_a_failed_compile_warns_and_runs_the_eager_layers(tiny_bert_dir, monkeypatch, caplog):
    model = create_model(str(tiny_bert_dir)).eval()
    eager = quantize_int8(model, TEXTS)
    compiled = quantize_int8(model, TEXTS)
    compile_int8(compiled)
    step = _steps(compiled)[0]

    def broken(*_args):
        raise RuntimeError("C++ compile failed: cc1plus: out of memory\nmore lines")

    monkeypatch.setattr(step, "_compiled", broken)
    with caplog.at_level(logging.WARNING, logger="textsiam.deploy.compiled"):
        got = compiled.encode(TEXTS)
    assert step.failed == "RuntimeError: C++ compile failed: cc1plus: out of memory"
    assert "compiling the int8 layers failed (RuntimeError: C++ compile failed" in caplog.text
    assert torch.equal(got, eager.encode(TEXTS))  # the eager layers themselves


def test_compile_says_why_it_cannot_run_and_leaves_the_model_eager(tiny_bert_dir, monkeypatch, caplog):
    from textsiam.deploy import compiled as module

    model = create_model(str(tiny_bert_dir)).eval()
    per_batch = quantize_int8(model, TEXTS, per_token=False)
    with caplog.at_level(logging.WARNING, logger="textsiam.deploy.compiled"):
        why = compile_int8(per_batch)
    assert "per-batch" in why and "per-batch" in caplog.text
    assert _steps(per_batch) == [None]
    if per_token_int8_exact():
        monkeypatch.setattr(module, "cxx_compiler", lambda: None)
        per_token = quantize_int8(model, TEXTS, per_token=True)
        assert "no C++ compiler found" in compile_int8(per_token)
        assert _steps(per_token) == [None]


def test_compile_is_refused_without_int8(tiny_bert_dir, capsys):
    from textsiam.cli.main import main

    with pytest.raises(ConfigError, match="--compile compiles the int8 layers: add --quantize int8"):
        for_inference(create_model(str(tiny_bert_dir)), None, compile=True)
    with pytest.raises(ConfigError, match="add --quantize int8"):
        load_for_inference(str(tiny_bert_dir), None, "bf16", compile=True)
    with pytest.raises(ConfigError, match="add --quantize int8"):
        quantize(create_model(str(tiny_bert_dir)), None, compile=True)
    assert main(["score", "--model", str(tiny_bert_dir), "--a", "x", "--b", "y", "--compile"]) == 2
    assert "add --quantize int8" in capsys.readouterr().err
