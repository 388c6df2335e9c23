"""Readers import their options from here; the declaration lives at the ground floor (:mod:`textsiam.read_options`)
so that the CLI builds its flags from it without loading the data libraries."""

from textsiam.read_options import ANY_READER_OPTIONS, COLUMN_OPTIONS, DEV_SPLITS, FIXED_OPTIONS, ReadOptions

__all__ = ["ANY_READER_OPTIONS", "COLUMN_OPTIONS", "DEV_SPLITS", "FIXED_OPTIONS", "ReadOptions"]
