"""Exceptions raised by Patronage.

Every exception subclasses :class:`ValueError` or :class:`TypeError`, so code
that already catches those (as pandas and scikit-learn users do) keeps working.
The compiled core raises :class:`DataError` and :class:`ParameterError`
directly; the Python layer adds the user's column names and index labels.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "PatronageError",
    "DataError",
    "MissingColumnError",
    "ColumnTypeError",
    "ParameterError",
    "NotFittedError",
    "ConvergenceWarning",
]


class PatronageError(Exception):
    """Base class of every Patronage exception."""


class DataError(PatronageError, ValueError):
    """The data is invalid: a bad value, an empty table, an inconsistent row.

    Attributes
    ----------
    field : str or None
        The column the problem is in (the user's column name once the Python
        layer has relabelled it).
    row : int or None
        0-based position of the first offending row.
    label : object or None
        Index label of that row in the caller's DataFrame.
    """

    def __init__(self, message: str, field: Optional[str] = None, row: Optional[int] = None,
                 label: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.row = row
        self.label = label


class MissingColumnError(DataError):
    """A required column is not in the DataFrame."""


class ColumnTypeError(PatronageError, TypeError):
    """A column has a dtype that cannot be used (e.g. text in the amount column)."""

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.field = field


class ParameterError(PatronageError, ValueError):
    """A parameter value is invalid; ``parameter`` names it."""

    def __init__(self, message: str, parameter: Optional[str] = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class NotFittedError(PatronageError, ValueError, AttributeError):
    """A model was used before ``fit`` (like scikit-learn's NotFittedError)."""


class ConvergenceWarning(UserWarning):
    """A model fit cannot be trusted as it stands.

    Either its optimiser stopped before converging (the estimates are the best
    found and are finite; the message carries the diagnostics: status,
    iterations, gradient norm; raising ``max_iter``, adding a small
    ``penalizer`` or checking the data usually helps), or the data do not
    identify the model: some parameter is not determined by the data (flat
    likelihood, a 95% interval spanning orders of magnitude, or a run towards 0
    or infinity). The message then names those parameters and says what the
    data do determine; the model's ``identified_`` is False.
    """
