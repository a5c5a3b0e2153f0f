"""Feature frames -> float64 design matrices: one-hot categories, imputation,
and error messages that name the column and index label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np
import pandas as pd

from .._frame import first_label
from ..exceptions import ColumnTypeError, DataError, ParameterError

IMPUTE_CHOICES = (None, "median", "mean", "zero", "native")


def is_numeric(series: pd.Series) -> bool:
    """Numbers and booleans are used as they are; everything else is a category."""
    return pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)


def numeric_values(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def sorted_categories(series: pd.Series) -> List[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    values = pd.unique(series.dropna())
    try:
        return sorted(values)
    except TypeError:  # mixed types: a stable, readable order
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def one_hot(series: pd.Series, categories: List[Any]) -> np.ndarray:
    """Indicator columns; missing and unseen values get all zeros."""
    codes = pd.Index(categories).get_indexer(series)  # -1: missing or unseen
    out = np.zeros((len(series), len(categories)))
    rows = np.flatnonzero(codes >= 0)
    out[rows, codes[rows]] = 1.0
    return out


@dataclass
class Column:
    """How one input column becomes design columns."""

    name: str
    kind: str  # "numeric" or "categorical"
    categories: List[Any] = field(default_factory=list)
    fill: Optional[float] = None  # imputed value for NaN (numeric, impute set)

    def names_out(self) -> List[str]:
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}={c}" for c in self.categories]


@dataclass
class Design:
    """The encoding learned at ``fit`` and replayed at ``predict``."""

    columns: List[Column]
    impute: Optional[str]

    @classmethod
    def fit(cls, frame: pd.DataFrame, impute: Optional[str]) -> "Design":
        columns = []
        for name in frame.columns:
            series = frame[name]
            if is_numeric(series):
                col = Column(str(name), "numeric")
                if impute in ("median", "mean", "zero"):
                    values = numeric_values(series)
                    finite = values[np.isfinite(values)]
                    if impute == "zero" or finite.size == 0:
                        col.fill = 0.0
                    else:
                        col.fill = float(np.median(finite) if impute == "median" else finite.mean())
                columns.append(col)
            else:
                columns.append(Column(str(name), "categorical", sorted_categories(series)))
        return cls(columns, impute)

    def names_out(self) -> List[str]:
        return [n for c in self.columns for n in c.names_out()]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The design matrix (C-contiguous float64); NaN/inf rules enforced."""
        for col, name in zip(self.columns, frame.columns):
            if col.kind == "numeric" and not is_numeric(frame[name]):
                raise ColumnTypeError(
                    f"column {col.name!r} was numeric at fit time, got dtype {frame[name].dtype}", field=col.name)
        plain = all(c.kind == "numeric" for c in self.columns) and all(
            isinstance(dt, np.dtype) for dt in frame.dtypes)
        if plain:  # the common case: one conversion, one finiteness pass, no per-column copies
            values = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
            if np.isfinite(values).all():
                return values
        out = np.empty((len(frame), len(self.names_out())))
        j = 0
        for col, name in zip(self.columns, frame.columns):
            series = frame[name]
            if col.kind == "numeric":
                values = numeric_values(series)
                self._check_values(values, col, frame.index)
                out[:, j] = values if col.fill is None else np.where(np.isnan(values), col.fill, values)
                j += 1
            else:
                out[:, j:j + len(col.categories)] = one_hot(series, col.categories)
                j += len(col.categories)
        return out

    def _check_values(self, values: np.ndarray, col: Column, index: pd.Index) -> None:
        inf = np.isinf(values)
        if inf.any():
            pos, label = first_label(index, inf)
            raise DataError(f"feature {col.name!r} is infinite at index label {label!r} (row {pos})",
                            field=col.name, row=pos, label=label)
        if self.impute is None:
            nan = np.isnan(values)
            if nan.any():
                pos, label = first_label(index, nan)
                raise DataError(
                    f"feature {col.name!r} is missing (NaN) at index label {label!r} (row {pos}); choose how to "
                    "handle missing values with impute='median', 'mean' or 'zero' (or 'native' for model='gbm')",
                    field=col.name, row=pos, label=label,
                )

    def to_dict(self) -> dict:
        return {"impute": self.impute, "columns": [
            {"name": c.name, "kind": c.kind, "categories": [_plain(v) for v in c.categories], "fill": c.fill}
            for c in self.columns]}

    @classmethod
    def from_dict(cls, d: dict) -> "Design":
        return cls([Column(c["name"], c["kind"], list(c["categories"]), c["fill"]) for c in d["columns"]],
                   d["impute"])


def _plain(value: Any) -> Any:
    """numpy scalars as Python scalars (for JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def check_impute(impute: Any, model: str) -> None:
    if impute not in IMPUTE_CHOICES:
        raise ParameterError(f"impute must be one of {IMPUTE_CHOICES}, got {impute!r}", "impute")
    if impute == "native" and model != "gbm":
        raise ParameterError("impute='native' (missing values as their own bin) needs model='gbm'", "impute")
