"""patronage.spark's per-customer tables equal the pandas functions' exactly, on CDNOW (Spark dates), an
Online Retail II slice (timestamps without zone, float ids, invoices, returns) and a simulated log
(string ids, UTC timestamps), read from row-shuffled Parquet files that split every customer's rows
across files, with 1, 3 and 16 buckets (each function meets each bucket count on some data set)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import patronage
import patronage.spark
from conftest import optional
from patronage.exceptions import DataError, ParameterError

optional("pyarrow")  # pandas writes the test's Parquet files with it

BUCKETS = (1, 3, 16)
#: Per data set: its calibration end and churn cutoff (inside its span).
DATES = {"cdnow": ("1997-09-30", "1998-01-01"), "retail": ("2010-06-30", "2010-08-01"),
         "simulated": ("2024-09-30", "2025-01-01")}
CASES = [("rfm_table", {}), ("rfm_table", {"returns": "drop"}), ("btyd_summary", {}),
         ("btyd_summary", {"calibration_end": 0}), ("btyd_summary", {"freq": "W"}), ("churn_features", {}),
         ("churn_dataset", {"cutoff": 1, "horizon": "90D"}), ("lifecycle_stages", {})]


@pytest.fixture(scope="module")
def logs(spark_logs) -> dict:
    return spark_logs


def collected(sdf: Any, like: pd.DataFrame) -> pd.DataFrame:
    """A Spark result as the pandas function's frame: the id column as the index, sorted, dtypes of ``like``
    (Spark dates come back as Python dates, stages as strings)."""
    got = sdf.toPandas().set_index(like.index.name).sort_index()
    for column, dtype in like.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype):
            got[column] = pd.to_datetime(got[column]).astype(dtype)
        elif isinstance(dtype, pd.CategoricalDtype):
            got[column] = got[column].astype(dtype)
    return got


def expected(name: str, tx: pd.DataFrame, options: dict) -> pd.DataFrame:
    if name == "churn_dataset":
        X, y = patronage.churn_dataset(tx, **options)
        return X.assign(churned=y)
    return getattr(patronage, name)(tx, **options)


def with_dates(options: dict, data: str) -> dict:
    """``options`` with the data set's calibration end / cutoff put in for their placeholders (0, 1)."""
    out = dict(options)
    for key in ("calibration_end", "cutoff"):
        if key in out:
            out[key] = DATES[data][out[key]]
    return out


@pytest.mark.parametrize("data", ["cdnow", "retail", "simulated"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_equals_pandas(logs, data, case):
    name, options = CASES[case]
    options = with_dates(options, data)
    buckets = BUCKETS[(case + ["cdnow", "retail", "simulated"].index(data)) % 3]
    tx, sdf = logs[data]
    want = expected(name, tx, options)
    got = collected(getattr(patronage.spark, name)(sdf, buckets=buckets, **options), want)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_orders_from_an_invoice_column(logs):
    tx, sdf = logs["retail"]
    for name in ("rfm_table", "lifecycle_stages"):
        want = expected(name, tx, {"order": "Invoice"})
        got = collected(getattr(patronage.spark, name)(sdf, order="Invoice", buckets=3), want)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_the_result_is_lazy_and_keeps_the_id_column_first(logs):
    from pyspark.sql import types as T

    _, sdf = logs["cdnow"]
    rfm = patronage.spark.rfm_table(sdf, buckets=3)
    assert rfm.columns[0] == "customer_id"
    fields = {f.name: f.dataType for f in rfm.schema.fields}
    assert isinstance(fields["first_purchase"], T.DateType) and isinstance(fields["n_orders"], T.LongType)
    stages = patronage.spark.lifecycle_stages(sdf, buckets=3, default_gap=30.0)
    assert isinstance(dict((f.name, f.dataType) for f in stages.schema.fields)["stage"], T.StringType)


def test_bad_input_is_refused_on_the_driver_naming_the_problem(logs, spark):
    from pyspark.sql import functions as F

    tx, sdf = logs["cdnow"]
    with pytest.raises(TypeError, match=r"must be a Spark DataFrame.*got pandas\.DataFrame"):
        patronage.spark.rfm_table(tx)
    with pytest.raises(DataError, match=r"column 'spend' is not in the Spark DataFrame"):
        patronage.spark.rfm_table(sdf, amount="spend")
    with pytest.raises(DataError, match=r"column 'date' must be a Spark date or timestamp, got string"):
        patronage.spark.rfm_table(sdf.withColumn("date", F.col("date").cast("string")))
    with pytest.raises(DataError, match=r"column 'amount' must be numeric"):
        patronage.spark.rfm_table(sdf.withColumn("amount", F.col("amount").cast("string")))
    with pytest.raises(ParameterError, match=r"buckets must be an integer in 1\.\.") as info:
        patronage.spark.rfm_table(sdf, buckets=0)
    assert info.value.args  # the message names the parameter
    with pytest.raises(ParameterError, match=r"date_format does not apply"):
        patronage.spark.rfm_table(sdf, date_format="%Y")
    with pytest.raises(ParameterError, match=r"attributes"):
        patronage.spark.churn_features(sdf, attributes=tx)
    # an option the pandas function refuses is refused by the same check, before any job runs
    with pytest.raises(ParameterError, match=r"cutoff.*before the first purchase"):
        patronage.spark.churn_dataset(sdf, cutoff="1990-01-01")
    with pytest.raises(DataError, match=r"empty"):
        patronage.spark.rfm_table(sdf.limit(0))
    with pytest.raises(DataError, match=r"every amount is negative"):
        patronage.spark.rfm_table(sdf.withColumn("amount", F.lit(-1.0)))
