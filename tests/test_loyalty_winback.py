"""Satisfaction x loyalty matrix, win-back list, and the loyalty plots (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import patronage  # noqa: E402
from patronage.exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError  # noqa: E402


# --------------------------------------------------------------------------- loyalty matrix

def test_loyalty_matrix_quadrants_with_default_cut_points():
    csat = pd.Series([5, 4, 3, 1, 4, np.nan], index=list("abcdef"))
    repeat = pd.Series([2, 0, 1, 0, 1, 3], index=list("abcdef"))
    out = patronage.loyalty_matrix(csat, repeat)
    assert out["quadrant"].astype(object).where(out["quadrant"].notna(), None).tolist() == [
        "loyal", "vulnerable", "hostage", "defector", "loyal", None]
    assert list(out["quadrant"].cat.categories) == list(patronage.QUADRANTS)
    assert out.loc["f", "satisfied"] is pd.NA and bool(out.loc["f", "loyal"]) is True


def test_loyalty_matrix_aligns_on_index_and_takes_booleans_and_nps():
    csat = pd.Series([5, 2, 4], index=[10, 20, 30])
    nps_answer = pd.Series([6, 10, 9], index=[30, 20, 10])  # other order
    out = patronage.loyalty_matrix(csat, nps_answer, loyal_at=9)  # promoters are loyal
    assert out.loc[[10, 20, 30], "quadrant"].tolist() == ["loyal", "hostage", "vulnerable"]
    bought_again = pd.Series([True, False], index=["x", "y"])
    out = patronage.loyalty_matrix(pd.Series([1, 5], index=["y", "x"]), bought_again)
    assert out.loc["x", "quadrant"] == "loyal" and out.loc["y", "quadrant"] == "defector"
    # a customer in only one of the two: NaN quadrant (non-response), not dropped
    out = patronage.loyalty_matrix(pd.Series([5], index=["a"]), pd.Series([1, 0], index=["a", "b"]))
    assert out.loc["a", "quadrant"] == "loyal" and pd.isna(out.loc["b", "quadrant"])


def test_loyalty_matrix_bad_input():
    with pytest.raises(DataError, match="3 values but loyalty has 2"):
        patronage.loyalty_matrix([1, 2, 3], [1, 0])
    with pytest.raises(DataError, match="duplicate"):
        patronage.loyalty_matrix(pd.Series([1, 2], index=["a", "a"]), pd.Series([1, 0], index=["a", "b"]))
    with pytest.raises(ColumnTypeError, match="satisfaction must be numeric"):
        patronage.loyalty_matrix(pd.Series(["high"]), pd.Series([1]))
    with pytest.raises(ParameterError, match="satisfied_at"):
        patronage.loyalty_matrix([1], [1], satisfied_at=np.nan)
    with pytest.raises(DataError, match="empty"):
        patronage.loyalty_matrix([], [])
    with pytest.raises(TypeError, match="Series or a 1-D array"):
        patronage.loyalty_matrix("5", [1])


# --------------------------------------------------------------------------- win-back list

def customers():
    return pd.DataFrame({
        "tier": ["Core", "potential", "ordinary", "vip", None],
        "segment": ["Champions", "At Risk", "Lost", "Loyal", "Hibernating"],
        "recency_days": [40, 120, 300, 10, 200],
        "mean_days_between_orders": [20.0, 30.0, np.nan, 5.0, 50.0],
        "clv": [1000.0, 400.0, 50.0, 800.0, 100.0],
    }, index=pd.Index([101, 102, 103, 104, 105], name="customer_id"))


def test_winback_ranks_by_expected_value_at_risk_with_reasons_and_actions():
    frame = customers()
    copy = frame.copy()
    p_churn = pd.Series([0.1, 0.6, 0.9, 0.05, 0.5], index=frame.index)
    out = patronage.winback_list(frame, p_churn=p_churn, value="clv")
    # value at risk: 100, 240, 45, 40, 50
    assert out.index.tolist() == [102, 101, 105, 103, 104]
    np.testing.assert_allclose(out["value_at_risk"], [240, 100, 50, 45, 40])
    np.testing.assert_allclose(out["cumulative_value_at_risk"], [240, 340, 390, 435, 475])
    assert out["rank"].tolist() == [1, 2, 3, 4, 5]
    assert out.loc[102, "segment"] == "At Risk" and out.loc[102, "days_since_last_order"] == 120
    assert out.loc[102, "usual_gap_days"] == 30 and out.loc[102, "overdue_ratio"] == 4
    assert np.isnan(out.loc[103, "overdue_ratio"])
    # tiers are matched case-insensitively; unknown and missing tiers get the default action
    assert out["action"].to_dict() == {102: "tailored offer", 101: "personal call", 105: "automated reminder",
                                       103: "automated reminder", 104: "automated reminder"}
    pd.testing.assert_frame_equal(frame, copy)


def test_winback_aligns_series_by_index_not_position():
    frame = customers()
    p_alive = pd.Series([0.9, 0.4, 0.1, 0.95, 0.5], index=frame.index)
    shuffled = p_alive.sample(frac=1, random_state=4)
    value = pd.Series(frame["clv"].to_numpy(), index=frame.index).iloc[::-1]
    extra = pd.concat([shuffled, pd.Series([0.0], index=[999])])  # extra labels are ignored
    a = patronage.winback_list(frame, p_alive=extra, value=value)
    b = patronage.winback_list(frame, p_churn=1 - p_alive.to_numpy(), value=frame["clv"].to_numpy())
    pd.testing.assert_frame_equal(a, b)
    assert a.index[0] == 102 and a.loc[102, "p_lost"] == pytest.approx(0.6)


def test_winback_ties_keep_input_order_and_caps_apply():
    frame = pd.DataFrame({"tier": ["core", "core", "potential"]}, index=["x", "y", "z"])
    out = patronage.winback_list(frame, p_churn=0.5, value=100.0)
    assert out.index.tolist() == ["x", "y", "z"]
    assert patronage.winback_list(frame, p_churn=0.5, value=100.0, top=2).index.tolist() == ["x", "y"]
    # budget 25 at 10 per contact: two contacts (the third would overrun)
    out = patronage.winback_list(frame, p_churn=0.5, value=100.0, budget=25, cost_per_contact=10)
    assert out.index.tolist() == ["x", "y"] and out["cumulative_cost"].tolist() == [10, 20]
    # per-customer costs: a call to x costs 30 > budget -> nobody fits before it
    cost = pd.Series({"x": 30.0, "y": 5.0, "z": 5.0})
    assert patronage.winback_list(frame, p_churn=0.5, value=100.0, budget=25, cost_per_contact=cost).empty
    out = patronage.winback_list(frame, p_churn=0.5, value=100.0, action_map={"CORE": "account manager visit"},
                                 default_action="e-mail")
    assert out["action"].tolist() == ["account manager visit", "account manager visit", "tailored offer"]
    # lifecycle stage and its own reason columns are picked up
    stages = pd.DataFrame({"stage": ["at_risk", "lapsed", "active"], "days_since_last_order": [30, 90, 5],
                           "typical_gap_days": [10.0, 15.0, 5.0]}, index=["x", "y", "z"])
    out = patronage.winback_list(frame.join(stages), p_churn=[0.2, 0.9, 0.1], value=100.0)
    assert out.loc["y", "stage"] == "lapsed" and out.loc["y", "overdue_ratio"] == 6


def test_winback_bad_input():
    frame = customers()
    p = frame["clv"] / 2000
    with pytest.raises(ParameterError, match="exactly one of p_churn and p_alive"):
        patronage.winback_list(frame, value="clv")
    with pytest.raises(ParameterError, match="exactly one"):
        patronage.winback_list(frame, p_churn=p, p_alive=p, value="clv")
    with pytest.raises(DataError, match="no value for customer 105"):
        patronage.winback_list(frame, p_churn=p.iloc[:4], value="clv")
    with pytest.raises(DataError, match=r"probability in \[0, 1\], got 1.5 for customer 101"):
        patronage.winback_list(frame, p_churn=p.where(p.index != 101, 1.5), value="clv")
    with pytest.raises(DataError, match="NaN or infinite for customer 103"):
        patronage.winback_list(frame, p_churn=p, value=frame["clv"].where(frame.index != 103))
    with pytest.raises(DataError, match="non-negative"):
        patronage.winback_list(frame, p_churn=p, value=-frame["clv"])
    with pytest.raises(MissingColumnError, match="'ltv'"):
        patronage.winback_list(frame, p_churn=p, value="ltv")
    with pytest.raises(ColumnTypeError, match="p_churn must be numeric"):
        patronage.winback_list(frame, p_churn="segment", value="clv")
    with pytest.raises(DataError, match="one value per customer"):
        patronage.winback_list(frame, p_churn=[0.1, 0.2], value="clv")
    with pytest.raises(ParameterError, match="cost_per_contact"):
        patronage.winback_list(frame, p_churn=p, value="clv", budget=100)
    with pytest.raises(ParameterError, match="budget"):
        patronage.winback_list(frame, p_churn=p, value="clv", budget=-1, cost_per_contact=1)
    with pytest.raises(ParameterError, match="top"):
        patronage.winback_list(frame, p_churn=p, value="clv", top=0)
    with pytest.raises(DataError, match="empty"):
        patronage.winback_list(frame.iloc[:0], p_churn=0.5, value=1.0)
    with pytest.raises(DataError, match="duplicate"):
        patronage.winback_list(pd.DataFrame({"a": [1, 2]}, index=[1, 1]), p_churn=0.5, value=1.0)
    with pytest.raises(TypeError, match="DataFrame"):
        patronage.winback_list([1, 2], p_churn=0.5, value=1.0)


# --------------------------------------------------------------------------- plots

def test_plots_draw_on_agg_and_return_axes():
    tx = patronage.datasets.load_cdnow()
    matrix = patronage.cohort_retention(tx)
    ax = patronage.plot_cohort_retention(matrix)
    assert ax.get_title() == "Cohort retention" and len(ax.texts) > 0
    # the colour scale is set by the ages after the first (100% by definition), where cohorts differ
    assert ax.images[0].get_clim() == (0.0, pytest.approx(np.nanmax(matrix.to_numpy()[:, 1:])))
    ax = patronage.plot_cohort_retention(matrix, cmap="Greens", vmax=1.0)  # keywords reach imshow
    assert ax.images[0].get_clim()[1] == 1.0 and ax.images[0].get_cmap().name == "Greens"
    ax = patronage.pareto(tx).plot()
    assert ax.get_title() == "Revenue concentration" and len(ax.lines) == 2
    ax = patronage.plot_pareto(patronage.pareto(tx), color="purple", linewidth=3)  # keywords reach the curve
    assert ax.lines[0].get_color() == "purple" and ax.lines[0].get_linewidth() == 3
    matrix = patronage.loyalty_matrix(pd.Series([5, 4, 2, 1, 3]), pd.Series([1, 0, 1, 0, 2]))
    fig, given = plt.subplots()
    ax = patronage.plot_loyalty_matrix(matrix, ax=given)
    assert ax is given and "loyal: 1 (20%)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.get_yscale() == "linear"
    many = patronage.loyalty_matrix(pd.Series([5, 4, 2, 1, 3]), pd.Series([1, 0, 170, 0, 2]))
    assert patronage.plot_loyalty_matrix(many, marker="s").get_yscale() == "symlog"  # 170 repeats: log above 1
    plt.close("all")
    with pytest.raises(TypeError, match="ParetoResult"):
        patronage.plot_pareto("not a result")
    with pytest.raises(MissingColumnError):
        patronage.plot_loyalty_matrix(pd.DataFrame({"x": [1]}))


def test_loyalty_matrix_does_not_modify_its_inputs():
    sat, loy = pd.Series([5.0, np.nan, 2.0]), pd.Series([1, 0, 3])
    copies = sat.copy(), loy.copy()
    patronage.loyalty_matrix(sat, loy)
    pd.testing.assert_series_equal(sat, copies[0])
    pd.testing.assert_series_equal(loy, copies[1])
