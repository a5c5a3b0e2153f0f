"""patronage.spark.predict adds the columns the pandas methods compute, row for row (the model carried
as JSON into mapInArrow): p_alive, expected purchases, CLV and value at risk, expected spend, churn
probability, cluster and tier."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import patronage
import patronage.spark
from patronage.exceptions import ParameterError


def by_customer(sdf) -> pd.DataFrame:
    return sdf.toPandas().set_index("customer_id").sort_index()


@pytest.fixture(scope="module")
def cdnow(spark_logs) -> tuple:
    tx, sdf = spark_logs["cdnow"]
    summary = patronage.btyd_summary(tx, freq="W")
    return tx, sdf, summary, patronage.spark.btyd_summary(sdf, freq="W", buckets=3).repartition(5)


@pytest.mark.parametrize("model", [patronage.BetaGeo, patronage.ParetoNBD], ids=lambda m: m.__name__)
def test_btyd_scores_equal_pandas(cdnow, model):
    _, _, summary, spark_summary = cdnow
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CDNOW in weeks: unidentified Pareto/NBD, a buyer with spend 0
        bg, gg = model().fit(summary), patronage.GammaGamma().fit(summary)
    got = by_customer(patronage.spark.predict(bg, spark_summary, spend_model=gg, t=52))
    want = patronage.value_at_risk(bg, gg, summary).assign(expected_purchases=bg.expected_purchases(summary, 52))
    for column in ("p_alive", "expected_purchases", "clv", "value_if_alive", "value_at_risk"):
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy(), err_msg=column)
    assert list(got.columns[:len(summary.columns)]) == list(summary.columns)  # the input's columns kept, in order
    spend = by_customer(patronage.spark.predict(gg, spark_summary))["expected_average_spend"]
    np.testing.assert_array_equal(spend.to_numpy(), gg.expected_average_spend(summary).to_numpy())


def test_churn_probability_tier_and_cluster_equal_pandas(spark_logs):
    tx, sdf = spark_logs["retail"]
    X, y = patronage.churn_dataset(tx, cutoff="2010-08-01", horizon="90D")
    model = patronage.ChurnClassifier("logistic").fit(X, y)
    features = patronage.spark.churn_features(sdf, buckets=3)
    got = by_customer(patronage.spark.predict(model, features))
    want = model.predict_proba(patronage.churn_features(tx))[:, 1]
    np.testing.assert_array_equal(got["churn_probability"].to_numpy(), want)

    rfm = patronage.rfm_table(tx)
    seg = patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm)
    tiers = by_customer(patronage.spark.predict(seg, patronage.spark.rfm_table(sdf, buckets=16)))
    assert tiers["tier"].tolist() == seg.predict_tier(rfm).astype(str).tolist()
    np.testing.assert_array_equal(tiers["cluster"].to_numpy(), seg.predict(rfm).to_numpy())
    km = patronage.KMeans(4, random_state=0).fit(rfm[["recency_days", "total_spend"]])
    clusters = by_customer(patronage.spark.predict(km, patronage.spark.rfm_table(sdf, buckets=1)))
    np.testing.assert_array_equal(clusters["cluster"].to_numpy(), km.predict(rfm[["recency_days", "total_spend"]]))


def test_predict_refuses_what_it_cannot_score(cdnow):
    _, _, summary, spark_summary = cdnow
    bg = patronage.BetaGeo().fit(summary)
    with pytest.raises(TypeError, match=r"takes a fitted BetaGeo.*got str"):
        patronage.spark.predict("BetaGeo", spark_summary)
    with pytest.raises(ParameterError, match=r"spend_model must be a fitted GammaGamma"):
        patronage.spark.predict(bg, spark_summary, spend_model=bg)
    with pytest.raises(ParameterError, match=r"already has a column 'p_alive'"):
        patronage.spark.predict(bg, patronage.spark.predict(bg, spark_summary))
    with pytest.raises(Exception, match=r"not fitted|fit"):
        patronage.spark.predict(patronage.BetaGeo(), spark_summary)
