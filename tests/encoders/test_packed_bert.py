"""The packed (unpadded) training forward of BERT and MPNet towers: same outputs and gradients as the transformer's own
forward, the same gradients with per-layer recomputation, and the transformer's forward for everything it does not
cover."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import textsiam.encoders.hf as hf_module
import textsiam.encoders.packed_bert as packed_bert
from tests.helpers.fixtures import BATCHED, make_tiny_mpnet, needs_minilm, needs_mpnet
from textsiam.encoders import HfTextEncoder
from textsiam.encoders.packed_bert import packed_forward

TEXTS = ["the cat", "a dog runs after the cat and eats the food today", "the dog eats", "a cat and a dog run"]


def _features(encoder: HfTextEncoder) -> dict[str, torch.Tensor]:
    """A batch of mixed lengths; for BERT with a second segment (token type 1) in two rows (MPNet has no token
    types)."""
    features = encoder.collate(TEXTS)
    assert features["attention_mask"].sum(1).unique().numel() == len(TEXTS)  # all lengths differ: real padding
    if "token_type_ids" in features:
        features["token_type_ids"][1, 4:8] = 1
        features["token_type_ids"][3, 2:5] = 1
    return features


def _no_dropout(encoder: HfTextEncoder) -> HfTextEncoder:
    for module in encoder.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return encoder.train()


def _run(encoder: HfTextEncoder, features: dict[str, torch.Tensor], packed: bool, monkeypatch) -> tuple:
    """Pooled outputs and parameter gradients of one forward + backward, packed or the transformer's own."""
    monkeypatch.setattr(encoder, "_packs", packed)
    encoder.zero_grad(set_to_none=True)
    out = encoder(features)
    weights = torch.linspace(-1.0, 1.0, out.numel()).view_as(out)  # a loss that weighs every output differently
    (out * weights).sum().backward()
    grads = {n: p.grad.clone() for n, p in encoder.named_parameters() if p.grad is not None}
    return out.detach(), grads


def _assert_same(encoder: HfTextEncoder, monkeypatch, atol: float, mpnet: bool = False) -> None:
    features = _features(encoder)
    out_hf, grads_hf = _run(encoder, features, False, monkeypatch)
    out_packed, grads_packed = _run(encoder, features, True, monkeypatch)
    torch.testing.assert_close(out_packed, out_hf, rtol=0, atol=BATCHED)  # pooled outputs ~1: helpers/fixtures.py
    used = "encoder.relative_attention_bias" if mpnet else "embeddings.token_type_embeddings"
    assert f"transformer.{used}.weight" in grads_packed
    # BertModel's own pooler (CLS dense + tanh) is not used by the tower: no gradient on either path
    assert grads_hf.keys() == grads_packed.keys()
    assert not any("transformer.pooler" in n for n in grads_packed)
    # float32 summation order differs: a weight's gradient sums ~10^2 token rows (4 texts x ~10 tokens, hidden 32-384)
    # in another grouping. rtol 1e-4 (~800 ulps) for entries that are sums of that many terms; atol for entries near 0,
    # where the sum cancels: the caller's
    for name, grad in grads_hf.items():
        torch.testing.assert_close(grads_packed[name], grad, rtol=1e-4, atol=atol, msg=name)


def test_packed_forward_matches_the_transformer_in_outputs_and_gradients(tiny_bert_dir, monkeypatch):
    encoder = _no_dropout(HfTextEncoder(str(tiny_bert_dir)))
    assert encoder._packs
    # atol for entries that cancel to ~0, rtol 1e-4 for the rest (entries up to 27; largest difference seen 4.2e-7)
    _assert_same(encoder, monkeypatch, atol=1e-6)


@needs_minilm
def test_packed_minilm_matches_the_transformer_in_outputs_and_gradients(monkeypatch):
    encoder = _no_dropout(HfTextEncoder("all-MiniLM-L6-v2"))
    _assert_same(encoder, monkeypatch, atol=1e-6)  # as above (entries up to 1.6; largest difference seen 1.2e-7)


@pytest.fixture(scope="module")
def tiny_mpnet_dir(tmp_path_factory) -> Path:
    return make_tiny_mpnet(tmp_path_factory.mktemp("tiny-mpnet"), bias_std=1.0)


def test_packed_mpnet_matches_the_transformer_in_outputs_and_gradients(tiny_mpnet_dir, monkeypatch):
    encoder = _no_dropout(HfTextEncoder(str(tiny_mpnet_dir)))
    assert encoder._packs
    # as for BERT: rtol 1e-4 for sums of ~10^2 rows in another order, atol for entries that cancel to ~0
    _assert_same(encoder, monkeypatch, atol=1e-6, mpnet=True)


@needs_mpnet
def test_packed_all_mpnet_base_v2_matches_the_transformer_in_outputs_and_gradients(monkeypatch):
    encoder = _no_dropout(HfTextEncoder("all-mpnet-base-v2"))
    _assert_same(encoder, monkeypatch, atol=1e-6, mpnet=True)


def test_packed_recomputation_gives_the_same_gradients_with_dropout_on(tiny_bert_dir):
    # BERT only: MPNetModel has no checkpointing switch, so checkpoint_layers leaves an MPNet tower as it is
    encoder = HfTextEncoder(str(tiny_bert_dir)).train()  # dropout on: recomputation must reuse its masks
    features = _features(encoder)
    runs, grads = [], []
    encoder.transformer.encoder.layer[0].intermediate.register_forward_pre_hook(lambda *_: runs.append(1))
    for on in (False, True):
        encoder.checkpoint_layers(on)
        encoder.zero_grad(set_to_none=True)
        torch.manual_seed(3)
        encoder(features).sum().backward()
        grads.append({n: p.grad.clone() for n, p in encoder.named_parameters() if p.grad is not None})
    assert len(runs) == 3  # once without recomputation, twice (forward + backward) with it
    for name, grad in grads[0].items():  # the same layers recomputed with the same masks and shapes: the same kernels,
        # so rounding can only come from the backward's accumulation order (~10 ulps: rtol 1e-5; atol for entries ~0)
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-5, atol=1e-7, msg=name)


def _refuse_packing(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("packed forward used")

    monkeypatch.setattr(hf_module, "packed_forward", refuse)


def test_training_steps_and_inference_of_a_plain_bert_truncating_tower_are_packed(tiny_bert_dir, monkeypatch):
    features = _features(HfTextEncoder(str(tiny_bert_dir)))
    _refuse_packing(monkeypatch)
    plain = HfTextEncoder(str(tiny_bert_dir)).train()
    with pytest.raises(AssertionError, match="packed forward used"):
        plain(features)  # a training step
    with pytest.raises(AssertionError, match="packed forward used"), torch.no_grad():
        plain.eval()(features)  # inference
    plain.eval()(features)  # evaluated with gradients on (a caller differentiating through it): the transformer's
    chunked = HfTextEncoder(str(tiny_bert_dir), max_length=8, long_text="chunk", chunk_overlap=2).train()
    assert chunked(chunked.collate(TEXTS)).requires_grad
    with torch.no_grad():
        chunked.eval()(chunked.collate(TEXTS))  # windows: the transformer's forward
    frozen = HfTextEncoder(str(tiny_bert_dir), trainable_layers=0).train()
    assert not frozen._packs


@pytest.fixture(params=["bert", "mpnet"])
def tiny_dir(request) -> Path:
    """The tiny BERT, then the tiny MPNet: the tests that take it hold for both packed forwards."""
    return request.getfixturevalue(f"tiny_{request.param}_dir")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_packed_inference_equals_the_transformer(tiny_dir, monkeypatch, dtype):
    encoder = HfTextEncoder(str(tiny_dir)).eval()
    encoder.set_inference_dtype(dtype)
    features = _features(encoder)
    calls, spans = [], []
    monkeypatch.setattr(hf_module, "packed_forward", lambda *a, **k: calls.append(1) or packed_forward(*a, **k))
    attention = packed_bert._attention
    monkeypatch.setattr(packed_bert, "_attention", lambda q, *a: spans.append(q.shape[2]) or attention(q, *a))
    with torch.inference_mode():
        packed = encoder(features)
        monkeypatch.setattr(encoder, "_packable", False)
        padded = encoder(features)
    assert calls == [1]
    # attention ran on the length rounded up to a multiple of 16, the extra keys masked (the batch's length is not one)
    length, multiple = features["input_ids"].shape[1], packed_bert.ATTENTION_MULTIPLE
    assert length % multiple and set(spans) == {-(-length // multiple) * multiple}
    # float32: the same row-wise products on fewer rows, outputs ~1: helpers/fixtures.py's BATCHED. bfloat16: 8
    # mantissa bits, a matrix product of fewer rows may block its sums differently: 2**-8 relative on outputs ~1
    atol = BATCHED if dtype == torch.float32 else 2**-8
    torch.testing.assert_close(packed, padded, rtol=0, atol=atol)


def test_a_non_bert_transformer_takes_its_own_forward(tiny_bert_dir, tmp_path, monkeypatch):
    from transformers import RobertaConfig, RobertaModel

    folder = tmp_path / "tiny-roberta"
    folder.mkdir()
    for path in Path(tiny_bert_dir).iterdir():
        if "token" in path.name or path.name == "vocab.txt":
            shutil.copy(path, folder / path.name)
    config = RobertaConfig(
        vocab_size=200, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=70, pad_token_id=0, type_vocab_size=2,
    )  # fmt: skip
    RobertaModel(config).save_pretrained(folder)
    _refuse_packing(monkeypatch)
    encoder = HfTextEncoder(str(folder)).train()
    assert not encoder._packs
    assert encoder(encoder.collate(TEXTS)).requires_grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cheap_dropout_keeps_each_value_with_probability_one_minus_p(dtype, monkeypatch):
    from textsiam.encoders.packed_bert import dropout

    def refused(*args, **kwargs):
        raise AssertionError("F.dropout called: the cheap masks were not taken")

    monkeypatch.setattr(torch.nn.functional, "dropout", refused)  # bfloat16 (--amp) takes the cheap masks too
    x = torch.ones(200_000, dtype=dtype, requires_grad=True)
    assert dropout(x, 0.0) is x
    torch.manual_seed(0)
    y = dropout(x, 0.1)
    assert y.dtype == dtype
    kept = y != 0
    # Bernoulli(0.9): the kept share lies within 5 standard deviations (0.00067) of 0.9; the draw is float32 for
    # bfloat16 too, so p is not rounded to bfloat16 (0.1 there is 0.10009765625, 1.5 deviations off)
    assert abs(kept.float().mean().item() - 0.9) < 5 * (0.9 * 0.1 / x.numel()) ** 0.5
    # inverted: 1 * (1/0.9) in x's type, one rounding (float32 or bfloat16 defaults)
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.9))
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())  # gradient: the same mask and scale
    torch.manual_seed(0)
    assert torch.equal(dropout(x, 0.1), y)  # the masks come from torch's RNG (recomputation restores it)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_keep_masks_keep_with_probability_one_minus_p_in_each_of_a_draws_four_lanes(p):
    from textsiam.encoders.packed_bert import keep_mask

    torch.manual_seed(0)
    mask = keep_mask(torch.Size([1000, 400]), p, torch.device("cpu"))
    assert mask.shape == (1000, 400) and mask.dtype == torch.bool
    # each 64-bit draw gives four masks: each lane (position mod 4) must keep with 1 - p on its own (a lane from a
    # draw's top bits that were never random would keep all or nothing); 5 standard deviations of 100,000 values
    lanes = mask.reshape(-1, 4).float().mean(0)
    assert (lanes - (1 - p)).abs().max() < 5 * (p * (1 - p) / 100_000) ** 0.5
    assert keep_mask(torch.Size([5]), p, torch.device("cpu")).shape == (5,)  # not a multiple of four


def test_written_out_attention_is_the_fused_kernel_with_the_padding_mask(monkeypatch):
    import textsiam.encoders.packed_bert as packed_bert

    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 2, 5, 4) for _ in range(3))
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]).bool()[:, None, None, :]
    monkeypatch.setattr(packed_bert, "dropout", lambda x, p: x)  # the probabilities' dropout off, the path kept
    out = packed_bert._attention(q, k, v, mask, 0.5, 0.1)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.5)
    # softmax over 5 keys and a weighted sum of 4-dim values ~1: a few float32 ulps; the fused kernel and the written
    # out one may block differently per instruction set; ~8 ulps of 1 is 1e-6
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_written_out_attention_takes_a_float_mask_holding_the_bias(monkeypatch):
    """Inference builds MPNet's bias and the keys' mask into one float mask once for all layers; with dropout on
    (a tower in training mode under no_grad) the written-out attention adds it, as the fused kernel does."""
    import textsiam.encoders.packed_bert as packed_bert

    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 2, 5, 4) for _ in range(3))
    bias = torch.randn(1, 2, 5, 5)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]).bool()[:, None, None, :]
    monkeypatch.setattr(packed_bert, "dropout", lambda x, p: x)  # the probabilities' dropout off, the path kept
    as_one = packed_bert._attention(q, k, v, bias.masked_fill(~mask, float("-inf")), 0.5, 0.1)
    separate = packed_bert._attention(q, k, v, mask, 0.5, 0.1, bias)
    torch.testing.assert_close(as_one, separate, rtol=0, atol=0)  # the same sums in the same order


def test_mpnet_inference_gives_its_layers_one_float_mask(tiny_mpnet_dir, monkeypatch):
    from transformers import AutoModel

    import textsiam.encoders.packed_bert as packed_bert

    model = AutoModel.from_pretrained(tiny_mpnet_dir).eval()
    seen, run_layers = [], packed_bert.run_layers

    def spy(layers, x, slots, mask, batch, span, bias=None):
        seen.append((mask.dtype, tuple(mask.shape), bias))
        return run_layers(layers, x, slots, mask, batch, span, bias)

    monkeypatch.setattr(packed_bert, "run_layers", spy)
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]])  # MPNet's padding id is 1
    with torch.no_grad():
        packed_bert.packed_forward(model, ids, ids.ne(1).long())
    heads, span = model.config.num_attention_heads, packed_bert.ATTENTION_MULTIPLE
    assert seen == [(torch.float32, (2, heads, span, span), None)]
    packed_bert.packed_forward(model, ids, ids.ne(1).long())  # with gradients: the mask stays booleans, the bias apart
    assert seen[1][0] == torch.bool and seen[1][2] is not None


def test_written_out_attention_under_bf16_autocast_is_float32_attention_to_bfloat16_rounding(monkeypatch):
    """--amp on a CPU: bfloat16 queries, keys and values take the written-out attention (cheap dropout masks), not
    the fused kernel's math path, and give float32 attention to bfloat16's precision."""
    import textsiam.encoders.packed_bert as packed_bert

    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 2, 5, 4) for _ in range(3))
    bias = torch.randn(1, 2, 5, 5)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]).bool()[:, None, None, :]
    expected = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=bias.masked_fill(~mask, float("-inf")), scale=0.5
    )
    calls = []
    monkeypatch.setattr(packed_bert, "dropout", lambda x, p: calls.append(p) or x)  # the path kept, dropout off
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", None)  # the fused kernel not called
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = packed_bert._attention(*(t.bfloat16() for t in (q, k, v)), mask, 0.5, 0.1, bias)
    assert calls == [0.1] and out.dtype == torch.bfloat16
    # values ~1 through ~5 bfloat16 roundings (inputs, scores, probabilities, output; 2^-8 relative each): 0.05
    torch.testing.assert_close(out.float(), expected, rtol=0, atol=5e-2)


def test_embedding_rows_gradient_is_autograds_over_resets_and_accumulation():
    from textsiam.encoders.packed_bert import _lookup, drop_grad_buffers

    torch.manual_seed(0)
    mine, ref = torch.nn.Embedding(50, 8, padding_idx=0), torch.nn.Embedding(50, 8, padding_idx=0)
    ref.load_state_dict(mine.state_dict())
    steps = [torch.tensor([3, 5, 5, 0, 7]), torch.tensor([9, 3, 0, 0]), torch.tensor([11, 12])]
    buffers = []
    for i, ids in enumerate(steps):
        weights = torch.randn(len(ids), 8)
        for table in (mine, ref):
            if i != 2:  # step 2 accumulates onto step 1's gradient, as without zero_grad
                table.zero_grad(set_to_none=True)
            lookup = _lookup(table, ids) if table is mine else table(ids)
            (lookup * weights).sum().backward()
        # each row sums <= 3 products of randn values ~1: a few float32 ulps in another order; 1e-6 is ~8 ulps of 1
        torch.testing.assert_close(mine.weight.grad, ref.weight.grad, rtol=0, atol=1e-6)
        buffers.append(mine.weight.grad.data_ptr())
    assert not mine.weight.grad[0].any()  # the padding row gets none
    assert buffers[0] == buffers[1] == buffers[2]  # one buffer, handed out again (step 1: row 5 zeroed, not kept)
    drop_grad_buffers(mine)  # end of training: the buffer is freed with the gradient
    assert not [name for name in vars(mine.weight) if "buffer" in name]
