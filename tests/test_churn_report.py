"""churn_report against scikit-learn's metrics (ties included), gains and
calibration tables, choose_threshold, backtest and the plots (Agg)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import patronage
from patronage.exceptions import DataError, ParameterError

pytest.importorskip("sklearn")
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
    roc_curve,
)


def check_against_sklearn(y, p):
    r = patronage.churn_report(y, p)
    assert r.roc_auc == pytest.approx(roc_auc_score(y, p), abs=1e-9)
    assert r.pr_auc == pytest.approx(average_precision_score(y, p), abs=1e-9)
    assert r.log_loss == pytest.approx(log_loss(y, p, labels=[0, 1]), abs=1e-9)
    assert r.brier == pytest.approx(brier_score_loss(y, p), abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10)), min_size=2, max_size=60).filter(
    lambda rows: len({y for y, _ in rows}) == 2))
def test_metrics_equal_sklearn_with_ties(rows):
    y = np.array([int(v) for v, _ in rows])
    p = np.array([k / 10 for _, k in rows])  # 11 levels: many ties, and exact 0 and 1
    check_against_sklearn(y, p)


def test_metrics_equal_sklearn_large():
    rng = np.random.default_rng(0)
    p = rng.beta(2, 5, 20_000)
    y = (rng.random(20_000) < p).astype(int)
    check_against_sklearn(y, p)
    check_against_sklearn(y, np.round(p, 2))


def test_gains_table_by_hand():
    # 20 customers, risk descending = input order; churners at ranks 1, 2, 3, 5, 9, 20
    p = np.linspace(0.95, 0.0, 20)
    y = np.zeros(20, dtype=int)
    y[[0, 1, 2, 4, 8, 19]] = 1
    r = patronage.churn_report(y, p)
    g = r.gains
    assert g["customers"].tolist() == [2] * 10
    assert g["churners"].tolist() == [2, 1, 1, 0, 1, 0, 0, 0, 0, 1]
    assert r.base_rate == pytest.approx(0.3)
    assert r.top_decile_lift == pytest.approx(1.0 / 0.3)
    assert g["cum_share_churners"].iloc[2] == pytest.approx(4 / 6)
    assert g["cum_lift"].iloc[2] == pytest.approx((4 / 6) / 0.3)
    assert g["cum_share_customers"].iloc[-1] == pytest.approx(1.0)
    assert r.summary()["top_decile_lift"] == pytest.approx(1.0 / 0.3)
    assert "Gains by decile" in r._repr_html_()


def test_calibration_table_equals_sklearn_calibration_curve():
    rng = np.random.default_rng(1)
    p = np.round(rng.random(3000), 3)
    p[:10] = [0.1, 0.2, 0.5, 0.9, 1.0, 0.0, 0.3, 0.7, 0.4, 0.6]  # values on bin edges
    y = (rng.random(3000) < p).astype(int)
    table = patronage.churn_report(y, p).calibration
    true, pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(table["observed_rate"], true, atol=1e-12)
    np.testing.assert_allclose(table["mean_predicted"], pred, atol=1e-12)
    assert table["customers"].sum() == 3000


def test_report_bad_input():
    with pytest.raises(DataError, match="0/1 labels"):
        patronage.churn_report([0, 2], [0.1, 0.2])
    with pytest.raises(DataError, match=r"proba must be probabilities in \[0, 1\], got 1.5"):
        patronage.churn_report([0, 1], [0.1, 1.5])
    with pytest.raises(DataError, match="only one class"):
        patronage.churn_report([1, 1], [0.1, 0.2])
    with pytest.raises(DataError, match="different indexes"):
        patronage.churn_report(pd.Series([0, 1], index=[1, 2]), pd.Series([0.1, 0.2], index=[2, 1]))
    with pytest.raises(DataError, match="y_true has 2 values, proba 3"):
        patronage.churn_report([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ParameterError, match="n_bins"):
        patronage.churn_report([0, 1], [0.1, 0.2], n_bins=1)


def test_choose_threshold_rules():
    p = np.array([0.9, 0.9, 0.8, 0.5, 0.4, 0.3, 0.2, 0.2, 0.1, 0.05])
    assert patronage.choose_threshold(p, share=0.1) == pytest.approx(0.85)  # tie at 0.9: both contacted
    assert patronage.choose_threshold(p, share=0.3) == pytest.approx(0.65)
    assert (p > patronage.choose_threshold(p, share=0.5)).sum() == 5
    assert (p > patronage.choose_threshold(p, share=1.0)).sum() == 10
    # contacting a customer pays when p * 0.5 * 100 > 20, i.e. p > 0.4
    t = patronage.choose_threshold(p, "max_profit", contact_cost=20, customer_value=100, success_rate=0.5)
    assert t == pytest.approx(0.4)
    profit = lambda k: sorted(p * 50 - 20, reverse=True)[:k]  # noqa: E731
    best_k = max(range(11), key=lambda k: sum(profit(k)))
    assert (p > t).sum() == best_k
    with pytest.raises(ParameterError, match="share"):
        patronage.choose_threshold(p, share=0)
    with pytest.raises(ParameterError, match="needs contact_cost and customer_value"):
        patronage.choose_threshold(p, "max_profit")
    with pytest.raises(ParameterError, match="rule"):
        patronage.choose_threshold(p, "top_k")
    with pytest.raises(DataError, match="proba"):
        patronage.choose_threshold([0.2, np.nan])


def test_backtest_on_cdnow_matches_a_manual_run():
    tx = patronage.datasets.load_cdnow()
    cutoffs = ["1997-06-30", "1997-09-30", "1998-01-31"]
    models = {"lr": patronage.ChurnClassifier("logistic", C=0.5), "gbm": "gbm"}
    bt = patronage.backtest(tx, cutoffs, horizon="90D", models=models)
    assert bt["model"].tolist() == ["lr", "gbm", "recency"] * 2
    assert bt["test_cutoff"].unique().tolist() == [pd.Timestamp("1997-09-30"), pd.Timestamp("1998-01-31")]
    X_tr, y_tr = patronage.churn_dataset(tx, cutoff="1997-09-30", horizon="90D")
    X_te, y_te = patronage.churn_dataset(tx, cutoff="1998-01-31", horizon="90D")
    last = bt[bt["test_cutoff"] == pd.Timestamp("1998-01-31")].set_index("model")
    clf = patronage.ChurnClassifier("logistic", C=0.5).fit(X_tr, y_tr)
    p = clf.predict_proba(X_te)[:, 1]
    assert last.loc["lr", "roc_auc"] == pytest.approx(roc_auc_score(y_te, p), abs=1e-12)
    # the recency baseline ranks exactly as recency does
    assert last.loc["recency", "roc_auc"] == pytest.approx(roc_auc_score(y_te, X_te["recency_days"]), abs=1e-12)
    assert last.loc["lr", "n_test"] == len(y_te) and last.loc["lr", "test_churn_rate"] == pytest.approx(y_te.mean())
    # top-decile lift and calibration error by hand: the riskiest tenth's churn rate over the base rate;
    # |mean predicted - observed| per uniform bin, weighted by customers (scikit-learn's calibration_curve bins)
    from sklearn.calibration import calibration_curve

    k = len(p) // 10 + (len(p) % 10 > 0)
    top = np.argsort(-p, kind="stable")[:k]
    assert last.loc["lr", "top_decile_lift"] == pytest.approx(y_te.to_numpy()[top].mean() / y_te.mean())
    obs, pred = calibration_curve(y_te, p, n_bins=10, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], p), minlength=10)
    counts = counts[counts > 0]
    assert last.loc["lr", "calibration_error"] == pytest.approx((np.abs(pred - obs) * counts).sum() / len(p))
    assert last.loc["lr", "mean_predicted"] == pytest.approx(p.mean())
    assert (bt["roc_auc"] > 0.7).all()
    for _, fold in bt.groupby("test_cutoff"):  # the logistic model beats the baseline out of time
        auc = fold.set_index("model")["roc_auc"]
        assert auc["lr"] > auc["recency"]
    with pytest.raises(ParameterError, match="less than one horizon"):
        patronage.backtest(tx, ["1997-06-30", "1997-08-30"], horizon="90D")
    with pytest.raises(ParameterError, match="at least two"):
        patronage.backtest(tx, ["1997-06-30"])
    with pytest.raises(ParameterError, match="models"):
        patronage.backtest(tx, cutoffs, models=["logistic", "logistic"])


def test_plots_return_axes():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from patronage.churn import plot_calibration, plot_feature_effects, plot_gains, plot_roc
    from patronage.churn.plots import roc_points

    rng = np.random.default_rng(2)
    p = np.round(rng.random(500), 2)
    y = (rng.random(500) < p).astype(int)
    fpr, tpr = roc_points(y, p)
    ref_fpr, ref_tpr, _ = roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    ax = plot_roc(y, p)
    assert "AUC" in ax.get_legend().get_texts()[0].get_text()
    ax = plot_roc(y, p, color="red", linestyle=":")  # keywords reach the model's line, as in pandas
    assert ax.lines[0].get_color() == "red" and ax.lines[0].get_linestyle() == ":"
    assert plot_calibration(y, p, color="green", marker="x").lines[0].get_marker() == "x"
    ax = plot_gains(y, p, color="red")
    assert ax.lines[0].get_ydata()[-1] == pytest.approx(1.0) and ax.lines[0].get_color() == "red"
    # the best possible curve reaches every churner after contacting the churn-rate share (hand-computed)
    best = ax.lines[1]
    assert list(best.get_xdata()) == [0, y.mean(), 1] and list(best.get_ydata()) == [0, 1, 1]
    assert f"churn rate {y.mean():.0%}" in ax.get_title()
    ax = plot_gains(y, p, kind="lift")
    assert ax.lines[0].get_ydata()[-1] == pytest.approx(1.0)
    ax = plot_calibration(y, p)
    assert len(ax.lines) == 2
    X = pd.DataFrame({"a": p + rng.normal(0, 0.1, 500), "b": rng.normal(size=500)})
    for model in ("logistic", "gbm"):
        clf = patronage.ChurnClassifier(model, max_iter=10).fit(X, y)
        ax = plot_feature_effects(clf, top=1)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["a"]
        # an importance has no direction: one colour, no zero line; a coefficient's sign is its colour
        assert len(ax.lines) == (1 if model == "logistic" else 0)
        assert ("red" in ax.get_title()) == (model == "logistic")
    with pytest.raises(ParameterError, match="kind"):
        plot_gains(y, p, kind="roc")
    plt.close("all")
