"""churn_dataset: features checked against an independent pandas/Python
computation, the no-leakage property (hypothesis), attributes, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import patronage
from patronage.churn import CHURN_FEATURES
from patronage.exceptions import DataError, ParameterError
from reference import churn_reference

DAY0 = pd.Timestamp("2024-01-01")


def random_log(seed: int, n_customers: int = 150, n_rows: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 20.0, n_rows).round(2)
    amount[rng.random(n_rows) < 0.08] *= -0.5  # some returns
    return pd.DataFrame({
        "customer_id": rng.integers(0, n_customers, n_rows) * 7 + 1000,
        "date": DAY0 + pd.to_timedelta(rng.integers(0, 365, n_rows), unit="D"),
        "amount": amount,
    })


@pytest.mark.parametrize("seed, cutoff, horizon, window, order", [
    (0, "2024-06-30", 90, None, None), (1, "2024-03-15", 30, 45, None), (2, "2024-09-25", 91, 10, None),
    (3, "2024-06-30", 60, None, "invoice")])
def test_features_match_an_independent_computation(seed, cutoff, horizon, window, order):
    tx = random_log(seed)
    # invoice ids: several orders a day, cancellation lines sometimes on a purchase invoice
    tx["invoice"] = (tx["customer_id"] * 1000 + (tx["date"] - DAY0).dt.days // 3 * 3
                     + np.arange(len(tx)) % 2)
    X, y = patronage.churn_dataset(tx, cutoff=cutoff, horizon=f"{horizon}D", window=window, order=order)
    rows, labels = churn_reference(tx, cutoff, horizon, window or horizon, order=order)
    ref_X = pd.DataFrame.from_dict(rows, orient="index", columns=list(CHURN_FEATURES)).astype(float)
    assert list(X.columns) == list(CHURN_FEATURES)
    assert X.index.name == "customer_id" and X.index.is_monotonic_increasing
    assert X.index.tolist() == ref_X.index.tolist()
    np.testing.assert_allclose(X.to_numpy(), ref_X.to_numpy(), rtol=1e-12, atol=1e-9)
    assert y.tolist() == [labels[c] for c in X.index]
    assert y.name == "churned" and y.dtype == np.int64


def test_hand_checked_example_and_horizon_spellings():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "a", "c"],
                       "date": ["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-01", "2024-01-20"],
                       "amount": [20.0, 30.0, 15.0, 10.0, 5.0]})
    X, y = patronage.churn_dataset(tx, cutoff="2024-01-15", horizon=17)
    assert X.index.tolist() == ["a", "b"]  # c starts after the cutoff
    assert y.tolist() == [0, 1]
    assert X.loc["a", "recency_days"] == 4 and X.loc["b", "tenure_days"] == 10
    for spelling in ("17D", pd.Timedelta(days=17), np.timedelta64(17, "D"), 17):
        X2, y2 = patronage.churn_dataset(tx, cutoff=pd.Timestamp("2024-01-15"), horizon=spelling)
        pd.testing.assert_frame_equal(X, X2)
    # one day shorter: a's purchase on Feb 1 falls outside the horizon
    _, y3 = patronage.churn_dataset(tx, cutoff="2024-01-15", horizon="16D")
    assert y3.tolist() == [1, 1]


# --- no leakage -------------------------------------------------------------------------------

row = st.tuples(st.integers(0, 5), st.integers(0, 60), st.floats(-50, 200, allow_nan=False).map(lambda v: round(v, 2)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(past=st.lists(row, min_size=1, max_size=25), future=st.lists(row, max_size=25),
       changed=st.lists(row, max_size=25), cutoff=st.integers(0, 40), horizon=st.integers(1, 30))
def test_no_leakage_from_after_the_cutoff(past, future, changed, cutoff, horizon):
    """Changing, deleting or adding transactions after the cutoff leaves X unchanged."""
    assume(any(a >= 0 for _, _, a in past))  # someone has bought by the cutoff (else X has no rows)

    def frame(rows, shift):
        return pd.DataFrame({
            "customer_id": np.array([c for c, _, _ in rows], dtype=np.int64),
            "date": pd.to_datetime([DAY0 + pd.Timedelta(days=int(d) + shift) for _, d, _ in rows]),
            "amount": np.array([a for _, _, a in rows], dtype=np.float64),
        })

    before = frame([(c, min(d, cutoff), a) for c, d, a in past], 0)  # on or before the cutoff
    end = DAY0 + pd.Timedelta(days=cutoff + 100)
    kwargs = dict(cutoff=DAY0 + pd.Timedelta(days=cutoff), horizon=horizon, observation_end=end)
    base = pd.concat([before, frame(future, cutoff + 1)], ignore_index=True)
    other = pd.concat([frame(changed, cutoff + 1), before], ignore_index=True)  # also reordered
    X1, _ = patronage.churn_dataset(base, **kwargs)
    X2, _ = patronage.churn_dataset(other, **kwargs)
    X3, _ = patronage.churn_dataset(before, **kwargs)
    pd.testing.assert_frame_equal(X1, X2)
    pd.testing.assert_frame_equal(X1, X3)


def test_label_depends_only_on_the_horizon():
    tx = random_log(3)
    cutoff = pd.Timestamp("2024-06-30")
    _, y = patronage.churn_dataset(tx, cutoff=cutoff, horizon="60D")
    late = tx[tx["date"] > cutoff + pd.Timedelta(days=60)]
    kept = tx.drop(late.index)
    _, y2 = patronage.churn_dataset(kept, cutoff=cutoff, horizon="60D", observation_end=tx["date"].max())
    pd.testing.assert_series_equal(y, y2)


# --- attributes -------------------------------------------------------------------------------

def test_attributes_numeric_categorical_and_missing():
    tx = random_log(4, n_customers=20, n_rows=200)
    ids = sorted(tx["customer_id"].unique())
    attributes = pd.DataFrame({
        "age": [30.0 + i for i in range(len(ids) - 1)],
        "plan": (["basic", "pro", None] * len(ids))[: len(ids) - 1],
        "vip": [i % 2 == 0 for i in range(len(ids) - 1)],
    }, index=pd.Index(ids[1:] + [], name="customer_id"))  # the first customer has no row
    attributes.loc[ids[3], "age"] = np.nan
    before = attributes.copy()
    X, _ = patronage.churn_dataset(tx, cutoff="2024-09-30", horizon="60D", attributes=attributes)
    pd.testing.assert_frame_equal(attributes, before)  # not modified
    assert list(X.columns[len(CHURN_FEATURES):]) == ["age", "plan=basic", "plan=pro", "vip"]
    assert np.isnan(X.loc[ids[0], "age"]) and np.isnan(X.loc[ids[3], "age"])
    assert X.loc[ids[0], ["plan=basic", "plan=pro"]].tolist() == [0.0, 0.0]  # no row: all zeros
    assert X.loc[ids[1], "age"] == 30.0 and X.loc[ids[1], "plan=basic"] == 1.0
    assert X.loc[ids[3], ["plan=basic", "plan=pro"]].tolist() == [0.0, 0.0]  # missing category
    assert X.loc[ids[2], "plan=pro"] == 1.0 and X.loc[ids[2], "vip"] == 0.0
    assert X[["plan=basic", "plan=pro"]].sum(axis=1).le(1).all()


def test_attribute_errors():
    tx = random_log(5, n_customers=5, n_rows=50)
    dup = pd.DataFrame({"age": [1.0, 2.0]}, index=[1000, 1000])
    with pytest.raises(DataError, match="more than one row for customer 1000"):
        patronage.churn_dataset(tx, cutoff="2024-06-30", attributes=dup)
    clash = pd.DataFrame({"recency_days": [1.0]}, index=[1000])
    with pytest.raises(ParameterError, match="name of a churn feature"):
        patronage.churn_dataset(tx, cutoff="2024-06-30", attributes=clash)
    with pytest.raises(TypeError, match="attributes must be a table .*got dict"):
        patronage.churn_dataset(tx, cutoff="2024-06-30", attributes={"age": [1]})


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, parameter, message", [
    (dict(cutoff="2023-06-30"), "cutoff", "before the first purchase"),
    (dict(cutoff="2025-06-30"), "cutoff", "not before the end of the data"),
    (dict(cutoff="2024-12-01", horizon="90D"), "horizon", "after the end of the data"),
    (dict(cutoff="2024-06-30", horizon="0D"), "horizon", "at least one day"),
    (dict(cutoff="2024-06-30", horizon=-5), "horizon", "at least one day"),
    (dict(cutoff="2024-06-30", horizon="36h"), "horizon", "whole number of days"),
    (dict(cutoff="2024-06-30", horizon="soon"), "horizon", "not a duration"),
    (dict(cutoff="2024-06-30", window="0D"), "window", "at least one day"),
    (dict(cutoff="not a date"), "cutoff", "not a date"),
    (dict(cutoff="2024-06-30", returns="keep"), "returns", "returns must be one of"),
])
def test_bad_parameters_name_the_parameter(kwargs, parameter, message):
    tx = random_log(6)
    with pytest.raises(ParameterError, match=message) as info:
        patronage.churn_dataset(tx, **kwargs)
    assert info.value.parameter == parameter


def test_bad_data_and_input_untouched():
    tx = random_log(7)
    before = tx.copy()
    patronage.churn_dataset(tx, cutoff="2024-06-30")
    pd.testing.assert_frame_equal(tx, before)
    bad = tx.copy()
    bad.loc[5, "amount"] = np.nan
    with pytest.raises(DataError, match="column 'amount' is NaN or infinite at index label 5"):
        patronage.churn_dataset(bad, cutoff="2024-06-30")
    with pytest.raises(DataError, match="'spend' is not in the transaction log"):
        patronage.churn_dataset(tx, cutoff="2024-06-30", amount="spend")


def test_churn_features_equal_the_dataset_features_at_the_same_cutoff():
    tx = patronage.datasets.simulate_transactions(2000, random_state=11)
    cutoff = tx["date"].min() + pd.Timedelta(days=200)
    X, _ = patronage.churn_dataset(tx, cutoff=cutoff, horizon="60D")
    pd.testing.assert_frame_equal(patronage.churn_features(tx, as_of=cutoff, window="60D"), X)
    today = patronage.churn_features(tx, window="60D")
    assert len(today) == tx["customer_id"].nunique() and today["recency_days"].min() == 0
