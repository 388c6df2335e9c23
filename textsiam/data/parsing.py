"""Low-level helpers the file readers share: read bytes once, decode, split lines, check labels and texts.

Every failure is a :class:`~textsiam.errors.DataError` naming the file, the 1-based row and the column, with the fix.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

from textsiam.errors import DataError, shown


def read_source(path: str | os.PathLike) -> tuple[Path, bytes, str]:
    """Read a file's bytes once: ``(path, raw bytes, sha256 hex)``; clear errors for missing/empty files."""
    p = Path(path)
    if not p.exists():
        raise DataError(
            "file not found; check the path (relative paths are resolved from the current folder)", path=str(p)
        )
    if p.is_dir():
        raise DataError("is a folder, not a file; pass the path of one data file", path=str(p))
    raw = p.read_bytes()
    if not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        raise DataError("file is empty; it needs at least one data row", path=str(p))
    return p, raw, hashlib.sha256(raw).hexdigest()


def decode_text(raw: bytes, path: Path) -> str:
    """UTF-8 text with a leading BOM removed; a decoding error names the row of the bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        newline = b"\n" if b"\n" in raw or b"\r" not in raw else b"\r"  # as split_lines
        row = raw[: err.start].count(newline) + 1
        raise DataError(
            f"is not valid UTF-8 (byte 0x{raw[err.start]:02x}); re-save the file as UTF-8", path=str(path), row=row
        ) from None


def split_lines(text: str) -> list[str]:
    """Split on ``\\n`` (LF and CRLF files) or, in a file with no LF at all, on ``\\r`` (classic Mac OS files).

    Not ``str.splitlines``, which also breaks on U+2028, U+0085 ... inside sentences.
    """
    lines = text.split("\n" if "\n" in text or "\r" not in text else "\r")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_label(value: object, *, path: Path, row: int, column: str) -> float:
    """A finite float label, or a DataError that shows the value and how to fix it."""
    if isinstance(value, bool):
        return float(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(
            "label is missing; give every row a numeric label (or drop the label column to read unlabelled pairs)",
            path=str(path),
            row=row,
            column=column,
        )
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(
            f"label {shown(value)} is not a number; labels must be numeric (0/1 for binary, e.g. 0..5 for graded). "
            "Fix the row, or pass label=<column> to use another column",
            path=str(path),
            row=row,
            column=column,
        ) from None
    if not math.isfinite(number):
        raise DataError(
            f"label {shown(value)} is not a finite number (NaN/inf); fill in a real label or remove the row",
            path=str(path),
            row=row,
            column=column,
        )
    return number


def check_text(value: object, *, path: Path, row: int, column: str) -> str:
    """The text itself, or a DataError for a missing, non-string or empty (whitespace-only) text."""
    if not isinstance(value, str):
        raise DataError(
            f"expected text, got {shown(value)} ({type(value).__name__}); store the sentence as a string",
            path=str(path),
            row=row,
            column=column,
        )
    if not value.strip():
        raise DataError("text is empty; fill in the sentence or remove the row", path=str(path), row=row, column=column)
    return value
