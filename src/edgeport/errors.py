"""Exception types. Every error a user can cause is one of these.

Each carries a one-line message saying *what* is wrong and *where*, and a
``hint`` saying how to fix it. The CLI prints ``error: <message> (<hint>)``
and exits with code 2; no traceback unless ``--debug``.
"""

from __future__ import annotations

__all__ = [
    "EdgeportError",
    "ModelFormatError",
    "UnsupportedOpError",
    "InputMismatchError",
    "VerificationError",
    "BackendUnavailableError",
    "ConversionError",
    "CalibrationDataError",
    "QualityBudgetError",
    "UsageError",
]


class EdgeportError(Exception):
    """Base class: a user-facing error with an optional fix hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        msg = " ".join(str(self.message).split())
        return f"{msg} ({self.hint})" if self.hint else msg


class ModelFormatError(EdgeportError):
    """The file is not a model, is truncated or corrupted, or its format is unknown."""


class UnsupportedOpError(EdgeportError):
    """The model uses an operator (or attribute) a converter/backend cannot handle."""

    def __init__(self, message: str, hint: str | None = None, ops: dict | None = None):
        super().__init__(message, hint)
        self.ops = ops or {}


class InputMismatchError(EdgeportError):
    """Feeds do not match the model's signature (name, rank, shape or dtype)."""


class VerificationError(EdgeportError):
    """Two models disagree beyond tolerance."""

    def __init__(self, message: str, hint: str | None = None, report=None):
        super().__init__(message, hint)
        self.report = report


class BackendUnavailableError(EdgeportError):
    """A requested backend or accelerator is not installed or cannot run this model."""


class ConversionError(EdgeportError):
    """Conversion failed (dynamic dim that cannot be pinned, model too large, ...)."""


class CalibrationDataError(EdgeportError):
    """Calibration/evaluation data is empty, of the wrong shape, or holds NaN/Inf."""


class QualityBudgetError(EdgeportError):
    """A compressed model falls outside the accuracy budget (--max-drop)."""


class UsageError(EdgeportError):
    """Bad arguments or options."""
