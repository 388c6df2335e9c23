"""Reader for the Microsoft Research Paraphrase Corpus files (``msr_paraphrase_train.txt`` / ``_test.txt``).

Format (Dolan & Brockett 2005): UTF-8 with a BOM, CRLF line ends, a header row
``Quality  #1 ID  #2 ID  #1 String  #2 String`` and exactly 5 tab-separated fields per row. ``Quality`` is the binary
label (1 = paraphrase). Sentences contain unbalanced ``"`` characters, so rows are split on tabs only. A copy without
the header row (some mirrors strip it) reads the same.
"""

from __future__ import annotations

import os

from textsiam.data.pairs import PairData, build_text_pairs
from textsiam.data.parsing import check_limit, check_text, decode_text, parse_label, read_source, split_lines
from textsiam.errors import DataError
from textsiam.registry import READERS

MRPC_COLUMNS = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")


@READERS.register("mrpc")
def read_mrpc(path: str | os.PathLike, *, limit: int | None = None) -> PairData:
    """MRPC msr_paraphrase_*.txt: tab-separated with header, binary paraphrase label (Quality)."""
    limit = check_limit(limit)
    p, raw, digest = read_source(path)
    a, b, labels = [], [], []
    for row, line in enumerate(split_lines(decode_text(raw, p)), start=1):
        if not line.strip() or (row == 1 and line.split("\t")[0].strip() == MRPC_COLUMNS[0]):
            continue
        fields = line.split("\t")
        if len(fields) != len(MRPC_COLUMNS):
            raise DataError(
                f"expected {len(MRPC_COLUMNS)} tab-separated fields ({', '.join(MRPC_COLUMNS)}), got {len(fields)}; "
                "remove stray tabs from the sentences",
                path=str(p),
                row=row,
            )
        quality = parse_label(fields[0], path=p, row=row, column="Quality")
        if quality not in (0.0, 1.0):
            raise DataError(
                f"Quality {fields[0]!r} must be 0 or 1 (1 = paraphrase); fix the label",
                path=str(p),
                row=row,
                column="Quality",
            )
        a.append(check_text(fields[3], path=p, row=row, column="#1 String"))
        b.append(check_text(fields[4], path=p, row=row, column="#2 String"))
        labels.append(quality)
        if limit is not None and len(labels) >= limit:
            break
    if not labels:
        raise DataError("has a header but no data rows; an MRPC file needs at least one pair", path=str(p))
    return build_text_pairs(a, b, labels, source=str(p), sha256=digest, label_kind="binary", label_range=(0.0, 1.0))
