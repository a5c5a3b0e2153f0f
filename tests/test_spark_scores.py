"""patronage.spark.rfm_scores equals patronage.rfm_scores exactly (the pandas function is the reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.datasets import load_cdnow
from patronage.exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError

from conftest import optional, retail_slice

pyspark = optional("pyspark")
from patronage.spark import _scores  # noqa: E402  (needs pyspark)

SCORES = ["R", "F", "M", "FM"]


def assert_same_scores(got_sdf, want: pd.DataFrame, key: str) -> None:
    got = got_sdf.toPandas().set_index(key).loc[want.index]
    for column in SCORES:
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy().astype(np.int64), column)
    assert got["rfm_score"].tolist() == want["rfm_score"].tolist()
    assert got["segment"].tolist() == want["segment"].astype(str).tolist()


@pytest.fixture(scope="module")
def cdnow_rfm() -> pd.DataFrame:
    return patronage.rfm_table(load_cdnow())


@pytest.fixture(scope="module")
def online_retail_rfm(shared_data) -> pd.DataFrame:
    """The whole Online Retail II log's RFM table (4 312 customers; invoices, returns)."""
    return patronage.rfm_table(retail_slice(shared_data, max_rows=10**9), order="Invoice")


def test_cdnow_scores_equal_pandas(spark, cdnow_rfm):
    # 23 570 customers, F heavily tied (most bought once), 16 input partitions
    sdf = spark.createDataFrame(cdnow_rfm.reset_index()).repartition(16)
    assert_same_scores(patronage.spark.rfm_scores(sdf), patronage.rfm_scores(cdnow_rfm), "customer_id")


def test_online_retail_scores_equal_pandas_coarse_sketch(spark, online_retail_rfm):
    # a coarse sketch (accuracy 100) makes the brackets wide: the scores stay exact
    names = {(5, 5): "Best", (1, 1): "Gone"}
    want = patronage.rfm_scores(online_retail_rfm, 10, segment_map=names)
    sdf = spark.createDataFrame(online_retail_rfm.reset_index()).repartition(3)
    assert_same_scores(patronage.spark.rfm_scores(sdf, 10, segment_map=names, accuracy=100), want, "customer_id")


def test_ties_negative_and_signed_zero_spend(spark):
    rng = np.random.default_rng(7)
    n = 3_001
    spend = rng.choice([-5.0, -0.0, 0.0, 0.0, 12.5, 40.0], n) + np.where(rng.random(n) < 0.3,
                                                                        rng.gamma(2.0, 30.0, n), 0.0)
    rfm = pd.DataFrame({"customer_id": np.arange(n), "recency_days": rng.integers(0, 40, n),
                        "n_orders": rng.geometric(0.6, n), "total_spend": spend})
    for bins in (3, 7):
        want = patronage.rfm_scores(rfm.set_index("customer_id"), bins)
        assert_same_scores(patronage.spark.rfm_scores(spark.createDataFrame(rfm), bins, accuracy=100), want,
                           "customer_id")


def test_fewer_customers_than_bins(spark):
    # n = 3 < bins = 7: some scores are never given (a threshold rank of 0)
    rfm = pd.DataFrame({"customer_id": [1, 2, 3], "recency_days": [5, 1, 5], "n_orders": [1, 4, 2],
                        "total_spend": [10.0, 99.0, 10.0]})
    want = patronage.rfm_scores(rfm.set_index("customer_id"), 7)
    assert_same_scores(patronage.spark.rfm_scores(spark.createDataFrame(rfm), 7), want, "customer_id")


def test_exact_even_when_the_sketch_is_wrong(spark, monkeypatch):
    # a sketch that always answers the minimum: the brackets miss, widen, and end at [min, max]
    from pyspark.sql import functions as F

    monkeypatch.setattr(F, "percentile_approx", lambda c, qs, accuracy: F.array(*[F.min(c) for _ in qs]))
    rng = np.random.default_rng(3)
    rfm = pd.DataFrame({"customer_id": np.arange(200), "recency_days": rng.integers(0, 90, 200),
                        "n_orders": rng.integers(1, 6, 200), "total_spend": rng.gamma(2.0, 50.0, 200)})
    want = patronage.rfm_scores(rfm.set_index("customer_id"))
    assert_same_scores(patronage.spark.rfm_scores(spark.createDataFrame(rfm)), want, "customer_id")


def test_threshold_ranks_match_the_core_rule():
    # k_s is the largest rank the core scores at most s (checked against quantile_scores on 1..n)
    for n in (1, 2, 3, 7, 10, 49, 1000, 23570):
        for bins in (2, 3, 5, 10, 255):
            scores = patronage._core.quantile_scores(np.arange(1, n + 1, dtype=np.float64), bins, True)
            want = [int(np.count_nonzero(scores <= s)) for s in range(1, bins)]
            assert _scores._threshold_ranks(n, bins) == want, (n, bins)


def test_errors(spark):
    rfm = spark.createDataFrame(pd.DataFrame({"recency_days": [1, 2], "n_orders": [1, 1],
                                              "total_spend": [1.0, float("nan")], "name": ["a", "b"]}))
    with pytest.raises(DataError, match="'total_spend' is null, NaN or infinite in 1 of 2 rows"):
        patronage.spark.rfm_scores(rfm)
    with pytest.raises(MissingColumnError, match="column 'spend' is not in the RFM table"):
        patronage.spark.rfm_scores(rfm, monetary="spend")
    with pytest.raises(ColumnTypeError, match="column 'name' must be numeric"):
        patronage.spark.rfm_scores(rfm, monetary="name")
    with pytest.raises(ParameterError, match="bins must be an integer from 2 to 255"):
        patronage.spark.rfm_scores(rfm, 1)
    with pytest.raises(ParameterError, match="accuracy must be an integer"):
        patronage.spark.rfm_scores(rfm, accuracy=0.5)
    with pytest.raises(ParameterError, match=r"segment_map keys must be \(R, FM\) pairs"):
        patronage.spark.rfm_scores(rfm, segment_map={(6, 1): "x"})
    with pytest.raises(ParameterError, match="rfm has no rows to score"):
        patronage.spark.rfm_scores(rfm.limit(0))
    with pytest.raises(ColumnTypeError, match="sdf must be a Spark DataFrame, got DataFrame"):
        patronage.spark.rfm_scores(rfm.toPandas())
