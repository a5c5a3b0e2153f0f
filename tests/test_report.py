"""The report's content: the win-back list against its stated rules, one rhythm everywhere, a log without money,
the notebook's matplotlib backend left alone, short reprs."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.datasets import load_cdnow
from patronage.report import customer_report


@pytest.fixture(scope="module")
def cdnow_report():
    return load_cdnow(), customer_report(load_cdnow(), currency="$")


def _usual_gaps(tx: pd.DataFrame) -> pd.Series:
    """Reference, plain pandas: the median gap between a customer's purchase days; for one-time buyers the
    median of the customers who have one (the rule the report states)."""
    days = tx.loc[tx["amount"] >= 0].assign(day=lambda f: f["date"].dt.normalize())
    days = days.drop_duplicates(["customer_id", "day"]).sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days
    typical = gaps.groupby(days["customer_id"]).median()
    return typical.fillna(typical.dropna().median())


def test_winback_rows_follow_the_stated_rules(cdnow_report):
    tx, rep = cdnow_report
    c = rep.customers
    assert c.attrs == {}  # sections share no hidden state through the returned frame
    listed = c.loc[c["winback_rank"].notna()].sort_values("winback_rank")
    assert len(listed) == 100 and list(listed["winback_rank"]) == list(range(1, 101))
    # only lapsing or lost customers: more than twice (at risk) or four times (lapsed) their usual gap
    assert set(listed["stage"]) <= {"at_risk", "lapsed"}
    ratio = listed["days_since_last_order"] / listed["usual_gap_days"]
    at_risk, lapsed = listed["stage"] == "at_risk", listed["stage"] == "lapsed"
    assert (ratio[at_risk] > 2).all() and (ratio[at_risk] <= 4).all() and (ratio[lapsed] > 4).all()
    np.testing.assert_allclose(listed["overdue_ratio"], ratio)
    # one clock and one rhythm: the RFM recency, and the usual gap recomputed here with pandas
    assert (listed["days_since_last_order"] == listed["recency_days"]).all()
    np.testing.assert_allclose(c["usual_gap_days"], _usual_gaps(tx).reindex(c.index))
    # and every customer's stage agrees with that rhythm (new and reactivated come first in the rules)
    judged = ~c["stage"].isin(["new", "reactivated"])
    expected = np.select([c["overdue_ratio"] > 4, c["overdue_ratio"] > 2], ["lapsed", "at_risk"], "active")
    assert (c.loc[judged, "stage"].astype(str) == expected[judged.to_numpy()]).all()
    # ranked by value at risk, and nobody left off the list holds more of it
    var = listed["value_at_risk"].to_numpy()
    assert (np.diff(var) <= 1e-9).all()
    left_off = c.loc[c["stage"].isin(["at_risk", "lapsed"]) & c["winback_rank"].isna(), "value_at_risk"]
    assert left_off.max() <= var[-1]
    # each row says why, with the numbers of its row
    # each row says why, with the numbers of its row, then the churn model's own reasons for that customer
    for (_, row), reason in zip(listed.iterrows(), listed["winback_reason"]):
        stage = "lapsed" if row["stage"] == "lapsed" else "at risk"
        rhythm = (f"{stage}: last order {row['days_since_last_order']:,.0f} days ago, "
                  f"{row['overdue_ratio']:.1f}x their usual gap of {row['usual_gap_days']:,.0f} days")
        model_why = row["churn_reasons"]
        assert reason == (f"{rhythm}; the churn model: {model_why}" if isinstance(model_why, str) and model_why
                          else rhythm)
    assert listed["winback_reason"].str.contains("; the churn model: ").mean() > 0.5


def test_report_tables_are_for_a_manager(cdnow_report):
    _, rep = cdnow_report
    page = rep.to_html()
    assert "<meta name='viewport'" in page
    headers = re.findall(r"<th(?: class=.num.)?>(.*?)</th>", page)
    assert len(headers) > 30 and not [h for h in headers if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", h)]  # no snake_case
    winback = next(s for s in rep.sections if s.key == "winback").tables[0][1]
    assert len(winback) == 25  # the page shows the first 25, the CSV all 100
    assert list(winback.columns) == ["Why on the list", "Tier", "Chance they are gone", "Value at risk",
                                     "Suggested action"]
    assert winback["Value at risk"].str.fullmatch(r"\$[\d,]+").all()
    assert winback["Chance they are gone"].str.fullmatch(r"\d+%").all()
    tiers = dict(next(s for s in rep.sections if s.key == "tiers").tables)["Tier profiles"]
    assert list(tiers.index) == ["core", "potential", "ordinary"] and len(tiers.columns) <= 6
    for section in rep.sections:  # every section opens with its takeaway
        assert section.paragraphs and section.paragraphs[0].endswith((".", ")"))
    # the parameter tables: one per model
    clv = dict(next(s for s in rep.sections if s.key == "clv").tables)
    assert len(clv["Purchase and dropout model (BG/NBD, time unit: weeks)"]) == 4
    assert len(clv["Spend model (Gamma-Gamma)"]) == 3


def test_a_log_without_money_gets_the_sections_that_need_none():
    tx = patronage.datasets.simulate_transactions(800, random_state=3).drop(columns="amount")
    rep = customer_report(tx, amount=None, top=20)
    keys = [s.key for s in rep.sections]
    assert keys == ["overview", "clv", "churn", "lifecycle", "winback"]
    overview = rep.sections[0]
    assert any("leaves out: RFM segments, revenue concentration, value tiers" in p for p in overview.paragraphs)
    assert rep.customers["p_alive"].between(0, 1).all() and rep.customers["clv"].isna().all()
    listed = rep.customers.loc[rep.customers["winback_rank"].notna()]
    assert 0 < len(listed) <= 20 and set(listed["stage"]) <= {"at_risk", "lapsed"}
    winback = next(s for s in rep.sections if s.key == "winback")
    assert "past orders" in winback.paragraphs[0]


def test_report_leaves_the_notebook_backend_alone(tmp_path):
    """A notebook (inline backend) keeps showing plots after customer_report()."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "%matplotlib inline\nimport matplotlib\nbefore = matplotlib.get_backend()",
        "import patronage\nfrom patronage.report import customer_report\n"
        "rep = customer_report(patronage.datasets.simulate_transactions(400, random_state=0), top=5)\nrep",
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3])\n"
        "assert matplotlib.get_backend() == before, (before, matplotlib.get_backend())\nprint(before)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = os.environ.pop("MPLBACKEND", None)
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if env is not None:
            os.environ["MPLBACKEND"] = env
    outputs = nb.cells[2].outputs
    assert any(o.output_type == "stream" and "inline" in o.text for o in outputs)
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in outputs)  # the plot shows
    html = [o for o in nb.cells[1].outputs if o.output_type == "execute_result"][0].data
    assert len(html["text/plain"]) < 300  # the text repr is short, the HTML is the page


def test_select_k_html_repr():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, size=(60, 2)) for c in (0, 5, 10)])
    result = patronage.select_k(X, range(2, 6), random_state=0)
    html = result._repr_html_()
    assert f"Recommended number of clusters: {result.recommended_k}" in html and "<table" in html


def test_table_cells_align_by_what_they_hold():
    from patronage.report._html import _table_html

    frame = pd.DataFrame({"Why": ["lapsed: last order 12 days ago"], "Share": ["12%"], "Money": ["GBP 1,234"],
                          "Signed": ["-$5"], "Count": ["1,234"]}, index=pd.Index(["a"], name="Customer"))
    page = _table_html(frame)
    assert re.findall(r"<td( class='num')?>", page) == ["", "", " class='num'", " class='num'", " class='num'",
                                                        " class='num'"]
