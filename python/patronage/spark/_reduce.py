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
from . import _common

__all__ = ["cohort_retention"]


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

