"""Fits that cannot be trusted say so: log-scale intervals and the identification checks of every
BTYD model, against a BG/NBD likelihood written here from the paper (numpy + math.lgamma) and its
finite-difference Hessian, on CDNOW, Online Retail II and constructed data."""

from __future__ import annotations

import json
import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import ConvergenceWarning

Z95 = 1.959963984540054


def bgnbd_log_likelihood(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, t: np.ndarray) -> float:
    """Fader, Hardie & Lee (2005) eq. 6 at log-parameters theta, summed over customers."""
    r, alpha, a, b = np.exp(theta)
    lg = np.vectorize(math.lgamma)
    ln_beta = lambda p, q: lg(p) + lg(q) - lg(p + q)  # noqa: E731
    head = lg(r + x) - math.lgamma(r) + r * math.log(alpha) + ln_beta(a, b + x) - ln_beta(a, b)
    alive = -(r + x) * np.log(alpha + t)
    dead = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx), -np.inf)
    return float(np.sum(head + np.logaddexp(alive, dead)))


def log_covariance(f, theta: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Inverse of minus the central-difference Hessian of f at theta."""
    n = len(theta)
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            hess[i, j] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (4 * h * h)
    return np.linalg.inv(-hess)


def independent_log_cov(summary: pd.DataFrame, params: pd.Series) -> np.ndarray:
    x, tx, t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    return log_covariance(lambda th: bgnbd_log_likelihood(th, x, tx, t), np.log(params.to_numpy()))


@pytest.fixture(scope="module")
def cdnow_sample_summary(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def online_retail(shared_data) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz")
    return (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
               .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))


def test_log_scale_intervals_match_an_independent_hessian(cdnow_sample_summary) -> None:
    bg = patronage.BetaGeo().fit(cdnow_sample_summary)
    cov = independent_log_cov(cdnow_sample_summary, bg.params_)
    log_se = np.sqrt(np.diag(cov))
    table = bg.summary()
    np.testing.assert_allclose(table["se(log coef)"], log_se, rtol=1e-3)
    np.testing.assert_allclose(table["se(coef)"], bg.params_ * log_se, rtol=1e-3)  # delta method
    np.testing.assert_allclose(table["lower 95% bound"], bg.params_ * np.exp(-Z95 * log_se), rtol=1e-4)
    np.testing.assert_allclose(table["upper 95% bound"], bg.params_ * np.exp(Z95 * log_se), rtol=1e-4)
    assert bg.identified_ and bg.identification_issues_ == [] and table.attrs["identified"]


def test_intervals_stay_positive_where_wald_intervals_go_negative(cdnow_sample_summary) -> None:
    # the first 500 CDNOW customers: b = 1.65 with se 0.92, so b - 1.96 se < 0
    summary = cdnow_sample_summary.iloc[:500]
    bg = patronage.BetaGeo().fit(summary)
    table = bg.summary()
    b, se_b = table.loc["b", "coef"], table.loc["b", "se(coef)"]
    assert b - Z95 * se_b < 0
    log_se_b = math.sqrt(independent_log_cov(summary, bg.params_)[3, 3])
    assert table.loc["b", "lower 95% bound"] == pytest.approx(b * math.exp(-Z95 * log_se_b), rel=1e-3)
    assert (table["lower 95% bound"] > 0).all()
    assert bg.identified_  # se(log b) = 0.56: imprecise, not undetermined


def test_weekly_online_retail_bgnbd_is_not_identified(online_retail) -> None:
    summary = patronage.btyd_summary(online_retail, freq="W")
    with pytest.warns(ConvergenceWarning) as caught:
        bg = patronage.BetaGeo().fit(summary)
    assert len(caught) == 1
    message = str(caught[0].message)
    a, b = bg.params_["a"], bg.params_["b"]
    assert message.startswith(f"BetaGeo is not identified on this data. a = {a:.4g} and b = ")
    assert f"What the data do determine: a/(a+b) = {a / (a + b):.4g}" in message
    assert not bg.identified_ and bg.identification_issues_[0] in message
    issues = bg.fit_info_["issues"]
    assert [(i["kind"], i["parameters"]) for i in issues] == [("imprecise", ["a", "b"])]
    # independently, with the paper's likelihood: scaling a and b together by 1e-2 ... 1e6 (a/(a+b) kept)
    # stays within the 95% likelihood-ratio region (a drop below 1.92 = chi2(1, 0.95) / 2), so the data
    # are consistent with b over eight orders of magnitude (and with a/(a+b) far below its estimate:
    # little sign of dropout); moving r or alpha by 10%, or a/(a+b) tenfold up, leaves that region
    x, tx, t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    theta = np.log(bg.params_.to_numpy())
    drop = lambda *factors: bgnbd_log_likelihood(theta, x, tx, t) - bgnbd_log_likelihood(  # noqa: E731
        theta + np.log(factors), x, tx, t)
    assert max(drop(1, 1, k, k) for k in (1e-2, 1e-1, 10, 1e3, 1e6)) < 1.92
    assert min(drop(1.1, 1, 1, 1), drop(1, 1.1, 1, 1), drop(1, 1, 10, 1)) > 1.92
    (ratio,) = bg.fit_info_["determined"]
    assert ratio["name"] == "a/(a+b)" and ratio["value"] == pytest.approx(a / (a + b), rel=1e-12)
    assert 0 < ratio["lower"] < ratio["value"] < ratio["upper"] < 0.01  # log-scale Wald, not the LR region


def test_the_flag_survives_json_and_pickle(online_retail) -> None:
    summary = patronage.btyd_summary(online_retail, freq="W")
    with pytest.warns(ConvergenceWarning):
        bg = patronage.BetaGeo().fit(summary)
    for clone in (pickle.loads(pickle.dumps(bg)), patronage.BetaGeo.from_json(bg.to_json())):
        assert clone.identified_ is False
        assert clone.identification_issues_ == bg.identification_issues_
        assert clone.fit_info_["determined"] == bg.fit_info_["determined"]
        assert clone.identification_text() == bg.identification_text()
    assert json.loads(bg.to_json())["model"]["fit"]["issues"][0]["kind"] == "imprecise"
    # a model saved before the checks existed reads as identified
    doc = json.loads(bg.to_json())
    for key in ("issues", "determined"):
        del doc["model"]["fit"][key]
    assert patronage.BetaGeo.from_json(json.dumps(doc)).identified_


def test_modified_bgnbd_on_weekly_online_retail_is_not_identified(online_retail) -> None:
    summary = patronage.btyd_summary(online_retail, freq="W")
    with pytest.warns(ConvergenceWarning, match="ModifiedBetaGeo is not identified.* and b = .* are not determined"):
        mbg = patronage.ModifiedBetaGeo().fit(summary)
    assert not mbg.identified_
    (ratio,) = mbg.fit_info_["determined"]
    assert ratio["name"] == "a/(a+b)" and ratio["lower"] < ratio["value"] < ratio["upper"] < 0.01


NO_DROPOUT = pd.DataFrame({"frequency": [0, 1, 2, 3, 5, 1, 2, 0, 4, 7],
                           "recency": [0, 30, 30, 30, 30, 20, 25, 0, 30, 30],
                           "T": [30, 30, 30, 30, 30, 30, 30, 40, 31, 30]})


def test_pareto_nbd_without_sign_of_dropout_is_not_identified() -> None:
    # nearly everyone bought at the end: the dropout rate runs to 0 and s, beta run off
    # (the fit's own ridge diagnosis names the cause; it is the only issue about s and beta)
    with pytest.warns(ConvergenceWarning, match="ParetoNBD is not identified.* The data show no dropout.* s/beta "
                                                "falls towards 0.* the dropout rates are not determined"):
        pnbd = patronage.ParetoNBD().fit(NO_DROPOUT)
    assert not pnbd.identified_
    assert [(i["kind"], i["parameters"]) for i in pnbd.fit_info_["issues"]][0] == ("ridge", ["s", "beta"])
    assert not any("s" in i["parameters"] for i in pnbd.fit_info_["issues"][1:])
    assert pnbd.params_["s"] / pnbd.params_["beta"] < 1e-6


def test_gamma_gamma_without_heterogeneity_determines_only_the_mean_spend() -> None:
    # every customer's spend is Gamma(4x, 4x/10) around the same mean 10: q and v run off together
    rng = np.random.default_rng(0)
    f = rng.integers(1, 8, 300)
    data = pd.DataFrame({"frequency": f, "monetary_value": rng.gamma(4.0 * f, 10 / (4.0 * f))})
    with pytest.warns(ConvergenceWarning, match="q = .* and v = .* are not determined") as caught:
        gg = patronage.GammaGamma().fit(data)
    assert "p*v/(q-1)" in str(caught[0].message)
    (mean,) = gg.fit_info_["determined"]
    p, q, v = gg.params_
    assert mean["value"] == pytest.approx(p * v / (q - 1), rel=1e-12)
    assert mean["lower"] < data["monetary_value"].mean() < mean["upper"]


def test_published_cdnow_fits_are_identified_without_warnings(shared_data, cdnow_sample_summary) -> None:
    spend = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv")
    spend = spend.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fits = [model().fit(cdnow_sample_summary) for model in
                (patronage.BetaGeo, patronage.ModifiedBetaGeo, patronage.ParetoNBD)]
        fits.append(patronage.GammaGamma().fit(spend[spend["frequency"] > 0]))
    for fit in fits:
        assert fit.identified_ and fit.identification_text() == "" and fit.fit_info_["determined"] == []
        assert (fit.summary()["se(log coef)"] < 0.6).all()
    assert patronage.BetaGeo.from_params(0.243, 4.414, 0.793, 2.426).identified_



def test_predictions_on_the_ridge_keeps_the_likelihood_ratio_range():
    # no dropout: a and b run off together; what the data still determine is stable, a itself is not
    tx = patronage.datasets.simulate_transactions(1500, a=1.0, b=1e6, random_state=1)
    summary = patronage.btyd_summary(tx, freq="W")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bg = patronage.BetaGeo().fit(summary)
    assert not bg.identified_
    ridge = patronage.predictions_on_the_ridge(bg, summary, {
        "mean P(alive)": lambda m: m.p_alive(summary).mean(),
        "purchases": lambda m: m.expected_purchases(summary, 52.0).sum(),
        "a": lambda m: m.params_["a"]})
    assert ridge.loc["mean P(alive)", "stable"] and ridge.loc["purchases", "stable"]
    assert not ridge.loc["a", "stable"]
    r, alpha, a, b = bg.params_
    best = bg.log_likelihood(summary)
    for k in 10.0 ** np.arange(-3.0, 3.01, 0.5):  # kept exactly where the log-likelihood is within 1.92
        ll = patronage.BetaGeo.from_params(r, alpha, a * k, b * k).log_likelihood(summary)
        assert (k in ridge.attrs["k"]) == (ll >= best - 1.9207294103470876)
    kept = ridge.attrs["k"]
    assert ridge.loc["a", "low"] == pytest.approx(a * min(kept.min(), 1.0))
    assert ridge.loc["a", "high"] == pytest.approx(a * max(kept.max(), 1.0))
