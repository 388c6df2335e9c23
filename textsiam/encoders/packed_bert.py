"""Unpadded ("packed") training forward of a plain BERT or MPNet model, on the model's own parameters.

Token-grouped training batches still carry padding (STS-B: 187,422 padded slots for 165,628 real tokens per epoch),
and every Linear, LayerNorm, GELU and dropout of ``BertModel`` runs on the padded slots too. Here the embeddings and
every per-token layer run on the real tokens only (``(n, hidden)``, ``n`` = real tokens of the batch); attention alone
goes through the padded ``(batch, heads, length, head_dim)`` layout (scattered there and gathered back). The
parameters are the model's own modules and ``nn.Parameter`` objects (no copies), so the optimizer, saving and
data-parallel wrapping see the same tensors. (Query, key and value as one matrix product with the three weights
concatenated was measured too and gave nothing on CPU at 1 or 2 threads: docs/benchmarks.md.)

The rows computed are the real tokens plus the first padding slots up to a multiple of ``ROWS_MULTIPLE`` (16): a
few sizes of activation tensors instead of one per token count keep glibc's heap from fragmenting (STS-B epoch,
1 thread: peak RSS 1,500 MB against 1,624 MB with exactly the real tokens and 1,555 MB padded; docs/benchmarks.md).
Padding slots are masked as attention keys, so they change nothing at the real tokens. The output equals
``BertModel(...).last_hidden_state`` at the real tokens (padding slots: their values or zeros; pooling masks them),
and the pooler layer of ``BertModel`` is not run (its output is not used by the tower).

MPNet (all-mpnet-base-v2) differs from BERT in three places, each reproduced here: positions count the non-padding
tokens from ``padding_idx + 1`` (as ``MPNetEmbeddings`` derives them from the ids), there are no token types, and
every layer adds one relative-position bias ``(heads, length, length)``, computed once per forward from the
encoder's own bucket table, to the attention scores. Its layer is BERT's with other module names (``q``, ``k``,
``v``, ``o`` and the attention block's own dropout and LayerNorm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


def packable(model: nn.Module) -> bool:
    """Whether ``model`` is an encoder this forward reproduces: ``BertModel`` with absolute positions, no decoder /
    cross-attention and no feed-forward chunking, or ``MPNetModel``."""
    from transformers import BertModel

    config = getattr(model, "config", None)
    if _is_mpnet(model):
        return not getattr(config, "is_decoder", False)
    return (
        isinstance(model, BertModel)
        and config.model_type == "bert"
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and not config.is_decoder
        and not config.add_cross_attention
        and not config.chunk_size_feed_forward
    )


def packed_forward(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
    checkpointing: bool = False,
    rows_multiple: int | None = None,
) -> torch.Tensor:
    """Last hidden states ``(batch, length, hidden)`` of a :func:`packable` BERT model (see the module's note on
    padding slots).

    ``input_ids``, ``attention_mask``, ``token_type_ids``: ``(batch, length)``. Positions are column indices, as in
    ``BertModel``. ``checkpointing`` recomputes each layer's activations in the backward (non-reentrant
    ``torch.utils.checkpoint``, which restores the RNG state: the same dropout masks, the same gradients).
    ``rows_multiple``: round the rows computed up to this (default ``ROWS_MULTIPLE``); 1 computes exactly the real
    tokens, so a row-statistics layer (int8 activations quantized per tensor) sees the same rows whatever the
    batch's order and padding."""
    batch, length = input_ids.shape
    multiple = ROWS_MULTIPLE if rows_multiple is None else rows_multiple
    keep = _rows(attention_mask.reshape(-1).bool(), multiple)  # (n,) flat indices of the rows computed
    # attention's layout: (batch, span) slots, span = length, or rounded up to ATTENTION_MULTIPLE for inference
    span = length if torch.is_grad_enabled() else -(-length // ATTENTION_MULTIPLE) * ATTENTION_MULTIPLE
    slots = keep if span == length else keep // length * span + keep % length  # the rows' slots in that layout
    if _is_mpnet(model):
        x = _embed_mpnet(model.embeddings, input_ids, keep)  # (n, hidden)
        bias = _relative_bias(model.encoder, span, input_ids.device)  # (1, heads, span, span)
    else:
        x, bias = _embed(model.embeddings, input_ids, token_type_ids, keep, length), None
    mask = F.pad(attention_mask.bool(), (0, span - length))[:, None, None, :]  # (batch, 1, 1, span): True = attend
    if bias is not None and not torch.is_grad_enabled():
        # inference: the keys' mask and MPNet's bias as one additive mask (batch, heads, span, span), made once for
        # all layers instead of once in each (compiled mpnet int8, batch 64: 2-3 % of the kernel time; "Encode on a
        # third host" in docs/benchmarks.md)
        mask, bias = _additive_mask(mask, bias), None
    if checkpointing:
        for layer in model.encoder.layer:
            x = checkpoint(_layer, layer, x, slots, mask, batch, span, bias, use_reentrant=False)
    else:
        run = getattr(model, LAYERS_STEP, None) or run_layers  # compiled layers (deploy/compiled.py), else eager
        x = run(model.encoder.layer, x, slots, mask, batch, span, bias)
    return _scatter(x, keep, batch * length).view(batch, length, -1)


def _is_mpnet(model: nn.Module) -> bool:
    from transformers import MPNetModel

    return isinstance(model, MPNetModel)


LAYERS_STEP = "textsiam_layers_step"
"""Attribute of a packed model that, when set, runs all its layers instead of :func:`run_layers` (same arguments,
same result): :func:`textsiam.deploy.compiled.compile_int8` sets it to a compiled :func:`run_layers`."""
ROWS_MULTIPLE = 16  # rows computed per step: a multiple of this (fewer distinct tensor sizes, less fragmentation)
ATTENTION_MULTIPLE = 16
"""Inference pads attention's key / query length up to a multiple of this (the extra keys masked, so the real
tokens' outputs are unchanged). torch's fused CPU attention kernel is 1.3-3x slower on lengths between multiples of 16
than on the next multiple (1 thread, batch 32, 12 heads of 64: length 14 2.30 ms, 16 0.75 ms; 46 7.63 ms, 48 5.89
ms; bfloat16 alike; docs/benchmarks.md). Training keeps the exact length: its written-out attention with dropout
shows no such steps."""


def _rows(real: torch.Tensor, multiple: int) -> torch.Tensor:
    """Flat indices of the real tokens, plus the first padding slots up to a multiple of ``multiple`` rows."""
    n = int(real.sum())
    target = min(real.numel(), -(-n // multiple) * multiple)
    extra = (~real).nonzero().squeeze(1)[: target - n]
    return torch.cat([real.nonzero().squeeze(1), extra]).sort().values


def _embed(
    emb: nn.Module, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None, keep: torch.Tensor, length: int
) -> torch.Tensor:
    """Word + token-type + position embeddings of the real tokens, LayerNorm, dropout: ``(n, hidden)``."""
    positions = keep % length  # column index = absolute position
    types = token_type_ids.reshape(-1)[keep] if token_type_ids is not None else torch.zeros_like(positions)
    x = _lookup(emb.word_embeddings, input_ids.reshape(-1)[keep]) + emb.token_type_embeddings(types)
    x = x + emb.position_embeddings(positions)
    return dropout(emb.LayerNorm(x), _rate(emb.dropout))


def _embed_mpnet(emb: nn.Module, input_ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Word + position embeddings of the real tokens, LayerNorm, dropout: ``(n, hidden)``. A token's position is
    the count of non-padding ids up to it, offset by ``padding_idx`` (padding ids: ``padding_idx``), as in
    ``MPNetEmbeddings``."""
    real = input_ids.ne(emb.padding_idx)
    positions = (real.cumsum(1) * real).reshape(-1)[keep] + emb.padding_idx
    x = _lookup(emb.word_embeddings, input_ids.reshape(-1)[keep]) + emb.position_embeddings(positions)
    return dropout(emb.LayerNorm(x), _rate(emb.dropout))


def _relative_bias(encoder: nn.Module, length: int, device: torch.device) -> torch.Tensor:
    """MPNet's relative-position attention bias ``(1, heads, length, length)`` for column positions, from the
    encoder's bucket function and table (``MPNetEncoder.compute_position_bias``, without the copy per row)."""
    positions = torch.arange(length, device=device)
    buckets = encoder.relative_position_bucket(positions[None, :] - positions[:, None])
    return encoder.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)


def _lookup(table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
    """``table(ids)``; on a CPU in one process, its gradient goes to a dense buffer kept across steps
    (:class:`_RowsLookup`) instead of a newly allocated and zeroed ``(vocabulary, hidden)`` tensor per step."""
    weight = table.weight
    if weight.device.type != "cpu" or not weight.requires_grad or torch.distributed.is_initialized():
        return table(ids)  # data-parallel wrappers wait for the gradient through autograd's own accumulation
    return _RowsLookup.apply(ids, weight, table.padding_idx)


_BUFFER = "_textsiam_grad_buffer"
"""The weight's attribute holding (its gradient buffer, the row indices written since the buffer was last handed
out); not part of the state dict, not copied by ``copy.deepcopy``."""


def drop_grad_buffers(module: nn.Module) -> None:
    """Free the gradient buffers :class:`_RowsLookup` keeps for ``module``'s embedding tables (end of training)."""
    for p in module.parameters():
        if hasattr(p, _BUFFER):
            delattr(p, _BUFFER)


class _RowsLookup(torch.autograd.Function):
    """Embedding lookup whose backward adds the rows' gradients into ``weight.grad`` itself.

    The usual backward allocates a fresh dense ``(vocabulary, hidden)`` gradient every step (MiniLM: 47 MB of new
    pages to fault in, zero and hand back) although a batch touches a few hundred rows: 8% of a MiniLM training step
    at 2 threads (docs/benchmarks.md). Here the gradient is one buffer kept per table: when ``weight.grad`` was
    reset to ``None``, only the rows written since the buffer was last handed out are zeroed; when it holds a
    gradient, the rows are added to it (accumulation over backward passes, as autograd does). The result is the
    dense gradient autograd would give, provided that code between steps only reads or scales ``weight.grad``
    (gradient clipping and optimizers do) or replaces it, and does not write into rows no batch touched.
    ``padding_idx`` rows get no gradient, as in ``F.embedding``."""

    @staticmethod
    def forward(ctx, ids: torch.Tensor, weight: torch.Tensor, padding_idx: int | None) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.weight, ctx.padding_idx = weight, padding_idx
        return F.embedding(ids, weight, padding_idx)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, None, None]:
        (ids,) = ctx.saved_tensors
        weight, ids, grad = ctx.weight, ids.reshape(-1), grad.reshape(-1, grad.shape[-1])  # (n,), (n, hidden)
        if ctx.padding_idx is not None:
            grad = grad.masked_fill((ids == ctx.padding_idx)[:, None], 0.0)
        buffer, written = getattr(weight, _BUFFER, (None, []))
        if weight.grad is None:  # reset since the last backward: hand out the buffer, zeroed
            if buffer is None or buffer.shape != weight.shape or buffer.dtype != weight.dtype:
                buffer, written = torch.zeros_like(weight), []
            elif written:
                buffer.index_fill_(0, torch.cat(written).unique(), 0.0)
            weight.grad, written = buffer, []
        weight.grad.index_add_(0, ids, grad.to(weight.grad.dtype))
        if weight.grad is buffer:
            written.append(ids)
            if sum(len(w) for w in written) > len(weight):  # grads kept, not reset, over many steps: stay bounded
                written = [torch.cat(written).unique()]
        setattr(weight, _BUFFER, (buffer, written))
        return None, None, None


def _scatter(x: torch.Tensor, keep: torch.Tensor, slots: int) -> torch.Tensor:
    """Packed rows ``(n, width)`` into ``(slots, width)`` zeros at ``keep``."""
    return x.new_zeros(slots, x.shape[1]).index_copy(0, keep, x)


def run_layers(
    layers: nn.ModuleList,
    x: torch.Tensor,
    slots: torch.Tensor,
    mask: torch.Tensor,
    batch: int,
    span: int,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`_layer` for each of ``layers`` in turn: the encoder's whole stack on packed tokens ``(n, hidden)``."""
    for layer in layers:
        x = _layer(layer, x, slots, mask, batch, span, bias)
    return x


def _layer(
    layer: nn.Module,
    x: torch.Tensor,
    slots: torch.Tensor,
    mask: torch.Tensor,
    batch: int,
    span: int,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """One ``BertLayer`` or ``MPNetLayer`` on packed tokens ``(n, hidden)``: query, key and value on the packed
    rows, attention in the padded ``(batch, span)`` layout (the rows at ``slots``; keys where ``mask``; plus MPNet's
    relative ``bias``), then the attention output (Linear, dropout, residual, LayerNorm) and the intermediate and
    output modules on the packed rows."""
    mpnet = hasattr(layer.attention, "attn")
    attn = layer.attention.attn if mpnet else layer.attention.self
    heads, size = attn.num_attention_heads, attn.attention_head_size

    def padded(t: torch.Tensor) -> torch.Tensor:  # (n, hidden) -> (batch, heads, length, head_dim)
        return _scatter(t, slots, batch * span).view(batch, span, heads, size).transpose(1, 2)

    fused = getattr(attn, "qkv", None)  # query, key and value as one product (int8 inference: deploy/quantize.py)
    if fused is not None:
        qkv = _scatter(fused(x), slots, batch * span).view(batch, span, 3, heads, size).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (batch, heads, span, head_dim)
    elif mpnet:
        q, k, v = padded(attn.q(x)), padded(attn.k(x)), padded(attn.v(x))
    else:
        q, k, v = padded(attn.query(x)), padded(attn.key(x)), padded(attn.value(x))
    if mpnet:  # MPNetAttention: attn (q, k, v, o), then its own dropout, residual and LayerNorm
        scale, dense, post = size**-0.5, attn.o, layer.attention
    else:  # BertSelfAttention, then BertSelfOutput: dense, dropout, residual, LayerNorm
        scale, dense, post = attn.scaling, layer.attention.output.dense, layer.attention.output
    ctx = _attention(q, k, v, mask, scale, _rate(attn.dropout), bias)
    ctx = ctx.transpose(1, 2).reshape(batch * span, heads * size)[slots]  # (n, hidden)
    h = post.LayerNorm(dropout(dense(ctx), _rate(post.dropout)) + x)
    out = layer.output  # BertOutput / MPNetOutput: the same after the intermediate dense + activation
    return out.LayerNorm(dropout(out.dense(layer.intermediate(h)), _rate(out.dropout)) + h)


def _rate(module: nn.Dropout) -> float:
    return module.p if module.training else 0.0


def _attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor,
    scale: float,
    p: float,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scaled dot-product attention ``(batch, heads, length, head_dim)`` with attention-probability dropout ``p``
    and an additive ``bias`` on the scores (MPNet's relative positions; broadcast over the batch). ``mask``: booleans
    (True = attend), or a float mask added to the scores (-inf = masked), which then already holds any bias.

    With dropout on a CPU, ``scaled_dot_product_attention`` takes its plain math path anyway; written out here, the
    probabilities' dropout is :func:`dropout` (the same law, cheaper masks). Otherwise the fused kernel."""
    if p == 0.0 or not _cheap_masks(q):
        attn_mask = mask if bias is None else _additive_mask(mask, bias)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p, scale=scale)
    scores = torch.matmul(q, k.transpose(-1, -2)).mul_(scale)
    if bias is not None:
        scores = scores.add_(bias)
    scores = scores.masked_fill_(~mask, float("-inf")) if mask.dtype == torch.bool else scores.add_(mask)
    return torch.matmul(dropout(scores.softmax(-1), p), v)


def _additive_mask(mask: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The boolean keys' ``mask`` (True = attend) and an additive ``bias`` as one float mask: ``bias`` where
    attended, -inf elsewhere, broadcast to both shapes."""
    return bias.masked_fill(~mask, float("-inf"))


def _cheap_masks(x: torch.Tensor) -> bool:
    """CPU, in float32 or bfloat16 (``--amp``): there the masks below cost less than ``F.dropout``'s."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.bfloat16)


def dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout (keep each value with probability ``1 - p``, scale kept values by ``1 / (1 - p)``).

    On a CPU in float32 or bfloat16 the keep mask comes from :func:`keep_mask` (16-bit uniform integers: ``F.dropout``'s
    ``bernoulli_`` costs about 4x as much there, 6% of a MiniLM training step at 2 threads and 9% of an mpnet step
    under bfloat16 autocast; docs/benchmarks.md) and is kept for the backward as booleans (a quarter of
    ``F.dropout``'s float mask); elsewhere ``F.dropout``. The draw does not depend on ``x``'s type, so ``p`` is not
    rounded to bfloat16's 8 bits. Recomputation (``torch.utils.checkpoint``) restores the RNG state, so a recomputed
    layer draws the same masks."""
    if p == 0.0:
        return x
    if not _cheap_masks(x):
        return F.dropout(x, p, training=True)
    return _Dropout.apply(x, keep_mask(x.shape, p, x.device), 1.0 / (1.0 - p))


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """Booleans of ``shape``, each True with probability ``1 - p`` (to 1 / 65,536): four 16-bit uniform integers from
    each 64-bit draw of torch's generator, kept where at or above ``round(p * 65536)`` (from the bottom of int16's
    range). torch's CPU generator costs about as much per 64-bit draw as per float32 ``rand`` value, so this is ~3x
    cheaper than ``rand >= p`` (896 x 768 masks: 0.77 against 2.14 ms; docs/benchmarks.md). ``p`` = 0.1 keeps with
    probability 1 - 6,554 / 65,536 = 0.89999."""
    count = 1
    for size in shape:
        count *= size
    words = torch.randint(-(2**63), 2**63 - 1, ((count + 3) // 4,), dtype=torch.int64, device=device)
    return words.view(torch.int16)[:count].view(shape) >= round(p * 65536) - 32768


class _Dropout(torch.autograd.Function):
    """``x * keep * scale`` with the boolean ``keep`` saved for the backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x.mul(keep).mul_(scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return grad.mul(keep).mul_(ctx.scale), None, None
