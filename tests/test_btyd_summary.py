"""btyd_summary against the published CDNOW summary and a lifetimes-style pandas reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import patronage
from reference import summary_reference


def test_reproduces_the_cdnow_calibration_summary(cdnow_sample, shared_data):
    want = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary.csv", index_col="ID")
    got = patronage.btyd_summary(cdnow_sample, freq="D", freq_multiplier=7, observation_end="1997-09-30")
    assert len(got) == len(want) == 2357
    np.testing.assert_array_equal(got.index.to_numpy(), want.index.to_numpy())
    np.testing.assert_array_equal(got["frequency"].to_numpy(), want["frequency"].to_numpy())
    np.testing.assert_allclose(got["recency"].round(2), want["recency"], atol=1e-9)
    np.testing.assert_allclose(got["T"].round(2), want["T"], atol=1e-9)


def test_reproduces_the_cdnow_repeat_spend(cdnow_sample, shared_data):
    want = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    got = patronage.btyd_summary(cdnow_sample, freq="D", freq_multiplier=7, observation_end="1997-09-30")
    np.testing.assert_array_equal(got["frequency"].to_numpy(), want["x"].to_numpy())
    # the file prints two decimals (half-up): the exact mean is within half a cent
    np.testing.assert_allclose(got["monetary_value"], want["zbar"], rtol=0, atol=0.005 + 1e-9)


def test_calibration_and_holdout_on_cdnow(cdnow_sample):
    got = patronage.btyd_summary(cdnow_sample, freq="D", freq_multiplier=7, calibration_end="1997-09-30",
                                 observation_end="1998-06-30")
    want = summary_reference(cdnow_sample, "D", 7, "1998-06-30", "1997-09-30")
    pd.testing.assert_frame_equal(got, want, check_names=False, rtol=1e-12)
    assert got["duration_holdout"].iloc[0] == pytest.approx(273 / 7)  # 39 weeks
    # holdout purchase days counted directly from the raw log
    hold = cdnow_sample[(cdnow_sample["date"] > "1997-09-30") & (cdnow_sample["date"] <= "1998-06-30")]
    assert got["frequency_holdout"].sum() == hold.drop_duplicates(["customer_id", "date"]).shape[0]


@st.composite
def logs(draw):
    n = draw(st.integers(1, 50))
    ids = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 120), min_size=n, max_size=n))
    amounts = draw(st.lists(st.one_of(st.floats(0, 100, allow_nan=False), st.floats(-60, -0.01)),
                            min_size=n, max_size=n))
    invoices = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    date = pd.Timestamp("2023-11-20") + pd.to_timedelta(days, unit="D")
    return pd.DataFrame({"customer_id": [f"id{i}" for i in ids], "date": date, "amount": amounts,
                         "invoice": invoices})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=logs(), freq=st.sampled_from(["D", "W", "M"]), mult=st.sampled_from([1, 7]),
       obs_offset=st.integers(-30, 30), cal_offset=st.one_of(st.none(), st.integers(-90, -1)),
       returns=st.sampled_from(["net", "drop"]), order=st.sampled_from([None, "invoice"]))
def test_equals_the_lifetimes_reference(tx, freq, mult, obs_offset, cal_offset, returns, order):
    """lifetimes' conventions on purchase days, with returns netted into the purchase they are matched to."""
    obs_end = tx["date"].max() + pd.Timedelta(days=obs_offset)
    cal_end = None if cal_offset is None else obs_end + pd.Timedelta(days=cal_offset)
    kw = dict(freq=freq, freq_multiplier=mult, observation_end=obs_end, calibration_end=cal_end, returns=returns,
              order=order)
    purchases = tx.loc[tx["amount"] >= 0, "date"]
    if purchases.empty:
        with pytest.raises(patronage.exceptions.DataError, match="no purchase|no transactions"):
            patronage.btyd_summary(tx, **kw)
        return
    if (cal_end if cal_end is not None else obs_end.to_period(freq).end_time) < purchases.min():
        # a ParameterError naming calibration_end or observation_end when the end is before every purchase
        with pytest.raises((patronage.exceptions.DataError, patronage.exceptions.ParameterError),
                           match="no transaction"):
            patronage.btyd_summary(tx, **kw)
        return
    got = patronage.btyd_summary(tx, **kw)
    want = summary_reference(tx, freq, mult, obs_end, cal_end, returns=returns, order=order)
    pd.testing.assert_frame_equal(got, want, check_names=False, check_index_type=False, rtol=1e-12,
                                  atol=1e-9)


def test_hand_checked_returns():
    # c1: buys on 1 Jan (10) and 8 Jan (6); a return-only day 9 Jan (-4) nets into 8 Jan; a return on
    # 20 Jan (-2) after the calibration end counts in neither part; buys again on 22 Jan (5 + 1).
    # c2: only returns before its first purchase on 3 Jan.
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 1, 1, 1, 2, 2],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-09", "2024-01-20",
                                               "2024-01-22", "2024-01-22", "2024-01-02", "2024-01-03"]),
                       "amount": [10.0, 6.0, -4.0, -2.0, 5.0, 1.0, -3.0, 7.0]})
    got = patronage.btyd_summary(tx, calibration_end="2024-01-15", observation_end="2024-01-31")
    assert got.loc[1, ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]].tolist() == [1, 7, 14, 2]
    # holdout: one purchase day (two lines, 6 in all); the 20 Jan return belongs to the 8 Jan purchase
    assert got.loc[1, ["frequency_holdout", "monetary_value_holdout"]].tolist() == [1, 3.0]
    assert got.loc[2, ["frequency_cal", "T_cal", "monetary_value_cal"]].tolist() == [0, 12, 0]


def test_without_amounts():
    tx = pd.DataFrame({"customer_id": [1, 1], "date": ["2024-01-01", "2024-01-09"]})
    got = patronage.btyd_summary(tx, amount=None)
    assert list(got.columns) == ["frequency", "recency", "T"]
    assert got.iloc[0].tolist() == [1.0, 8.0, 8.0]
