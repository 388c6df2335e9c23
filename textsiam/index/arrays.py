"""Embedding files written as a stream of row chunks: ``.npy`` (float32, one pass, header fixed up at the end) and
``.parquet`` (one ``embedding`` column of fixed-size float32 lists, one row group per chunk).

Memory stays at one chunk however many rows are written. The writers work on a path the caller picked (a temp file
inside :func:`textsiam.atomic.atomic_write`), so a reader never sees half a file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from textsiam.errors import ConfigError

EMBEDDING_SUFFIXES = (".npy", ".parquet")
_HEADER_BYTES = 128  # magic (6) + version (2) + length (2) + the dict, padded: plenty for any (rows, dim)


def embedding_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in EMBEDDING_SUFFIXES:
        raise ConfigError(f"output {str(path)!r} must end in .npy or .parquet (the format is taken from the suffix)")
    return suffix[1:]


def _npy_header(rows: int, dim: int) -> bytes:
    body = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    body = body.ljust(_HEADER_BYTES - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")


def write_npy_stream(path: str | Path, chunks: Iterable[np.ndarray], dim: int) -> int:
    """Write float32 ``(rows, dim)`` chunks as one ``.npy`` array; returns the number of rows."""
    rows = 0
    with open(path, "wb") as f:
        f.write(_npy_header(0, dim))  # placeholder, rewritten once the row count is known
        for chunk in chunks:
            chunk = _check_chunk(chunk, dim)
            f.write(chunk.tobytes())
            rows += chunk.shape[0]
        f.seek(0)
        f.write(_npy_header(rows, dim))
    return rows


def write_parquet_stream(path: str | Path, chunks: Iterable[np.ndarray], dim: int) -> int:
    """Write float32 ``(rows, dim)`` chunks as a Parquet table with one ``embedding`` list column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("embedding", pa.list_(pa.float32(), dim))])
    rows = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for chunk in chunks:
            chunk = _check_chunk(chunk, dim)
            column = pa.FixedSizeListArray.from_arrays(pa.array(chunk.reshape(-1)), dim)
            writer.write_table(pa.Table.from_arrays([column], schema=schema))
            rows += chunk.shape[0]
    return rows


def write_stream(path: str | Path, fmt: str, chunks: Iterable[np.ndarray], dim: int) -> int:
    writer = write_npy_stream if fmt == "npy" else write_parquet_stream
    return writer(path, chunks, dim)


def read_embeddings(path: str | Path, mmap: bool = True) -> np.ndarray:
    """A ``.npy`` (memory-mapped by default) or ``.parquet`` embedding file as a float32 ``(rows, dim)`` array."""
    if embedding_format(path) == "npy":
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    import pyarrow.parquet as pq

    column = pq.read_table(path, columns=["embedding"]).column("embedding").combine_chunks()
    dim = column.type.list_size
    return column.values.to_numpy().reshape(-1, dim)


def iter_npy_rows(path: str | Path, chunk_rows: int = 65536) -> Iterable[np.ndarray]:
    """Row chunks of a ``.npy`` file, read through a memory map (flat memory)."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    for start in range(0, array.shape[0], chunk_rows):
        yield np.ascontiguousarray(array[start : start + chunk_rows])


def _check_chunk(chunk: np.ndarray, dim: int) -> np.ndarray:
    chunk = np.ascontiguousarray(chunk, dtype=np.float32)
    assert chunk.ndim == 2 and chunk.shape[1] == dim, f"chunk of shape {chunk.shape}, expected (rows, {dim})"
    return chunk
