"""The Spark reduces equal the pandas functions (the reference): counts exactly, sums of amounts to
rounding; on CDNOW, an Online Retail II slice and a simulated log read from row-shuffled Parquet
files (every customer split across files), with 1, 3 and 16 buckets."""

from __future__ import annotations

import numpy as np
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
def test_retention_and_repurchase_equal_pandas(spark_logs, name, buckets, period):
    tx, sdf = spark_logs[name]
    got = patronage.spark.retention(sdf, period=period, buckets=buckets)
    pd.testing.assert_frame_equal(got, patronage.retention(tx, period=period), check_exact=True)
    for within in (None, "90D"):
        got = patronage.spark.repurchase_rate(sdf, within=within, buckets=buckets)
        pd.testing.assert_series_equal(got, patronage.repurchase_rate(tx, within=within), check_exact=True)


def test_segment_summary_of_spark_scores_equals_pandas(spark_logs):
    tx, sdf = spark_logs["retail"]
    scored = patronage.spark.rfm_scores(patronage.spark.rfm_table(sdf, buckets=3))
    want = patronage.segment_summary(patronage.rfm_scores(patronage.rfm_table(tx)))
    pd.testing.assert_frame_equal(patronage.spark.segment_summary(scored), want, rtol=1e-12)


def test_surveys_by_group_equal_pandas(spark):
    rng = np.random.default_rng(11)
    n = 2_000
    answers = pd.DataFrame({"region": rng.choice(["north", "south", "east"], n),
                            "nps": rng.integers(0, 11, n).astype(np.float64),
                            "csat": rng.integers(1, 6, n).astype(np.float64),
                            "ces": rng.integers(1, 8, n).astype(np.float64)})
    answers.loc[rng.random(n) < 0.05, "nps"] = np.nan  # non-responses are counted apart
    sdf = spark.createDataFrame(answers).repartition(5)
    pd.testing.assert_frame_equal(patronage.spark.nps(sdf, "nps", by="region"),
                                  patronage.nps(answers, column="nps", by="region"), rtol=1e-12)
    pd.testing.assert_series_equal(patronage.spark.nps(sdf, "nps"), patronage.nps(answers, column="nps"),
                                   rtol=1e-12)
    pd.testing.assert_frame_equal(patronage.spark.csat(sdf, "csat", by="region", satisfied=(5,)),
                                  patronage.csat(answers, column="csat", by="region", satisfied=(5,)), rtol=1e-12)
    pd.testing.assert_frame_equal(patronage.spark.ces(sdf, "ces", by="region"),
                                  patronage.ces(answers, column="ces", by="region"), rtol=1e-12)


def test_reduce_errors(spark_logs, spark):
    _, sdf = spark_logs["cdnow"]
    with pytest.raises(ParameterError, match="within"):
        patronage.spark.repurchase_rate(sdf, within="soon")
    with pytest.raises(DataError, match="column 'segment' is not in the Spark DataFrame"):
        patronage.spark.segment_summary(sdf)
    answers = spark.createDataFrame(pd.DataFrame({"nps": [12.0, 3.0]}))
    with pytest.raises(DataError, match="not an integer from 0 to 10"):
        patronage.spark.nps(answers, "nps")
