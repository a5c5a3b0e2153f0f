"""Mergeable reduces on Spark: each bucket's partial, summed by Spark, finished on the driver.

A reduce (:func:`cohort_retention`, ...) runs the same partial kernel as
:mod:`patronage.ooc` and :mod:`patronage.dask` (see :mod:`patronage._kernels`)
on every hash bucket of whole customers (``groupBy(bucket).applyInArrow``),
emits it as rows of numbers keyed by cell, lets Spark add them up
(``groupBy(key).sum()``) and brings only the small sum to the driver, where
the public function's own finishing step turns it into the same pandas
object the single-machine function returns (so the plots work unchanged).
Counts are exact; sums of amounts are added in another order than on one
machine and equal it to rounding.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

from .. import _kernels
from ..exceptions import ParameterError
from ..rfm import SEGMENTS
from . import _common

__all__ = ["cohort_retention", "retention", "repurchase_rate", "segment_summary", "nps", "csat", "ces"]


def cohort_retention(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                     *, period: str = "M", metric: str = "customers", normalize: bool = True, returns: str = "net",
                     order: Optional[str] = None, buckets: Optional[int] = None) -> pd.DataFrame:
    """:func:`patronage.cohort_retention` of a Spark DataFrame (the same matrix, as pandas).

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The transaction log (dates: Spark dates or timestamps). Not collected:
        only the summed cells (periods x periods numbers) reach the driver.
    customer, date, amount, period, metric, normalize, returns, order
        As in :func:`patronage.cohort_retention`.
    buckets : int, optional
        Hash buckets of whole customers (see :mod:`patronage.spark`).

    Returns
    -------
    DataFrame
        Cohorts (a ``PeriodIndex``) by age in periods, as
        :func:`patronage.cohort_retention` returns; customer counts exact,
        revenue cells equal to rounding.

    Examples
    --------
    >>> import os, sys, pandas as pd, patronage.spark
    >>> os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers' Python must import patronage
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-07", "2024-01-20", "2024-02-11"]),
    ...                    "amount": [20.0, 30.0, 15.0, 12.0]})
    >>> patronage.spark.cohort_retention(spark.createDataFrame(tx), buckets=3)
    age        0    1
    cohort
    2024-01  1.0  0.5
    2024-02  1.0  NaN
    """
    if metric not in ("customers", "revenue"):
        raise ParameterError(f"metric must be 'customers' or 'revenue', got {metric!r}", "metric")
    if amount is None and metric == "revenue":
        raise ParameterError("metric='revenue' needs an amount column", "amount")
    _common.check_log(sdf, customer, date, amount, order)
    n_buckets = _common.check_buckets(buckets)
    g = _common.log_globals(sdf, date, amount, returns)
    cols = dict(customer=customer, date=date, amount=amount, returns=returns, order=order)
    # the options checked on the driver, with the pandas function's messages
    _kernels.cohort_partial(_common.probe_log(sdf, g, customer, date, amount, order), g, period, metric, **cols)
    n = _kernels._n_periods(g, _kernels._period(period))
    types = _common.pyspark().types
    schema = types.StructType([types.StructField("cohort", types.IntegerType(), False),
                               types.StructField("age", types.IntegerType(), False),
                               types.StructField("value", types.DoubleType(), False)])

    def cells(table: Any) -> Any:
        """One bucket's cohort cells as rows (cohort, age, value); age -1 holds the cohort's size."""
        import pyarrow as pa

        batch = _common.arrow_input(table)
        part = _kernels.cohort_partial(batch, g, period, metric, **cols)
        k, a = np.nonzero(np.nan_to_num(part.values) != 0)
        sized = np.flatnonzero(part.size)
        return pa.table({"cohort": np.concatenate([k, sized]).astype(np.int32),
                         "age": np.concatenate([a, np.full(len(sized), -1)]).astype(np.int32),
                         "value": np.concatenate([part.values[k, a], part.size[sized]]).astype(np.float64)})

    F = _common.pyspark().functions
    summed = (_common.grouped(sdf, customer, date, amount, order, n_buckets, cells, schema)
              .groupBy("cohort", "age").agg(F.sum("value").alias("value")).collect())
    values, size = np.zeros((n, n)), np.zeros(n, dtype=np.int64)
    for row in summed:
        if row["age"] < 0:
            size[row["cohort"]] = int(row["value"])
        else:
            values[row["cohort"], row["age"]] = row["value"]
    values[_kernels._unobserved(n)] = np.nan
    return _kernels.cohort_matrix(_kernels.CohortPartial(values, size), g, period, metric, normalize)


def retention(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount", *,
              period: str = "M", returns: str = "net", order: Optional[str] = None,
              buckets: Optional[int] = None) -> pd.DataFrame:
    """:func:`patronage.retention` of a Spark DataFrame (exact counts, the same pandas frame).

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The transaction log (dates: Spark dates or timestamps); only the
        summed counts per period reach the driver.
    customer, date, amount, period, returns, order
        As in :func:`patronage.retention`.
    buckets : int, optional
        Hash buckets of whole customers (see :mod:`patronage.spark`).

    Returns
    -------
    DataFrame
        What :func:`patronage.retention` returns for the whole log.

    Examples
    --------
    >>> import os, sys, pandas as pd, patronage.spark
    >>> os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers' Python must import patronage
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-07", "2024-01-20", "2024-02-11"]),
    ...                    "amount": [20.0, 30.0, 15.0, 12.0]})
    >>> patronage.spark.retention(spark.createDataFrame(tx), buckets=2)[["active", "retained"]]
            active  retained
    period
    2024-01       2         0
    2024-02       2         1
    """
    return _log_reduce("retention", sdf, buckets, dict(period=period, customer=customer, date=date, amount=amount,
                                                       returns=returns, order=order))


def repurchase_rate(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                    *, within: Any = None, returns: str = "net", order: Optional[str] = None,
                    buckets: Optional[int] = None) -> pd.Series:
    """:func:`patronage.repurchase_rate` of a Spark DataFrame (exact counts, the same pandas Series).

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The transaction log (dates: Spark dates or timestamps); only the
        summed counts reach the driver.
    customer, date, amount, within, returns, order
        As in :func:`patronage.repurchase_rate`.
    buckets : int, optional
        Hash buckets of whole customers (see :mod:`patronage.spark`).

    Returns
    -------
    Series
        What :func:`patronage.repurchase_rate` returns for the whole log.

    Examples
    --------
    >>> import os, sys, pandas as pd, patronage.spark
    >>> os.environ["PYSPARK_PYTHON"] = sys.executable
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-07", "2024-01-20", "2024-02-11"]),
    ...                    "amount": [20.0, 30.0, 15.0, 12.0]})
    >>> float(patronage.spark.repurchase_rate(spark.createDataFrame(tx), buckets=2)["repurchase_rate"])
    0.333...
    """
    return _log_reduce("repurchase_rate", sdf, buckets, dict(within=within, customer=customer, date=date,
                                                             amount=amount, returns=returns, order=order))


def segment_summary(scored: Any, *, segment: str = "segment", recency: str = "recency_days",
                    frequency: str = "n_orders", monetary: str = "total_spend",
                    order: Optional[list] = None) -> pd.DataFrame:
    """:func:`patronage.segment_summary` of a scored Spark DataFrame (e.g. :func:`patronage.spark.rfm_scores`).

    ``order``: the segments' row order (default: :data:`patronage.SEGMENTS`,
    then any other segment names sorted), as the categories of a pandas
    ``segment`` column order them. Counts exact; revenue and means to rounding.

    Parameters
    ----------
    scored : pyspark.sql.DataFrame
        One row per customer with the named columns, e.g.
        :func:`patronage.spark.rfm_scores`' output; read partition by partition.
    segment, recency, frequency, monetary
        As in :func:`patronage.segment_summary`.
    order : list, optional
        The segments' row order (see above).

    Returns
    -------
    DataFrame
        What :func:`patronage.segment_summary` returns for the whole table.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> scored = pd.DataFrame({"segment": ["Champions", "Lost", "Champions"],
    ...                        "recency_days": [2, 300, 4], "n_orders": [9, 1, 7],
    ...                        "total_spend": [500.0, 20.0, 300.0]})
    >>> patronage.spark.segment_summary(spark.createDataFrame(scored))[["customers", "share_of_revenue"]]
               customers  share_of_revenue
    segment
    Champions          2          0.97561
    Lost               1          0.02439
    """
    options = dict(segment=segment, recency=recency, frequency=frequency, monetary=monetary)
    _common.check_frame(scored, [segment, recency, frequency, monetary], "scored")
    partial = _rows_reduce(scored, lambda frame: _kernels.segment_summary_partial(frame, **options))
    if order is None:
        names = [s for s in partial.table.index if isinstance(s, str)]
        order = list(SEGMENTS) + sorted(set(names) - set(SEGMENTS))
    # the row order as the pandas function takes it: the categories of the segment dtype (rfm_scores')
    dtype = pd.CategoricalDtype(list(order))
    return _kernels.segment_summary_result(_kernels.SegmentPartial(partial.table, dtype), **options)


def nps(sdf: Any, column: str, *, by: Optional[str] = None, confidence: float = 0.95) -> Any:
    """:func:`patronage.nps` of the 0-10 answers in ``column`` of a Spark DataFrame, optionally per ``by`` column.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The survey answers; only the counts per answer value (and group) reach the driver.
    column : str
        The answers' column.
    by : str, optional
        A column of groups: one row per group.
    confidence
        As in :func:`patronage.nps`.

    Returns
    -------
    Series or DataFrame
        What :func:`patronage.nps` returns for the whole table.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> answers = spark.createDataFrame(pd.DataFrame({"score": [10, 9, 7, 3, 10]}))
    >>> float(patronage.spark.nps(answers, "score")["nps"])
    40.0
    """
    return _survey("nps", sdf, column, by, dict(confidence=confidence))


def csat(sdf: Any, column: str, *, scale: Any = 5, satisfied: Any = (4, 5), by: Optional[str] = None,
         confidence: float = 0.95) -> Any:
    """:func:`patronage.csat` of the answers in ``column`` of a Spark DataFrame, optionally per ``by`` column.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The survey answers; only the counts per answer value (and group) reach the driver.
    column : str
        The answers' column.
    by : str, optional
        A column of groups: one row per group.
    scale, satisfied, confidence
        As in :func:`patronage.csat`.

    Returns
    -------
    Series or DataFrame
        What :func:`patronage.csat` returns for the whole table.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> answers = spark.createDataFrame(pd.DataFrame({"score": [5, 4, 2, 5]}))
    >>> float(patronage.spark.csat(answers, "score")["csat"])
    0.75
    """
    return _survey("csat", sdf, column, by, dict(scale=scale, satisfied=satisfied, confidence=confidence),
                   partial_options=dict(scale=scale))


def ces(sdf: Any, column: str, *, scale: Any = 7, by: Optional[str] = None, confidence: float = 0.95) -> Any:
    """:func:`patronage.ces` of the answers in ``column`` of a Spark DataFrame, optionally per ``by`` column.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The survey answers; only the counts per answer value (and group) reach the driver.
    column : str
        The answers' column.
    by : str, optional
        A column of groups: one row per group.
    scale, confidence
        As in :func:`patronage.ces`.

    Returns
    -------
    Series or DataFrame
        What :func:`patronage.ces` returns for the whole table.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> answers = spark.createDataFrame(pd.DataFrame({"score": [2, 3, 7]}))
    >>> float(patronage.spark.ces(answers, "score")["ces"])
    4.0
    """
    return _survey("ces", sdf, column, by, dict(scale=scale, confidence=confidence),
                   partial_options=dict(scale=scale))


def _survey(name: str, sdf: Any, column: str, by: Optional[str], options: dict,
            partial_options: Optional[dict] = None) -> Any:
    _common.check_frame(sdf, [column, by])
    make = getattr(_kernels, f"{name}_partial")
    extra = partial_options or {}
    partial = _rows_reduce(sdf.select(*[c for c in (column, by) if c is not None]),
                           lambda frame: make(frame, by=by, column=column, **extra))
    partial = _kernels.SurveyPartial(partial.table, by if by is not None else "group")
    return getattr(_kernels, f"{name}_result")(partial, by=by, **options)


def _log_reduce(name: str, sdf: Any, buckets: Optional[int], options: dict) -> Any:
    """``<name>_partial`` of every bucket of whole customers, summed by Spark; ``<name>_result`` of the sum."""
    make, finish = getattr(_kernels, f"{name}_partial"), getattr(_kernels, f"{name}_result")
    customer, date, amount, order = (options[k] for k in ("customer", "date", "amount", "order"))
    _common.check_log(sdf, customer, date, amount, order)
    n_buckets = _common.check_buckets(buckets)
    g = _common.log_globals(sdf, date, amount, options["returns"])
    # the options checked on the driver (the pandas function's messages); its frame gives the schema
    probe = make(_common.probe_log(sdf, g, customer, date, amount, order), g, **options)
    schema = _schema(probe.to_frame())

    def partial(table: Any) -> Any:
        return _to_arrow(make(_common.arrow_input(table), g, **options).to_frame(), schema)

    summed = _summed(_common.grouped(sdf, customer, date, amount, order, n_buckets, partial, schema), probe)
    return finish(type(probe).from_frame(summed), g, **options)


def _rows_reduce(sdf: Any, make: Any) -> Any:
    """``make`` (pandas rows -> Partial) over Spark's partitions as they come, summed by key."""
    probe = make(sdf.limit(1).toPandas())  # one row: the options checked on the driver, the schema
    schema = _schema(probe.to_frame())

    def partials(batches: Any) -> Any:
        import pyarrow as pa

        for batch in batches:
            if batch.num_rows:
                yield from _to_arrow(make(pa.Table.from_batches([batch]).to_pandas()).to_frame(), schema).to_batches()

    return type(probe).from_frame(_summed(sdf.mapInArrow(partials, schema), probe))


def _schema(frame: pd.DataFrame) -> Any:
    types = _common.pyspark().types
    return types.StructType([types.StructField(str(c), _common.spark_type(frame[c].dtype, str(c)), True)
                             for c in frame.columns])


def _to_arrow(frame: pd.DataFrame, schema: Any) -> Any:
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    return pa.Table.from_pandas(frame, schema=to_arrow_schema(schema), preserve_index=False)


def _summed(partials: Any, probe: Any) -> pd.DataFrame:
    """The partials' rows added by key (one row without a key), as the pandas frame ``from_frame`` reads."""
    F = _common.pyspark().functions
    key = probe.to_frame().columns[0] if probe.key is not None else None
    numbers = [c for c in probe.to_frame().columns if c != key]
    sums = [F.sum(c).alias(c) for c in numbers]
    summed = (partials.groupBy(key).agg(*sums) if key is not None else partials.agg(*sums)).toPandas()
    if key is None and summed[numbers].isna().all(axis=None):  # no rows at all: zeros, as pandas sums them
        summed[numbers] = 0
    dtypes = probe.to_frame().dtypes
    return summed.astype({c: dtypes[c] for c in numbers})
