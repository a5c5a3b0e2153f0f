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
    amounts = draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=n, max_size=n))
    date = pd.Timestamp("2023-11-20") + pd.to_timedelta(days, unit="D")
    return pd.DataFrame({"customer_id": [f"id{i}" for i in ids], "date": date, "amount": amounts})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=logs(), freq=st.sampled_from(["D", "W", "M"]), mult=st.sampled_from([1, 7]),
       obs_offset=st.integers(-30, 30), cal_offset=st.one_of(st.none(), st.integers(-90, -1)))
def test_equals_the_lifetimes_reference(tx, freq, mult, obs_offset, cal_offset):
    obs_end = tx["date"].max() + pd.Timedelta(days=obs_offset)
    cal_end = None if cal_offset is None else obs_end + pd.Timedelta(days=cal_offset)
    if (cal_end if cal_end is not None else obs_end.to_period(freq).end_time) < tx["date"].min():
        with pytest.raises(patronage.exceptions.DataError, match="no transactions"):
            patronage.btyd_summary(tx, freq=freq, freq_multiplier=mult, observation_end=obs_end,
                                   calibration_end=cal_end)
        return
    got = patronage.btyd_summary(tx, freq=freq, freq_multiplier=mult, observation_end=obs_end,
                                 calibration_end=cal_end)
    want = summary_reference(tx, freq, mult, obs_end, cal_end)
    pd.testing.assert_frame_equal(got, want, check_names=False, rtol=1e-12)


def test_without_amounts():
    tx = pd.DataFrame({"customer_id": [1, 1], "date": ["2024-01-01", "2024-01-09"]})
    got = patronage.btyd_summary(tx, amount=None)
    assert list(got.columns) == ["frequency", "recency", "T"]
    assert got.iloc[0].tolist() == [1.0, 8.0, 8.0]
