"""Pair datasets: readers per file format (registered in ``READERS``), embedded digit pairs, batch sampling."""

from textsiam.data import delimited, jsonl, mrpc, parquet, stsb  # noqa: F401  (import registers the readers)
from textsiam.data.digits import digit_pairs
from textsiam.data.pairs import PairData
from textsiam.data.reader import FILE_FORMATS, detect_format, read_pairs
from textsiam.data.sampling import length_grouped_batches
from textsiam.registry import import_submodules

__all__ = ["FILE_FORMATS", "PairData", "detect_format", "digit_pairs", "length_grouped_batches", "read_pairs"]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
