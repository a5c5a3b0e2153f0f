"""Per-customer explanations: additivity, TreeSHAP against the shap package on
the same trees, the exact linear terms, the plain-language reasons, the
win-back list that uses them, and the waterfall plot."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import DataError, ParameterError


@pytest.fixture(scope="module")
def cdnow():
    tx = patronage.datasets.load_cdnow()
    X, y = patronage.churn_dataset(tx, cutoff="1997-09-30", horizon="90D")
    return X, y


@pytest.mark.parametrize("model", ["logistic", "gbm"])
def test_contributions_add_up_to_the_log_odds_on_every_row(cdnow, model):
    X, y = cdnow
    clf = patronage.ChurnClassifier(model, random_state=0).fit(X, y)
    phi = clf.explain(X)
    assert phi.index.equals(X.index) and list(phi.columns) == clf.feature_names_out_
    total = phi.sum(axis=1).to_numpy() + clf.base_value_
    np.testing.assert_allclose(total, clf.decision_function(X), rtol=0, atol=1e-9)


def shap_model(clf):
    """Our fitted trees in shap's dictionary format (no refit: the very trees)."""
    doc = json.loads(clf.model_.to_json())
    trees = []
    for tree in doc["trees"]:
        nodes = tree["nodes"]
        leaf = np.array([n["left"] == 0 for n in nodes])
        left = np.array([-1 if lf else n["left"] for n, lf in zip(nodes, leaf)])
        right = np.array([-1 if lf else n["right"] for n, lf in zip(nodes, leaf)])
        trees.append({
            "children_left": left, "children_right": right,
            "children_default": np.where(leaf, -1, np.where([n["missing_left"] for n in nodes], left, right)),
            "feature": np.array([-2 if lf else n["feature"] for n, lf in zip(nodes, leaf)]),
            "threshold": np.array([n["threshold"] for n in nodes], dtype=np.float64),
            "value": np.array([n["value"] for n in nodes], dtype=np.float64)[:, None],
            "node_sample_weight": np.array([n["cover"] for n in nodes], dtype=np.float64),
        })
    return {"trees": trees, "base_offset": doc["baseline"], "input_dtype": np.float64,
            "internal_dtype": np.float64, "tree_output": "log_odds"}


def test_gbm_tree_shap_equals_the_shap_package_on_the_same_trees(cdnow):
    shap = pytest.importorskip("shap")
    X, y = cdnow
    X = X.copy()
    X.iloc[::7, 5] = np.nan  # missing values follow each split's learned side
    clf = patronage.ChurnClassifier("gbm", impute="native", max_iter=40, random_state=0).fit(X, y)
    rows = X.iloc[:3000]
    explainer = shap.TreeExplainer(shap_model(clf), feature_perturbation="tree_path_dependent")
    ref = explainer.shap_values(rows.to_numpy())
    ours = clf.explain(rows)
    np.testing.assert_allclose(ours.to_numpy(), ref, rtol=0, atol=1e-9)
    assert clf.base_value_ == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-9)


def test_logistic_terms_are_coefficients_times_distance_from_the_mean(cdnow):
    X, y = cdnow
    clf = patronage.ChurnClassifier("logistic").fit(X, y)
    phi = clf.explain(X.iloc[:500])
    mean = clf.model_.mean
    np.testing.assert_allclose(phi.to_numpy(), clf.coef_[0] * (X.iloc[:500].to_numpy() - mean), atol=1e-9, rtol=1e-9)
    # the base value is the log-odds at the training means
    at_mean = pd.DataFrame([mean], columns=X.columns)
    assert clf.base_value_ == pytest.approx(clf.decision_function(at_mean)[0], abs=1e-12)


def test_explain_is_the_same_on_one_thread_and_ignores_calibration(cdnow):
    from patronage import _core

    X, y = cdnow
    clf = patronage.ChurnClassifier("gbm", max_iter=20, calibration="isotonic", random_state=0).fit(X, y)
    one = _core._with_threads(1, lambda: clf.explain(X))
    pd.testing.assert_frame_equal(one, clf.explain(X), check_exact=True)
    np.testing.assert_allclose(one.sum(axis=1) + clf.base_value_, clf.decision_function(X), atol=1e-9)


def test_reasons_describe_the_largest_risk_raising_contributions():
    X = pd.DataFrame({
        "recency_days": [200.0, 3, 15, 180, 9, 30] * 20,
        "recency_to_gap": [3.14, 0.1, 0.5, 4.0, 0.2, 1.0] * 20,
        "spend_recent": [40.0, 90, 70, 0, 80, 60] * 20,
        "spend_previous": [100.0, 80, 75, 50, 60, 65] * 20,
        "spend_trend": [-0.43, 0.06, -0.03, -1.0, 0.14, -0.04] * 20,
        "plan": ["basic", "pro", "pro", "basic", "pro", "basic"] * 20,
    }, index=pd.Index(range(120), name="customer_id"))
    y = pd.Series([1, 0, 0, 1, 0, 0] * 20, index=X.index)
    y.iloc[[5, 11]] = 1  # not separable
    clf = patronage.ChurnClassifier("logistic").fit(X, y)
    why = clf.reasons(X, top=3)
    assert list(why.columns) == ["reason_1", "reason_2", "reason_3"] and why.index.equals(X.index)
    phi = clf.explain(X)
    grouped = phi.drop(columns=["plan=basic", "plan=pro"]).assign(plan=phi["plan=basic"] + phi["plan=pro"])
    sentences = {
        "recency_days": "last order 200 days ago", "recency_to_gap": "no order for 3.1x their usual gap",
        "spend_recent": "spent 40.00 in the latest period", "spend_previous": "spent 100.00 in the period before",
        "spend_trend": "spend down 60% vs the previous period", "plan": "plan is basic",
    }
    expected = grouped.iloc[0].sort_values(ascending=False, kind="stable")
    expected = [sentences[f] for f in expected[expected > 0].index[:3]]
    assert why.iloc[0].dropna().tolist() == expected
    # a customer whose every feature lowers the risk gets no reason
    low = grouped.iloc[1]
    assert why.iloc[1].isna().sum() == 3 - min(3, int((low > 0).sum()))


def test_reason_sentences_by_hand():
    from patronage.churn.reasons import describe

    cols = {"frequency": np.array([1.0, 12.0]), "orders_recent": np.array([0.0, 1.0]),
            "orders_previous": np.array([4.0, 0.0]), "order_trend": np.array([-1.0, 1.0]),
            "return_share": np.array([0.3, 0.0]), "single_order": np.array([1.0, 0.0]),
            "spend_trend": np.array([0.2, np.nan]), "age": np.array([31.0, 44.5])}
    assert describe("frequency", 0, cols) == "only 1 order so far"
    assert describe("frequency", 1, cols) == "12 orders so far"
    assert describe("orders_recent", 0, cols) == "no order in the latest period"
    assert describe("order_trend", 0, cols) == "orders down 100% vs the previous period"
    assert describe("order_trend", 1, cols) == "orders in the latest period after none in the one before"
    assert describe("return_share", 0, cols) == "returned 30% of what they bought"
    assert describe("single_order", 0, cols) == "only one order so far"
    # from the trend alone: t = (r - p) / (r + p) = 0.2 -> r / p = 1.5
    assert describe("spend_trend", 0, cols) == "spend up 50% vs the previous period"
    assert describe("spend_trend", 1, cols) == "spend_trend is missing"
    assert describe("age", 1, cols) == "age = 44.5"


def test_winback_list_uses_the_model_reasons():
    frame = pd.DataFrame({"tier": ["core", "ordinary"], "recency_days": [40, 300],
                          "mean_days_between_orders": [20.0, 50.0]}, index=["a", "b"])
    why = pd.DataFrame({"reason_1": ["spend down 60% vs the previous period", "last order 300 days ago"],
                        "reason_2": ["no order for 2.0x their usual gap", None]}, index=["b", "a"])
    out = patronage.winback_list(frame, p_churn=[0.5, 0.9], value=[100.0, 100.0], reasons=why)
    assert out["reasons"].to_dict() == {"b": "spend down 60% vs the previous period; no order for 2.0x their usual gap",
                                        "a": "last order 300 days ago"}
    assert "days_since_last_order" not in out and out["tier"].tolist() == ["ordinary", "core"]
    # without a model: the customer's rhythm
    out = patronage.winback_list(frame, p_churn=[0.5, 0.9], value=[100.0, 100.0])
    assert out["reasons"].tolist() == ["no order for 6.0x their usual gap", "no order for 2.0x their usual gap"]
    with pytest.raises(DataError, match="no row for customer 'a'"):
        patronage.winback_list(frame, p_churn=0.5, value=1.0, reasons=why.iloc[:1])
    with pytest.raises(ParameterError, match="reasons"):
        patronage.winback_list(frame, p_churn=0.5, value=1.0, reasons=["x", "y"])


def test_report_winback_reasons_come_from_the_model():
    from patronage.report import customer_report

    rep = customer_report(patronage.datasets.simulate_transactions(800, random_state=3), top=15)
    c = rep.customers
    listed = c.loc[c["winback_rank"].notna()].sort_values("winback_rank")
    assert len(listed) > 0 and listed["churn_reasons"].str.len().gt(0).all()
    # each row: its rhythm (why it is on the list), then the model's own top reasons for that customer
    for reason, model_why in zip(listed["winback_reason"], listed["churn_reasons"]):
        assert reason.endswith("; the churn model: " + model_why)
    winback = next(s for s in rep.sections if s.key == "winback")
    (caption, table), = winback.tables
    assert table["Why on the list"].tolist() == listed["winback_reason"].head(len(table)).tolist()


def test_waterfall_ends_at_the_customers_log_odds(cdnow):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    X, y = cdnow
    clf = patronage.ChurnClassifier("gbm", max_iter=30, random_state=0).fit(X, y)
    customer = X.index[10]
    ax = patronage.churn.plot_waterfall(clf, X, customer, top=5)
    bars = ax.patches
    assert len(bars) == 1 + 5 + 1 + 1  # base, five features, the rest, the total
    assert bars[0].get_width() == pytest.approx(clf.base_value_)
    assert bars[-1].get_width() == pytest.approx(clf.decision_function(X.loc[[customer]])[0], abs=1e-9)
    ax = patronage.churn.plot_waterfall(clf, X, customer, top=5, height=0.5)  # keywords reach every bar
    assert {round(bar.get_height(), 9) for bar in ax.patches} == {0.5}
    with pytest.raises(ParameterError, match="not in X's index"):
        patronage.churn.plot_waterfall(clf, X, "nobody")
    plt.close("all")


def test_gbm_early_stopping_auto_and_monotonic_constraints(cdnow):
    X, y = cdnow  # 23,570 rows: above 10,000, early stopping is on
    clf = patronage.ChurnClassifier("gbm", max_iter=300, learning_rate=0.3, random_state=0).fit(X, y)
    assert clf.n_iter_ < 300 and len(clf.validation_loss_) == clf.n_iter_ + 1
    off = patronage.ChurnClassifier("gbm", max_iter=30, early_stopping=False).fit(X, y)
    assert off.n_iter_ == 30 and len(off.validation_loss_) == 0
    small = patronage.ChurnClassifier("gbm", max_iter=30).fit(X.iloc[:5000], y.iloc[:5000])
    assert small.n_iter_ == 30
    # churn risk never falls as days since the last order grow, whatever the other features
    mono = patronage.ChurnClassifier("gbm", max_iter=50, monotonic_cst={"recency_days": 1}).fit(X, y)
    grid = X.iloc[::500].loc[X.index[::500].repeat(60)].copy()
    grid["recency_days"] = np.tile(np.linspace(0, 400, 60), len(X.iloc[::500]))
    z = mono.decision_function(grid).reshape(-1, 60)
    assert (np.diff(z, axis=1) >= 0).all()
    with pytest.raises(ParameterError, match="monotonic_cst"):
        patronage.ChurnClassifier("logistic", monotonic_cst={"recency_days": 1}).fit(X, y)
    with pytest.raises(ParameterError, match="not in X"):
        patronage.ChurnClassifier("gbm", monotonic_cst={"nope": 1}).fit(X, y)
    with pytest.raises(ParameterError, match="-1, 0 or 1"):
        patronage.ChurnClassifier("gbm", monotonic_cst=[2] + [0] * (X.shape[1] - 1)).fit(X, y)
