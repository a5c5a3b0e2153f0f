"""BTYD models end to end on the real Online Retail II 2009-2010 log (issue 23).

The log as an analyst loads it, cancellations included, summarised with default options (days,
returns netted and never orders) at invoice level (``order="Invoice"``) and at line level. Every
model fits with default options, and every customer gets a finite forecast, P(alive) and CLV. The
estimates are checked against lifetimes 0.11.3 (tests/data/lifetimes_online_retail.json, written
by tests/reference_lifetimes_or.py): within 1e-6 (relative) where lifetimes converged, unless
Patronage's log-likelihood is higher, which is then asserted instead. A holdout check calibrates
to 2010-06-30 and predicts the purchases of the rest of the log.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import ConvergenceWarning

REFERENCE = json.loads((Path(__file__).parent / "data" / "lifetimes_online_retail.json").read_text())
LEVELS = ("invoice", "line")
PURCHASE_MODELS = {"BetaGeo": patronage.BetaGeo, "ModifiedBetaGeo": patronage.ModifiedBetaGeo,
                   "ParetoNBD": patronage.ParetoNBD}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def logs(shared_data) -> dict:
    """The log at line level (what an analyst does with the export) and at invoice level."""
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz")
    lines = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
             .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    invoices = lines.groupby(["customer_id", "Invoice"], as_index=False).agg(date=("date", "min"),
                                                                             amount=("amount", "sum"))
    return {"line": lines, "invoice": invoices}


def fit_quietly(model, summary):
    """Fit, keeping the warnings (ConvergenceWarning for a fit the data do not identify, the
    Gamma-Gamma's count of repeat buyers it leaves out): their content is checked by other tests."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(summary)
    return model, [w for w in caught]


def check_against_lifetimes(model, reference: dict, log_likelihood_at) -> None:
    if not reference["converged"]:
        return  # lifetimes raised: nothing to compare with (our fit's success is asserted by the caller)
    ours = model.params_.to_numpy()
    theirs = np.asarray(reference["params"])
    ll_ours, ll_theirs = log_likelihood_at(ours), log_likelihood_at(theirs)
    if ll_ours > ll_theirs:
        # lifetimes stopped short of the maximum (its BFGS tolerance is on a rescaled mean)
        assert ll_ours >= ll_theirs
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
        assert ll_ours == pytest.approx(ll_theirs, rel=1e-6)


@pytest.mark.parametrize("level", LEVELS)
def test_every_model_fits_and_forecasts_every_customer(logs, level) -> None:
    summary = patronage.btyd_summary(logs[level])
    reference = REFERENCE["levels"][level]
    assert len(summary) == reference["customers"]
    before = summary.copy()
    gg, gg_warnings = fit_quietly(patronage.GammaGamma(), summary)
    assert all(not isinstance(w.message, ConvergenceWarning) or not gg.identified_ for w in gg_warnings)
    spend_rows = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    check_against_lifetimes(gg, reference["fits"]["GammaGamma"],
                            lambda p: patronage.GammaGamma.from_params(*p).log_likelihood(spend_rows))
    for name, cls in PURCHASE_MODELS.items():
        model, _ = fit_quietly(cls(), summary)
        assert model.fit_info_["converged"], (name, model.fit_info_)
        assert np.isfinite(model.params_).all() and np.isfinite(model.log_likelihood_)
        check_against_lifetimes(model, reference["fits"][name],
                                lambda p, cls=cls: cls.from_params(*p).log_likelihood(summary))
        forecasts = {"p_alive": model.p_alive(summary), "expected": model.expected_purchases(summary, 90),
                     "clv": patronage.customer_lifetime_value(model, gg, summary, horizon=12, freq="D"),
                     "risk": patronage.value_at_risk(model, gg, summary, horizon=12, freq="D")}
        for key, values in forecasts.items():
            assert np.isfinite(np.asarray(values, dtype=float)).all(), (name, key)
            assert values.index.equals(summary.index)
        assert ((forecasts["p_alive"] >= 0) & (forecasts["p_alive"] <= 1)).all()
        assert (forecasts["expected"] >= 0).all()
    pd.testing.assert_frame_equal(summary, before)


def test_holdout_purchases_follow_the_forecast(logs) -> None:
    """Calibration to 2010-06-30, holdout to the end of the log (about five months), invoice level."""
    summary = patronage.btyd_summary(logs["invoice"], calibration_end="2010-06-30")
    actual = summary["frequency_holdout"].to_numpy()
    duration = summary["duration_holdout"].iloc[0]
    for name, cls in PURCHASE_MODELS.items():
        model, _ = fit_quietly(cls(), summary)
        predicted = model.expected_purchases(summary, duration).to_numpy()
        corr = np.corrcoef(predicted, actual)[0, 1]
        error = predicted.sum() / actual.sum() - 1
        print(f"{name}: holdout {duration:g} days, {len(summary)} customers: correlation {corr:.3f}, "
              f"predicted {predicted.sum():.0f} vs actual {actual.sum():.0f} purchases ({error:+.1%})")
        # measured: correlation 0.793 and -5.3% (5,987 predicted, 6,324 actual) for each model: the
        # calibration half-year shows no dropout, so all three fits reach the NBD limit (identified_
        # False, with a ConvergenceWarning) and predict alike. A forecast that ignored each customer's
        # history (every prediction equal) would correlate 0.
        assert not model.identified_
        assert corr > 0.75, name
        assert abs(error) < 0.1, name
