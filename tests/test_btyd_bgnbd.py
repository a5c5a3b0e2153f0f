"""BG/NBD (patronage.BetaGeo) against Fader, Hardie & Lee (2005), lifetimes 0.11.3 and simulation."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.datasets import simulate_transactions
from patronage.exceptions import (ConvergenceWarning, DataError, MissingColumnError, NotFittedError,
                                  ParameterError)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cdnow"
needs_cdnow = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared CDNOW data not found at {DATA}")

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, section 5


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    if not DATA.is_dir():
        pytest.skip(f"shared CDNOW data not found at {DATA}")
    return pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> patronage.BetaGeo:
    return patronage.BetaGeo().fit(cdnow)


def published() -> patronage.BetaGeo:
    return patronage.BetaGeo.from_params(**PUBLISHED)


def frame(x, tx, t, index=None) -> pd.DataFrame:
    return pd.DataFrame({"frequency": x, "recency": tx, "T": t}, index=index)


@needs_cdnow
def test_cdnow_estimates_and_log_likelihood_match_the_paper(fitted: patronage.BetaGeo) -> None:
    assert fitted.fit_info_["converged"]
    assert fitted.params_.round(3).to_dict() == PUBLISHED
    assert round(fitted.log_likelihood_, 1) == -9582.4
    assert fitted.n_customers_ == 2357


@needs_cdnow
def test_standard_errors_are_the_inverse_hessian_of_the_likelihood(fitted, cdnow) -> None:
    # independent: second differences of the log-likelihood in the natural parameters
    p0 = fitted.params_.to_numpy()
    ll = lambda p: patronage.BetaGeo.from_params(*p).log_likelihood(cdnow)  # noqa: E731
    h = 1e-4 * p0
    hess = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            hess[i, j] = (ll(p0 + ei + ej) - ll(p0 + ei - ej) - ll(p0 - ei + ej) + ll(p0 - ei - ej)) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(fitted.standard_errors_.to_numpy(), se, rtol=1e-3)


@needs_cdnow
def test_log_likelihood_method_agrees_with_the_fit(fitted, cdnow) -> None:
    assert fitted.log_likelihood(cdnow) == pytest.approx(fitted.log_likelihood_, rel=1e-12)
    # the published estimates are (to rounding) the maximum
    assert published().log_likelihood(cdnow) <= fitted.log_likelihood_
    assert published().log_likelihood(cdnow) == pytest.approx(-9582.4, abs=0.05)


def test_paper_conditional_expectation() -> None:
    # FHL 2005 section 5: x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks
    e = published().expected_purchases(frame([2], [30.43], [38.86]), 39)
    assert round(float(e.iloc[0]), 3) == 1.226


# lifetimes 0.11.3 with the published parameters (scipy's hyp2f1), CDNOW rows 1, 2, 3, 18, 101
X, TX, T = [2, 1, 0, 1, 5], [30.43, 1.71, 0.0, 4.86, 36.14], [38.86, 38.86, 38.86, 38.86, 38.14]
LT_P_ALIVE = [0.726578570080673, 0.2121009853773791, 1.0, 0.3107825653963674, 0.8629356078637427]
LT_E39 = [1.226028174767135, 0.20318698707975183, 0.19509805201125396, 0.2977212622914035, 3.331236208075295]
LT_NEW = [0.05326789117165627, 1.1967231933207985, 1.8605190579427455]  # t = 1, 39, 78
LT_PN39 = [0.5737863520960094, 0.19939528083591135, 0.08542975953906072, 0.045860353847999705,
           0.02767144933578218]


def test_predictions_match_lifetimes() -> None:
    bg, hist = published(), frame(X, TX, T, index=list("abcde"))
    np.testing.assert_allclose(bg.p_alive(hist), LT_P_ALIVE, rtol=1e-12)
    np.testing.assert_allclose(bg.expected_purchases(hist, 39), LT_E39, rtol=1e-10)
    np.testing.assert_allclose(bg.expected_purchases_new_customer([1.0, 39.0, 78.0]), LT_NEW, rtol=1e-10)
    np.testing.assert_allclose(bg.probability_of_n_purchases(39, range(5)), LT_PN39, rtol=1e-10)
    assert bg.expected_purchases_new_customer(39.0) == pytest.approx(LT_NEW[1], rel=1e-10)
    assert bg.probability_of_n_purchases(39, 0) == pytest.approx(LT_PN39[0], rel=1e-10)


def test_outputs_are_aligned_to_the_input_index_and_input_is_untouched() -> None:
    hist = frame(X, TX, T, index=pd.Index([50, 10, 40, 30, 20], name="customer"))
    before = hist.copy()
    bg = published()
    for out in (bg.p_alive(hist), bg.expected_purchases(hist, 10)):
        assert out.index.equals(hist.index)
    pd.testing.assert_frame_equal(hist, before)


def test_p_alive_is_one_without_repeats_and_monotone() -> None:
    bg = published()
    zero = frame([0, 0, 0], [0, 0, 0], [1, 30, 3000])
    assert (bg.p_alive(zero) == 1.0).all()
    rec = np.linspace(0.5, 38, 40)
    up = bg.p_alive(frame(np.full(40, 3), rec, np.full(40, 38.0)))
    assert np.all(np.diff(up) > 0)  # more recent last purchase, more likely alive
    ages = np.linspace(10, 300, 40)
    down = bg.p_alive(frame(np.full(40, 3), np.full(40, 10.0), ages))
    assert np.all(np.diff(down) < 0)  # longer silence, less likely alive
    e = [bg.expected_purchases(frame([3], [10], [38]), t).iloc[0] for t in (1, 5, 20, 52, 520)]
    assert np.all(np.diff(e) > 0)
    assert np.all(np.diff(bg.expected_purchases_new_customer(np.linspace(0, 200, 30)).to_numpy()) > 0)


def test_heavy_buyers_are_finite() -> None:
    bg = published()
    hist = frame([0, 150, 400, 900], [0, 2999, 1000, 4999.5], [3000, 3000, 5000, 5000])
    for out in (bg.p_alive(hist), bg.expected_purchases(hist, 52), bg.expected_purchases(hist, 5000)):
        assert np.isfinite(out).all() and (out >= 0).all()
    assert np.isfinite(bg.log_likelihood(hist))
    assert bg.p_alive(hist).iloc[2] < 1e-100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 7 rows: the MLE may sit on a ridge
        fit = patronage.BetaGeo().fit(pd.concat([hist, frame([1, 2, 0], [5, 20, 0], [40, 40, 40])]))
    assert np.isfinite(fit.params_).all() and np.isfinite(fit.log_likelihood_)


def _simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, seed: int) -> pd.DataFrame:
    """An exact, continuous-time BG/NBD simulation (dropout only after repeat purchases)."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = 52 - rng.uniform(0, 13, n)
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t >= T[i]:
                break
            x[i], tx[i] = x[i] + 1, t
            if rng.random() < p[i]:
                break
    return frame(x, tx, T)


def test_recovers_parameters_of_an_exact_simulation() -> None:
    true = np.array([0.5, 5.0, 0.8, 2.5])
    bg = patronage.BetaGeo().fit(_simulate_bgnbd(20_000, *true, seed=3))
    z = (bg.params_.to_numpy() - true) / bg.standard_errors_.to_numpy()
    assert np.all(np.abs(z) < 3), (bg.params_, z)


def test_recovers_parameters_from_simulate_transactions() -> None:
    # the simulator's alpha is per day; the summary in weeks (days / 7). Its daily log
    # merges same-day purchases and rounds times to days, which biases alpha up by a few %.
    tx = simulate_transactions(30_000, spend="gamma-gamma", random_state=11)
    summary = patronage.btyd_summary(tx, freq="D", freq_multiplier=7)
    bg = patronage.BetaGeo().fit(summary)
    true = np.array([0.243, 4.414, 0.793, 2.426])
    err = np.abs(bg.params_.to_numpy() - true)
    assert np.all(err < 3 * bg.standard_errors_.to_numpy() + 0.06 * true), bg.summary()


def test_weights_equal_repeated_rows_and_accept_arrays() -> None:
    rows = frame([0, 1, 3, 2, 0, 6], [0, 3, 20, 9, 0, 30], [30, 30, 31, 25, 20, 32])
    counts = np.array([40, 12, 5, 7, 30, 2])
    expanded = rows.loc[rows.index.repeat(counts)]
    weighted = rows.assign(n=counts)
    before = weighted.copy()
    # 96 customers in 6 patterns do not pin b down (se(ln b) = 2.07): every fit says so
    with pytest.warns(ConvergenceWarning, match=r"b = 3\.74 is not determined by the data"):
        a = patronage.BetaGeo().fit(expanded)
    with pytest.warns(ConvergenceWarning, match=r"b = 3\.74 is not determined by the data"):
        b = patronage.BetaGeo().fit(weighted, weights="n")
    pd.testing.assert_frame_equal(weighted, before)  # fit leaves the caller's frame alone
    with pytest.warns(ConvergenceWarning, match=r"b = 3\.74 is not determined by the data"):
        c = patronage.BetaGeo().fit(rows.to_numpy(), weights=counts)
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6)
    np.testing.assert_allclose(b.params_, c.params_, rtol=1e-12)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-9)


@needs_cdnow
def test_calibration_columns_penalizer_and_determinism(cdnow, fitted) -> None:
    cal = cdnow.add_suffix("_cal")
    again = patronage.BetaGeo().fit(cal)
    pd.testing.assert_series_equal(again.params_, fitted.params_)
    pen = patronage.BetaGeo(penalizer=0.1).fit(cdnow)
    assert pen.log_likelihood_ < fitted.log_likelihood_
    scaled = fitted.params_ * [1, 1 / cdnow["T"].max(), 1, 1]
    assert (pen.params_ * [1, 1 / cdnow["T"].max(), 1, 1]).pow(2).sum() < scaled.pow(2).sum()


@pytest.mark.parametrize("column, value, message", [
    ("frequency", -1.0, "non-negative whole number"),
    ("frequency", 1.5, "non-negative whole number"),
    ("recency", -1.0, "non-negative"),
    ("recency", 50.0, "greater than 'T'"),
    ("T", np.nan, "NaN"),
])
def test_bad_rows_name_the_column_and_label(column, value, message) -> None:
    hist = frame([1.0, 2.0, 0.0], [2.0, 5.0, 0.0], [10.0, 10.0, 10.0], index=["u", "v", "w"])
    hist.loc["v", column] = value
    with pytest.raises(DataError, match=message) as info:
        patronage.BetaGeo().fit(hist)
    assert info.value.field == column
    assert info.value.label == "v"


def test_bad_input_errors() -> None:
    with pytest.raises(DataError, match="empty"):
        patronage.BetaGeo().fit(frame([], [], []))
    with pytest.raises(DataError, match="repeat purchase"):
        patronage.BetaGeo().fit(frame([0, 0], [0, 0], [5, 6]))
    with pytest.raises(MissingColumnError, match="recency"):
        patronage.BetaGeo().fit(pd.DataFrame({"frequency": [1], "T": [2]}))
    with pytest.raises(DataError, match="2-D"):
        patronage.BetaGeo().fit(np.ones((3, 2)))
    with pytest.raises(TypeError):
        patronage.BetaGeo().fit(pd.Series([1, 2]))
    for kwargs, name in [({"penalizer": -1}, "penalizer"), ({"penalizer": "x"}, "penalizer"),
                         ({"max_iter": 0}, "max_iter"), ({"tol": 0.0}, "tol")]:
        with pytest.raises(ParameterError) as info:
            patronage.BetaGeo(**kwargs).fit(frame([1, 0], [1, 0], [2, 2]))
        assert info.value.parameter == name
    with pytest.raises(NotFittedError):
        patronage.BetaGeo().p_alive(frame([1], [1], [2]))
    with pytest.raises(ParameterError) as info:
        published().expected_purchases(frame([1], [1], [2]), -1)
    assert info.value.parameter == "t"
    with pytest.raises(ParameterError):
        published().probability_of_n_purchases(10, 1.5)
    with pytest.raises(ParameterError):
        patronage.BetaGeo.from_params(r=-1, alpha=1, a=1, b=1)


def test_non_convergence_warns_with_diagnostics_and_finite_params() -> None:
    hist = _simulate_bgnbd(500, 0.5, 5.0, 0.8, 2.5, seed=1)
    with pytest.warns(ConvergenceWarning, match="did not converge.*iterations"):
        bg = patronage.BetaGeo(max_iter=1).fit(hist)
    assert not bg.fit_info_["converged"]
    assert np.isfinite(bg.params_).all()


@needs_cdnow
def test_persistence_and_estimator_protocol(fitted, cdnow) -> None:
    for clone in (pickle.loads(pickle.dumps(fitted)), patronage.BetaGeo.from_json(fitted.to_json())):
        pd.testing.assert_series_equal(clone.params_, fitted.params_)
        pd.testing.assert_series_equal(clone.standard_errors_, fitted.standard_errors_)
        assert clone.log_likelihood_ == fitted.log_likelihood_
        pd.testing.assert_series_equal(clone.p_alive(cdnow), fitted.p_alive(cdnow))
    assert len(fitted.to_json()) < 1000  # parameters and metadata only
    with pytest.raises(DataError):
        patronage.BetaGeo.from_json('{"format": 99}')
    with pytest.raises(DataError):
        patronage.GammaGamma.from_json(fitted.to_json())
    bg = patronage.BetaGeo(penalizer=0.5)
    assert bg.get_params() == {"penalizer": 0.5, "max_iter": 1000, "tol": 1e-9}
    assert bg.set_params(penalizer=0.0) is bg and bg.penalizer == 0.0
    with pytest.raises(ParameterError):
        bg.set_params(alpha=3)
    assert pickle.loads(pickle.dumps(bg)).get_params() == bg.get_params()  # unfitted
    html = fitted._repr_html_()
    assert "BG/NBD" in html and "alpha" in html and "-9582.4" in html
    table = fitted.summary()
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert (table["lower 95% bound"] < table["coef"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repr(fitted)


def test_large_fits_warm_started_on_a_subsample_reach_the_same_optimum() -> None:
    # > 40k distinct rows: Newton starts on a systematic subsample; the optimum must not depend on it
    tx = simulate_transactions(120_000, spend="gamma-gamma", random_state=21)
    summary = patronage.btyd_summary(tx, freq="D")
    reordered = summary.iloc[::-1]
    for model in (patronage.BetaGeo, patronage.GammaGamma):
        a, b = model().fit(summary), model().fit(reordered)
        assert a.fit_info_["n_patterns"] > 40_000 and a.fit_info_["converged"]
        np.testing.assert_allclose(a.params_, b.params_, rtol=1e-7)
        assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-12)
