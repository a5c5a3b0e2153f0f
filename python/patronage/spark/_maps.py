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
    >>> import patronage.spark
    >>> rfm = patronage.spark.rfm_table(spark_tx, buckets=2)  # doctest: +SKIP
    >>> rfm.orderBy("customer_id").select("customer_id", "recency_days", "n_orders").show()  # doctest: +SKIP
    """
    return per_customer("rfm_table", sdf, customer, date, amount, buckets, options)


def btyd_summary(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount", *,
                 buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.btyd_summary` of a Spark DataFrame (with ``calibration_end``: the holdout columns too)."""
    return per_customer("btyd_summary", sdf, customer, date, amount, buckets, options)


def churn_features(sdf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount", *,
                   buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.churn_features` of a Spark DataFrame (``attributes`` are not taken: join them after)."""
    if "attributes" in options:
        raise ParameterError("spark.churn_features does not take attributes: join them to its result", "attributes")
    return per_customer("churn_features", sdf, customer, date, amount, buckets, options)


def churn_dataset(sdf: Any, *, cutoff: Any, customer: str = "customer_id", date: str = "date",
                  amount: Optional[str] = "amount", buckets: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.churn_dataset` of a Spark DataFrame: ONE lazy DataFrame, ``X``'s columns and ``churned``.

    Spark has no index to align two results on, so the label is a column:
    ``X = ds.drop("churned")``, ``y = ds.select(customer, "churned")``.
    ``attributes`` are not taken: join them to the result.
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
    does over the whole log.
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
