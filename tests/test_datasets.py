"""The bundled CDNOW log and the simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd

import patronage
from patronage.datasets import load_cdnow, simulate_transactions


def test_cdnow_matches_the_shared_master_file(shared_data):
    raw = pd.read_csv(shared_data / "cdnow" / "CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    tx = load_cdnow()
    assert list(tx.columns) == ["customer_id", "date", "amount", "quantity"]
    assert tx["date"].dtype == "datetime64[ns]" or str(tx["date"].dtype).startswith("datetime64")
    np.testing.assert_array_equal(tx["customer_id"], raw["customer_id"])
    np.testing.assert_array_equal(tx["date"].dt.strftime("%Y%m%d"), raw["date"])
    np.testing.assert_array_equal(tx["amount"], raw["dollar_value"])
    np.testing.assert_array_equal(tx["quantity"], raw["number_of_cds"])


def test_simulation_is_seeded_and_plausible():
    a = simulate_transactions(5000, random_state=42)
    b = simulate_transactions(5000, random_state=42)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_transactions(5000, random_state=43))
    assert a["customer_id"].nunique() == 5000
    assert a["date"].min() >= pd.Timestamp("2024-01-01")
    assert a["date"].max() < pd.Timestamp("2024-01-01") + pd.Timedelta(days=546)
    first = a.groupby("customer_id")["date"].min()
    assert first.max() < pd.Timestamp("2024-01-01") + pd.Timedelta(days=90)
    # BG/NBD with CDNOW's parameters: most customers never come back (CDNOW: ~60% in 39 weeks)
    repeaters = (a.groupby("customer_id").size() > 1).mean()
    assert 0.3 < repeaters < 0.7
    # lognormal spend: median near exp(3.3) = 27
    assert 20 < a["amount"].median() < 35


def test_gamma_gamma_spend_has_the_model_mean():
    tx = simulate_transactions(20000, spend="gamma-gamma", random_state=5)
    # E[z] = p * v / (q - 1) for the Gamma-Gamma model with CDNOW's parameters
    p, q, v = 6.25, 3.74, 15.44
    per_customer = tx.groupby("customer_id")["amount"].first()
    assert abs(per_customer.mean() - p * v / (q - 1)) / (p * v / (q - 1)) < 0.05


def test_summary_of_a_simulated_log_is_consistent():
    tx = simulate_transactions(2000, random_state=0)
    s = patronage.btyd_summary(tx)
    rfm = patronage.rfm_table(tx)
    np.testing.assert_array_equal(s["frequency"], rfm["n_orders"] - 1)
    assert (s["recency"] <= s["T"]).all()
