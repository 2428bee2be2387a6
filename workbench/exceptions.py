"""One exception per failure mode. Every message names the field and what is allowed.

All of them derive from :class:`WorkbenchError`, so ``except wb.WorkbenchError`` catches every
error the workbench raises on purpose; anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose.

    Example:
        >>> import workbench as wb
        >>> try:
        ...     wb.ExperimentConfig(epochs=0)
        ... except wb.WorkbenchError as e:
        ...     print(type(e).__name__)
        ConfigError
    """


def did_you_mean(value: Any, choices: Iterable[Any]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    if not isinstance(value, str):
        return ""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    if not close:
        close = [n for n in names if n.lower() == value.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""


class ConfigError(WorkbenchError, ValueError):
    """A config field has a value that is not allowed.

    Attributes:
        field: the field's name (``None`` for a problem with the whole config or file).
        value: the rejected value.
        allowed: a human-readable description of what is allowed.

    Example:
        >>> import workbench as wb
        >>> try:
        ...     wb.ExperimentConfig(optimizer="adamm")
        ... except wb.ConfigError as e:
        ...     print(e.field)
        optimizer
    """

    def __init__(self, field: str | None, value: Any = None, allowed: str = "",
                 *, message: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        if message is None:
            message = f"{field}={value!r} is not {allowed}"
        super().__init__(message)


class UnknownFieldError(ConfigError):
    """A config dict, file or parameter set names a field that does not exist."""


class DatasetUnavailable(WorkbenchError):
    """A known data set cannot be loaded on this machine; the message says how to get it."""

    def __init__(self, name: str, how: str) -> None:
        self.field = "dataset"
        self.name = name
        super().__init__(f"dataset={name!r} is not available here: {how}")


class DataError(WorkbenchError, ValueError):
    """User-supplied data (``wb.run(cfg, data=...)``, a file or folder that ``dataset`` names)
    has the wrong shape, type or content; ``field`` is ``data`` or ``dataset``."""

    def __init__(self, message: str, field: str = "data") -> None:
        self.field = field
        super().__init__(message)


class ModelError(WorkbenchError, ValueError):
    """A model cannot be built for the data, or a user model does not fit the data."""

    def __init__(self, message: str) -> None:
        self.field = "model"
        super().__init__(message)


class RunFailed(WorkbenchError, RuntimeError):
    """Training raised. The failed run is recorded in the store; ``.result`` holds what was kept."""

    def __init__(self, message: str, result: Any = None) -> None:
        self.result = result
        super().__init__(message)


class StoreError(WorkbenchError):
    """The run store cannot find or read a run."""


class ArtifactError(WorkbenchError, ValueError):
    """A compressed artifact (``.wbz``, ``.tflite``) is truncated, corrupted or of an unknown
    format version, or cannot be written."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.field = "artifact"
        self.path = path
        super().__init__(message)


class NotebookError(WorkbenchError):
    """A notebook cannot be run: missing, not a notebook, or without a parameters cell."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.field = "notebook"
        self.path = path
        super().__init__(message)
