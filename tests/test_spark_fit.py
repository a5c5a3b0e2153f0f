"""patronage.spark.fit returns the estimator the pandas fit gives: BTYD models from pattern counts (the
very same parameters; the same patterns without their counts give other ones), Gamma-Gamma and the logistic
churn model from per-partition likelihood sums (within 1e-8 relative, 1, 3 and 16 buckets, rows shuffled
over files), the sampled fits deterministic and, on all customers, equal to the pandas fit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import patronage
import patronage.spark
from patronage.exceptions import DataError, ParameterError

def fitted(fit) -> tuple:
    """``fit()`` and the messages of the warnings it gave (fits on small slices may be unidentified or
    leave out spend <= 0: both sides must say so alike)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit()
    return model, [f"{w.category.__name__}: {w.message}" for w in caught if "pyspark" not in w.filename]


PURCHASE_MODELS = [patronage.BetaGeo, patronage.ModifiedBetaGeo, patronage.ParetoNBD]


@pytest.fixture(scope="module")
def summaries(spark_logs) -> dict:
    """name -> (pandas summary, Spark summary) in weeks (CDNOW, simulated) or days (Online Retail)."""
    out = {}
    for name, options in [("cdnow", {"freq": "W"}), ("retail", {}), ("simulated", {"freq": "W"})]:
        tx, sdf = spark_logs[name]
        out[name] = (patronage.btyd_summary(tx, **options), patronage.spark.btyd_summary(sdf, buckets=3, **options))
    return out


# Pareto/NBD's fit is the slow one: on CDNOW alone, to keep this file quick
@pytest.mark.parametrize("model, data", [(m, d) for m in PURCHASE_MODELS for d in ("cdnow", "retail", "simulated")
                                         if m is not patronage.ParetoNBD or d == "cdnow"],
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_purchase_models_from_pattern_counts_are_the_full_fit(summaries, data, model):
    summary, sdf = summaries[data]
    full, said = fitted(lambda: model().fit(summary))
    spark_fit, spark_said = fitted(lambda: patronage.spark.fit(model(), sdf))
    assert spark_said == said  # the same identification warnings, if any
    pd.testing.assert_series_equal(spark_fit.params_, full.params_, check_exact=True)
    assert spark_fit.log_likelihood_ == full.log_likelihood_
    assert spark_fit.n_customers_ == full.n_customers_ == len(summary)
    # the same patterns fitted without their counts (what one public Spark accelerator does) are
    # another model: this test would catch it
    patterns = summary[["frequency", "recency", "T"]].drop_duplicates()
    unweighted, _ = fitted(lambda: model().fit(patterns))
    assert np.max(np.abs(unweighted.params_ / full.params_ - 1)) > 1e-3


def test_a_calibration_summary_fits_on_its_cal_columns(spark_logs):
    tx, sdf = spark_logs["cdnow"]
    summary = patronage.btyd_summary(tx, freq="W", calibration_end="1997-09-30")
    spark_summary = patronage.spark.btyd_summary(sdf, freq="W", calibration_end="1997-09-30", buckets=3)
    full = patronage.BetaGeo().fit(summary)
    pd.testing.assert_series_equal(patronage.spark.fit(patronage.BetaGeo(), spark_summary).params_, full.params_,
                                   check_exact=True)


@pytest.mark.parametrize("data, buckets", [("cdnow", 16), ("simulated", 3)])
def test_gamma_gamma_from_partition_sums_equals_the_full_fit(spark_logs, summaries, data, buckets):
    summary, sdf = summaries[data]
    if buckets != 3:
        tx, log = spark_logs[data]
        sdf = patronage.spark.btyd_summary(log, buckets=buckets, freq="W")
    full, said = fitted(lambda: patronage.GammaGamma().fit(summary))
    spark_fit, spark_said = fitted(lambda: patronage.spark.fit(patronage.GammaGamma(), sdf))
    assert spark_said == said
    np.testing.assert_allclose(spark_fit.params_, full.params_, rtol=1e-8, atol=0)
    np.testing.assert_allclose(spark_fit.frequency_spend_correlation_, full.frequency_spend_correlation_,
                               rtol=1e-10)
    assert spark_fit.n_customers_ == full.n_customers_
    assert spark_fit.fit_info_["n_patterns"] == full.fit_info_["n_patterns"]  # buyers, not distinct pairs


def test_gamma_gamma_leaves_out_non_positive_spend_as_pandas_does(spark_logs, summaries):
    summary, _ = summaries["retail"]  # returns leave some repeat buyers with a spend <= 0
    sdf = patronage.spark.btyd_summary(spark_logs["retail"][1], buckets=1)
    assert ((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).any()
    full, said = fitted(lambda: patronage.GammaGamma().fit(summary))
    spark_fit, spark_said = fitted(lambda: patronage.spark.fit(patronage.GammaGamma(), sdf))
    assert [m.split(":")[0] for m in spark_said] == [m.split(":")[0] for m in said]
    np.testing.assert_allclose(spark_fit.params_, full.params_, rtol=1e-8, atol=0)


def test_sampled_fits_on_every_customer_equal_the_pandas_fits(spark_logs):
    tx, sdf = spark_logs["cdnow"]
    rfm = patronage.rfm_table(tx)
    spark_rfm = patronage.spark.rfm_table(sdf, buckets=3)
    seg = patronage.spark.fit(patronage.CustomerSegmenter(n_clusters=3, random_state=0), spark_rfm, sample_size=None)
    want = patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm)
    np.testing.assert_array_equal(seg.kmeans_.cluster_centers_, want.kmeans_.cluster_centers_)
    assert seg.tiers_.tolist() == want.tiers_.tolist()
    features = ["recency_days", "n_orders", "total_spend"]
    km = patronage.spark.fit(patronage.KMeans(4, random_state=1), spark_rfm.select("customer_id", *features),
                             sample_size=None)
    np.testing.assert_array_equal(km.cluster_centers_,
                                  patronage.KMeans(4, random_state=1).fit(rfm[features]).cluster_centers_)


@pytest.mark.parametrize("data, cutoff, buckets, options", [
    ("cdnow", "1998-01-01", 16, {}),
    ("retail", "2010-09-01", 1, {"C": 0.1, "class_weight": "balanced"}),
])
def test_logistic_churn_model_from_partition_sums_equals_the_pandas_fit(spark_logs, data, cutoff, buckets, options):
    tx, sdf = spark_logs[data]
    X, y = patronage.churn_dataset(tx, cutoff=cutoff, horizon="90D")
    ds = patronage.spark.churn_dataset(sdf, cutoff=cutoff, horizon="90D", buckets=buckets)
    got = patronage.spark.fit(patronage.ChurnClassifier("logistic", **options), ds)
    want = patronage.ChurnClassifier("logistic", **options).fit(X, y)
    assert list(got.feature_names_in_) == list(X.columns) and got.classes_.tolist() == want.classes_.tolist()
    np.testing.assert_allclose(got.coef_, want.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(got.intercept_, want.intercept_, rtol=1e-8)
    np.testing.assert_allclose(got.churn_probability(X), want.churn_probability(X), rtol=1e-8)


def test_the_sample_is_the_seeds_whatever_the_partitioning(spark_logs):
    _, sdf = spark_logs["simulated"]
    rfm = patronage.spark.rfm_table(sdf, buckets=3).select("customer_id", "recency_days", "n_orders", "total_spend")
    one = patronage.spark.fit(patronage.KMeans(3, random_state=0), rfm, sample_size=500, seed=4)
    other = patronage.spark.fit(patronage.KMeans(3, random_state=0), rfm.repartition(7), sample_size=500, seed=4)
    np.testing.assert_array_equal(one.cluster_centers_, other.cluster_centers_)
    assert one.n_features_in_ == 3
    reseeded = patronage.spark.fit(patronage.KMeans(3, random_state=0), rfm, sample_size=500, seed=5)
    assert not np.array_equal(one.cluster_centers_, reseeded.cluster_centers_)
    gbm = patronage.spark.fit(patronage.ChurnClassifier("gbm", random_state=0, max_iter=20),
                              patronage.spark.churn_dataset(sdf, cutoff="2025-01-01", buckets=3), sample_size=1_000)
    assert gbm.n_features_in_ == 16


def test_fit_refuses_what_it_cannot_fit(summaries):
    _, sdf = summaries["cdnow"]
    with pytest.raises(TypeError, match=r"takes a BetaGeo.*got str"):
        patronage.spark.fit("BetaGeo", sdf)
    with pytest.raises(TypeError, match=r"must be a Spark DataFrame"):
        patronage.spark.fit(patronage.BetaGeo(), summaries["cdnow"][0])
    with pytest.raises(DataError, match=r"column 'recency' is not in the Spark DataFrame"):
        patronage.spark.fit(patronage.BetaGeo(), sdf.drop("recency"))
    with pytest.raises(ParameterError, match=r"sample_size must be a positive integer"):
        patronage.spark.fit(patronage.KMeans(2), sdf, sample_size=0)
    with pytest.raises(DataError, match=r"no repeat buyers"):
        patronage.spark.fit(patronage.GammaGamma(), sdf.where("frequency = 0"))
    with pytest.raises(ParameterError, match=r"calibration=None"):
        patronage.spark.fit(patronage.ChurnClassifier(calibration="platt"), sdf.withColumnRenamed("T", "churned"))
