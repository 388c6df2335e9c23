"""Encode files of texts and search corpora: streamed embedding files, exact chunked top-k, optional faiss."""

from textsiam.index.encode import encode_file
from textsiam.index.exact import exact_top_k
from textsiam.index.search import build_index, search
from textsiam.index.store import Index, load_index, save_index

__all__ = ["Index", "build_index", "encode_file", "exact_top_k", "load_index", "save_index", "search"]
