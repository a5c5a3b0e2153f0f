"""The BTYD models' Gauss hypergeometric closed forms against mpmath, over the whole parameter space.

The BG/NBD conditional expectation and the Pareto/NBD death-time integral are evaluated by patronage
as the integrals they come from (quadrature, or the power series where a bound proves it accurate).
The references here are the textbook closed forms written with ``mpmath.hyp2f1`` at 50 digits:

* BG/NBD (Fader, Hardie & Lee 2005, eq. 10 without P(alive)), with ``k = r + x``, ``B = b + x``
  (``b + 1 + x`` for the MBG/NBD), ``c = a + B - 1``, ``z = u / (1 + u)``, ``u = t / (alpha + T)``::

      E = c / (a - 1) * (1 - (1 - z)**k * 2F1(k, B; c; z))               (a > 1, k z < 1000)
        = c / (a - 1) * (1 - (1 - z)**(a - 1) * 2F1(c - k, a - 1; c; z))  (Euler's transformation)

* Pareto/NBD (Fader, Hardie & Lee 2005, "A note on deriving the Pareto/NBD model", eq. 19-22):
  ``A0 = 2F1(r+s+x, b1; r+s+x+1; z(t_x)) / (c+t_x)**(r+s+x) - (same at T)`` with ``(c, b1, z) =
  (alpha, s+1, (alpha-beta)/(alpha+t))`` if ``alpha >= beta``, else ``(beta, r+x, (beta-alpha)/(beta+t))``.

The grids cover a + b < 1 (a negative third parameter), a < 1, b < 1, a = 1 +- 1e-9, huge alpha,
z up to 1 - 1e-15, large x and long horizons; the relative error allowed is 1e-10 (1e-10 of
max(1, |value|) for logarithms). Also: whole model outputs, hostile inputs and the Online Retail II
fit against lifetimes 0.11.3.
"""

from __future__ import annotations

import itertools
import time
import warnings
from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

import patronage
from patronage import _core
from patronage.exceptions import ConvergenceWarning, ParameterError

RTOL = 1e-10
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online_retail_ii"


def _grid(axes: dict, n: int, seed: int) -> list:
    """A seeded sample of ``n`` points of the product of the axes (all of it if smaller)."""
    points = list(itertools.product(*axes.values()))
    rng = np.random.default_rng(seed)
    if len(points) > n:
        points = [points[i] for i in rng.choice(len(points), n, replace=False)]
    return points


def bg_expectation_mp(k: float, a: float, b: float, u: float) -> mp.mpf:
    with mp.workdps(50):
        k, a, b, u = map(mp.mpf, (k, a, b, u))
        c, z = a + b - 1, u / (1 + u)
        if a > 1 and k * z < 1e3:  # positive terms, few of them
            return c / (a - 1) * (1 - (1 - z) ** k * mp.hyp2f1(k, b, c, z))
        return c / (a - 1) * (1 - (1 - z) ** (a - 1) * mp.hyp2f1(c - k, a - 1, c, z))


def pareto_a0_mp(r, alpha, s, beta, x, t_x, t) -> mp.mpf:
    """The note's A0 (eq. 19-21)."""
    r, alpha, s, beta, x, t_x, t = map(mp.mpf, (r, alpha, s, beta, x, t_x, t))
    rsx = r + s + x
    if alpha >= beta:
        c, b1 = alpha, s + 1
    else:
        c, b1 = beta, r + x
    gap = abs(alpha - beta)
    term = lambda at: mp.hyp2f1(rsx, b1, rsx + 1, gap / (c + at)) / (c + at) ** rsx
    return term(t_x) - term(t)


def test_bg_expectation_matches_mpmath_on_a_grid() -> None:
    axes = {
        "a": [0.026, 0.3, 0.99, 1 - 1e-9, 1 + 1e-9, 2.5, 40.0],
        "b": [0.01, 0.41, 0.99, 3.0, 700.0],
        "r": [0.05, 0.774, 5.0, 300.0],
        "x": [0, 1, 7, 1000, 100_000],
        "mbg": [0, 1],
        # u = t / (alpha + T): 1e-6 (huge alpha) to 1e15 (z = 1 - 1e-15)
        "u": [1e-6, 0.1, 1.0, 30.0, 1e4, 1e9, 1e15],
    }
    worst = 0.0
    for a, b, r, x, mbg, u in _grid(axes, 500, seed=1):
        k, bb = r + x, b + mbg + x
        got = _core._btyd_purchases_if_alive(k, a, bb, u)
        want = bg_expectation_mp(k, a, bb, u)
        rel = abs(got / float(want) - 1)
        worst = max(worst, rel)
        assert rel <= RTOL, (a, b, r, x, mbg, u, got, float(want))
    assert worst < 1e-11


def test_bg_expectation_at_a_equal_one_is_the_limit() -> None:
    # a = 1 exactly (the closed form's 0/0): the mpmath limit from both sides agrees with patronage
    for k, b, u in [(0.774, 0.41, 0.07), (3.2, 1.7, 30.0), (1001.0, 1000.5, 1e9)]:
        got = _core._btyd_purchases_if_alive(k, 1.0, b, u)
        with mp.workdps(50):
            eps = mp.mpf("1e-20")
            lo, hi = bg_expectation_mp(k, 1 - eps, b, u), bg_expectation_mp(k, 1 + eps, b, u)
        assert abs(lo - hi) < 1e-15 * abs(hi)
        assert got == pytest.approx(float(hi), rel=RTOL)


def test_pareto_death_time_integral_matches_mpmath_on_a_grid() -> None:
    axes = {
        "alpha": [0.01, 1.0, 61.0, 4e3, 7e5],
        "beta": [0.01, 1.0, 17.0, 4e3, 7e5],
        "r": [0.05, 0.94, 30.0],
        "s": [4e-5, 0.04, 1.7, 300.0],
        "x": [0, 1, 7, 143, 3000],
        "tx_frac": [0.0, 0.5, 1 - 1e-9],
        "T": [1.0, 53.0, 5000.0],
    }
    worst = 0.0
    for alpha, beta, r, s, x, frac, t in _grid(axes, 250, seed=2):
        t_x = frac * t if x > 0 else 0.0
        got = _core._btyd_ln_death_time(alpha, beta, r + x, s + 1, t_x, t)
        with mp.workdps(50):
            want = mp.log(pareto_a0_mp(r, alpha, s, beta, x, t_x, t) / (r + s + x))
        err = abs(got - float(want)) / max(1.0, abs(float(want)))
        worst = max(worst, err)
        assert err <= RTOL, (alpha, beta, r, s, x, t_x, t, got, float(want))
    assert worst < 1e-12
    # t_x = T: no death time to integrate over
    assert _core._btyd_ln_death_time(2.0, 3.0, 1.5, 1.5, 7.0, 7.0) == -np.inf
    with pytest.raises(ValueError):
        _core._btyd_ln_death_time(2.0, 3.0, 1.5, 0.5, 0.0, 7.0)


def test_bg_and_mbg_expected_purchases_match_mpmath() -> None:
    hist = pd.DataFrame({"frequency": [0, 0, 1, 3, 40, 500], "recency": [0, 0, 2, 50, 90, 200],
                         "T": [0, 100, 100, 60, 100, 201]}, dtype=float)
    for model_cls, shift in [(patronage.BetaGeo, 0), (patronage.ModifiedBetaGeo, 1)]:
        for r, alpha, a, b in [(0.774, 49.7, 0.026, 0.41), (0.243, 4.414, 0.793, 2.426), (2.0, 1e6, 1.3, 0.2)]:
            m = model_cls.from_params(r=r, alpha=alpha, a=a, b=b)
            for t in [1.0, 10.0, 3650.0, 1e7]:
                got = m.expected_purchases(hist, t).to_numpy()
                for i, (x, t_x, age) in enumerate(hist.itertuples(index=False)):
                    with mp.workdps(50):
                        odds = (0 if x == 0 and not shift else
                                mp.mpf(a) / (b + x - 1 + shift) * ((alpha + age) / mp.mpf(alpha + t_x)) ** (r + x))
                        want = bg_expectation_mp(r + x, a, b + shift + x, t / (alpha + age)) / (1 + odds)
                    assert got[i] == pytest.approx(float(want), rel=RTOL), (model_cls, r, a, b, t, i)
    # new customers: the same with x = 0, T = 0
    m = patronage.BetaGeo.from_params(r=0.774, alpha=49.7, a=0.026, b=0.41)
    want = [float(bg_expectation_mp(0.774, 0.026, 0.41, t / 49.7)) for t in (1.0, 365.0, 1e6)]
    np.testing.assert_allclose(m.expected_purchases_new_customer([1.0, 365.0, 1e6]), want, rtol=RTOL)


def test_pareto_likelihood_p_alive_and_expectation_match_mpmath() -> None:
    hist = pd.DataFrame({"frequency": [0, 1, 2, 7, 60, 143], "recency": [0, 1.7, 30.43, 20, 30, 370],
                         "T": [38.86, 38.86, 38.86, 39, 300, 373]})
    for r, alpha, s, beta in [(0.55, 10.58, 0.61, 11.67), (0.8, 3.0, 1.5, 0.7), (0.94, 61.2, 1.67, 4.3e3),
                              (1.0, 10.75, 0.04, 203.0), (2.2, 170.0, 0.015, 4.7e8)]:
        m = patronage.ParetoNBD.from_params(r, alpha, s, beta)
        p_alive = m.p_alive(hist).to_numpy()
        expected = m.expected_purchases(hist, 52.0).to_numpy()
        for i, (x, t_x, t) in enumerate(hist.itertuples(index=False)):
            row = hist.iloc[[i]]
            with mp.workdps(50):
                rsx = r + s + x
                alive = 1 / ((alpha + mp.mpf(t)) ** (r + x) * (beta + mp.mpf(t)) ** s)
                dead = s / rsx * pareto_a0_mp(r, alpha, s, beta, x, t_x, t)
                ll = (mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
                      + mp.log(alive + dead))
                pa = alive / (alive + dead)
                bt = beta + mp.mpf(t)
                e = (r + x) * bt / ((alpha + t) * (s - 1)) * (1 - (bt / (bt + 52)) ** (s - 1)) * pa
            assert m.log_likelihood(row) == pytest.approx(float(ll), rel=RTOL)
            assert p_alive[i] == pytest.approx(float(pa), rel=RTOL)
            assert expected[i] == pytest.approx(float(e), rel=RTOL)


def test_pareto_p_alive_matches_mpmath_on_a_grid() -> None:
    # P(alive) takes the note's hypergeometric closed form where it is well conditioned and the
    # quadrature elsewhere (t_x near T, z near 1, long series): both against mpmath
    axes = {
        "alpha": [0.01, 1.0, 61.0, 4e3],
        "beta": [0.01, 1.0, 17.0, 4e3],
        "r": [0.05, 0.94, 30.0],
        "s": [0.04, 1.7, 300.0],
        "x": [0, 1, 7, 143],
        "tx_frac": [1e-3, 0.5, 0.99, 1 - 1e-9],
        "T": [1.0, 53.0, 5000.0],
    }
    points = _grid(axes, 150, seed=5)
    hist = pd.DataFrame([(x, frac * t if x > 0 else 0.0, t) for *_, x, frac, t in points],
                        columns=["frequency", "recency", "T"])
    for i, (alpha, beta, r, s, x, _, t) in enumerate(points):
        t_x = hist["recency"].iloc[i]
        got = patronage.ParetoNBD.from_params(r, alpha, s, beta).p_alive(hist.iloc[[i]]).iloc[0]
        with mp.workdps(50):
            odds = (s / (r + s + x) * pareto_a0_mp(r, alpha, s, beta, x, t_x, t)
                    * (alpha + mp.mpf(t)) ** (r + x) * (beta + mp.mpf(t)) ** s)
            want = float(1 / (1 + odds))
        assert got == pytest.approx(want, rel=RTOL, abs=1e-300), (alpha, beta, r, s, x, t_x, t)


def test_pareto_p_alive_tables_match_mpmath() -> None:
    # whole-day rows in one batch take the tables over the distinct (x, T) and (x, t_x): the odds are
    # a difference of two table products, checked where it cancels most (t_x next to T, t_x = T) and
    # at large x, alpha << beta and alpha >> beta (where some rows take the exact path instead)
    rows = [(x, t_x, t) for x, t in [(0, 545), (1, 456), (7, 500), (93, 545), (400, 540)]
            for t_x in sorted({0, 1, 30, t // 2, t - 1, t}) if (x > 0) == (t_x > 0)]
    hist = pd.DataFrame(rows, columns=["frequency", "recency", "T"], dtype=float)
    for r, alpha, s, beta in [(0.55, 74.06, 0.61, 81.69), (0.8, 3.0, 1.5, 0.7), (0.94, 61.2, 1.67, 4.3e3),
                              (30.0, 0.5, 0.04, 800.0), (0.3, 9.0e3, 2.0, 9.0), (0.3, 9.0, 2.0, 9.0)]:
        got = patronage.ParetoNBD.from_params(r, alpha, s, beta).p_alive(hist).to_numpy()
        for i, (x, t_x, t) in enumerate(rows):
            with mp.workdps(50):
                odds = (s / (r + s + x) * pareto_a0_mp(r, alpha, s, beta, x, t_x, t)
                        * (alpha + mp.mpf(t)) ** (r + x) * (beta + mp.mpf(t)) ** s)
                want = float(1 / (1 + odds))
            assert got[i] == pytest.approx(want, rel=RTOL, abs=1e-300), (r, alpha, s, beta, x, t_x, t)
            if t_x == t and x > 0:
                assert got[i] == 1.0


def test_the_issue_reproducer_and_a_plus_b_below_one_forecasts() -> None:
    m = patronage.BetaGeo.from_params(r=0.774, alpha=49.7, a=0.026, b=0.41)
    one = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [100.0]})
    # mpmath: c/(a-1) [1 - (1-z)^(a-1) 2F1(c-k, a-1; c; z)] with c = a + b - 1 < 0
    assert m.expected_purchases(one, 10.0).iloc[0] == pytest.approx(0.05152838194356007, rel=1e-13)
    summary = one.assign(monetary_value=0.0)
    gg = patronage.GammaGamma.from_params(6.25, 3.74, 15.44)
    for model in (m, patronage.ModifiedBetaGeo.from_params(r=0.774, alpha=49.7, a=0.026, b=0.41)):
        clv = patronage.customer_lifetime_value(model, gg, summary, horizon=1200, freq="D")
        risk = patronage.value_at_risk(model, gg, summary, freq="D")
        assert np.isfinite(clv).all() and (clv > 0).all() and np.isfinite(risk.to_numpy()).all()


def test_hostile_inputs_are_fast_clear_errors_or_finite() -> None:
    pnbd = patronage.ParetoNBD.from_params(0.55, 10.58, 0.61, 11.67)
    bg = patronage.BetaGeo.from_params(0.243, 4.414, 0.793, 2.426)
    gg = patronage.GammaGamma.from_params(6.25, 3.74, 15.44)
    hist = pd.DataFrame({"frequency": [2.0], "recency": [30.0], "T": [38.0], "monetary_value": [20.0]})
    start = time.perf_counter()
    for t in (-1.0, float("inf"), float("nan")):
        for model in (pnbd, bg):
            with pytest.raises(ParameterError):
                model.expected_purchases(hist, t)
    for horizon in (10**6, 2**40, 2**70):
        for model in (pnbd, bg):
            with pytest.raises(ParameterError, match="horizon"):
                patronage.customer_lifetime_value(model, gg, hist, horizon=horizon)
    # huge frequencies: P(alive) is 0 in the limit, never a hang or a NaN
    huge = pd.DataFrame({"frequency": [1e15, 1e300], "recency": [30.0, 30.0], "T": [38.0, 38.0]})
    for model in (pnbd, bg):
        p = model.p_alive(huge)
        assert ((p >= 0) & (p <= 1)).all() and p.iloc[1] == 0.0
    assert time.perf_counter() - start < 10  # the old code hung on several of these


def _online_retail_summary(freq: str) -> pd.DataFrame:
    path = DATA / "online_retail_ii_2009_2010.csv.gz"
    if not path.exists():
        pytest.skip(f"shared Online Retail II data not found at {path}")
    raw = pd.read_csv(path)
    tx = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
          .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    return patronage.btyd_summary(tx, freq=freq)


# lifetimes 0.11.3 ParetoNBDFitter().fit(frequency, recency, T) on these summaries (days, weeks; returns
# never orders)
LIFETIMES_PARETO = {"D": (0.8793080414901129, 72.20920266115496, 0.013123329291906537, 1735.5462341626005),
                    "W": (0.9913355379770904, 12.424072713699331, 2.129872803500311e-08, 123.7547291004688)}


@pytest.mark.slow
@pytest.mark.parametrize("freq", ["D", "W"])
def test_pareto_on_online_retail_beats_lifetimes(freq: str) -> None:
    summary = _online_retail_summary(freq)
    # with returns no longer counted as orders the log shows little dropout: daily, s and beta grow
    # together (one dropout rate for everyone); weekly, s/beta falls to 0 (lifetimes: s = 2e-8). The fit
    # ends on the ridge and says so, with a log-likelihood at least lifetimes'.
    ridge = {"D": "s and beta grow together", "W": "The data show no dropout"}[freq]
    with pytest.warns(ConvergenceWarning, match=f"ParetoNBD is not identified.*{ridge}"):
        m = patronage.ParetoNBD().fit(summary)
    assert not m.identified_ and m.fit_info_["issues"][0]["kind"] == "ridge"
    assert m.fit_info_["converged"]
    lifetimes_ll = patronage.ParetoNBD.from_params(*LIFETIMES_PARETO[freq]).log_likelihood(summary)
    assert m.log_likelihood_ >= lifetimes_ll - 1e-6
    for forecast in (m.p_alive(summary), m.expected_purchases(summary, 30.0),
                     m.expected_purchases_new_customer(np.array([1.0, 365.0]))):
        assert np.isfinite(forecast).all()


def test_pareto_ridge_ends_quickly_with_a_clear_warning() -> None:
    # one purchase rate and one dropout rate shared by everyone: only r/alpha and s/beta are identified
    rng = np.random.default_rng(3)
    n = 2000
    t = rng.uniform(50, 300, n)
    life = rng.exponential(200, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        end = min(t[i], life[i])
        times = np.sort(rng.uniform(0, end, rng.poisson(0.05 * end)))
        x[i], t_x[i] = len(times), times[-1] if len(times) else 0.0
    summary = pd.DataFrame({"frequency": x, "recency": t_x, "T": t})
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match=r"s and beta grow together.*s/beta = 0\.00[45]"):
        m = patronage.ParetoNBD().fit(summary)
    assert time.perf_counter() - start < 10
    # one account of the cause: the ridge, not also a flat or imprecise s and beta
    assert [(i["kind"], i["parameters"]) for i in m.fit_info_["issues"]] == [("ridge", ["s", "beta"])]
    assert not m.identified_
    assert np.isfinite(m.params_).all()
    # the identified ratio is the simulated mean dropout rate 1/200
    assert m.params_["s"] / m.params_["beta"] == pytest.approx(1 / 200, rel=0.15)
