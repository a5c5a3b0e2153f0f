"""Feature matrices for the compiled k-means: float64, C-contiguous, checked,
with errors that name the user's column and index label."""

from __future__ import annotations

import contextlib
import re
import warnings
from typing import Any, Iterator, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..exceptions import ColumnTypeError, DataError, ParameterError


def feature_names(X: Any) -> Optional[np.ndarray]:
    """Column names of a DataFrame whose columns are all strings, else None."""
    if isinstance(X, pd.DataFrame) and len(X.columns) and all(isinstance(c, str) for c in X.columns):
        return np.asarray(X.columns, dtype=object)
    return None


def as_matrix(X: Any, what: str = "X") -> np.ndarray:
    """``X`` as a 2-D C-contiguous float64 array (a copy only when needed).

    NaN/inf are left for the core, which reports the row and column (see
    :func:`labelled`).
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{what} is a sparse matrix; k-means needs dense input: pass {what}.toarray()")
    if isinstance(X, pd.DataFrame):
        bad = [c for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c].dtype)
                                            or pd.api.types.is_bool_dtype(X[c].dtype))]
        if bad:
            raise ColumnTypeError(f"column {bad[0]!r} of {what} must be numeric, got dtype {X[bad[0]].dtype}",
                                  field=str(bad[0]))
        values = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(X)
        if np.iscomplexobj(values):
            raise DataError(f"{what}: Complex data not supported")
        if values.dtype.kind not in "biuf":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ColumnTypeError(f"{what} must be numeric, got dtype {values.dtype}: {exc}") from None
    if values.ndim != 2:
        raise DataError(
            f"Expected a 2D array for {what}, got a {values.ndim}D array instead. Reshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) if it contains a "
            "single sample."
        )
    if values.shape[0] == 0:
        raise DataError(f"{what}: found array with 0 sample(s) (shape={values.shape}) while a minimum of 1 is required.")
    if values.shape[1] == 0:
        raise DataError(f"{what}: found array with 0 feature(s) (shape={values.shape}) while a minimum of 1 is required.")
    return np.ascontiguousarray(values, dtype=np.float64)


@contextlib.contextmanager
def labelled(X: Any, what: str = "X") -> Iterator[None]:
    """Re-raise a core "feature j ... at row i" DataError naming X's column and index label."""
    try:
        yield
    except DataError as exc:
        field, row = exc.field, exc.row
        if not (field and field.startswith("feature ")):
            raise
        j = int(field.split()[1])
        column: Any = X.columns[j] if isinstance(X, pd.DataFrame) else j
        label = X.index[row] if isinstance(X, pd.DataFrame) and row is not None else row
        where = f"index label {label!r} (row {row})" if isinstance(X, pd.DataFrame) else f"row {row}"
        name = f"column {column!r}" if isinstance(X, pd.DataFrame) else f"{what} column {column}"
        # the core says "feature j is NaN or infinite at row i" or "feature j: is 1e+200, beyond ... at row i"
        reason = re.sub(r" at row \d+$", "", re.sub(r"^feature \d+:?", "", str(exc)))
        raise DataError(f"{name} {reason.strip()} at {where}", field=str(column), row=row, label=label) from None


def check_names(fitted: Optional[np.ndarray], X: Any, owner: str) -> None:
    """scikit-learn's feature-name rules at predict time: an error when the
    names differ, a warning when only one side has names."""
    names = feature_names(X)
    if fitted is None:
        if names is not None:
            warnings.warn(f"X has feature names, but {owner} was fitted without feature names", UserWarning,
                          stacklevel=3)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {owner} was fitted with feature names",
                      UserWarning, stacklevel=3)
        return
    if len(names) == len(fitted) and (names == fitted).all():
        return
    missing = [str(n) for n in fitted if n not in set(names)]
    unexpected = [str(n) for n in names if n not in set(fitted)]
    detail = []
    if unexpected:
        detail.append(f"feature names unseen at fit time: {unexpected}")
    if missing:
        detail.append(f"feature names seen at fit time, yet now missing: {missing}")
    if not detail:
        detail.append(f"the columns are in a different order: expected {list(fitted)}")
    raise DataError("The feature names should match those that were passed during fit; " + "; ".join(detail),
                    field=(unexpected or missing or [None])[0])


def check_int(value: Any, name: str, low: int) -> int:
    """``value`` as an int >= low, else a ParameterError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}", name)
    return int(value)


def labels_array(labels: Any, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """Arbitrary cluster labels as codes 0..k-1 (uint32) and the distinct labels."""
    values = np.asarray(labels)
    if values.ndim != 1:
        raise DataError(f"labels must be 1-D, got shape {values.shape}", field="labels")
    if len(values) != n:
        raise DataError(f"labels has {len(values)} entries but X has {n} rows", field="labels")
    uniques, codes = np.unique(values, return_inverse=True)
    return np.ascontiguousarray(codes.reshape(-1), dtype=np.uint32), uniques


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(f"{name} must be one of {tuple(choices)}, got {value!r}", name)
    return value
