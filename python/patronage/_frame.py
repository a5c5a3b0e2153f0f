"""pandas <-> numpy for transaction logs: column checks, id factorization,
dates to day numbers, and error messages that name the user's column and row.

Everything is vectorised; the caller's DataFrame is never modified.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from . import _core
from .exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError

RETURNS_POLICIES = ("net", "drop", "error")


def require_frame(obj: Any, name: str = "tx") -> pd.DataFrame:
    """``obj`` if it is a DataFrame, else a TypeError naming the argument."""
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(obj).__name__}")
    return obj


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str = "DataFrame") -> None:
    """A MissingColumnError listing the columns found, if any is absent."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(repr, frame.columns))
        raise MissingColumnError(
            f"column {missing[0]!r} is not in the {what}; columns found: {found}", field=missing[0]
        )


def first_label(index: pd.Index, mask: np.ndarray) -> tuple[int, Any]:
    """Position and index label of the first True in ``mask``."""
    pos = int(np.flatnonzero(mask)[0])
    return pos, plain(index[pos])


def plain(label: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (so messages read ``3``, not ``np.int64(3)``)."""
    return label.item() if isinstance(label, np.generic) else label


def finite_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as contiguous float64, rejecting NaN/inf with the row label."""
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)):
        raise ColumnTypeError(f"column {column!r} must be numeric, got dtype {series.dtype}", field=column)
    values = np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    bad = ~np.isfinite(values)
    if bad.any():
        pos, label = first_label(frame.index, bad)
        raise DataError(
            f"column {column!r} is NaN or infinite at index label {label!r} (row {pos})",
            field=column, row=pos, label=label,
        )
    return values


def to_day(value: Any, name: str) -> int:
    """A date-like parameter (str, date, datetime, Timestamp) as a day number."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}={value!r} is not a date: {exc}", name) from None
    if ts is pd.NaT:
        raise ParameterError(f"{name} must be a date, got NaT", name)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.normalize().to_datetime64(), "D").astype(np.int64))


def to_days(value: Any, name: str) -> int:
    """A duration (``"90D"``, ``"13W"``, int days, timedelta) as whole days."""
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a duration like '90D' or a number of days, got {value!r}", name)
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.timedelta64):
        return int(value)
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}={value!r} is not a duration like '90D': {exc}", name) from None
    if delta is pd.NaT:
        raise ParameterError(f"{name} must be a duration, got NaT", name)
    days = delta / pd.Timedelta(days=1)
    if days != int(days):
        raise ParameterError(f"{name} must be a whole number of days, got {value!r}", name)
    return int(days)


def days_to_datetime(days: np.ndarray) -> np.ndarray:
    """Day numbers as datetime64[ns]."""
    return (np.asarray(days, dtype=np.int64) * _UNITS_PER_DAY["ns"]).view("datetime64[ns]")


@dataclass(frozen=True)
class TransactionLog:
    """A transaction log ready for the compiled core, without copying what need not be.

    The code of row ``i`` is ``customers_raw[i] - customer_offset`` and indexes
    ``customers`` (distinct ids, sorted where they can be); its day number is
    ``dates[i] // day_divisor`` (``dates`` are often the DataFrame's own
    datetime64 values viewed as int64). ``amounts`` are float64; ``orders``
    are int64 order ids (codes), or None without an order column.
    """

    customers_raw: np.ndarray
    customer_offset: int
    dates: np.ndarray
    day_divisor: int
    amounts: np.ndarray
    orders: Optional[np.ndarray]
    customers: pd.Index
    index: pd.Index
    columns: Mapping[str, str]

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    def core_args(self, returns: str) -> tuple:
        """The log as ``_core`` takes it, one tuple: ``(customer, date, amount, order, n_customers,
        (customer_offset, day_divisor), returns)``."""
        return (self.customers_raw, self.dates, self.amounts, self.orders, self.n_customers,
                (self.customer_offset, self.day_divisor), returns)

    def customer_index(self, codes: np.ndarray) -> pd.Index:
        """The customer ids of ``codes``, named like the user's id column."""
        index = self.customers.take(codes)
        index.name = self.columns["customer"]
        return index

    @contextlib.contextmanager
    def labelled_errors(self) -> Iterator[None]:
        """Re-raise core DataErrors with the user's column name and row label."""
        try:
            yield
        except DataError as exc:
            raise self._relabel(exc) from None

    def _relabel(self, exc: DataError) -> DataError:
        message = str(exc)
        column = self.columns.get(exc.field or "", exc.field)
        if exc.field and message.startswith(exc.field):
            message = f"column {column!r}" + message[len(exc.field):]
        label = None
        if exc.row is not None and 0 <= exc.row < len(self.index):
            label = plain(self.index[exc.row])
            message = message.replace(f"at row {exc.row}", f"at index label {label!r} (row {exc.row})")
        return type(exc)(message, field=column, row=exc.row, label=label)


def read_transactions(
    tx: Any,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    returns: str = "net",
    order: Optional[str] = None,
) -> TransactionLog:
    """Validate and convert a transaction DataFrame (see :func:`patronage.rfm_table`)."""
    frame = require_frame(tx)
    if returns not in RETURNS_POLICIES:
        raise ParameterError(f"returns must be one of {RETURNS_POLICIES}, got {returns!r}", "returns")
    if order is not None and not isinstance(order, str):
        raise ParameterError(f"order must be a column name (e.g. the invoice id), got {order!r}", "order")
    needed = [customer, date] + ([amount] if amount is not None else []) + ([order] if order is not None else [])
    require_columns(frame, needed, "transaction log")
    if len(frame) == 0:
        raise DataError("the transaction log is empty (no rows)")
    ids, offset, customers = _encode_ids(frame, customer)
    dates, divisor = _encode_dates(frame, date)
    amounts = _amounts(frame, amount)
    orders = None if order is None else _encode_orders(frame, order)
    columns = {"customer": customer, "date": date, "amount": amount if amount is not None else "amount",
               "order": order if order is not None else "order"}
    return TransactionLog(ids, offset, dates, divisor, amounts, orders, customers, frame.index, columns)


def _encode_ids(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, int, pd.Index]:
    """Customer values, the offset that turns them into codes, and the ids of the codes.

    Integer ids in a range not much wider than the log are passed as they are
    (code = id - smallest id: no factorization at all); other integers are
    factorized in Rust, categoricals use their codes, anything else
    ``pandas.factorize``. Float ids that are all whole numbers (integer ids
    that pandas read as floats because some were missing) are taken as int64.
    """
    series = frame[column]
    _reject_missing(frame, column, "customer id", "; rows without a customer (guest checkouts) cannot be "
                    f"profiled: leave them out first, e.g. tx.dropna(subset=[{column!r}])")
    series = _whole_floats_as_int(series)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.ascontiguousarray(series.cat.codes.to_numpy(), dtype=np.int64)
        return codes, 0, pd.Index(series.cat.categories)
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = series.to_numpy()
        lo, hi = int(values.min()), int(values.max())
        if hi <= np.iinfo(np.int64).max:
            ids = np.ascontiguousarray(values, dtype=np.int64)
            if hi - lo < max(4 * len(ids), 1 << 16):
                return ids, lo, pd.Index(np.arange(lo, hi + 1, dtype=np.int64).astype(values.dtype, copy=False))
            codes, uniques = _core.factorize_int(ids)
            return codes, 0, pd.Index(uniques.astype(values.dtype, copy=False))
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # ids of mixed, unorderable types: keep first-seen order
        codes, uniques = pd.factorize(series, sort=False)
    return np.ascontiguousarray(codes, dtype=np.int64), 0, pd.Index(uniques)


def _reject_missing(frame: pd.DataFrame, column: str, what: str, hint: str = "") -> None:
    """A DataError naming the column and the first row whose value is missing, if any is."""
    null = frame[column].isna().to_numpy()
    if null.any():
        pos, label = first_label(frame.index, null)
        raise DataError(f"column {column!r} has a missing {what} at index label {label!r} (row {pos}){hint}",
                        field=column, row=pos, label=label)


def _whole_floats_as_int(series: pd.Series) -> pd.Series:
    """A float column whose values are all whole numbers within int64, as int64 (else unchanged)."""
    if not pd.api.types.is_float_dtype(series.dtype):
        return series
    values = series.to_numpy(dtype=np.float64)
    # 2**63 is exactly representable; every float below it in magnitude fits int64
    if np.all(np.isfinite(values) & (np.abs(values) < 2.0**63) & (values == np.trunc(values))):
        return pd.Series(values.astype(np.int64), index=series.index, name=series.name)
    return series


def _encode_orders(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The order column as int64 ids (integers as they are, anything else factorized)."""
    series = frame[column]
    _reject_missing(frame, column, "order id")
    dtype = series.dtype
    if (pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and int(series.max()) <= np.iinfo(np.int64).max):
        return np.ascontiguousarray(series.to_numpy(), dtype=np.int64)
    codes, _ = pd.factorize(series, sort=False)
    return np.ascontiguousarray(codes, dtype=np.int64)


_UNITS_PER_DAY = {"D": 1, "h": 24, "m": 1440, "s": 86_400, "ms": 86_400_000, "us": 86_400_000_000,
                  "ns": 86_400_000_000_000}


def _encode_dates(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, int]:
    """The date column as int64 ticks (no copy for datetime64 columns) and ticks per day.

    tz-aware dates count on their local calendar day. NaT is left for the core
    to report with its row.
    """
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)  # the customer's local calendar day
    elif pd.api.types.is_datetime64_dtype(dtype):
        pass
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise ColumnTypeError(
            f"column {column!r} must hold dates (datetime64, datetime.date or ISO strings), got dtype {dtype}; "
            "for numbers like 19970101 use pd.to_datetime(tx[col].astype(str), format='%Y%m%d')",
            field=column,
        )
    else:
        series = _parse_dates(frame, column)
    values = series.to_numpy()
    unit, count = np.datetime_data(values.dtype)
    if unit not in _UNITS_PER_DAY:  # e.g. datetime64[W]: convert once
        values, unit, count = values.astype("datetime64[D]"), "D", 1
    return np.ascontiguousarray(values.view(np.int64)), _UNITS_PER_DAY[unit] // count


def _parse_dates(frame: pd.DataFrame, column: str) -> pd.Series:
    series = frame[column]
    _reject_missing(frame, column, "date")
    sample = series.iloc[0]
    if isinstance(sample, (_dt.date, pd.Timestamp, np.datetime64)):
        parsed = pd.to_datetime(series, errors="coerce")
    else:
        try:
            parsed = pd.to_datetime(series, errors="coerce", format="ISO8601")
        except (TypeError, ValueError) as exc:  # e.g. mixed time zone offsets
            raise DataError(f"column {column!r} could not be parsed as dates: {exc}", field=column) from None
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos, label = first_label(frame.index, bad)
        raise DataError(
            f"column {column!r} has an unparseable date {series.iloc[pos]!r} at index label {label!r} (row {pos})",
            field=column, row=pos, label=label,
        )
    return parsed


def _amounts(frame: pd.DataFrame, column: Optional[str]) -> np.ndarray:
    if column is None:
        return np.zeros(len(frame))
    series = frame[column]
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ColumnTypeError(f"column {column!r} must be numeric amounts, got dtype {dtype}", field=column)
    if not pd.api.types.is_numeric_dtype(dtype):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = (coerced.isna() & series.notna()).to_numpy()
        if bad.any() or dtype == object and series.isna().all():
            pos, label = first_label(frame.index, bad) if bad.any() else (0, frame.index[0])
            raise ColumnTypeError(
                f"column {column!r} must be numeric, found {series.iloc[pos]!r} at index label {label!r} "
                f"(row {pos}; dtype {dtype})",
                field=column,
            )
        series = coerced
    # NaN / inf are reported by the core with their row, relabelled by the caller.
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
