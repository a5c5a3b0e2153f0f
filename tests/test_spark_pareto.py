"""patronage.spark.pareto equals patronage.pareto on the same log (CDNOW, an Online Retail II slice with
returns, a simulated log with string ids), read from row-shuffled Parquet files, with 1 and 16 buckets, and on
a per-customer table; the reference is the pandas function (checked by hand in test_loyalty.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import patronage
import patronage.spark
from patronage.exceptions import ColumnTypeError, MissingColumnError


def same(got: patronage.ParetoResult, want: patronage.ParetoResult) -> None:
    assert (got.top, got.n_customers, got.n_negative) == (want.top, want.n_customers, want.n_negative)
    assert got.top_share == want.top_share and got.gini == want.gini
    pd.testing.assert_frame_equal(got.ranking, want.ranking, check_exact=True, check_index_type=False)
    pd.testing.assert_series_equal(got.shares, want.shares, check_exact=True)


@pytest.mark.parametrize("data, buckets", [("cdnow", 16), ("retail", 1), ("simulated", 3)])
def test_pareto_of_a_log_equals_pandas(spark_logs, data, buckets):
    tx, sdf = spark_logs[data]
    want = patronage.pareto(tx, top=0.1)
    same(patronage.spark.pareto(sdf, top=0.1, buckets=buckets), want)
    if data == "retail":
        assert want.n_negative > 0  # customers whose returns exceed their purchases, ranked as 0


def test_pareto_of_a_per_customer_table_and_refusals(spark, spark_logs):
    tx, sdf = spark_logs["cdnow"]
    rfm = patronage.rfm_table(tx)
    spark_rfm = spark.createDataFrame(rfm.reset_index()[["customer_id", "total_spend"]].sample(frac=1.0,
                                                                                              random_state=1))
    same(patronage.spark.pareto(spark_rfm), patronage.pareto(rfm))
    with pytest.raises(MissingColumnError, match="neither a 'date' column"):
        patronage.spark.pareto(spark_rfm.drop("total_spend"))
    with pytest.raises(ColumnTypeError, match="must be numeric spend"):
        patronage.spark.pareto(spark_rfm.withColumn("total_spend", spark_rfm["total_spend"].cast("string")))
