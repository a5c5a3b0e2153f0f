"""What every Spark function shares: input checks, hash buckets, the globals, output schemas.

A per-customer kernel needs all of a customer's rows in one call: customers
are spread over ``buckets`` groups by a hash of their id (``pmod(xxhash64(id),
buckets)``), and ``groupBy(bucket).applyInArrow`` hands each group, as one
Arrow table, to the kernel (see :mod:`patronage._kernels`). The globals the
public functions default from the whole log (``as_of``, ``observation_end``,
...) come from one aggregate over the log, computed once on the driver, and
travel to the executors in the closure. The output schema Spark needs before
it runs anything is read off the kernel's own output on a two-row probe
(so it has exactly the kernel's columns and dtypes; a bad option fails there,
on the driver, with the pandas function's own message).

Only DataFrame APIs are used (no RDDs, no broadcast, no ``toPandas`` of the
log), so everything also runs under Spark Connect and serverless.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, List, Optional, Sequence

import numpy as np
import pandas as pd

from .. import _kernels
from .._input import as_pandas, require, type_name
from ..exceptions import DataError, ParameterError

#: The bucket column added to the log (dropped before the kernel sees the rows).
BUCKET = "__patronage_bucket"
#: Buckets when ``buckets`` is not given: twice Spark's default shuffle partitions is
#: not known before a session exists, so a fixed number that keeps a bucket of a
#: 1-billion-row log around 1 M rows on a 1,000-core cluster; see the docs page.
DEFAULT_BUCKETS = 1024
#: Most buckets (each is one kernel call; more only adds overhead).
MAX_BUCKETS = 1 << 20


def pyspark() -> Any:
    """``pyspark.sql`` (the ``spark`` extra)."""
    require("pyspark", "spark")
    from pyspark import sql

    return sql


def check_frame(sdf: Any, columns: Sequence[Optional[str]], name: str = "sdf") -> None:
    """Refuses anything but a Spark DataFrame holding ``columns`` (None entries are skipped)."""
    sql = pyspark()
    if not isinstance(sdf, sql.DataFrame):
        raise TypeError(f"{name} must be a Spark DataFrame (pyspark.sql.DataFrame), got {type_name(sdf)}")
    found = sdf.columns
    for column in columns:
        if column is not None and column not in found:
            raise DataError(f"column {column!r} is not in the Spark DataFrame; columns found: "
                            f"{', '.join(map(repr, found))}", field=column)


def check_log(sdf: Any, customer: str, date: str, amount: Optional[str], order: Optional[str] = None) -> None:
    """A transaction log's columns and types (dates: Spark dates or timestamps)."""
    check_frame(sdf, [customer, date, amount, order])
    types = pyspark().types
    fields = {f.name: f.dataType for f in sdf.schema.fields}
    if not isinstance(fields[date], (types.DateType, types.TimestampType, types.TimestampNTZType)):
        raise DataError(f"column {date!r} must be a Spark date or timestamp, got {fields[date].simpleString()} "
                        f"(convert it with pyspark.sql.functions.to_date or to_timestamp)", field=date)
    if amount is not None and not isinstance(fields[amount], types.NumericType):
        raise DataError(f"column {amount!r} must be numeric, got {fields[amount].simpleString()}", field=amount)
    for column in (customer, order):
        if column is not None and not isinstance(fields[column], (types.NumericType, types.StringType)):
            raise DataError(f"column {column!r} must hold numbers or strings, got {fields[column].simpleString()}",
                            field=column)


def check_buckets(buckets: Any) -> int:
    if buckets is None:
        return DEFAULT_BUCKETS
    if isinstance(buckets, bool) or not isinstance(buckets, (int, np.integer)) or not 1 <= buckets <= MAX_BUCKETS:
        raise ParameterError(f"buckets must be an integer in 1..{MAX_BUCKETS}, got {buckets!r}", "buckets")
    return int(buckets)


def with_bucket(sdf: Any, customer: str, buckets: int) -> Any:
    """``sdf`` with the :data:`BUCKET` column: a hash of the customer id modulo ``buckets``."""
    F = pyspark().functions
    return sdf.withColumn(BUCKET, F.pmod(F.xxhash64(F.col(customer)), F.lit(buckets)).cast("int"))


def day_number(column: str) -> Any:
    """Days since 1970-01-01 of a date or timestamp column (a timestamp's day in the session time zone,
    the calendar day the kernel reads off the Arrow timestamp Spark hands it)."""
    F = pyspark().functions
    return F.datediff(F.to_date(F.col(column)), F.lit(datetime.date(1970, 1, 1)))


def log_globals(sdf: Any, date: str, amount: Optional[str], returns: str = "net") -> _kernels.LogGlobals:
    """The whole log's :class:`~patronage._kernels.LogGlobals` from one aggregate."""
    F = pyspark().functions
    d = day_number(date)
    if amount is None:
        row = sdf.agg(F.min(d), F.max(d), F.count(F.lit(1))).first()
        if row is None or row[2] == 0:
            raise DataError("the transaction log is empty (no rows)")
        return _kernels.extreme_globals(row[0], row[1], row[1], row[2], None, returns)
    buy = F.col(amount) >= 0
    row = sdf.agg(F.min(F.when(buy, d)), F.max(F.when(buy, d)), F.max(d), F.count(F.when(buy, 1)),
                  F.count(F.lit(1))).first()
    if row is None or row[4] == 0:
        raise DataError("the transaction log is empty (no rows)")
    return _kernels.extreme_globals(row[0], row[1], row[2], row[3], amount, returns)


def arrow_input(table: Any, drop: Sequence[str] = (BUCKET,)) -> pd.DataFrame:
    """One group's Arrow table as the pandas frame a kernel takes, ``drop`` removed: through the one
    adapter every table goes through (:func:`patronage._input.as_pandas`: numeric, timestamp and date
    columns are viewed in Arrow's memory, not copied; Spark dates become datetimes)."""
    table = table.drop_columns([c for c in drop if c in table.column_names])
    return as_pandas(table, "a Spark batch")


def spark_type(dtype: Any, column: str) -> Any:
    """The Spark type a kernel output dtype becomes (datetimes are whole days: DateType)."""
    types = pyspark().types
    if pd.api.types.is_bool_dtype(dtype):
        return types.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return types.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return types.DoubleType()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return types.DateType()
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) \
            or pd.api.types.is_string_dtype(dtype):
        return types.StringType()
    raise TypeError(f"no Spark type for column {column!r} of dtype {dtype}")  # a kernel's own dtype: a bug


def schema_of(frame: pd.DataFrame) -> Any:
    """The Spark schema of a kernel's result with its index (the customer id) as the first column."""
    types = pyspark().types
    flat = frame.reset_index()
    return types.StructType([types.StructField(str(c), spark_type(flat[c].dtype, str(c)), True) for c in flat.columns])


def to_arrow(frame: pd.DataFrame, schema: Any) -> Any:
    """A kernel's result (index = customer id) as an Arrow table of ``schema`` (see :func:`schema_of`)."""
    import pyarrow as pa

    flat = frame.reset_index()
    arrays = []
    for field in schema.fields:
        values = flat[field.name]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize(None)  # the local calendar day, as the kernel counted it
        kind = field.dataType.typeName()
        if kind == "date":
            arrays.append(pa.array(values.to_numpy("datetime64[ns]").astype("datetime64[D]"), type=pa.date32(),
                                   from_pandas=True))
        elif kind == "string":
            arrays.append(pa.array(values.astype(object).where(values.notna(), None).to_numpy(), type=pa.string()))
        else:
            arrow = {"long": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}[kind]
            arrays.append(pa.array(values.to_numpy(), type=arrow, from_pandas=True))
    return pa.Table.from_arrays(arrays, names=[f.name for f in schema.fields])


def empty_arrow(schema: Any) -> Any:
    """An Arrow table of ``schema`` without rows (a group none of whose customers qualifies)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    return pa.Table.from_batches([], schema=to_arrow_schema(schema))


def probe_log(sdf: Any, g: _kernels.LogGlobals, customer: str, date: str, amount: Optional[str],
              order: Optional[str]) -> pd.DataFrame:
    """A two-row log of one customer buying on the log's first purchase day and its last day, with
    the Spark columns' kinds: the kernels run on it to learn their output schema."""
    types = pyspark().types
    fields = {f.name: f.dataType for f in sdf.schema.fields}

    def like(column: str, values: List[int]) -> Any:
        if isinstance(fields[column], types.StringType):
            return [str(v) for v in values]
        if isinstance(fields[column], (types.FloatType, types.DoubleType, types.DecimalType)):
            return np.asarray(values, dtype=np.float64)
        return np.asarray(values, dtype=np.int64)

    days = [g.first_purchase_day, max(g.last_day, g.max_day)]
    probe = pd.DataFrame({customer: like(customer, [1, 1]),
                          date: np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]")})
    if amount is not None:
        probe[amount] = [1.0, 1.0]
    if order is not None:
        probe[order] = like(order, [1, 2])
    return probe


def grouped(sdf: Any, customer: str, date: str, amount: Optional[str], order: Optional[str], buckets: int,
            function: Callable[[Any], Any], schema: Any) -> Any:
    """``function`` (Arrow table of whole customers -> Arrow table of ``schema``) over hash buckets."""
    F = pyspark().functions
    keep = list(dict.fromkeys(c for c in (customer, date, amount, order) if c is not None))
    log = with_bucket(sdf.select(*[F.col(c) for c in keep]), customer, buckets)
    return log.groupBy(BUCKET).applyInArrow(function, schema)
