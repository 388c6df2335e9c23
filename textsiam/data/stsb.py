"""Reader for the STS Benchmark files (``sts-train.csv``, ``sts-dev.csv``, ``sts-test.csv`` and any file like them).

Format (Agirre et al. 2017 release): tab-separated, no header, LF line ends, 7 or 9 fields per row: genre, source
file, year, pair id, gold score (0..5), sentence 1, sentence 2, then two optional attribution fields. Sentences contain
unbalanced ``"`` characters, so the file is split on tabs only: a CSV reader with default quoting silently merges
rows. The score is graded (label_kind ``"graded"``, label_range ``(0, 5)``).
"""

from __future__ import annotations

from pathlib import Path

from textsiam.data.fixed import FixedFormat, read_fixed
from textsiam.data.options import FIXED_OPTIONS, ReadOptions
from textsiam.data.pairs import PairData
from textsiam.registry import READERS

STSB = FixedFormat(
    name="STS",
    columns=("genre", "source", "year", "id", "score", "sentence1", "sentence2"),
    optional=("license", "attribution"),
    label=4,
    text_a=5,
    text_b=6,
    label_kind="graded",
    label_range=(0.0, 5.0),
)


@READERS.register("stsb", patterns=("sts-*.csv",), options=FIXED_OPTIONS)
def read_stsb(path: Path, options: ReadOptions) -> PairData:
    """STS Benchmark sts-*.csv: tab-separated, no header, graded 0..5 similarity score."""
    return read_fixed(path, options, STSB)
