"""Reader for the Microsoft Research Paraphrase Corpus files (``msr_paraphrase_train.txt`` / ``_test.txt``).

Format (Dolan & Brockett 2005): UTF-8 with a BOM, CRLF line ends, a header row
``Quality  #1 ID  #2 ID  #1 String  #2 String`` and exactly 5 tab-separated fields per row. ``Quality`` is the binary
label (1 = paraphrase). Sentences contain unbalanced ``"`` characters, so rows are split on tabs only. A copy without
the header row (some mirrors strip it) reads the same.
"""

from __future__ import annotations

from pathlib import Path

from textsiam.data.fixed import FixedFormat, read_fixed
from textsiam.data.options import FIXED_OPTIONS, ReadOptions
from textsiam.data.pairs import PairData
from textsiam.registry import READERS

MRPC = FixedFormat(
    name="MRPC",
    columns=("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"),
    label=0,
    text_a=3,
    text_b=4,
    label_kind="binary",
    label_range=(0.0, 1.0),
    header=True,
)


@READERS.register("mrpc", patterns=("msr_paraphrase_*.txt",), options=FIXED_OPTIONS)
def read_mrpc(path: Path, options: ReadOptions) -> PairData:
    """MRPC msr_paraphrase_*.txt: tab-separated with header, binary paraphrase label (Quality)."""
    return read_fixed(path, options, MRPC)
