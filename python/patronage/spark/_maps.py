"""Per-customer tables of a Spark DataFrame: the kernels run per hash bucket of customers."""

from __future__ import annotations

from typing import Any, Optional

from .. import _kernels
from ..exceptions import ParameterError
from . import _common


def rfm_table(sdf: Any, customer: str = "customer_id", date: str = "date", amount: str = "amount", *,
              buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.rfm_table` of a Spark DataFrame, as a lazy Spark DataFrame.

    One row per customer: the id column ``customer`` first, then the columns
    of :func:`patronage.rfm_table` (``first_purchase``/``last_purchase`` as
    dates). ``as_of`` defaults to the day after the whole log's last
    transaction, as in pandas. ``buckets`` (default
    :data:`~patronage.spark._common.DEFAULT_BUCKETS`) is the number of
    groups customers are hashed into; it does not change the result.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> tx = spark.createDataFrame(pd.DataFrame({  # spark: a SparkSession
    ...     "customer_id": [1, 1, 2, 1], "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-01"]).date,
    ...     "amount": [20.0, 30.0, 15.0, 10.0]}))
    >>> rfm = patronage.spark.rfm_table(tx, buckets=2)
    >>> rfm.orderBy("customer_id").select("customer_id", "recency_days", "n_orders", "total_spend").show()
    +-----------+------------+--------+-----------+
    |customer_id|recency_days|n_orders|total_spend|
    +-----------+------------+--------+-----------+
    |          1|           1|       3|       60.0|
    |          2|          28|       1|       15.0|
    +-----------+------------+--------+-----------+
    <BLANKLINE>
    """
    return per_customer("rfm_table", sdf, customer, date, amount, buckets, options)


def btyd_summary(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount", *,
                 buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.btyd_summary` of a Spark DataFrame (with ``calibration_end``: the holdout columns too).

    One row per customer, the id column first; the globals (``observation_end``)
    are the whole log's, so the result is the pandas function's. Options as in
    :func:`patronage.btyd_summary`; ``buckets`` as in :func:`rfm_table`.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> tx = spark.createDataFrame(pd.DataFrame({  # spark: a SparkSession
    ...     "customer_id": [1, 1, 2, 1], "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-01"]).date,
    ...     "amount": [20.0, 30.0, 15.0, 10.0]}))
    >>> patronage.spark.btyd_summary(tx, buckets=2).orderBy("customer_id").show()
    +-----------+---------+-------+----+--------------+
    |customer_id|frequency|recency|   T|monetary_value|
    +-----------+---------+-------+----+--------------+
    |          1|      2.0|   31.0|31.0|          20.0|
    |          2|      0.0|    0.0|27.0|           0.0|
    +-----------+---------+-------+----+--------------+
    <BLANKLINE>
    """
    return per_customer("btyd_summary", sdf, customer, date, amount, buckets, options)


def churn_features(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount", *,
                   buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.churn_features` of a Spark DataFrame (``attributes`` are not taken: join them after).

    ``as_of`` defaults to the whole log's last day, as in pandas; the other
    options are :func:`patronage.churn_features`'; ``buckets`` as in :func:`rfm_table`.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> tx = spark.createDataFrame(pd.DataFrame({  # spark: a SparkSession
    ...     "customer_id": [1, 1, 2, 1], "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-01"]).date,
    ...     "amount": [20.0, 30.0, 15.0, 10.0]}))
    >>> features = patronage.spark.churn_features(tx)
    >>> features.orderBy("customer_id").select("customer_id", "recency_days", "frequency", "monetary").show()
    +-----------+------------+---------+--------+
    |customer_id|recency_days|frequency|monetary|
    +-----------+------------+---------+--------+
    |          1|         0.0|      3.0|    60.0|
    |          2|        27.0|      1.0|    15.0|
    +-----------+------------+---------+--------+
    <BLANKLINE>
    """
    if "attributes" in options:
        raise ParameterError("spark.churn_features does not take attributes: join them to its result", "attributes")
    return per_customer("churn_features", sdf, customer, date, amount, buckets, options)


def churn_dataset(sdf: Any, *, cutoff: Any, customer: str = "customer_id", date: str = "date",
                  amount: Optional[str] = "amount", buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.churn_dataset` of a Spark DataFrame: ONE lazy DataFrame, ``X``'s columns and ``churned``.

    Spark has no index to align two results on, so the label is a column:
    ``X = ds.drop("churned")``, ``y = ds.select(customer, "churned")``.
    ``attributes`` are not taken: join them to the result. The other options
    are :func:`patronage.churn_dataset`'s; ``buckets`` as in :func:`rfm_table`.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> tx = spark.createDataFrame(pd.DataFrame({  # spark: a SparkSession
    ...     "customer_id": [1, 1, 2, 1], "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-01"]).date,
    ...     "amount": [20.0, 30.0, 15.0, 10.0]}))
    >>> ds = patronage.spark.churn_dataset(tx, cutoff="2024-01-15", horizon="17D")
    >>> ds.orderBy("customer_id").select("customer_id", "recency_days", "frequency", "churned").show()
    +-----------+------------+---------+-------+
    |customer_id|recency_days|frequency|churned|
    +-----------+------------+---------+-------+
    |          1|         4.0|      2.0|      0|
    |          2|        10.0|      1.0|      1|
    +-----------+------------+---------+-------+
    <BLANKLINE>
    """
    if "attributes" in options:
        raise ParameterError("spark.churn_dataset does not take attributes: join them to its result", "attributes")
    return per_customer("churn_dataset", sdf, customer, date, amount, buckets, {**options, "cutoff": cutoff})


def lifecycle_stages(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                     *, buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.lifecycle_stages` of a Spark DataFrame.

    Without ``default_gap`` (and fixed thresholds) the population's median
    typical gap is computed first (one Spark job: the buckets' gaps counted
    by value, the median taken on the driver from those counts), as pandas
    does over the whole log. The other options are
    :func:`patronage.lifecycle_stages`'; ``buckets`` as in :func:`rfm_table`.

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> tx = spark.createDataFrame(pd.DataFrame({  # spark: a SparkSession
    ...     "customer_id": [1, 1, 2, 1], "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-01"]).date,
    ...     "amount": [20.0, 30.0, 15.0, 10.0]}))
    >>> stages = patronage.spark.lifecycle_stages(tx)
    >>> stages.orderBy("customer_id").select("customer_id", "stage", "typical_gap_days").show()
    +-----------+------+----------------+
    |customer_id| stage|typical_gap_days|
    +-----------+------+----------------+
    |          1|active|            15.5|
    |          2|   new|            NULL|
    +-----------+------+----------------+
    <BLANKLINE>
    """
    return per_customer("lifecycle_stages", sdf, customer, date, amount, buckets, options)


def per_customer(name: str, sdf: Any, customer: str, date: str, amount: Optional[str], buckets: Optional[int],
                 options: dict) -> Any:
    """Kernel ``name`` over hash buckets of ``sdf``'s customers: a lazy Spark DataFrame."""
    order = options.get("order")
    if options.get("date_format") is not None:
        raise ParameterError("date_format does not apply to Spark dates: convert a string column with "
                             "pyspark.sql.functions.to_date(column, format) first", "date_format")
    _common.check_log(sdf, customer, date, amount, order)
    n_buckets = _common.check_buckets(buckets)
    g = _common.log_globals(sdf, date, amount, options.get("returns", "net"))
    options = {**options, "customer": customer, "date": date, "amount": amount}
    probe = _common.probe_log(sdf, g, customer, date, amount, order)
    if name == "lifecycle_stages" and _needs_median_gap(options):
        options["default_gap"] = _median_gap(sdf, g, customer, date, amount, order, n_buckets, options)
    # the whole log's checks of the options run here, on the driver, with the pandas function's messages
    sample = _kernels.PER_CUSTOMER[name](probe, **_kernels.explicit(name, g, options))
    schema = _common.schema_of(sample)

    def kernel(table: Any) -> Any:
        result = _kernels.run(name, _common.arrow_input(table), g, options)
        return _common.empty_arrow(schema) if result is None else _common.to_arrow(result, schema)

    return _common.grouped(sdf, customer, date, amount, order, n_buckets, kernel, schema)


def _needs_median_gap(options: dict) -> bool:
    fixed = options.get("at_risk_days") is not None and options.get("lapsed_days") is not None
    return options.get("default_gap") is None and not fixed


def _median_gap(sdf: Any, g: _kernels.LogGlobals, customer: str, date: str, amount: Optional[str],
                order: Optional[str], buckets: int, options: dict) -> Optional[float]:
    """The median typical gap of the whole log's customers, from a histogram counted by Spark."""
    types = _common.pyspark().types
    schema = types.StructType([types.StructField("gap", types.DoubleType(), False)])
    explicit = _kernels.explicit("lifecycle_stages", g, options)

    def gaps(table: Any) -> Any:
        import pyarrow as pa

        values = _kernels.typical_gaps(_common.arrow_input(table), explicit)
        return pa.table({"gap": pa.array(values, type=pa.float64())})

    counted = _common.grouped(sdf, customer, date, amount, order, buckets, gaps, schema).groupBy("gap").count()
    rows = counted.collect()
    return _kernels.median_gap_counted([r[0] for r in rows], [r[1] for r in rows])
