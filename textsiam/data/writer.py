"""Write pair tables as TSV in the exact form the ``tsv`` reader reads back: a header, tab-separated fields, no
quoting (so ``"`` stays an ordinary character), and no tab or newline inside a field."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from textsiam.errors import DataError


def format_tsv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    out.write("\t".join(header) + "\n")
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        fields = [str(x) for x in row]
        bad = next((h for h, f in zip(header, fields) if "\t" in f or "\n" in f or "\r" in f), None)
        if bad is not None:
            raise DataError("a tab or line break inside a field cannot be written to TSV", row=n, column=bad)
        out.write("\t".join(fields) + "\n")
    return out.getvalue()


def write_tsv(path: str | os.PathLike | None, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write atomically to ``path``, or to standard output when ``path`` is None."""
    text = format_tsv(header, rows)
    if path is None:
        sys.stdout.write(text)
        return
    from textsiam.atomic import atomic_write_text

    atomic_write_text(path, text)
