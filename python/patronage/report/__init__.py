"""The one-command customer report: every Patronage capability on one transaction log.

``python -m patronage report [FILE]`` and :func:`customer_report` run the whole
pipeline (RFM and segments, revenue concentration, k-means tiers, BG/NBD and
CLV, churn risk, lifecycle stages, the win-back list) and produce one
self-contained HTML page plus a per-customer table.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pandas as pd

from ..exceptions import PatronageError
from ._html import Section, figure_png, render

__all__ = ["CustomerReport", "customer_report"]


@dataclass
class CustomerReport:
    """The report: its sections and one row of results per customer.

    Attributes
    ----------
    title : str
    subtitle : str
    sections : list of Section
    customers : DataFrame
        Per customer: the RFM profile and scores, segment, tier, P(alive),
        CLV, value at risk, churn probability, lifecycle stage and win-back rank.
    """

    title: str
    subtitle: str
    sections: List[Section]
    customers: pd.DataFrame

    def to_html(self) -> str:
        """The self-contained HTML page."""
        return render(self.title, self.subtitle, self.sections)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, html_path: str, csv_path: Optional[str] = None) -> None:
        """Writes the page (and the per-customer CSV) atomically: all or nothing."""
        targets = [(html_path, self.to_html().encode("utf-8"))]
        if csv_path is not None:
            targets.append((csv_path, self.customers.to_csv().encode("utf-8")))
        staged = []
        umask = os.umask(0)
        os.umask(umask)
        try:
            for path, data in targets:
                folder = os.path.dirname(os.path.abspath(path))
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".patronage-", suffix=".tmp")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
                staged.append((tmp, path))
            for tmp, path in staged:
                os.replace(tmp, path)
        finally:
            for tmp, _ in staged:
                if os.path.exists(tmp):
                    os.unlink(tmp)


class _Progress:
    def __init__(self, enabled: bool, steps: int) -> None:
        self.enabled, self.steps, self.done = enabled, steps, 0

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        self.done += 1
        start = time.perf_counter()
        if self.enabled:
            print(f"[{self.done}/{self.steps}] {name} ...", end="", file=sys.stderr, flush=True)
        result = fn()
        if self.enabled:
            print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        return result


def _fig(width: float = 7.0, height: float = 3.6) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False) if "matplotlib.pyplot" not in sys.modules else None
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def customer_report(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    *,
    returns: str = "net",
    n_tiers: int = 3,
    horizon_days: int = 90,
    clv_months: int = 12,
    top: int = 100,
    random_state: int = 0,
    progress: bool = False,
    title: str = "Customer report",
) -> CustomerReport:
    """Runs the whole Patronage pipeline on a transaction log.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (see :func:`patronage.rfm_table` for the accepted
        dtypes and the ``returns`` policy). Not modified.
    n_tiers : int, default 3
        k-means tiers (core / potential / ordinary with 3).
    horizon_days : int, default 90
        The churn window: a customer churns when they do not buy in the next
        ``horizon_days`` days. The churn model is trained on the log up to two
        horizons before its end, checked out of time on the last horizon, then
        refitted to score every customer today.
    clv_months : int, default 12
        CLV horizon (1% discount per month).
    top : int, default 100
        Length of the win-back list.
    random_state : int, default 0
        Seed of every random choice (k-means, gradient boosting).
    progress : bool, default False
        Print each step and its duration to stderr.

    Returns
    -------
    CustomerReport

    Examples
    --------
    >>> from patronage.datasets import simulate_transactions
    >>> from patronage.report import customer_report
    >>> rep = customer_report(simulate_transactions(600, random_state=1), top=10)
    >>> [s.key for s in rep.sections][:3]
    ['overview', 'segments', 'concentration']
    >>> len(rep.customers) == 600
    True
    """
    import patronage as pt

    steps = _Progress(progress, 7)
    cols = dict(customer=customer, date=date, amount=amount)
    rfm = steps.run("RFM profiles and segments", lambda: pt.rfm_table(tx, **cols, returns=returns))
    scored = pt.rfm_scores(rfm)
    customers = scored.copy()
    sections = [_overview(tx, rfm, cols), _segments(scored), _concentration(rfm)]
    sections.append(steps.run("k-means tiers", lambda: _tiers(rfm, customers, n_tiers, random_state)))
    sections.append(steps.run("BG/NBD, Gamma-Gamma and CLV",
                              lambda: _lifetime_value(tx, cols, returns, customers, clv_months)))
    sections.append(steps.run("churn model", lambda: _churn(tx, cols, returns, customers, horizon_days,
                                                             random_state)))
    sections.append(steps.run("lifecycle stages", lambda: _lifecycle(tx, cols, returns, customers)))
    sections.append(steps.run("win-back list", lambda: _winback(customers, top)))
    steps.run("report", lambda: None)
    first, last = rfm["first_purchase"].min(), rfm["last_purchase"].max()
    subtitle = (f"{len(tx):,} transactions of {len(rfm):,} customers, {first:%Y-%m-%d} to {last:%Y-%m-%d}. "
                f"Generated by Patronage {pt.__version__}.")
    return CustomerReport(title, subtitle, sections, customers)


# --- sections ---------------------------------------------------------------------------------


def _overview(tx: pd.DataFrame, rfm: pd.DataFrame, cols: Dict[str, str]) -> Section:
    revenue = rfm["total_spend"].sum()
    repeat = (rfm["n_orders"] > 1).mean()
    facts = pd.DataFrame({"value": [
        f"{len(tx):,}", f"{len(rfm):,}", f"{revenue:,.2f}", f"{revenue / len(rfm):,.2f}",
        f"{rfm['n_orders'].mean():.2f}", f"{repeat:.1%}",
        f"{rfm['first_purchase'].min():%Y-%m-%d} to {rfm['last_purchase'].max():%Y-%m-%d}",
    ]}, index=["transactions", "customers", "revenue", "revenue per customer", "orders per customer",
               "customers with a repeat order", "period"])
    text = (f"{len(rfm):,} customers brought {revenue:,.0f} in revenue; {repeat:.0%} of them ordered more than "
            "once.")
    return Section("overview", "Overview", [text], [("The log in numbers", facts)])


def _segments(scored: pd.DataFrame) -> Section:
    import patronage as pt

    summary = pt.segment_summary(scored)
    best = summary["share_of_revenue"].idxmax()
    text = (f"{best} are {summary.loc[best, 'share_of_customers']:.0%} of customers and bring "
            f"{summary.loc[best, 'share_of_revenue']:.0%} of revenue. Customers are scored 1-5 on recency, "
            "frequency and monetary value; the segment follows from R and the combined FM score.")
    fig, ax = _fig()
    summary[["share_of_customers", "share_of_revenue"]].plot.barh(ax=ax)
    ax.invert_yaxis()
    ax.set_xlabel("share")
    return Section("segments", "RFM segments", [text], [("Segments", summary)],
                   [("Share of customers and of revenue per RFM segment", figure_png(fig))])


def _concentration(rfm: pd.DataFrame) -> Section:
    import patronage as pt

    result = pt.pareto(rfm["total_spend"].clip(lower=0))
    text = (f"The top 20% of customers bring {result.top_share:.1%} of revenue (Gini coefficient "
            f"{result.gini:.2f}): retention spending should follow value, not headcount.")
    fig, ax = _fig(5.0, 4.0)
    result.plot(ax=ax)
    shares = result.shares.to_frame("share of revenue")
    return Section("concentration", "Revenue concentration (80/20)", [text],
                   [("Revenue share of the top customers", shares)], [("Lorenz curve", figure_png(fig))])


def _tiers(rfm: pd.DataFrame, customers: pd.DataFrame, n_tiers: int, random_state: int) -> Section:
    import patronage as pt

    seg = pt.CustomerSegmenter(n_clusters=n_tiers, random_state=random_state).fit(rfm)
    customers["tier"] = seg.customer_tiers_
    profile = seg.profile()
    top_tier = seg.tiers_.iloc[0]
    row = profile.loc[profile["tier"] == top_tier].iloc[0]
    text = (f"k-means on log-scaled recency, orders and spend splits customers into {n_tiers} tiers. The "
            f"{top_tier} tier holds {row['share_of_customers']:.0%} of customers and "
            f"{row['share_of_revenue']:.0%} of revenue: serve it personally; grow the potential tier with "
            "tailored offers; keep the ordinary tier on automated, low-cost contact.")
    from ..cluster import plot_tiers

    fig, ax = _fig()
    plot_tiers(seg, ax=ax)
    return Section("tiers", "Customer tiers (k-means)", [text], [("Tier profiles", profile)],
                   [("Tier profiles", figure_png(fig))])


def _lifetime_value(tx: pd.DataFrame, cols: Dict[str, str], returns: str, customers: pd.DataFrame,
                    months: int) -> Section:
    import patronage as pt

    key, title = "clv", "Still alive? Lifetime value (BG/NBD + Gamma-Gamma)"
    summary = pt.btyd_summary(tx, **cols, freq="D", freq_multiplier=7, returns=returns)  # weeks
    # Gamma-Gamma needs positive spend: repeat buyers whose repeat orders were all free (or netted
    # to nothing by returns) are left out of it, and their expected value is 0.
    spending = (summary["frequency"] == 0) | (summary["monetary_value"] > 0)
    for column in ("p_alive", "clv", "value_at_risk"):
        customers[column] = np.nan
    try:
        bg = pt.BetaGeo().fit(summary)
        gg = pt.GammaGamma().fit(summary[spending])
        clv = None
        if bg.identified_ and gg.identified_:
            clv = pt.customer_lifetime_value(bg, gg, summary[spending], horizon=months, freq="W",
                                             discount_rate=0.01).reindex(summary.index, fill_value=0.0)
    except PatronageError as exc:
        return Section(key, "Still alive? Lifetime value", [f"The BTYD models could not be fitted: {exc}"])
    # Estimates with their (log-scale) 95% intervals: how far the data pin each one down.
    params = pd.concat([bg.summary(), gg.summary()])[["coef", "lower 95% bound", "upper 95% bound"]]
    params.columns = ["estimate", "95% interval from", "to"]
    tables = [("Model parameters (time unit: weeks)", params)]
    if not bg.identified_:
        # P(alive) and CLV would print values the data do not support as facts (e.g. "active with
        # probability 100%" from a dropout parameter that ran off to infinity): say so instead.
        text = ("The BG/NBD model is not identified on this data, so this report gives no P(alive), expected "
                "purchases or lifetime values: they would rest on parameters the data do not determine.")
        return Section(key, title, [text, bg.identification_text()], tables)
    customers["p_alive"] = bg.p_alive(summary).reindex(customers.index)
    paragraphs = [f"The BG/NBD model estimates that the average customer is still active with probability "
                  f"{customers['p_alive'].mean():.0%} (BG/NBD counts customers who never bought again as alive: "
                  "a known property of the model)."]
    if clv is None:
        paragraphs[0] += (" The Gamma-Gamma spend model is not identified on this data, so no lifetime values "
                          "are given.")
        paragraphs.append(gg.identification_text())
    else:
        customers["clv"] = clv.reindex(customers.index)
        customers["value_at_risk"] = (1 - customers["p_alive"]) * customers["clv"]
        paragraphs[0] += (f" Expected value over the next {months} months (Gamma-Gamma spend, 1% monthly "
                          f"discount): {customers['clv'].sum():,.0f} in total; "
                          f"{customers['value_at_risk'].sum():,.0f} of it belongs to customers who may already "
                          "be gone.")
        if "tier" in customers:
            by_tier = customers.groupby("tier", observed=True)[["clv", "value_at_risk"]].sum()
            tables.append(("CLV and value at risk by tier", by_tier))
    fig, ax = _fig(5.5, 4.2)
    bg.plot_p_alive_matrix(summary, ax=ax)
    return Section(key, title, paragraphs, tables, [("P(alive) by frequency and recency", figure_png(fig))])


def _churn(tx: pd.DataFrame, cols: Dict[str, str], returns: str, customers: pd.DataFrame, horizon: int,
           random_state: int) -> Section:
    import patronage as pt

    key = "churn"
    title = f"Churn risk (no purchase in the next {horizon} days)"
    end = customers["last_purchase"].max()
    train_cut, test_cut = end - pd.Timedelta(days=2 * horizon), end - pd.Timedelta(days=horizon)
    if train_cut <= customers["first_purchase"].min():
        customers["p_churn"] = np.nan
        return Section(key, title, [f"The log is too short to train a {horizon}-day churn model: it needs more "
                                    f"than {2 * horizon} days."])
    kw = dict(cols, returns=returns, horizon=f"{horizon}D")
    X_train, y_train = pt.churn_dataset(tx, cutoff=train_cut, **kw)
    X_test, y_test = pt.churn_dataset(tx, cutoff=test_cut, **kw)
    if y_train.nunique() < 2 or y_test.nunique() < 2:
        customers["p_churn"] = np.nan
        return Section(key, title, ["Every customer has the same outcome in the training window: no churn model."])
    model = pt.ChurnClassifier("gbm", random_state=random_state).fit(X_train, y_train)
    p_test = model.predict_proba(X_test)[:, 1]
    report = pt.churn_report(y_test, p_test)
    # refit on the most recent labelled window, then score today's features
    model = pt.ChurnClassifier("gbm", random_state=random_state).fit(X_test, y_test)
    X_now = pt.churn_features(tx, **cols, returns=returns, window=f"{horizon}D")
    customers["p_churn"] = model.churn_probability(X_now).reindex(customers.index)
    text = (f"A gradient-boosted model trained on the window ending {test_cut:%Y-%m-%d} ranks customers "
            f"who then stopped buying above those who did not with ROC-AUC {report.roc_auc:.3f} "
            f"(top-decile lift {report.top_decile_lift:.2f}), checked out of time on the last {horizon} days. "
            f"Today {np.nanmean(customers['p_churn']):.0%} of customers are expected not to buy in the next "
            f"{horizon} days.")
    fig, ax = _fig(5.0, 4.0)
    from ..churn import plot_gains

    plot_gains(y_test, p_test, ax=ax)
    importances = model.feature_importances_.sort_values(ascending=False).head(10).to_frame("importance")
    tables = [("Out-of-time evaluation", report.summary().to_frame("value")), ("Gains by decile", report.gains),
              ("Most important features", importances)]
    return Section(key, title, [text], tables, [("Cumulative gains, out of time", figure_png(fig))])


def _lifecycle(tx: pd.DataFrame, cols: Dict[str, str], returns: str, customers: pd.DataFrame) -> Section:
    import patronage as pt

    stages = pt.lifecycle_stages(tx, **cols, returns=returns)
    customers["stage"] = stages["stage"].reindex(customers.index)
    counts = stages["stage"].value_counts(sort=False).to_frame("customers")
    counts["share"] = counts["customers"] / counts["customers"].sum()
    at_risk = counts["share"].get("at_risk", 0.0)
    text = (f"{at_risk:.0%} of customers are at risk: their last order is overdue against their own purchase "
            "rhythm (twice their usual gap); lapsed customers are four gaps overdue.")
    fig, ax = _fig(6.0, 3.0)
    counts["customers"].plot.bar(ax=ax, rot=0)
    ax.set_ylabel("customers")
    return Section("lifecycle", "Lifecycle stages", [text], [("Customers per stage", counts)],
                   [("Customers per lifecycle stage", figure_png(fig))])


def _winback(customers: pd.DataFrame, top: int) -> Section:
    import patronage as pt

    if "p_churn" in customers and customers["p_churn"].notna().all():
        p = dict(p_churn=customers["p_churn"])
        basis = "the churn model's probability"
    elif "p_alive" in customers and customers["p_alive"].notna().all():
        p = dict(p_alive=customers["p_alive"])
        basis = "1 - P(alive)"
    else:
        return Section("winback", "Win-back list", ["No churn or P(alive) estimate: no win-back list."])
    if "clv" in customers and customers["clv"].notna().any():
        value, worth = customers["clv"].fillna(0.0), "CLV"
    else:  # no (trustworthy) lifetime value: past spend
        value, worth = customers["total_spend"], "past spend"
    ranked = pt.winback_list(customers, **p, value=value.clip(lower=0), top=top)
    customers["winback_rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index).reindex(
        customers.index)
    text = (f"The {len(ranked)} customers with the most expected value at risk ({basis} x {worth}), with the "
            f"suggested action for their tier. Together they hold {ranked['value_at_risk'].sum():,.0f} of value.")
    return Section("winback", f"Win-back list (top {len(ranked)})", [text], [("Customers to win back", ranked)])
