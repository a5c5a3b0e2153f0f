"""pandas <-> numpy for transaction logs: column checks, id factorization,
dates to day numbers, and error messages that name the user's column and row.

Everything is vectorised; the caller's DataFrame is never modified.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from . import _core
from ._input import ArrowTable, as_pandas, as_table
from .exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError

RETURNS_POLICIES = ("net", "drop", "error")


def require_frame(obj: Any, name: str = "tx") -> pd.DataFrame:
    """``obj`` as a pandas DataFrame (any table, see :mod:`patronage._input`), else a TypeError naming it."""
    return as_pandas(obj, name)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str = "DataFrame") -> None:
    """A MissingColumnError listing the columns found, if any is absent; a
    DataError naming a column that appears more than once (``frame[name]`` would
    then be a DataFrame, not a column)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(repr, frame.columns))
        raise MissingColumnError(
            f"column {missing[0]!r} is not in the {what}; columns found: {found}", field=missing[0]
        )
    for column in columns:
        count = int(np.count_nonzero(frame.columns == column))
        if count > 1:
            raise DataError(f"column {column!r} appears {count} times in the {what}: keep one, e.g. "
                            "tx.loc[:, ~tx.columns.duplicated()]", field=column)


def first_label(index: pd.Index, mask: np.ndarray) -> tuple[int, Any]:
    """Position and index label of the first True in ``mask``."""
    pos = int(np.flatnonzero(mask)[0])
    return pos, plain(index[pos])


def plain(label: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (so messages read ``3``, not ``np.int64(3)``)."""
    return label.item() if isinstance(label, np.generic) else label


def is_real_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` holds real numbers: signed/unsigned integers or floats,
    numpy, nullable (``Int64``, ``Float64``) or Arrow-backed. Not booleans,
    complex numbers, timedeltas, dates, periods, intervals or categoricals."""
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    if str(getattr(dtype, "pyarrow_dtype", "")).startswith("decimal"):  # Arrow decimals
        return True
    return ((pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype))
            and not pd.api.types.is_bool_dtype(dtype))


def float_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as contiguous float64 (NaN/inf kept: for a core that rejects them itself)."""
    series = frame[column]
    if not is_real_dtype(series.dtype):
        raise ColumnTypeError(f"column {column!r} must be numeric (real numbers), got dtype {series.dtype}", field=column)
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))


def finite_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as contiguous float64, rejecting NaN/inf with the row label."""
    values = float_column(frame, column)
    bad = ~np.isfinite(values)
    if bad.any():
        pos, label = first_label(frame.index, bad)
        raise DataError(
            f"column {column!r} is NaN or infinite at index label {label!r} (row {pos})",
            field=column, row=pos, label=label,
        )
    return values


def to_day(value: Any, name: str) -> int:
    """A date-like parameter (str, date, datetime, Timestamp, numpy datetime64) as a day number."""
    if isinstance(value, np.datetime64):  # any year numpy holds, beyond pandas' Timestamp range
        if np.isnat(value):
            raise ParameterError(f"{name} must be a date, got NaT", name)
        return int(value.astype("datetime64[D]").astype(np.int64))
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}={value!r} is not a date: {exc}", name) from None
    if ts is pd.NaT:
        raise ParameterError(f"{name} must be a date, got NaT", name)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.normalize().to_datetime64(), "D").astype(np.int64))


# The longest duration (horizon, window, within, new_days) accepted, in days: a
# billion years, far longer than any log spans, and short enough that a day
# number plus or minus it stays well inside int64 (the core's
# calendar::MAX_DURATION_DAYS; checked here first so that ints beyond int64
# are a ParameterError, not an OverflowError).
MAX_DURATION_DAYS = 365_242_500_000


def to_days(value: Any, name: str) -> int:
    """A duration (``"90D"``, ``"13W"``, int days, timedelta) as whole days,
    refused beyond :data:`MAX_DURATION_DAYS` either way (never wrapped)."""
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a duration like '90D' or a number of days, got {value!r}", name)
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.timedelta64):
        return _bounded_days(int(value), name)
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}={value!r} is not a duration like '90D': {exc}", name) from None
    if delta is pd.NaT:
        raise ParameterError(f"{name} must be a duration, got NaT", name)
    days = delta / pd.Timedelta(days=1)
    if days != int(days):
        raise ParameterError(f"{name} must be a whole number of days, got {value!r}", name)
    return _bounded_days(int(days), name)


def _bounded_days(days: int, name: str) -> int:
    if abs(days) > MAX_DURATION_DAYS:
        raise ParameterError(f"{name}={days} days is longer than the longest duration accepted "
                             f"({MAX_DURATION_DAYS:,} days, a billion years)", name)
    return days


def days_to_datetime(days: np.ndarray, unit: str = "ns") -> np.ndarray:
    """Day numbers as datetime64[unit]; a DataError if one cannot be represented
    at that resolution (never another date: the product would wrap)."""
    days = np.asarray(days, dtype=np.int64)
    outside = _unrepresentable(days, unit)
    if outside.any():
        day = np.datetime64(int(days[outside][0]), "D")
        raise DataError(f"the day {day} cannot be represented as datetime64[{unit}]")
    return (days * _UNITS_PER_DAY[unit]).view(f"datetime64[{unit}]")


def _unrepresentable(days: np.ndarray, unit: str) -> np.ndarray:
    """Which day numbers have a midnight outside datetime64[unit] (int64 ticks; the smallest is NaT)."""
    limit = np.iinfo(np.int64).max // _UNITS_PER_DAY[unit]
    return (days < -limit) | (days > limit)


@dataclass(frozen=True)
class TransactionLog:
    """A transaction log ready for the compiled core, without copying what need not be.

    Each column is a tuple of chunks in row order: one for a pandas frame, one
    per Arrow chunk for a polars or pyarrow table whose columns the core reads
    in place (chunk boundaries may differ between columns). The code of row
    ``i`` is its customer value minus ``customer_offset`` and indexes
    ``customers`` (distinct ids, sorted where they can be); its day number is
    its date value ``// day_divisor`` (dates are often the DataFrame's own
    datetime64 values viewed as int64); dates go back out at ``date_unit``,
    the input's resolution. Amounts are float64; orders are int64 order ids
    (codes), or None without an order column.
    """

    customer_chunks: Tuple[np.ndarray, ...]
    customer_offset: int
    date_chunks: Tuple[np.ndarray, ...]
    day_divisor: int
    date_unit: str
    amount_chunks: Tuple[np.ndarray, ...]
    order_chunks: Optional[Tuple[np.ndarray, ...]]
    customers: pd.Index
    index: pd.Index
    columns: Mapping[str, str]

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def customers_raw(self) -> np.ndarray:
        """The customer values as one array (joined, a copy, when the log is in chunks)."""
        return _joined(self.customer_chunks)

    @property
    def dates(self) -> np.ndarray:
        """The date values as one array (joined, a copy, when the log is in chunks)."""
        return _joined(self.date_chunks)

    @property
    def amounts(self) -> np.ndarray:
        """The amounts as one array (joined, a copy, when the log is in chunks)."""
        return _joined(self.amount_chunks)

    @property
    def max_day(self) -> int:
        """The day number of the latest date of any row (read chunk by chunk: nothing is joined)."""
        return max(int(c.max()) for c in self.date_chunks if len(c)) // self.day_divisor

    def core_args(self, returns: str) -> tuple:
        """The log as ``_core`` takes it, one tuple: ``(customer, date, amount, order, n_customers,
        (customer_offset, day_divisor), returns)``, each column a list of chunks."""
        # the core borrows C-contiguous, aligned arrays; an Arrow buffer at an odd offset is copied here
        customers, dates, amounts, orders = (
            None if chunks is None else [np.require(c, requirements=["C", "A"]) for c in chunks]
            for chunks in (self.customer_chunks, self.date_chunks, self.amount_chunks, self.order_chunks))
        return (customers, dates, amounts, orders, self.n_customers, (self.customer_offset, self.day_divisor),
                returns)

    def as_dates(self, days: np.ndarray) -> np.ndarray:
        """Day numbers (e.g. first purchase days) as midnights at the input's resolution,
        or a DataError naming the date column and the first row on a day that has
        no midnight at that resolution (1677-09-21 in nanoseconds)."""
        days = np.asarray(days, dtype=np.int64)
        outside = _unrepresentable(days, self.date_unit)
        if outside.any():
            row_days = np.floor_divide(self.dates, self.day_divisor)
            pos, label = first_label(self.index, row_days == days[outside][0])
            column = self.columns["date"]
            raise DataError(
                f"column {column!r} has a date at index label {label!r} (row {pos}) whose day "
                f"{np.datetime64(int(days[outside][0]), 'D')} cannot be represented as datetime64[{self.date_unit}]; "
                f"convert the column first, e.g. tx[{column!r}].astype('datetime64[s]')",
                field=column, row=pos, label=label,
            )
        return days_to_datetime(days, self.date_unit)

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
    date_format: Optional[str] = None,
) -> TransactionLog:
    """Validate and convert a transaction DataFrame (see :func:`patronage.rfm_table`).

    A polars or pyarrow table whose columns are already what the core reads
    (integer ids in a dense range, naive timestamps, numeric amounts and orders,
    no nulls) is taken chunk by chunk in place (:func:`_chunked_log`); any
    other table goes through pandas.
    """
    table = as_table(tx)
    if returns not in RETURNS_POLICIES:
        raise ParameterError(f"returns must be one of {RETURNS_POLICIES}, got {returns!r}", "returns")
    if order is not None and not isinstance(order, str):
        raise ParameterError(f"order must be a column name (e.g. the invoice id), got {order!r}", "order")
    columns = {"customer": customer, "date": date, "amount": amount if amount is not None else "amount",
               "order": order if order is not None else "order"}
    if isinstance(table, ArrowTable):
        log = _chunked_log(table, customer, date, amount, order, columns)
        if log is not None:
            return log
        table = table.to_pandas()
    frame = table
    needed = [customer, date] + ([amount] if amount is not None else []) + ([order] if order is not None else [])
    require_columns(frame, needed, "transaction log")
    if len(frame) == 0:
        raise DataError("the transaction log is empty (no rows)")
    ids, offset, customers = _encode_ids(frame, customer)
    dates, divisor, unit = _encode_dates(frame, date, _check_date_format(date_format))
    amounts = _amounts(frame, amount)
    orders = None if order is None else (_encode_orders(frame, order),)
    return TransactionLog((ids,), offset, (dates,), divisor, unit, (amounts,), orders, customers, frame.index,
                          columns)


def _chunked_log(table: ArrowTable, customer: str, date: str, amount: Optional[str], order: Optional[str],
                 columns: Mapping[str, str]) -> Optional[TransactionLog]:
    """The log of an Arrow table as its chunks, read in place (no gather), when every column used is
    already in the core's form: integer ids in a range not much wider than the log (code = id - smallest
    id, as :func:`_encode_ids` does), timestamps without a time zone (or date64), real amounts and integer
    orders, none null; None otherwise. Each value is the one the pandas path computes."""
    names = [customer, date] + [c for c in (amount, order) if c is not None]
    chunks = {name: table.chunks(name) for name in names}
    if any(c is None for c in chunks.values()):
        return None
    ids = chunks[customer]
    n = sum(len(c) for c in ids)
    id_type = ids[0].dtype
    if n == 0 or id_type.kind not in "iu" or any(c.dtype.kind not in "iu" for c in chunks.get(order, [])):
        return None
    lo, hi = min(int(c.min()) for c in ids if len(c)), max(int(c.max()) for c in ids if len(c))
    if hi > np.iinfo(np.int64).max or hi - lo >= max(4 * n, 1 << 16):  # factorized over the whole column
        return None
    unit, count = np.datetime_data(chunks[date][0].dtype) if chunks[date][0].dtype.kind == "M" else ("", 0)
    if unit not in ("s", "ms", "us", "ns") or count != 1:
        return None
    if amount is not None and chunks[amount][0].dtype.kind not in "iuf":
        return None
    if order is not None and max(int(c.max()) for c in chunks[order] if len(c)) > np.iinfo(np.int64).max:
        return None

    def as_type(values: list, dtype: Any) -> tuple:  # in place when they have it (a copy per chunk if not)
        return tuple(np.asarray(c, dtype=dtype) for c in values)

    customers = pd.Index(np.arange(lo, hi + 1, dtype=np.int64).astype(id_type, copy=False))
    amounts = (np.zeros(n),) if amount is None else as_type(chunks[amount], np.float64)
    orders = None if order is None else as_type(chunks[order], np.int64)
    return TransactionLog(as_type(ids, np.int64), lo, tuple(c.view(np.int64) for c in chunks[date]),
                          _UNITS_PER_DAY[unit], unit, amounts, orders, customers, pd.RangeIndex(n), columns)


def _joined(chunks: Tuple[np.ndarray, ...]) -> np.ndarray:
    """The chunks as one array: the chunk itself when there is one."""
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


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
    if isinstance(series.dtype, np.dtype) and not series.dtype.isnative:  # e.g. ">i8" read from a file
        series = series.astype(series.dtype.newbyteorder("="))
    arrow = getattr(series.dtype, "pyarrow_dtype", None)
    if arrow is not None and hasattr(arrow, "value_type"):  # Arrow dictionary: as a categorical
        series = series.astype(pd.ArrowDtype(arrow.value_type)).astype("category")
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


#: Shown when date strings are not ISO: the formats an export usually has. Day-first and month-first
#: are never guessed: ``03/04/1997`` is ambiguous.
DATE_FORMAT_EXAMPLES = ("'%m/%d/%Y' (01/31/1997)", "'%d/%m/%Y' (31/01/1997)", "'%d.%m.%Y' (31.01.1997)",
                        "'%Y%m%d' (19970131)", "'%d/%m/%Y %H:%M' (31/01/1997 14:05)")


def _check_date_format(date_format: Optional[str]) -> Optional[str]:
    if date_format is None:
        return None
    # pandas' 'mixed' guesses each date's format (day-first or month-first): refused with the rest
    if not isinstance(date_format, str) or "%" not in date_format and date_format != "ISO8601":
        raise ParameterError(f"date_format must be one strftime format such as '%d/%m/%Y', or 'ISO8601', got "
                             f"{date_format!r}; accepted: " + ", ".join(DATE_FORMAT_EXAMPLES), "date_format")
    return date_format


def _encode_dates(frame: pd.DataFrame, column: str,
                  date_format: Optional[str] = None) -> tuple[np.ndarray, int, str]:
    """The date column as int64 ticks (no copy for datetime64 columns), ticks per
    day and the resolution dates go back out at (the column's, or seconds).

    tz-aware dates count on their local calendar day. NaT is left for the core
    to report with its row.
    """
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)  # the customer's local calendar day
    elif pd.api.types.is_datetime64_dtype(dtype):
        pass
    elif isinstance(dtype, pd.PeriodDtype):  # a period counts on its first day
        _reject_missing(frame, column, "date")
        series = series.dt.start_time
    elif date_format is not None and pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        series = _parse_dates(frame, column, date_format, series.astype(str))
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise ColumnTypeError(
            f"column {column!r} must hold dates (datetime64, datetime.date or ISO strings), got dtype {dtype}; "
            "for numbers like 19970101 pass date_format='%Y%m%d'",
            field=column,
        )
    else:
        series = _parse_dates(frame, column, date_format)
    values = series.to_numpy()
    unit, count = np.datetime_data(values.dtype)
    if unit not in _UNITS_PER_DAY:  # e.g. datetime64[W]: convert once
        values, unit, count = values.astype("datetime64[D]"), "D", 1
    out_unit = unit if unit in ("s", "ms", "us", "ns") and count == 1 else "s"
    return np.ascontiguousarray(values.view(np.int64)), _UNITS_PER_DAY[unit] // count, out_unit


def _parse_dates(frame: pd.DataFrame, column: str, date_format: Optional[str],
                 series: Optional[pd.Series] = None) -> pd.Series:
    """Date strings (ISO, or ``date_format``) or date objects as datetime64; unparseable ones are an error
    naming the row and, for strings, the formats to pass."""
    series = frame[column] if series is None else series
    _reject_missing(frame, column, "date")
    sample = series.iloc[0]
    if isinstance(sample, (_dt.date, pd.Timestamp, np.datetime64)):
        parsed = pd.to_datetime(series, errors="coerce")
    else:
        try:
            parsed = pd.to_datetime(series, errors="coerce", format=date_format or "ISO8601")
        except (TypeError, ValueError) as exc:
            if "zone" not in str(exc) and "offset" not in str(exc):
                raise DataError(f"column {column!r} could not be parsed as dates: {exc}", field=column) from None
            parsed = _wall_clock_dates(series)
        if parsed.dtype == object:  # pandas < 2.1 gives mixed UTC offsets back as objects instead of raising
            parsed = _wall_clock_dates(series)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos, label = first_label(frame.index, bad)
        if date_format is not None:
            hint = f" under date_format={date_format!r}"
        elif isinstance(series.iloc[pos], str):
            hint = ("; without date_format only ISO dates (1997-01-31) are read, and day-first vs month-first is "
                    "never guessed: pass date_format= (command line: --date-format), e.g. "
                    + ", ".join(DATE_FORMAT_EXAMPLES))
        else:
            hint = ""
        raise DataError(
            f"column {column!r} has an unparseable date {frame[column].iloc[pos]!r} at index label {label!r} "
            f"(row {pos}){hint}",
            field=column, row=pos, label=label,
        )
    return parsed


def _wall_clock_dates(series: pd.Series) -> pd.Series:
    """Timestamps written with different UTC offsets (a summer and a winter
    offset, or shops in several zones), each as its local wall-clock time: a
    purchase counts on the calendar day it was made where it was made, as it
    does for a column in one time zone. Unparseable values become NaT."""
    def wall_clock(value: Any) -> Any:
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            return pd.NaT
        return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp

    return pd.to_datetime(series.map(wall_clock), errors="coerce")


def _amounts(frame: pd.DataFrame, column: Optional[str]) -> np.ndarray:
    """The amount column as float64: real numbers only. Numbers held as text or
    Python objects are converted; booleans, complex numbers, timedeltas, dates,
    periods and categoricals are refused with their dtype."""
    if column is None:
        return np.zeros(len(frame))
    series = frame[column]
    dtype = series.dtype
    textual = dtype == object or pd.api.types.is_string_dtype(dtype)
    if not (is_real_dtype(dtype) or textual):
        raise ColumnTypeError(f"column {column!r} must be numeric (real-number amounts), got dtype {dtype}", field=column)
    if textual:
        coerced = pd.to_numeric(series, errors="coerce")
        if not is_real_dtype(coerced.dtype):  # e.g. Python complex numbers in an object column
            bad = ~series.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                              and not isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        else:
            bad = (coerced.isna() & series.notna()).to_numpy()
        if bad.any() or series.isna().all():
            pos, label = first_label(frame.index, bad) if bad.any() else (0, frame.index[0])
            raise ColumnTypeError(
                f"column {column!r} must be numeric, found {series.iloc[pos]!r} at index label {label!r} "
                f"(row {pos}; dtype {dtype})",
                field=column,
            )
        series = coerced
    # NaN / inf are reported by the core with their row, relabelled by the caller.
    if series.dtype == np.float64:  # as it is (pandas < 2.1 copies when given na_value)
        return np.ascontiguousarray(series.to_numpy())
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
