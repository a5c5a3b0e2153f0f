"""patronage.campaign: control assignment, power, effects (Newcombe, Welch, bootstrap, CUPED, Holm).

References: statsmodels (Newcombe's interval, Katz's log ratio interval, the pooled z test,
NormalIndPower, Holm), scipy (Welch's t test and interval), the published Hillstrom group means,
and a seeded simulation with a known effect for CUPED.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import optional
from patronage import _core
from patronage.campaign import (CampaignResult, assign_control, measure_effect, minimum_detectable_effect,
                                plot_effects, pre_period_spend, sample_size)
from patronage.datasets import load_hillstrom
from patronage.exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError


@pytest.fixture(scope="module")
def hillstrom(shared_data) -> pd.DataFrame:
    return load_hillstrom(shared_data / "hillstrom" / "hillstrom.csv.gz")


# ----------------------------------------------------------------------------- Hillstrom


def test_hillstrom_group_means_to_the_printed_digits(hillstrom):
    r = measure_effect(hillstrom, treatment="treatment", outcome=["visit", "conversion", "spend"],
                       control="No E-Mail")
    t = r.table.set_index(["outcome", "treatment"])
    published = {"visit": (18.28, 15.14, 10.62), "conversion": (1.25, 0.88, 0.57)}
    for outcome, (mens, womens, none) in published.items():
        assert round(100 * t.loc[(outcome, "Mens E-Mail"), "mean_treated"], 2) == mens
        assert round(100 * t.loc[(outcome, "Womens E-Mail"), "mean_treated"], 2) == womens
        assert round(100 * t.loc[(outcome, "Mens E-Mail"), "mean_control"], 2) == none
    assert round(t.loc[("spend", "Mens E-Mail"), "mean_treated"], 4) == 1.4226
    assert round(t.loc[("spend", "Womens E-Mail"), "mean_treated"], 4) == 1.0772
    assert round(t.loc[("spend", "Womens E-Mail"), "mean_control"], 4) == 0.6528
    assert list(t["method"].unique()) == ["newcombe", "welch"]
    assert (t["n_treated"] + t["n_control"]).groupby("outcome").sum().eq(64000 + 21306).all()


def test_womens_visit_effect_equals_statsmodels_and_scipy(hillstrom):
    proportion = optional("statsmodels.stats.proportion")
    stats = optional("scipy.stats")
    women = hillstrom.loc[hillstrom["treatment"] == "Womens E-Mail", "visit"].to_numpy()
    none = hillstrom.loc[hillstrom["treatment"] == "No E-Mail", "visit"].to_numpy()
    r = measure_effect(hillstrom, treatment="treatment", outcome="visit", control="No E-Mail").table
    row = r.set_index("treatment").loc["Womens E-Mail"]
    low, high = proportion.confint_proportions_2indep(women.sum(), len(women), none.sum(), len(none),
                                                      method="newcomb", compare="diff", alpha=0.05)
    assert abs(row["ci_low"] - low) < 1e-9 and abs(row["ci_high"] - high) < 1e-9
    assert row["difference"] == pytest.approx(women.mean() - none.mean(), abs=1e-15)
    # Katz's log interval of the ratio, lift = ratio - 1
    rlow, rhigh = proportion.confint_proportions_2indep(women.sum(), len(women), none.sum(), len(none),
                                                        method="log", compare="ratio", alpha=0.05)
    assert abs(row["lift_low"] - (rlow - 1)) < 1e-9 and abs(row["lift_high"] - (rhigh - 1)) < 1e-9
    # the pooled two-proportion z test
    _, p = optional("statsmodels.stats.proportion").proportions_ztest([women.sum(), none.sum()],
                                                                      [len(women), len(none)])
    assert row["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-300)
    # the same outcome as a mean: Welch's interval equals scipy's
    welch = measure_effect(hillstrom, treatment="treatment", outcome="visit", control="No E-Mail",
                           kind="continuous").table.set_index("treatment").loc["Womens E-Mail"]
    test = stats.ttest_ind(women, none, equal_var=False)
    ci = test.confidence_interval(0.95)
    assert abs(welch["ci_low"] - ci.low) < 1e-9 and abs(welch["ci_high"] - ci.high) < 1e-9
    assert welch["method"] == "welch"


def test_spend_welch_and_incremental_revenue(hillstrom):
    stats = optional("scipy.stats")
    r = measure_effect(hillstrom, treatment="treatment", outcome="spend", control="No E-Mail").table
    for _, row in r.iterrows():
        treated = hillstrom.loc[hillstrom["treatment"] == row["treatment"], "spend"]
        none = hillstrom.loc[hillstrom["treatment"] == "No E-Mail", "spend"]
        test = stats.ttest_ind(treated, none, equal_var=False)
        ci = test.confidence_interval(0.95)
        assert abs(row["ci_low"] - ci.low) < 1e-9 and abs(row["ci_high"] - ci.high) < 1e-9
        assert row["p_value"] == pytest.approx(test.pvalue, rel=1e-9)
        assert row["incremental"] == pytest.approx((treated.mean() - none.mean()) * len(treated), rel=1e-12)
        assert row["incremental_low"] == pytest.approx(ci.low * len(treated), rel=1e-9)


def test_segments_with_holm(hillstrom):
    multitest = optional("statsmodels.stats.multitest")
    r = measure_effect(hillstrom, treatment="treatment", outcome="visit", control="No E-Mail",
                       segment="zip_code").table
    assert len(r) == 6 and set(r["segment"]) == {"Rural", "Surburban", "Urban"}
    _, adjusted, _, _ = multitest.multipletests(r["p_value"], method="holm")
    np.testing.assert_allclose(r["p_adjusted"], adjusted, rtol=1e-12)
    rural = hillstrom[hillstrom["zip_code"] == "Rural"]
    alone = measure_effect(rural, treatment="treatment", outcome="visit", control="No E-Mail").table
    mine = r[r["segment"] == "Rural"].reset_index(drop=True)
    np.testing.assert_allclose(mine[["difference", "ci_low", "ci_high"]], alone[["difference", "ci_low", "ci_high"]])


def test_bootstrap_is_seeded_thread_independent_and_close_to_welch(hillstrom):
    kwargs = dict(treatment="treatment", outcome="spend", control="No E-Mail", n_resamples=1000)
    a = measure_effect(hillstrom, random_state=5, **kwargs).table
    b = _core._with_threads(1, lambda: measure_effect(hillstrom, random_state=5, **kwargs).table)
    pd.testing.assert_frame_equal(a, b)
    c = measure_effect(hillstrom, random_state=6, **kwargs).table
    assert not np.array_equal(a["ci_low"], c["ci_low"])
    welch = measure_effect(hillstrom, treatment="treatment", outcome="spend", control="No E-Mail").table
    # 21,000 rows a group: the percentile interval is close to Welch's (within 25% of the half-width;
    # spend's skew moves it a little)
    half = (welch["ci_high"] - welch["ci_low"]) / 2
    assert ((a["ci_low"] - welch["ci_low"]).abs() < 0.25 * half).all()
    assert ((a["ci_high"] - welch["ci_high"]).abs() < 0.25 * half).all()
    assert (a["method"] == "bootstrap").all()


# ----------------------------------------------------------------------------- CUPED


def _simulated(seed: int, n: int = 2000, effect: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2.0, 5.0, n)
    treated = rng.permutation(np.repeat([True, False], n // 2))
    spend = 0.8 * pre + rng.normal(0.0, 3.0, n) + effect * treated
    return pd.DataFrame({"group": np.where(treated, "mail", "none"), "spend": spend, "pre": pre})


def test_cuped_unbiased_and_narrower_over_200_seeds():
    effect = 0.5
    est, width_cuped, width_plain, reduction = [], [], [], []
    for seed in range(200):
        df = _simulated(seed, effect=effect)
        c = measure_effect(df, treatment="group", outcome="spend", control="none", covariate="pre").table.iloc[0]
        p = measure_effect(df, treatment="group", outcome="spend", control="none").table.iloc[0]
        est.append(c["difference"])
        width_cuped.append(c["ci_high"] - c["ci_low"])
        width_plain.append(p["ci_high"] - p["ci_low"])
        reduction.append(c["variance_reduction"])
        assert c["method"] == "cuped-welch"
    est = np.array(est)
    # unbiased: the mean estimate is within 3 standard errors of the true effect
    assert abs(est.mean() - effect) < 3 * est.std(ddof=1) / math.sqrt(len(est))
    # var(0.8 pre) = 0.64 * 50 = 32 against noise 9: CUPED removes about 32 / 41 of the variance
    assert np.mean(reduction) == pytest.approx(32 / 41, abs=0.03)
    ratio = np.mean(width_cuped) / np.mean(width_plain)
    assert ratio == pytest.approx(math.sqrt(1 - np.mean(reduction)), rel=0.02)
    assert ratio < 0.5


def test_cuped_theta_by_hand():
    df = _simulated(1)
    r = measure_effect(df, treatment="group", outcome="spend", control="none", covariate="pre").table.iloc[0]
    theta = np.cov(df["pre"], df["spend"])[0, 1] / df["pre"].var()
    assert r["theta"] == pytest.approx(theta, rel=1e-12)
    adjusted = df["spend"] - theta * (df["pre"] - df["pre"].mean())
    means = adjusted.groupby(df["group"]).mean()
    assert r["difference"] == pytest.approx(means["mail"] - means["none"], rel=1e-12)


def test_pre_period_spend_from_a_log():
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, 2, 3],
                       "date": pd.to_datetime(["2024-01-01", "2024-02-29", "2024-03-01", "2023-03-01",
                                               "2023-03-02", "2024-05-01"]),
                       "amount": [10.0, 5.0, 100.0, 7.0, -2.0, 50.0]})
    before = tx.copy()
    s = pre_period_spend(tx, "2024-03-01", days=366, customers=[1, 2, 3, 4])
    pd.testing.assert_frame_equal(tx, before)
    # window [2023-03-01, 2024-03-01): 2024 is a leap year, so 366 days back is 2023-03-01
    assert s.to_dict() == {1: 15.0, 2: 5.0, 3: 0.0, 4: 0.0}
    with pytest.raises(ParameterError, match="days"):
        pre_period_spend(tx, "2024-03-01", days=0)


# ----------------------------------------------------------------------------- design


def test_assignment_reproducible_with_exact_shares():
    customers = pd.DataFrame({"tier": np.repeat(["gold", "silver", "bronze"], [50, 333, 1017])},
                             index=pd.RangeIndex(1400, name="customer_id"))
    before = customers.copy()
    a = assign_control(customers, share=0.1, strata="tier", random_state=3)
    pd.testing.assert_frame_equal(customers, before)
    b = assign_control(customers, share=0.1, strata="tier", random_state=3)
    pd.testing.assert_series_equal(a["control"], b["control"])
    assert a.groupby("tier")["control"].sum().to_dict() == {"bronze": 102, "gold": 5, "silver": 33}
    c = _core._with_threads(1, lambda: assign_control(customers, share=0.1, strata="tier", random_state=3))
    pd.testing.assert_series_equal(a["control"], c["control"])
    assert not assign_control(customers, share=0.1, strata="tier", random_state=4)["control"].equals(a["control"])
    assert a.attrs["control_assignment"]["seed"] == 3
    counts = assign_control(customers, count={"gold": 10, "silver": 20, "bronze": 30}, strata="tier",
                            random_state=0)
    assert counts.groupby("tier")["control"].sum().to_dict() == {"bronze": 30, "gold": 10, "silver": 20}
    # a stratum's draw does not depend on the other strata's requests
    other = assign_control(customers, count={"gold": 10, "silver": 5, "bronze": 1}, strata="tier", random_state=0)
    gold = customers["tier"] == "gold"
    pd.testing.assert_series_equal(counts.loc[gold, "control"], other.loc[gold, "control"])


def test_assignment_is_a_fair_draw():
    # each of 10 rows lands in a 3-of-10 control group with probability 0.3 over seeds
    customers = pd.DataFrame({"x": range(10)})
    hits = sum(assign_control(customers, count=3, random_state=s)["control"].to_numpy(dtype=int)
               for s in range(3000))
    # binomial(3000, 0.3): sd 25.1; 4 sd
    assert np.all(np.abs(hits - 900) < 101)


def test_sample_size_matches_statsmodels():
    power = optional("statsmodels.stats.power")
    proportion = optional("statsmodels.stats.proportion")
    h = proportion.proportion_effectsize(0.06, 0.05)
    want = power.NormalIndPower().solve_power(h, alpha=0.05, power=0.8, ratio=1.0)
    got = sample_size(0.01, baseline=0.05)
    assert got.effect_size == pytest.approx(h, rel=1e-12)
    assert got.n_treated == math.ceil(want) and got.n_control == math.ceil(want)
    want = power.NormalIndPower().solve_power(0.15, alpha=0.01, power=0.9, ratio=2.0)
    got = sample_size(1.5, sd=10.0, alpha=0.01, power=0.9, ratio=2.0)
    assert got.n_treated == math.ceil(want) and got.n_control == math.ceil(2 * want)
    # statsmodels' own solver for the effect stops early (its answer has power 0.79997), so the
    # detectable effects are checked by statsmodels' forward power function: exactly the target power
    normal = power.NormalIndPower()
    d = minimum_detectable_effect(1000, sd=2.0, ratio=0.5) / 2.0
    assert normal.power(d, nobs1=1000, alpha=0.05, ratio=0.5) == pytest.approx(0.8, abs=1e-12)
    mde = minimum_detectable_effect(5000, baseline=0.1, alpha=0.01, power=0.9)
    h = proportion.proportion_effectsize(0.1 + mde, 0.1)
    assert normal.power(h, nobs1=5000, alpha=0.01) == pytest.approx(0.9, abs=1e-12)
    # textbook closed form 2 (z_0.975 + z_0.8)^2 / d^2 = 62.79 for d = 0.5: 63 per group (Cohen's t-based
    # table 2.4.1 says 64)
    assert sample_size(0.5, sd=1.0).n_treated == 63


# ----------------------------------------------------------------------------- result, plot


def test_result_html_and_plot():
    plt = optional("matplotlib.pyplot")
    df = _simulated(0)
    df["tier"] = np.where(np.arange(len(df)) % 2 == 0, "a", "b")
    r = measure_effect(df, treatment="group", outcome=["spend", "pre"], control="none", segment="tier")
    assert isinstance(r, CampaignResult)
    html = r._repr_html_()
    assert "<table" in html and "95% intervals" in html and "spend" in html
    ax = plot_effects(r, outcome="spend")
    assert len(ax.get_yticklabels()) == 2 and "mail | a" in [t.get_text() for t in ax.get_yticklabels()]
    with pytest.raises(ParameterError, match="outcome"):
        plot_effects(r)
    plt.close("all")


# ----------------------------------------------------------------------------- bad input


def test_bad_input_errors():
    df = pd.DataFrame({"group": ["a", "a", "b", "b"], "visit": [1, 0, 1, 1], "spend": [1.0, 2.0, 3.0, 4.0]})
    before = df.copy()
    with pytest.raises(DataError, match="'group' has one group"):
        measure_effect(df.assign(group="a"), treatment="group", outcome="visit", control="a")
    with pytest.raises(ParameterError, match="control='z' is not a label of column 'group'") as e:
        measure_effect(df, treatment="group", outcome="visit", control="z")
    assert e.value.parameter == "control"
    nan = df.assign(spend=[1.0, np.nan, 3.0, 4.0])
    with pytest.raises(DataError, match="column 'spend' is NaN or infinite at index label 1") as d:
        measure_effect(nan, treatment="group", outcome="spend", control="a")
    assert d.value.field == "spend"
    with pytest.raises(DataError, match="column 'spend': a binary outcome must be 0 or 1, got 2 at index label 1"):
        measure_effect(df, treatment="group", outcome="spend", control="a", kind="binary")
    with pytest.raises(ColumnTypeError, match="'visit'"):
        measure_effect(df.assign(visit=list("yyny")), treatment="group", outcome="visit", control="a")
    with pytest.raises(MissingColumnError):
        measure_effect(df, treatment="group", outcome="revenue", control="a")
    with pytest.raises(DataError, match="group 'b' has 1 customers"):
        measure_effect(df.iloc[:3], treatment="group", outcome="visit", control="a")
    with pytest.raises(DataError, match="'group' is missing at index label 2"):
        measure_effect(df.assign(group=["a", "a", None, "b"]), treatment="group", outcome="visit", control="a")
    with pytest.raises(DataError, match="column 'pre' is NaN"):
        measure_effect(df.assign(pre=[1.0, np.inf, 2.0, 3.0]), treatment="group", outcome="spend", control="a",
                       covariate="pre")
    with pytest.raises(DataError, match="constant in both groups"):
        measure_effect(df.assign(spend=3.0), treatment="group", outcome="spend", control="a")
    with pytest.raises(ParameterError, match="n_resamples"):
        measure_effect(df, treatment="group", outcome="spend", control="a", n_resamples=5)
    with pytest.raises(ParameterError, match="confidence"):
        measure_effect(df, treatment="group", outcome="spend", control="a", confidence=1.5)
    with pytest.raises(ParameterError, match="kind"):
        measure_effect(df, treatment="group", outcome="spend", control="a", kind="ratio")
    pd.testing.assert_frame_equal(df, before)

    customers = pd.DataFrame({"tier": ["gold"] * 3 + ["silver"] * 30})
    with pytest.raises(ParameterError, match="stratum 'gold' of 'tier' has 3 customers: share=0.1 gives 0") as p:
        assign_control(customers, share=0.1, strata="tier")
    assert p.value.parameter == "share"
    with pytest.raises(ParameterError, match="stratum 'gold' of 'tier' has 3 customers: count=3"):
        assign_control(customers, count=3, strata="tier")
    with pytest.raises(ParameterError, match="exactly one of share= and count="):
        assign_control(customers, share=0.5, count=2)
    with pytest.raises(ParameterError, match="share must be a number strictly between 0 and 1"):
        assign_control(customers, share=1.5)
    with pytest.raises(ParameterError, match="no entry for stratum 'silver'"):
        assign_control(customers, share={"gold": 0.5}, strata="tier")
    with pytest.raises(ParameterError, match="already has a column 'tier'"):
        assign_control(customers, share=0.5, column="tier")
    with pytest.raises(DataError, match="'tier' is missing"):
        assign_control(customers.assign(tier=[None] + ["gold"] * 32), share=0.5, strata="tier")

    with pytest.raises(ParameterError, match="exactly one of baseline"):
        sample_size(0.01)
    with pytest.raises(ParameterError, match="effect"):
        sample_size(0.0, sd=1.0)
    with pytest.raises(ParameterError, match="too small"):
        sample_size(1e-9, sd=1.0)
    with pytest.raises(ParameterError, match="power"):
        sample_size(0.1, sd=1.0, power=1.0)
    with pytest.raises(ParameterError, match="alpha"):
        sample_size(0.1, sd=1.0, alpha=float("nan"))
    with pytest.raises(ParameterError, match="baseline \\+ effect"):
        sample_size(0.5, baseline=0.6)
    with pytest.raises(ParameterError, match="n_treated"):
        minimum_detectable_effect(2, baseline=0.99)
