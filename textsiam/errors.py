"""Exception types raised by textsiam."""

from __future__ import annotations


class TextsiamError(Exception):
    """Base class of every error textsiam raises on purpose."""


class DataError(TextsiamError, ValueError):
    """Bad input data. The message names the file, the row (1-based line number) and the column where known."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None, column: str | None = None):
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {shown(column)}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.path, self.row, self.column = path, row, column


class ConfigError(TextsiamError, ValueError):
    """A bad configuration value: a wrong option, an unknown name, an inconsistent combination."""


class OutputError(TextsiamError, OSError):
    """A file or folder textsiam was asked to write cannot be written; the message names the path and the reason."""


class ModelNotFoundError(TextsiamError, FileNotFoundError):
    """A model name or folder that resolves to nothing usable offline."""


class NoDecisionError(TextsiamError, RuntimeError):
    """``predict`` or ``predict_proba`` was called on a model with no fitted decision (threshold/calibration)."""


class TrainingDivergedError(TextsiamError, FloatingPointError):
    """The training loss became NaN or infinite; the weights were not updated with it."""


def shown(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to about ``width`` characters, for error messages: never echo a megabyte of user data."""
    text = repr(value)
    if len(text) <= width:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str | bytes | list | tuple | dict) else ""
    return f"{text[: width - 1]}…{size}"
