"""customer_lifetime_value / value_at_risk against lifetimes 0.11.3's definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import NotFittedError, ParameterError

# CDNOW customers 1, 2, 3, 18, 101 (weeks)
SUMMARY = pd.DataFrame({
    "frequency": [2, 1, 0, 1, 5],
    "recency": [30.43, 1.71, 0.0, 4.86, 36.14],
    "T": [38.86, 38.86, 38.86, 38.86, 38.14],
    "monetary_value": [22.35, 11.77, 0.0, 9.99, 17.47],
}, index=pd.Index([1, 2, 3, 18, 101], name="ID"))
# lifetimes 0.11.3: GammaGammaFitter.customer_lifetime_value(bgf, ..., time=12, discount_rate=0.01,
# freq="W") with the published BG/NBD and Gamma-Gamma parameters
LIFETIMES_CLV = [36.28921112559952, 4.637294659747194, 8.369004358920185, 6.350332597057609, 74.97690660405685]


@pytest.fixture()
def models():
    return (patronage.BetaGeo.from_params(0.243, 4.414, 0.793, 2.426),
            patronage.GammaGamma.from_params(6.25, 3.74, 15.44))


def test_matches_lifetimes(models) -> None:
    bg, gg = models
    before = SUMMARY.copy()
    clv = patronage.customer_lifetime_value(bg, gg, SUMMARY, horizon=12, freq="W", discount_rate=0.01)
    np.testing.assert_allclose(clv, LIFETIMES_CLV, rtol=1e-10)
    assert clv.name == "clv" and clv.index.equals(SUMMARY.index)
    pd.testing.assert_frame_equal(SUMMARY, before)


def test_definition(models) -> None:
    bg, gg = models
    # undiscounted: margin x expected spend x expected purchases over the whole horizon
    clv = patronage.customer_lifetime_value(bg, gg, SUMMARY, horizon=6, freq="W", discount_rate=0.0, margin=0.3)
    want = 0.3 * gg.expected_average_spend(SUMMARY) * bg.expected_purchases(SUMMARY, 6 * 4.345)
    np.testing.assert_allclose(clv, want, rtol=1e-12)
    # a summary in days (alpha in days): months are 30 days, so 12 months = 360 days
    days = SUMMARY.assign(recency=SUMMARY["recency"] * 7, T=SUMMARY["T"] * 7)
    bg_days = patronage.BetaGeo.from_params(0.243, 4.414 * 7, 0.793, 2.426)
    clv_days = patronage.customer_lifetime_value(bg_days, gg, days, freq="D", discount_rate=0.0)
    want_days = bg_days.expected_purchases(days, 360) * gg.expected_average_spend(days)
    np.testing.assert_allclose(clv_days, want_days, rtol=1e-12)
    # and equals the weekly model over the same 360 days
    np.testing.assert_allclose(clv_days, bg.expected_purchases(SUMMARY, 360 / 7) * gg.expected_average_spend(SUMMARY),
                               rtol=1e-10)
    # more discounting, less value; longer horizon, more value
    low = patronage.customer_lifetime_value(bg, gg, SUMMARY, freq="W", discount_rate=0.05)
    high = patronage.customer_lifetime_value(bg, gg, SUMMARY, freq="W", discount_rate=0.01, horizon=24)
    base = patronage.customer_lifetime_value(bg, gg, SUMMARY, freq="W")
    assert (low < base).all() and (high > base).all()


def value_if_alive_reference(r, alpha, a, b, x, T, gg_mean, horizon, units, rate):
    """Discounted sum of E[spend] x increments of E[X(t) | alive] (Fader, Hardie & Lee 2005, eq. 10
    without its P(alive) factor), with scipy's 2F1."""
    from scipy.special import hyp2f1

    def if_alive(t):
        z = t / (alpha + T + t)
        return (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
                                            * hyp2f1(r + x, b + x, a + b + x - 1, z))

    cum = [if_alive(k * units) for k in range(horizon + 1)]
    return sum(gg_mean * (cum[k] - cum[k - 1]) / (1 + rate) ** k for k in range(1, horizon + 1))


def test_value_at_risk(models) -> None:
    bg, gg = models
    out = patronage.value_at_risk(bg, gg, SUMMARY, freq="W")
    assert list(out.columns) == ["p_alive", "clv", "value_if_alive", "value_at_risk"]
    p_alive = bg.p_alive(SUMMARY)
    # CLV = P(alive) x value if alive: lifetimes' CLV divided by P(alive) (all well above 0 here)
    np.testing.assert_allclose(out["clv"], LIFETIMES_CLV, rtol=1e-10)
    np.testing.assert_allclose(out["value_if_alive"], np.array(LIFETIMES_CLV) / p_alive, rtol=1e-10)
    # value at risk = value if alive x (1 - P(alive)), not (1 - P(alive)) x CLV
    np.testing.assert_allclose(out["value_at_risk"], (1 - p_alive) * out["value_if_alive"], rtol=1e-15)
    np.testing.assert_allclose(out["clv"] + out["value_at_risk"], out["value_if_alive"], rtol=1e-12)
    assert out.loc[3, "value_at_risk"] == 0.0  # no repeat purchase: p_alive = 1


def test_value_if_alive_of_a_customer_who_is_almost_surely_gone(models) -> None:
    """P(alive) ~ 1e-9: the value if alive is computed directly (not CLV / P(alive)) and almost all of
    it is at risk."""
    bg, gg = models
    gone = pd.DataFrame({"frequency": [20.0], "recency": [2.0], "T": [38.86], "monetary_value": [30.0]})
    out = patronage.value_at_risk(bg, gg, gone, freq="W")
    assert out.loc[0, "p_alive"] < 1e-6
    spend = float(gg.expected_average_spend(gone).iloc[0])
    want = value_if_alive_reference(0.243, 4.414, 0.793, 2.426, 20.0, 38.86, spend, 12, 4.345, 0.01)
    np.testing.assert_allclose(out.loc[0, "value_if_alive"], want, rtol=1e-9)
    np.testing.assert_allclose(out.loc[0, "value_at_risk"], want, rtol=1e-6)
    assert out.loc[0, "clv"] < 1e-6 * want


def test_bad_parameters(models) -> None:
    bg, gg = models
    for kwargs, name in [({"freq": "Q"}, "freq"), ({"horizon": 0}, "horizon"),
                         ({"discount_rate": -1.5}, "discount_rate"), ({"margin": float("nan")}, "margin")]:
        with pytest.raises(ParameterError) as info:
            patronage.customer_lifetime_value(bg, gg, SUMMARY, **kwargs)
        assert info.value.parameter == name
    with pytest.raises(NotFittedError):
        patronage.customer_lifetime_value(patronage.BetaGeo(), gg, SUMMARY)
    with pytest.raises(TypeError):
        patronage.customer_lifetime_value(gg, bg, SUMMARY)
