"""Encode a file of texts into an embedding file, streamed chunk by chunk, in input order, atomically.

Under ``torchrun --nproc_per_node N`` every rank encodes a contiguous shard of the rows into a part file next to
the output; rank 0 then joins the parts in rank order into the one output file, so the result is the same file a
single process writes.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from textsiam.atomic import atomic_write
from textsiam.data.texts import count_texts, iter_text_chunks
from textsiam.distributed import DistContext, context
from textsiam.index.arrays import embedding_format, iter_npy_rows, write_npy_stream, write_stream
from textsiam.index.truncate import check_dim, truncate
from textsiam.models.base import PairModel

DEFAULT_CHUNK = 4096


def embed_chunks(
    model: PairModel,
    path: str | os.PathLike,
    *,
    side: str = "left",
    batch_size: int = 64,
    chunk_size: int = DEFAULT_CHUNK,
    bar: tqdm | None = None,
    **read: Any,
) -> Iterator[np.ndarray]:
    """Float32 ``(rows, dim)`` embeddings of the file's texts, one chunk at a time (``read``: column, format, ...)."""
    for texts, _ in iter_text_chunks(path, chunk_size=chunk_size, **read):
        yield model.encode(texts, side=side, batch_size=batch_size).numpy()
        if bar is not None:
            bar.update(len(texts))


def encode_file(
    model: PairModel,
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    side: str = "left",
    batch_size: int = 64,
    column: str | None = None,
    format: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    show_progress: bool = False,
    dim: int | None = None,
) -> int:
    """Embed every text of ``input`` (one per line, or ``column`` of a csv/tsv/jsonl/parquet file) with the
    ``side`` tower into ``output`` (``.npy`` float32 or ``.parquet``); row i of the output is row i of the input.
    ``dim``: keep the first ``dim`` coordinates, renormalised (:mod:`textsiam.index.truncate`).
    Returns the number of rows. Joins a torchrun process group when launched under one."""
    fmt = embedding_format(output)
    model.tower(side)  # checks side before reading anything
    width = model.embedding_dim if dim is None else check_dim(dim, model.embedding_dim)
    ctx = context()
    total = count_texts(input, column=column, format=format)
    start, stop = ctx.shard(total)
    read = {"column": column, "format": format, "start": start, "stop": stop}
    desc = f"encode {side}" + (f" (rank {ctx.rank}/{ctx.world})" if ctx.active else "")
    with tqdm(total=stop - start, desc=desc, unit="text", disable=not show_progress, file=sys.stderr) as bar:
        chunks = embed_chunks(model, input, side=side, batch_size=batch_size, chunk_size=chunk_size, bar=bar, **read)
        if dim is not None:
            chunks = (truncate(chunk, width) for chunk in chunks)
        if not ctx.active:
            atomic_write(output, lambda tmp: write_stream(tmp, fmt, chunks, width))
            return total
        _encode_shard(ctx, chunks, Path(output), fmt, width)
    return total


def _part(output: Path, rank: int) -> Path:
    return output.parent / f".{output.name}.rank{rank}.part.npy"


def _encode_shard(ctx: DistContext, chunks: Iterator[np.ndarray], output: Path, fmt: str, dim: int) -> None:
    """Each rank writes its shard to a part file; rank 0 joins the parts in rank order into ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_npy_stream(_part(output, ctx.rank), chunks, dim)
        ctx.barrier()  # every part is complete
        if ctx.is_main:
            joined = itertools.chain.from_iterable(iter_npy_rows(_part(output, r)) for r in range(ctx.world))
            atomic_write(output, lambda tmp: write_stream(tmp, fmt, joined, dim))
        ctx.barrier()  # the parts are no longer read
    finally:
        _part(output, ctx.rank).unlink(missing_ok=True)
