"""Reader for the STS Benchmark files (``sts-train.csv``, ``sts-dev.csv``, ``sts-test.csv`` and any file like them).

Format (Agirre et al. 2017 release): tab-separated, no header, LF line ends, 7 or 9 fields per row: genre, source
file, year, pair id, gold score (0..5), sentence 1, sentence 2, then two optional attribution fields. Sentences contain
unbalanced ``"`` characters, so the file is split on tabs only: a CSV reader with default quoting silently merges
rows. The score is graded (label_kind ``"graded"``, label_range ``(0, 5)``).
"""

from __future__ import annotations

import os

from textsiam.data.pairs import PairData, build_text_pairs
from textsiam.data.parsing import check_limit, check_text, decode_text, parse_label, read_source, split_lines
from textsiam.errors import DataError
from textsiam.registry import READERS

STSB_FIELD_COUNTS = (7, 9)
STSB_SCORE_RANGE = (0.0, 5.0)
_SCORE, _SENT1, _SENT2 = 4, 5, 6


@READERS.register("stsb")
def read_stsb(path: str | os.PathLike, *, limit: int | None = None) -> PairData:
    """STS Benchmark sts-*.csv: tab-separated, no header, graded 0..5 similarity score."""
    limit = check_limit(limit)
    p, raw, digest = read_source(path)
    a, b, labels = [], [], []
    for row, line in enumerate(split_lines(decode_text(raw, p)), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) not in STSB_FIELD_COUNTS:
            raise DataError(
                f"expected 7 or 9 tab-separated fields (genre, source, year, id, score, sentence1, sentence2 "
                f"[, 2 attribution fields]), got {len(fields)}. Remove stray tabs from the sentences; if this is a "
                "generic file with a header, pass format='csv'/'tsv' (--format)",
                path=str(p),
                row=row,
            )
        score = parse_label(fields[_SCORE], path=p, row=row, column="score")
        if not STSB_SCORE_RANGE[0] <= score <= STSB_SCORE_RANGE[1]:
            raise DataError(
                f"score {fields[_SCORE]!r} is outside the STS range 0..5; fix the score",
                path=str(p),
                row=row,
                column="score",
            )
        a.append(check_text(fields[_SENT1], path=p, row=row, column="sentence1"))
        b.append(check_text(fields[_SENT2], path=p, row=row, column="sentence2"))
        labels.append(score)
        if limit is not None and len(labels) >= limit:
            break
    if not labels:
        raise DataError("has no data rows; an STS file needs at least one tab-separated row", path=str(p))
    return build_text_pairs(
        a, b, labels, source=str(p), sha256=digest, label_kind="graded", label_range=STSB_SCORE_RANGE
    )
