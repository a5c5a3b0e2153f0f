"""The Spark reduces equal the pandas functions (the reference): counts exactly, sums of amounts to
rounding; on CDNOW, an Online Retail II slice and a simulated log read from row-shuffled Parquet
files (every customer split across files), with 1, 3 and 16 buckets."""

from __future__ import annotations

import pandas as pd
import pytest

import patronage
from conftest import optional
from patronage.exceptions import DataError, ParameterError

pyspark = optional("pyspark")
import patronage.spark  # noqa: E402

CASES = [("cdnow", 1, "M"), ("retail", 3, "W"), ("simulated", 16, "D")]


@pytest.mark.parametrize("name,buckets,period", CASES)
def test_cohort_retention_equals_pandas(spark_logs, name, buckets, period):
    tx, sdf = spark_logs[name]
    got = patronage.spark.cohort_retention(sdf, period=period, buckets=buckets)
    pd.testing.assert_frame_equal(got, patronage.cohort_retention(tx, period=period), check_exact=True)


def test_cohort_revenue_equals_pandas_to_rounding(spark_logs):
    tx, sdf = spark_logs["retail"]
    for normalize in (False, True):
        got = patronage.spark.cohort_retention(sdf, metric="revenue", normalize=normalize, buckets=3)
        want = patronage.cohort_retention(tx, metric="revenue", normalize=normalize)
        pd.testing.assert_frame_equal(got, want, rtol=1e-12)


def test_cohort_retention_errors(spark_logs):
    _, sdf = spark_logs["cdnow"]
    with pytest.raises(ParameterError, match="metric must be 'customers' or 'revenue'"):
        patronage.spark.cohort_retention(sdf, metric="orders")
    with pytest.raises(ParameterError, match="needs an amount column"):
        patronage.spark.cohort_retention(sdf, amount=None, metric="revenue")
    with pytest.raises(DataError, match="column 'when' is not in the Spark DataFrame"):
        patronage.spark.cohort_retention(sdf, date="when")
    with pytest.raises(ParameterError, match="period"):
        patronage.spark.cohort_retention(sdf, period="fortnight")


@pytest.mark.parametrize("name,buckets,period", CASES)
def test_retention_equals_pandas(spark_logs, name, buckets, period):
    tx, sdf = spark_logs[name]
    got = patronage.spark.retention(sdf, period=period, buckets=buckets)
    pd.testing.assert_frame_equal(got, patronage.retention(tx, period=period), check_exact=True)


def test_segment_summary_of_spark_scores_equals_pandas(spark_logs):
    tx, sdf = spark_logs["retail"]
    scored = patronage.spark.rfm_scores(patronage.spark.rfm_table(sdf, buckets=3))
    want = patronage.segment_summary(patronage.rfm_scores(patronage.rfm_table(tx)))
    pd.testing.assert_frame_equal(patronage.spark.segment_summary(scored), want, rtol=1e-12)


def test_segment_summary_errors(spark_logs):
    _, sdf = spark_logs["cdnow"]
    with pytest.raises(DataError, match="column 'segment' is not in the Spark DataFrame"):
        patronage.spark.segment_summary(sdf)
