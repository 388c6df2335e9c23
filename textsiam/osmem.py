"""Handing memory back to the operating system: the C library calls textsiam makes, in one place.

glibc keeps freed heap pages for reuse, so a process that frees large tensors (float weights replaced by int8
ones, a batch of ever-changing shapes in the service) keeps its resident size unless it calls ``malloc_trim``.
Pages of a memory-mapped weights file that were written to become private copies that stay resident while the
mapping lives; ``madvise(MADV_DONTNEED)`` drops them. Both are Linux / glibc calls: elsewhere (macOS, Windows,
musl) every function here is a no-op. The ground floor: this module imports nothing of textsiam.
"""

from __future__ import annotations

import ctypes
import gc
import mmap
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

MADV_DONTNEED = 4


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)  # the C library already loaded into this process
    except OSError:
        return None


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS, Windows)."""
    return getattr(_libc(), "malloc_trim", None)


def trim_heap() -> None:
    """``malloc_trim(0)``: give the free pages at the top and inside glibc's heap back to the system (cheap: about
    1% of an inference batch's time). A no-op without glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def release_freed_memory() -> None:
    """Collect garbage, then :func:`trim_heap`: what was just freed leaves the process's resident memory."""
    gc.collect()
    trim_heap()


def file_mappings(suffix: str) -> list[tuple[int, int]]:
    """``[(start, end)]`` address ranges of this process's mappings of files whose name ends with ``suffix``
    (``/proc/self/maps``; empty where that cannot be read)."""
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    ranges = []
    for fields in (line.split() for line in lines):
        if len(fields) >= 6 and fields[5].endswith(suffix):
            start, end = (int(x, 16) for x in fields[0].split("-"))
            ranges.append((start, end))
    return ranges


def drop_mapped_pages(dead: Iterable[tuple[int, int]], suffix: str = ".safetensors") -> int:
    """``madvise(MADV_DONTNEED)`` on the whole pages inside each ``(address, bytes)`` range of ``dead`` that lies
    inside a mapping of a file ending with ``suffix``; returns the bytes dropped. The caller guarantees that
    nothing refers to those bytes any more. Heap memory is never touched (only ranges inside such a mapping)."""
    madvise = getattr(_libc(), "madvise", None)
    files = file_mappings(suffix)
    if madvise is None or not files:
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page, dropped = mmap.PAGESIZE, 0
    for ptr, size in dead:
        first, last = -(-ptr // page) * page, (ptr + size) // page * page  # whole pages only
        if last > first and any(start <= ptr and ptr + size <= end for start, end in files):
            if madvise(first, last - first, MADV_DONTNEED) == 0:
                dropped += last - first
    return dropped
