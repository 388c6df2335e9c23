"""Reader for Parquet files (via pyarrow, which ``datasets`` already needs). Rows are numbered 1.. in file order."""

from __future__ import annotations

import io
import os

import pyarrow as pa
import pyarrow.parquet as pq

from textsiam.data.columns import pairs_from_records, resolve_columns
from textsiam.data.pairs import PairData
from textsiam.data.parsing import check_limit, read_source
from textsiam.errors import DataError
from textsiam.registry import READERS


@READERS.register("parquet")
def read_parquet(
    path: str | os.PathLike,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    label_range: tuple[float, float] | None = None,
) -> PairData:
    """Parquet table; columns chosen by text_a/text_b/label; rows numbered from 1."""
    limit = check_limit(limit)
    p, raw, digest = read_source(path)
    try:
        table = pq.read_table(io.BytesIO(raw))
    except (pa.ArrowException, OSError) as err:
        raise DataError(
            f"is not a readable Parquet file ({err}); check the file or pass format=", path=str(p)
        ) from None
    columns = resolve_columns(table.column_names, path=p, text_a=text_a, text_b=text_b, label=label)
    wanted = [c for c in (columns.text_a, columns.text_b, columns.label) if c is not None]
    table = table.select(wanted)
    if limit is not None:
        table = table.slice(0, limit)
    records = enumerate(table.to_pylist(), start=1)
    return pairs_from_records(records, columns, path=p, sha256=digest, limit=limit, label_range=label_range)
