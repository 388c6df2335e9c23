"""Pair datasets: readers per file format (registered in ``READERS``), embedded digit pairs, batch sampling.

How to add a file format: :mod:`textsiam.data.reader`. How labels are read as binary or graded:
:mod:`textsiam.data.labels`. Image collections and the pairs drawn from them: :mod:`textsiam.data.images`.
"""

from textsiam.data.digits import digit_pairs
from textsiam.data.images import CaptionSet, ImagePairData, ImageSet
from textsiam.data.options import ReadOptions
from textsiam.data.pairs import PairData
from textsiam.data.reader import detect_format, file_formats, read_pairs
from textsiam.data.sampling import length_grouped_batches
from textsiam.registry import import_submodules

__all__ = [
    "CaptionSet",
    "ImagePairData",
    "ImageSet",
    "PairData",
    "ReadOptions",
    "detect_format",
    "digit_pairs",
    "file_formats",
    "length_grouped_batches",
    "read_pairs",
]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
