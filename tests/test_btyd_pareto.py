"""Pareto/NBD (patronage.ParetoNBD) against Fader, Hardie & Lee (2005) and lifetimes 0.11.3."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cdnow"
PUBLISHED = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # FHL 2005, LL = -9595.0

HIST = pd.DataFrame({"frequency": [2, 1, 0, 1, 5, 60], "recency": [30.43, 1.71, 0.0, 4.86, 36.14, 30.0],
                     "T": [38.86, 38.86, 38.86, 38.86, 38.14, 38.5]})
# lifetimes 0.11.3 ParetoNBDFitter with the published parameters
LT_P_ALIVE = [0.8684109171320921, 0.16699455052575482, 0.29377395046742055, 0.2500676042806464,
              0.972277008664837, 0.0009158102170439379]
LT_E39 = [1.450371374791711, 0.1695304684878937, 0.10582535589031983, 0.2538650391517114, 3.578709273841413,
          0.03654595611053031]
LT_NEW = [0.050685421319156945, 1.2023523628319928, 1.8899983705311565]
# and with r=0.8, alpha=3, s=1.5, beta=0.7 (alpha > beta: the other branch of A0)
LT_P_ALIVE2 = [0.6194842561238552, 0.0005061956138619401, 0.00033865827939935303, 0.004971532511135241,
               0.912506266083566, 2.3844847786769695e-05]


def test_predictions_match_lifetimes() -> None:
    m = patronage.ParetoNBD.from_params(**PUBLISHED)
    np.testing.assert_allclose(m.p_alive(HIST), LT_P_ALIVE, rtol=1e-9)
    np.testing.assert_allclose(m.expected_purchases(HIST, 39), LT_E39, rtol=1e-9)
    np.testing.assert_allclose(m.expected_purchases_new_customer([1.0, 39.0, 78.0]), LT_NEW, rtol=1e-12)
    other = patronage.ParetoNBD.from_params(0.8, 3.0, 1.5, 0.7)
    np.testing.assert_allclose(other.p_alive(HIST), LT_P_ALIVE2, rtol=1e-8)
    heavy = pd.DataFrame({"frequency": [400.0], "recency": [4000.0], "T": [5000.0]})
    assert 0 <= m.p_alive(heavy).iloc[0] < 1e-10 and np.isfinite(m.expected_purchases(heavy, 52)).all()


def test_cdnow_published_estimates() -> None:
    if not DATA.is_dir():
        pytest.skip(f"shared CDNOW data not found at {DATA}")
    cdnow = pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col="ID")
    m = patronage.ParetoNBD().fit(cdnow)
    assert m.fit_info_["converged"]
    assert m.params_.round(2).to_dict() == PUBLISHED
    assert round(m.log_likelihood_, 1) == -9595.0
    assert m.log_likelihood(cdnow) == pytest.approx(m.log_likelihood_, rel=1e-12)
    clone = pickle.loads(pickle.dumps(m))
    assert isinstance(clone, patronage.ParetoNBD)
    pd.testing.assert_series_equal(clone.params_, m.params_)
    assert "Pareto/NBD" in patronage.ParetoNBD.from_json(m.to_json())._repr_html_()
    assert m.identified_


# lifetimes 0.11.3: GammaGammaFitter.customer_lifetime_value(ParetoNBDFitter with the published
# parameters, ..., time=12, discount_rate=0.01, freq="W") on CDNOW customers 1, 2, 3, 18, 101
LT_PARETO_CLV = [42.93767720226241, 3.8494393586079623, 4.473704980853623, 5.387291000790723, 81.15959883148793]


def test_clv_with_pareto_matches_lifetimes() -> None:
    m = patronage.ParetoNBD.from_params(**PUBLISHED)
    gg = patronage.GammaGamma.from_params(6.25, 3.74, 15.44)
    summary = HIST.iloc[:5].assign(monetary_value=[22.35, 11.77, 0.0, 9.99, 17.47])
    clv = patronage.customer_lifetime_value(m, gg, summary, horizon=12, freq="W", discount_rate=0.01)
    np.testing.assert_allclose(clv, LT_PARETO_CLV, rtol=1e-9)
    risk = patronage.value_at_risk(m, gg, summary, freq="W")
    np.testing.assert_allclose(risk["clv"], LT_PARETO_CLV, rtol=1e-9)
    # undiscounted: spend x expected purchases over the whole horizon
    flat = patronage.customer_lifetime_value(m, gg, summary, horizon=6, freq="W", discount_rate=0.0)
    want = gg.expected_average_spend(summary) * m.expected_purchases(summary, 6 * 4.345)
    np.testing.assert_allclose(flat, want, rtol=1e-12)
