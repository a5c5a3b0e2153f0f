"""The 80/20 view (:func:`patronage.pareto`) of a Spark DataFrame."""

from __future__ import annotations

from typing import Any, Optional

from ..exceptions import ColumnTypeError, DataError, MissingColumnError
from ..loyalty import ParetoResult, pareto as pandas_pareto
from . import _common
from ._maps import rfm_table

#: Most customers whose spend comes to the driver (the result ranks each of them).
MAX_CUSTOMERS = 20_000_000


def pareto(sdf: Any, customer: str = "customer_id", date: str = "date", amount: str = "amount", *,
           spend: str = "total_spend", top: float = 0.2, returns: str = "net", order: Optional[str] = None,
           buckets: Optional[int] = None) -> ParetoResult:
    """:func:`patronage.pareto` of a Spark DataFrame: the same :class:`~patronage.ParetoResult`, exactly.

    Each customer's net spend is computed on Spark (from a transaction log:
    the ``total_spend`` of :func:`patronage.spark.rfm_table`, per hash bucket;
    or a per-customer table's ``spend`` column); then the one number per
    customer comes to the driver (16 bytes per customer, at most
    :data:`MAX_CUSTOMERS`), where the ranking, Lorenz curve and Gini are
    computed by the same code as :func:`patronage.pareto`. The result ranks
    every customer (its ``ranking`` has a row per customer), so it lives on
    the driver anyway. Ties in spend are ranked by customer id (as the
    id-sorted table of the pandas function on a log ranks them).

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        A transaction log (it has the ``date`` column) or one row per customer with ``spend``.
    customer, date, amount, spend, top, returns, order
        As in :func:`patronage.pareto`.
    buckets : int, optional
        As in :func:`patronage.spark.rfm_table` (a log only).

    Returns
    -------
    ParetoResult
        As :func:`patronage.pareto` returns it (plots work unchanged).

    Examples
    --------
    >>> import pandas as pd, patronage, patronage.spark
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 4], "amount": [50.0, 30.0, 10.0, 5.0, 5.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05", "2024-01-09",
    ...                                            "2024-01-10"])})
    >>> result = patronage.spark.pareto(spark.createDataFrame(tx), top=0.25)  # spark: a SparkSession
    >>> round(result.top_share, 2), round(result.gini, 3)
    (0.8, 0.5)
    >>> round(patronage.pareto(tx, top=0.25).gini, 3)
    0.5
    """
    _common.check_frame(sdf, [customer])
    if date in sdf.columns:
        _common.check_log(sdf, customer, date, amount, order)
        options = {"returns": returns} if order is None else {"returns": returns, "order": order}
        table, column = rfm_table(sdf, customer, date, amount, buckets=buckets, **options), "total_spend"
    elif spend in sdf.columns:
        table, column = sdf, spend
    else:
        raise MissingColumnError(f"the Spark DataFrame has neither a {date!r} column (a transaction log) nor a "
                                 f"{spend!r} column (a per-customer table); columns found: "
                                 f"{', '.join(map(repr, sdf.columns))}", field=spend)
    kind = {f.name: f.dataType for f in table.schema.fields}[column]
    types = _common.pyspark().types
    if not isinstance(kind, types.NumericType):
        raise ColumnTypeError(f"column {column!r} must be numeric spend, got {kind.simpleString()}", field=column)
    F = _common.pyspark().functions
    frame = table.select(customer, F.col(column).cast("double").alias(column)).limit(MAX_CUSTOMERS + 1).toPandas()
    if len(frame) > MAX_CUSTOMERS:
        raise DataError(f"more than {MAX_CUSTOMERS:,} customers to rank on the driver", field=customer)
    return pandas_pareto(frame.set_index(customer)[column].sort_index(kind="stable"), top=top)
