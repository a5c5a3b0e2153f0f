"""Transaction-based loyalty: repurchase, retention, cohorts, Pareto; checked against pandas references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import patronage
from patronage.datasets import load_cdnow
from patronage.exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError
from reference import cohort_reference, repurchase_reference, retention_reference


def log(rows):
    """(customer, 'YYYY-MM-DD', amount) tuples as a transaction log."""
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(date=lambda d: pd.to_datetime(d.date))


# --------------------------------------------------------------------------- repurchase and retention

def test_repurchase_rate_by_hand_with_window_and_censoring():
    tx = log([(1, "2024-01-01", 5), (1, "2024-01-01", 5), (1, "2024-02-15", 5),  # same-day rows: one order
              (2, "2024-01-10", 5),
              (3, "2024-03-01", 5), (3, "2024-03-05", 5)])
    r = patronage.repurchase_rate(tx)
    assert (r["customers"], r["repeat_customers"]) == (3, 2)
    # 30-day window ending by 2024-03-05: customer 3 started 4 days before the end -> censored
    r = patronage.repurchase_rate(tx, within=30)
    assert (r["customers"], r["repeat_customers"], r["censored"]) == (2, 0, 1)
    r = patronage.repurchase_rate(tx, within=pd.Timedelta(days=45))
    assert (r["customers"], r["repeat_customers"], r["censored"]) == (2, 1, 1)


def test_repurchase_rate_on_cdnow_matches_pandas():
    tx = load_cdnow()
    orders = tx.drop_duplicates(["customer_id", "date"])
    expected = (orders.groupby("customer_id").size() >= 2).mean()
    assert patronage.repurchase_rate(tx)["repurchase_rate"] == pytest.approx(expected, rel=1e-12)


def reference_retention(tx, period):
    p = pd.PeriodIndex(tx["date"], freq=period).asi8
    pairs = pd.DataFrame({"c": tx["customer_id"].to_numpy(), "p": p}).drop_duplicates()
    first = pairs.groupby("c")["p"].transform("min")
    previous = set(zip(pairs["c"], pairs["p"] + 1))
    retained = np.array([(c, q) in previous for c, q in zip(pairs["c"], pairs["p"])])
    periods = np.arange(p.min(), p.max() + 1)
    count = lambda mask: pairs[mask].groupby("p").size().reindex(periods, fill_value=0).to_numpy()  # noqa: E731
    return periods, count(np.ones(len(pairs), bool)), count(pairs["p"] == first), count(retained)


@pytest.mark.parametrize("period", ["M", "W", "D"])
def test_retention_matches_pandas_on_cdnow_sample(period):
    tx = load_cdnow()
    tx = tx[tx["customer_id"] % 7 == 0]
    r = patronage.retention(tx, period=period)
    periods, active, new, retained = reference_retention(tx, period)
    np.testing.assert_array_equal(r.index.asi8, periods)
    np.testing.assert_array_equal(r["active"], active)
    np.testing.assert_array_equal(r["new"], new)
    np.testing.assert_array_equal(r["retained"], retained)
    np.testing.assert_array_equal(r["returning"], active - new - retained)
    rate = retained[1:] / active[:-1]
    np.testing.assert_allclose(r["retention_rate"].to_numpy()[1:], rate)
    np.testing.assert_allclose(r["churn_rate"].to_numpy()[1:], 1 - rate)
    assert np.isnan(r["retention_rate"].iloc[0])


def test_retention_rate_is_nan_after_an_empty_period():
    tx = log([(1, "2024-01-03", 1), (1, "2024-03-03", 1)])
    r = patronage.retention(tx)
    assert list(r["active"]) == [1, 0, 1]
    assert np.isnan(r["retention_rate"].iloc[2]) and r["retention_rate"].iloc[1] == 0.0


# --------------------------------------------------------------------------- cohorts

dates = st.integers(min_value=0, max_value=420)  # days after 2023-11-20: spans 14-15 months


@st.composite
def random_logs(draw):
    n = draw(st.integers(1, 40))
    customers = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    days = draw(st.lists(dates, min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-20_000, 50_000), min_size=n, max_size=n))  # some returns
    return pd.DataFrame({
        "customer_id": customers,
        "date": pd.Timestamp("2023-11-20") + pd.to_timedelta(days, unit="D"),
        "amount": np.array(cents) / 100.0,
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=random_logs(), period=st.sampled_from(["M", "W", "D"]), metric=st.sampled_from(["customers", "revenue"]),
       normalize=st.booleans())
def test_cohort_matrix_equals_pandas_reference(tx, period, metric, normalize):
    if not (tx["amount"] >= 0).any():
        with pytest.raises(DataError, match="no purchase"):
            patronage.cohort_retention(tx, period=period, metric=metric, normalize=normalize)
        return
    want = cohort_reference(tx, period, metric, normalize)
    if normalize and metric == "revenue" and not (cohort_reference(tx, period, metric, False)[0] > 0).all():
        with pytest.raises(DataError, match="cannot be normalized"):
            patronage.cohort_retention(tx, period=period, metric=metric, normalize=normalize)
        return
    got = patronage.cohort_retention(tx, period=period, metric=metric, normalize=normalize)
    np.testing.assert_array_equal(got.index.asi8, want.index.to_numpy())
    assert got.shape == want.shape
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12, atol=1e-9, equal_nan=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=random_logs(), period=st.sampled_from(["M", "W", "D"]), within=st.sampled_from([None, 7, 60]),
       returns=st.sampled_from(["net", "drop"]))
def test_retention_and_repurchase_with_returns_equal_pandas_references(tx, period, within, returns):
    """A return is not activity and not a repurchase (the reference counts purchase days only)."""
    if not (tx["amount"] >= 0).any():
        return
    got = patronage.retention(tx, period=period, returns=returns)
    want = retention_reference(tx, period, returns=returns)
    np.testing.assert_array_equal(got.index.asi8, want.index.asi8)
    np.testing.assert_array_equal(got[["active", "new", "retained", "returning"]].to_numpy(), want.to_numpy())
    r = patronage.repurchase_rate(tx, within=within, returns=returns)
    assert (r["customers"], r["repeat_customers"], r["censored"]) == repurchase_reference(tx, within, returns)


def test_cohort_matrix_by_hand():
    tx = log([(1, "2024-01-05", 10), (1, "2024-02-07", 20), (2, "2024-01-09", 30),
              (3, "2024-02-11", 5), (3, "2024-03-02", 5), (3, "2024-03-09", 1)])
    counts = patronage.cohort_retention(tx, normalize=False)
    assert counts.index.astype(str).tolist() == ["2024-01", "2024-02"]
    np.testing.assert_array_equal(counts.to_numpy(), [[2, 1, 0], [1, 1, np.nan]])
    revenue = patronage.cohort_retention(tx, metric="revenue")
    np.testing.assert_allclose(revenue.to_numpy(), [[1, 0.5, 0], [1, 1.2, np.nan]])


def test_cohort_errors():
    # a return (of 15) a month later nets into the January purchase of 5
    tx = log([(1, "2024-01-05", 5), (1, "2024-02-07", -15), (1, "2024-03-07", 20)])
    with pytest.raises(DataError, match="cohort starting 2024-01-01 has a first-period revenue of -10"):
        patronage.cohort_retention(tx, metric="revenue")
    revenue = patronage.cohort_retention(tx, metric="revenue", normalize=False)
    assert revenue.iloc[0].tolist() == [-10, 0, 20]
    assert patronage.cohort_retention(tx, normalize=False).iloc[0].tolist() == [1, 0, 1]  # no purchase in Feb
    with pytest.raises(ParameterError, match="period must be one of"):
        patronage.cohort_retention(tx, period="Q")
    with pytest.raises(ParameterError, match="metric"):
        patronage.cohort_retention(tx, metric="orders")
    with pytest.raises(ParameterError, match="needs an amount"):
        patronage.cohort_retention(tx, amount=None, metric="revenue")
    long = log([(1, "1900-01-01", 1), (1, "2024-01-01", 1)])
    with pytest.raises(ParameterError, match="coarser period"):
        patronage.cohort_retention(long, period="D")


# --------------------------------------------------------------------------- pareto

def test_pareto_on_cdnow_matches_an_independent_pandas_computation():
    tx = load_cdnow()
    spend = tx.groupby("customer_id")["amount"].sum().sort_values(ascending=False)
    k = int(np.ceil(0.2 * len(spend)))  # 4714 of 23,570 customers
    expected = spend.iloc[:k].sum() / spend.sum()
    result = patronage.pareto(tx)
    assert result.n_customers == 23570
    assert result.top_share == pytest.approx(expected, rel=1e-12)
    assert round(result.top_share, 4) == 0.6778  # "about two thirds"
    x = np.sort(spend.to_numpy())
    i = np.arange(1, len(x) + 1)
    gini = np.sum((2 * i - len(x) - 1) * x) / (len(x) * x.sum())
    assert result.gini == pytest.approx(gini, rel=1e-10)
    for fraction, share in result.shares.items():
        top_k = int(np.ceil(float(fraction.split()[1].rstrip("%")) / 100 * len(spend)))
        assert share == pytest.approx(spend.iloc[:top_k].sum() / spend.sum(), rel=1e-12), fraction
    # the same figure from an RFM table and from a plain Series
    rfm = patronage.rfm_table(tx)
    assert patronage.pareto(rfm).top_share == pytest.approx(expected, rel=1e-12)
    assert patronage.pareto(spend.sample(frac=1, random_state=1)).top_share == pytest.approx(expected, rel=1e-12)


def test_pareto_lorenz_and_ranking_by_hand():
    result = patronage.pareto(pd.Series([1.0, 3.0, 0.0, 6.0], index=["a", "b", "c", "d"]), top=0.25)
    assert result.top_share == 0.6 and result.gini == pytest.approx(0.5)
    assert result.ranking.index.tolist() == ["d", "b", "a", "c"]
    np.testing.assert_allclose(result.lorenz["share_of_revenue"], [0, 0, 0.1, 0.4, 1.0])
    np.testing.assert_allclose(result.lorenz["share_of_customers"], [0, 0.25, 0.5, 0.75, 1.0])
    assert "60.0%" in repr(result) and "<b>" in result._repr_html_()


def test_pareto_counts_negative_net_spend_as_zero():
    tx = log([(1, "2024-01-01", 5), (1, "2024-01-03", -8), (2, "2024-01-01", 3), (3, "2024-01-02", 2)])
    result = patronage.pareto(tx)
    assert result.n_customers == 3 and result.n_negative == 1  # customer 1: 5 - 8 = -3
    assert result.ranking["spend"].tolist() == [3.0, 2.0, 0.0] and result.ranking.index.tolist() == [2, 3, 1]
    assert result.top_share == pytest.approx(0.6)  # ceil(0.2 * 3) = 1 customer: 3 of 5
    assert "1 with negative net spend counted as 0" in repr(result)
    assert "returned more than they bought" in result._repr_html_()
    rfm = patronage.rfm_table(tx)
    assert patronage.pareto(rfm).ranking.equals(result.ranking)
    assert patronage.pareto(rfm["total_spend"]).n_negative == 1
    dropped = patronage.pareto(tx, returns="drop")
    assert (dropped.n_customers, dropped.n_negative) == (3, 0)


def test_pareto_errors():
    with pytest.raises(DataError, match="'b'"):
        patronage.pareto(pd.Series([1.0, np.nan], index=["a", "b"]))
    with pytest.raises(DataError, match="total spend is zero"):
        patronage.pareto(pd.Series([0.0, -2.0]))
    with pytest.raises(ParameterError, match="top"):
        patronage.pareto(pd.Series([1.0]), top=0)
    with pytest.raises(MissingColumnError, match="neither"):
        patronage.pareto(pd.DataFrame({"x": [1]}))
    with pytest.raises(ColumnTypeError, match="numeric"):
        patronage.pareto(pd.DataFrame({"total_spend": ["a"]}))
    with pytest.raises(DataError, match="empty"):
        patronage.pareto(pd.Series([], dtype=float))


# --------------------------------------------------------------------------- shared input checks

def transitions(tx):
    return patronage.lifecycle_transitions(tx, "2024-01-10", "2024-02-10")


@pytest.mark.parametrize("fn", [patronage.repurchase_rate, patronage.retention, patronage.cohort_retention,
                                patronage.pareto, patronage.lifecycle_stages, transitions])
def test_transaction_inputs_are_checked_and_not_modified(fn):
    tx = log([(1, "2024-01-01", 5.0), (1, "2024-02-01", 7.0), (2, "2024-01-15", 3.0)])
    copy = tx.copy()
    fn(tx)
    pd.testing.assert_frame_equal(tx, copy)
    with pytest.raises(MissingColumnError, match="'customer_id'"):
        fn(tx.rename(columns={"customer_id": "id"}))
    with pytest.raises(DataError, match="empty"):
        fn(tx.iloc[:0])
    with pytest.raises(DataError, match=r"'amount' is NaN or infinite at index label 1"):
        fn(tx.assign(amount=[1.0, np.nan, 2.0]))
    with pytest.raises(ColumnTypeError, match="must hold dates"):
        fn(tx.assign(date=[20240101, 20240201, 20240115]))
    with pytest.raises(TypeError, match="DataFrame"):
        fn(tx.to_numpy())


def test_parameter_errors_of_repurchase_and_retention():
    tx = log([(1, "2024-01-01", 5.0), (1, "2024-02-01", 7.0)])
    with pytest.raises(ParameterError, match="`within`: must be at least 1 day, got 0"):
        patronage.repurchase_rate(tx, within=0)
    with pytest.raises(ParameterError, match="within"):
        patronage.repurchase_rate(tx, within="soon")
    # durations read like churn_dataset's horizon: "90D" is 90 days
    pd.testing.assert_series_equal(patronage.repurchase_rate(tx, within="90D"), patronage.repurchase_rate(tx, within=90))
    with pytest.raises(ParameterError, match="whole number of days"):
        patronage.repurchase_rate(tx, within=pd.Timedelta(hours=36))
    with pytest.raises(ParameterError, match="period must be one of"):
        patronage.retention(tx, period="Y")
    with pytest.raises(ParameterError, match="returns"):
        patronage.retention(tx, returns="keep")


def test_returns_policy_drop_ignores_negative_rows_everywhere():
    tx = log([(1, "2024-01-05", 10.0), (2, "2024-02-07", 20.0), (1, "2024-04-01", -5.0)])
    assert patronage.retention(tx).index.astype(str).tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert patronage.retention(tx, returns="drop").index.astype(str).tolist() == ["2024-01", "2024-02"]
    assert patronage.cohort_retention(tx, returns="drop").shape == (2, 2)
    assert patronage.repurchase_rate(tx, returns="drop")["repeat_customers"] == 0
    assert patronage.repurchase_rate(tx)["repeat_customers"] == 0  # a return is never an order
    assert patronage.retention(tx)["active"].tolist() == [1, 1, 0, 0]
    with pytest.raises(DataError, match="negative"):
        patronage.retention(tx, returns="error")
