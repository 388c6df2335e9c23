"""Reader for Parquet tables (through pyarrow, which ``datasets`` already needs); rows numbered 1.. in file order."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from textsiam.data.columns import Records, read_table
from textsiam.data.options import COLUMN_OPTIONS, ReadOptions
from textsiam.data.pairs import PairData
from textsiam.errors import DataError
from textsiam.registry import READERS


@READERS.register("parquet", patterns=("*.parquet",), options=COLUMN_OPTIONS)
def read_parquet(path: Path, options: ReadOptions) -> PairData:
    """Parquet table; columns chosen by text_a/text_b/label; rows numbered from 1."""
    return read_table(path, options, parquet_table)


def parquet_table(raw: bytes, path: Path) -> tuple[Sequence[str], Records]:
    """Column names from the schema; rows converted one record batch at a time (a limit stops early)."""
    try:
        table = pq.read_table(io.BytesIO(raw))
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"is not a readable Parquet file ({str(err)[:200]}); check the file or pass format=", path=str(path)
        ) from None

    def records() -> Records:
        row = 0
        for batch in table.to_batches(max_chunksize=1024):
            for record in batch.to_pylist():
                row += 1
                yield row, record

    return table.column_names, records()
