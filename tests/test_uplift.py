"""Uplift: the metrics against scikit-uplift, the T-/X-learners on Hillstrom and on a simulation with a
known uplift, winback_list by incremental value, bad input."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage import _core
from patronage.exceptions import DataError, ParameterError
from patronage.uplift.metrics import perfect_curve

from .conftest import optional

FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]


def sklift_metrics():
    metrics = optional("sklift.metrics")
    return metrics


def quiet(f, *args, **kwargs):
    """scikit-uplift 0.5.1 calls scikit-learn's deprecated stable_cumsum (a FutureWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return f(*args, **kwargs)


def random_case(seed: int, n: int = 3000, levels: int = 40):
    """Outcomes and treatment with an effect, scores with many ties (rounded)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.uniform(size=n) < 0.2 + 0.15 * t * (x > 0)).astype(int)
    score = np.round((x + rng.normal(0, 1, n)) * levels / 8) / levels
    return y, score, t


# ------------------------------------------------------------------ metrics = scikit-uplift's
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curves_equal_sklift(seed):
    sk = sklift_metrics()
    y, s, t = random_case(seed)
    for ours, theirs, column in ((patronage.qini_curve, sk.qini_curve, "qini"),
                                 (patronage.uplift_curve, sk.uplift_curve, "uplift")):
        curve = ours(y, s, t)
        x_ref, v_ref = quiet(theirs, y, s, t)
        np.testing.assert_array_equal(curve["n_targeted"].to_numpy(), x_ref)
        np.testing.assert_allclose(curve[column].to_numpy(), v_ref, rtol=1e-12, atol=1e-12)
    for negative_effect in (True, False):
        ours = perfect_curve(y, t, "qini", negative_effect)
        x_ref, v_ref = quiet(sk.perfect_qini_curve, y, t, negative_effect=negative_effect)
        np.testing.assert_allclose(ours["n_targeted"], x_ref, rtol=1e-12)
        np.testing.assert_allclose(ours["qini"], v_ref, rtol=1e-12, atol=1e-12)
    ours = perfect_curve(y, t, "uplift")
    x_ref, v_ref = quiet(sk.perfect_uplift_curve, y, t)
    np.testing.assert_array_equal(ours["n_targeted"], x_ref)
    np.testing.assert_allclose(ours["uplift"], v_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scores_equal_sklift(seed):
    sk = sklift_metrics()
    y, s, t = random_case(seed)
    for negative_effect in (True, False):
        assert patronage.qini_coefficient(y, s, t, negative_effect=negative_effect) == pytest.approx(
            quiet(sk.qini_auc_score, y, s, t, negative_effect=negative_effect), abs=1e-12)
    assert patronage.auuc(y, s, t) == pytest.approx(quiet(sk.uplift_auc_score, y, s, t), abs=1e-12)
    for k in (0.1, 0.3, 0.77, 50, 1000):
        for strategy in ("overall", "by_group"):
            expected = quiet(sk.uplift_at_k, y, s, t, strategy=strategy, k=k)
            assert patronage.uplift_at_k(y, s, t, k=k, strategy=strategy) == pytest.approx(expected, abs=1e-12)


def test_ties_at_the_cut_follow_sklift():
    sk = sklift_metrics()
    rng = np.random.default_rng(5)
    y, t = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    s = rng.integers(0, 3, 200).astype(float)  # three tied blocks: every cut splits one
    for k in (7, 0.33, 101):
        assert patronage.uplift_at_k(y, s, t, k=k) == pytest.approx(quiet(sk.uplift_at_k, y, s, t, "overall", k),
                                                                    abs=1e-15)


def test_metrics_by_hand():
    # ranking 0.9 (treated, y=1), 0.5 (control, 0), 0.3 (control, 1), 0.1 (treated, 0)
    curve = patronage.qini_curve([1, 0, 1, 0], [0.9, 0.5, 0.3, 0.1], [1, 0, 0, 1])
    assert curve["qini"].tolist() == [0.0, 1.0, 1.0, 1.0 - 1.0 * 1 / 2, 1.0 - 1.0 * 2 / 2]


def test_series_are_aligned_on_the_index():
    y, s, t = random_case(4, n=500)
    index = pd.Index([f"c{i}" for i in range(500)])
    ys, ss, ts = pd.Series(y, index), pd.Series(s, index), pd.Series(t, index)
    shuffled = ss.sample(frac=1.0, random_state=0)
    assert patronage.qini_coefficient(ys, shuffled, ts) == patronage.qini_coefficient(y, s, t)


def test_metrics_do_not_depend_on_thread_count():
    y, s, t = random_case(6, n=200_000, levels=400)
    one = _core._with_threads(1, lambda: patronage.qini_curve(y, s, t))
    many = _core._with_threads(4, lambda: patronage.qini_curve(y, s, t))
    pd.testing.assert_frame_equal(one, many)


# ------------------------------------------------------------------ learners
@pytest.fixture(scope="module")
def hillstrom_split(shared_data: Path):
    """Women's e-mail vs no e-mail, outcome visit; a seeded 50/50 held-out split."""
    raw = pd.read_csv(shared_data / "hillstrom" / "hillstrom.csv.gz")
    data = raw[raw["treatment"].isin(["Womens E-Mail", "No E-Mail"])].reset_index(drop=True)
    test = np.random.default_rng(2026).uniform(size=len(data)) < 0.5
    treated = (data["treatment"] == "Womens E-Mail").astype(int)
    return data[FEATURES], data["visit"], treated, test


@pytest.mark.parametrize("method", ["t_learner", "x_learner"])
def test_hillstrom_held_out_beats_random_and_metrics_equal_sklift(hillstrom_split, method):
    sk = sklift_metrics()
    X, y, t, test = hillstrom_split
    model = patronage.UpliftClassifier(method, random_state=0).fit(X[~test], y[~test], t[~test])
    uplift = model.predict_uplift(X[test])
    assert uplift.index.equals(X[test].index)
    q = patronage.qini_coefficient(y[test], uplift, t[test])
    assert q > 0.0
    assert q == pytest.approx(quiet(sk.qini_auc_score, y[test], uplift, t[test]), abs=1e-12)
    assert patronage.auuc(y[test], uplift, t[test]) == pytest.approx(
        quiet(sk.uplift_auc_score, y[test], uplift, t[test]), abs=1e-12)
    # the women's e-mail raises visits on average (published: 15.14% vs 10.62%), so does the mean prediction
    assert 0.02 < uplift.mean() < 0.08


def simulated(n: int, seed: int):
    """tau(x) = 0.25 for x1 > 0, -0.10 otherwise; baseline depends on x2."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "noise": rng.normal(size=n)})
    t = rng.integers(0, 2, n)
    tau = np.where(X["x1"] > 0, 0.25, -0.10)
    p = 0.3 + 0.1 * np.tanh(X["x2"]) + t * tau
    y = (rng.uniform(size=n) < p).astype(int)
    return X, y, t, tau


@pytest.mark.parametrize("method,learner", [("t_learner", "logistic"), ("x_learner", "logistic"),
                                            ("t_learner", "gbm"), ("x_learner", "gbm")])
def test_simulation_recovers_sign_and_ranks_better_than_random(method, learner):
    X, y, t, _ = simulated(12_000, 1)
    Xt, yt, tt, tau = simulated(6_000, 2)
    model = patronage.UpliftClassifier(method, learner, random_state=0).fit(X, y, t)
    pred = model.predict_uplift(Xt).to_numpy()
    # the sign of the true effect is recovered for most customers, and the ranking beats random
    assert np.mean(np.sign(pred) == np.sign(tau)) > 0.75
    assert pred[tau > 0].mean() > 0.1 and pred[tau < 0].mean() < 0.0
    assert patronage.qini_coefficient(yt, pred, tt) > 0.1
    assert patronage.auuc(yt, pred, tt) > 0.1


def test_any_sklearn_classifier_and_several_treatments():
    linear = pytest.importorskip("sklearn.linear_model")
    X, y, t01, tau = simulated(8_000, 3)
    labels = np.where(t01 == 1, np.where(np.arange(len(t01)) % 2 == 0, "A", "B"), "none")
    model = patronage.UpliftClassifier("x_learner", linear.LogisticRegression(), control="none",
                                       effect_learner=linear.LinearRegression(), propensity="learner")
    pred = model.fit(X, y, labels).predict_uplift(X)
    assert list(pred.columns) == ["A", "B"] and model.treatments_ == ["A", "B"]
    for label in ("A", "B"):
        assert np.corrcoef(pred[label], tau)[0, 1] > 0.5


def test_same_seed_same_answer_and_pickle():
    X, y, t, _ = simulated(3_000, 4)
    a = patronage.UpliftClassifier("x_learner", "gbm", random_state=7).fit(X, y, t)
    b = patronage.UpliftClassifier("x_learner", "gbm", random_state=7).fit(X, y, t)
    pd.testing.assert_series_equal(a.predict_uplift(X), b.predict_uplift(X))
    again = pickle.loads(pickle.dumps(a))
    pd.testing.assert_series_equal(again.predict_uplift(X), a.predict_uplift(X))
    for m in a.learners_:
        assert m.random_state == 7


def test_sklearn_params_and_clone():
    base = pytest.importorskip("sklearn.base")
    model = patronage.UpliftClassifier("x_learner", "gbm", control="none", random_state=3)
    assert model.get_params(deep=False) == {"control": "none", "effect_learner": None, "learner": "gbm",
                                            "method": "x_learner", "propensity": "share", "random_state": 3}
    copy = base.clone(model).set_params(method="t_learner")
    assert copy.method == "t_learner" and model.method == "x_learner"
    with pytest.raises(patronage.exceptions.NotFittedError):
        model.predict_uplift(pd.DataFrame({"x": [1.0]}))


# ------------------------------------------------------------------ winback_list by incremental value
def test_winback_list_by_incremental_value_by_hand():
    customers = pd.DataFrame({"tier": ["core", "ordinary", "potential", "ordinary"]}, index=list("abcd"))
    value = [1000.0, 50.0, 400.0, 300.0]
    uplift = pd.Series([0.02, 0.30, 0.05, -0.10], index=list("dcba"))  # aligned on the index
    ranked = patronage.winback_list(customers, p_churn=[0.9, 0.2, 0.5, 0.4], value=value, uplift=uplift,
                                    rank_by="incremental_value")
    # a: -0.10 x 1000 = -100; b: 0.05 x 50 = 2.5; c: 0.30 x 400 = 120; d: 0.02 x 300 = 6
    assert ranked.index.tolist() == ["c", "d", "b", "a"]
    assert ranked["incremental_value"].tolist() == pytest.approx([120.0, 6.0, 2.5, -100.0])
    assert ranked["cumulative_incremental_value"].tolist() == pytest.approx([120.0, 126.0, 128.5, 28.5])
    assert ranked["p_lost"].tolist() == [0.5, 0.4, 0.2, 0.9]
    assert ranked["value_at_risk"].tolist() == pytest.approx([200.0, 120.0, 10.0, 900.0])
    assert ranked.columns.tolist()[:8] == ["rank", "p_lost", "value_at_risk", "value", "uplift", "incremental_value",
                                           "cumulative_incremental_value", "reasons"]
    # the default ranking is unchanged: by value at risk
    default = patronage.winback_list(customers, p_churn=[0.9, 0.2, 0.5, 0.4], value=value)
    assert default.index.tolist() == ["a", "c", "d", "b"] and "uplift" not in default
    top2 = patronage.winback_list(customers, value=value, uplift=uplift.to_numpy()[::-1], rank_by="incremental_value",
                                  top=2)
    assert top2.index.tolist() == ["c", "d"] and "p_lost" not in top2


def test_winback_list_incremental_value_bad_input():
    customers = pd.DataFrame(index=list("ab"))
    with pytest.raises(ParameterError, match="uplift") as e:
        patronage.winback_list(customers, value=[1.0, 2.0], rank_by="incremental_value")
    assert e.value.parameter == "uplift"
    with pytest.raises(ParameterError, match="rank_by"):
        patronage.winback_list(customers, p_churn=[0.1, 0.2], value=[1.0, 2.0], rank_by="clv")
    with pytest.raises(ParameterError, match="only used"):
        patronage.winback_list(customers, p_churn=[0.1, 0.2], value=[1.0, 2.0], uplift=[0.1, 0.1])
    with pytest.raises(DataError, match="uplift must be a difference of probabilities") as e:
        patronage.winback_list(customers, value=[1.0, 2.0], uplift=[0.1, 1.5], rank_by="incremental_value")
    assert e.value.field == "uplift"
    with pytest.raises(DataError, match="uplift is NaN"):
        patronage.winback_list(customers, value=[1.0, 2.0], uplift=[0.1, np.nan], rank_by="incremental_value")


# ------------------------------------------------------------------ bad input
def test_metric_bad_input_names_the_parameter():
    y, s, t = [1, 0, 1, 0], [0.4, 0.3, 0.2, 0.1], [1, 1, 0, 0]
    cases = [
        (([1, 0, 2, 0], s, t), DataError, "y_true must be 0 or 1", "y_true"),
        (([1, 0, np.nan, 0], s, t), DataError, "y_true is NaN", "y_true"),
        ((y, s, [1, 1, 1, 1]), DataError, "treatment holds only 1", "treatment"),
        ((y, [0.4, np.inf, 0.2, 0.1], t), DataError, "uplift is NaN or infinite", "uplift"),
        ((y, s[:3], t), DataError, "uplift has 3 rows", "uplift"),
        (([], [], []), DataError, "empty", "y_true"),
        ((y, s, ["a", "b", "a", "b"]), patronage.exceptions.ColumnTypeError, "numeric or boolean", "treatment"),
    ]
    for args, error, message, field in cases:
        with pytest.raises(error, match=message) as e:
            patronage.qini_coefficient(*args)
        assert e.value.field == field
    with pytest.raises(ParameterError, match="no control customer") as e:
        patronage.uplift_at_k(y, s, t, k=2)
    assert e.value.parameter == "k"
    for k in (0, 4, 1.0, -0.1, "top"):
        with pytest.raises(ParameterError) as e:
            patronage.uplift_at_k(y, s, t, k=k)
        assert e.value.parameter == "k"
    with pytest.raises(ParameterError, match="strategy"):
        patronage.uplift_at_k(y, s, t, strategy="top")
    with pytest.raises(ParameterError, match="negative overall effect|overall effect is negative"):
        patronage.qini_coefficient([0, 0, 1, 1], s, t, negative_effect=False)


def test_classifier_bad_input_names_the_column():
    X, y, t, _ = simulated(400, 5)
    model = patronage.UpliftClassifier()
    with pytest.raises(DataError, match="treatment holds one group") as e:
        model.fit(X, y, np.zeros(len(y), int))
    assert e.value.field == "treatment"
    with pytest.raises(DataError, match="y is NaN") as e:
        model.fit(X, np.where(np.arange(len(y)) == 3, np.nan, y), t)
    assert e.value.field == "y"
    with pytest.raises(DataError, match="y must be 0 or 1") as e:
        model.fit(X, y * 2 + 1, t)
    assert e.value.field == "y"
    with pytest.raises(ParameterError, match="control label 'none' does not occur") as e:
        patronage.UpliftClassifier(control="none").fit(X, y, t)
    assert e.value.parameter == "control"
    with pytest.raises(ParameterError, match="no 0/False label") as e:
        model.fit(X, y, np.where(t == 1, "mail", "none"))
    with pytest.raises(DataError, match="treatment is missing at row 0"):
        model.fit(X, y, pd.Series(np.where(t == 1, "mail", None)).where(np.arange(len(t)) > 0))
    with pytest.raises(DataError, match="only y = 0 in treatment group 1"):
        model.fit(X, np.where(t == 1, 0, y), t)
    with pytest.raises(ParameterError, match="method") as e:
        patronage.UpliftClassifier("s_learner").fit(X, y, t)
    with pytest.raises(ParameterError, match="learner"):
        patronage.UpliftClassifier(learner="forest").fit(X, y, t)
    fitted = patronage.UpliftClassifier().fit(X, y, t)
    with pytest.raises(DataError, match="columns"):
        fitted.predict_uplift(X[["x2", "x1", "noise"]])
    before = X.copy()
    patronage.UpliftClassifier("x_learner").fit(X, y, t)
    pd.testing.assert_frame_equal(X, before)


def test_plot_qini_draws_model_random_and_perfect():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, s, t = random_case(8, n=400)
    ax = patronage.plot_qini(y, s, t)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[1:] == ["random", "perfect"] and labels[0].startswith("model (Qini coefficient")
    model_line, random_line, perfect_line = ax.get_lines()
    np.testing.assert_allclose(model_line.get_ydata(), patronage.qini_curve(y, s, t)["qini"])
    assert random_line.get_ydata()[-1] == pytest.approx(model_line.get_ydata()[-1])
    assert max(perfect_line.get_ydata()) >= max(model_line.get_ydata())
    ax2 = patronage.plot_qini(y, s, t, kind="uplift")
    assert ax2.get_title() == "Uplift curve"
    plt.close("all")
