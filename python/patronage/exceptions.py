"""Exceptions raised by Patronage.

Every exception subclasses :class:`ValueError` or :class:`TypeError`, so code
that already catches those (as pandas and scikit-learn users do) keeps working.
The compiled core raises :class:`DataError` and :class:`ParameterError`
directly; the Python layer adds the user's column names and index labels.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional, Tuple, Type, TypeVar

__all__ = [
    "PatronageError",
    "DataError",
    "MissingColumnError",
    "ModelFileError",
    "ColumnTypeError",
    "ParameterError",
    "NotFittedError",
    "ConvergenceWarning",
]


_T = TypeVar("_T")
_WITH_SKLEARN: Dict[Tuple[type, type], type] = {}


def _with_sklearn(cls: Type[_T]) -> Type[_T]:
    """``cls``, or when scikit-learn's class of the same name is loaded (anyone
    who catches or filters it has imported ``sklearn.exceptions``), a subclass
    of both, so ``except sklearn.exceptions.NotFittedError`` and
    ``warnings.filterwarnings(..., sklearn.exceptions.ConvergenceWarning)``
    work on Patronage's without scikit-learn being a dependency."""
    sk = getattr(sys.modules.get("sklearn.exceptions"), cls.__name__, None)
    if not isinstance(sk, type) or issubclass(cls, sk):
        return cls
    both = _WITH_SKLEARN.get((cls, sk))
    if both is None:
        name = f"_SklearnCompatible{cls.__name__}"  # a module attribute, so instances pickle
        both = type(cls.__name__, (cls, sk), {"__module__": __name__, "__qualname__": name, "__doc__": cls.__doc__})
        globals()[name] = both
        _WITH_SKLEARN[(cls, sk)] = both
    return both  # type: ignore[return-value]


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


class ModelFileError(DataError):
    """A saved model (``from_json`` text or a pickle) that cannot be loaded as it
    stands: not a Patronage model of that class, another format version, missing
    or mistyped entries, or parameters, shapes or class lists a fit could not
    have produced (including parameters whose predictions would not be finite).
    The message says what is wrong with the file."""


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
    """A model was used before ``fit`` (like scikit-learn's NotFittedError).

    When scikit-learn is in use, every instance is also an instance of
    :class:`sklearn.exceptions.NotFittedError`, so code written for
    scikit-learn estimators catches it.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "NotFittedError":
        return super().__new__(_with_sklearn(cls), *args)


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

    When scikit-learn is in use, every instance is also an instance of
    :class:`sklearn.exceptions.ConvergenceWarning`, so warning filters set up
    for scikit-learn's models apply to Patronage's too.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "ConvergenceWarning":
        return super().__new__(_with_sklearn(cls), *args)
