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
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pandas as pd

from ..exceptions import DataError, PatronageError
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
        CLV, value if alive, value at risk (see :func:`patronage.value_at_risk`),
        churn probability, lifecycle stage and win-back rank.
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
    order: Optional[str] = None,
    drop_missing_ids: bool = False,
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
        dtypes, the ``returns`` policy and ``order``), invoice lines or
        invoices. Not modified.
    returns, order
        As in :func:`patronage.rfm_table`, used by every step.
    drop_missing_ids : bool, default False
        Leave out rows without a customer id (guest checkouts; the overview
        says how many and their amount). By default they are an error naming
        the column and the first such row.
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
    from .._frame import first_label, require_columns, require_frame

    require_columns(require_frame(tx), [customer], "transaction log")
    guests = tx[customer].isna().to_numpy()
    n_guests, guest_amount = int(guests.sum()), 0.0
    if n_guests and not drop_missing_ids:
        pos, label = first_label(tx.index, guests)
        raise DataError(f"column {customer!r} has no customer id in {n_guests:,} rows (guest checkouts), the first "
                        f"at index label {label!r} (row {pos}); pass drop_missing_ids=True (command line: "
                        "--drop-missing-ids) to leave them out of the report", field=customer, row=pos, label=label)
    if n_guests:
        if amount in tx.columns:
            guest_amount = float(pd.to_numeric(tx.loc[guests, amount], errors="coerce").sum())
        tx = tx.loc[~guests]
    steps = _Progress(progress, 7)
    cols = dict(customer=customer, date=date, amount=amount, returns=returns, order=order)
    rfm = steps.run("RFM profiles and segments", lambda: pt.rfm_table(tx, **cols))
    scored = pt.rfm_scores(rfm)
    customers = scored.copy()
    sections = [_overview(tx, rfm, cols, n_guests, guest_amount), _segments(scored), _concentration(rfm)]
    sections.append(steps.run("k-means tiers", lambda: _tiers(rfm, customers, n_tiers, random_state)))
    sections.append(steps.run("BG/NBD, Gamma-Gamma and CLV",
                              lambda: _lifetime_value(tx, cols, customers, clv_months)))
    sections.append(steps.run("churn model", lambda: _churn(tx, cols, customers, horizon_days, random_state)))
    sections.append(steps.run("lifecycle stages", lambda: _lifecycle(tx, cols, customers)))
    sections.append(steps.run("win-back list", lambda: _winback(customers, top)))
    steps.run("report", lambda: None)
    first, last = rfm["first_purchase"].min(), rfm["last_purchase"].max()
    subtitle = (f"{len(tx):,} transactions of {len(rfm):,} customers, {first:%Y-%m-%d} to {last:%Y-%m-%d}. "
                f"Generated by Patronage {pt.__version__}.")
    return CustomerReport(title, subtitle, sections, customers)


def _quietly(fn: Callable[[], Any]) -> tuple:
    """``fn()`` and the messages of the warnings it raised (reported in the text, not on stderr)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, list(dict.fromkeys(str(w.message) for w in caught))


# --- sections ---------------------------------------------------------------------------------


def _overview(tx: pd.DataFrame, rfm: pd.DataFrame, cols: Dict[str, Any], n_guests: int,
              guest_amount: float) -> Section:
    revenue = rfm["total_spend"].sum()
    repeat = (rfm["n_orders"] > 1).mean()
    returned = rfm["returned_amount"].sum()
    facts = pd.DataFrame({"value": [
        f"{len(tx):,}", f"{len(rfm):,}", f"{revenue:,.2f}", f"{returned:,.2f}", f"{revenue / len(rfm):,.2f}",
        f"{rfm['n_orders'].mean():.2f}", f"{repeat:.1%}",
        f"{rfm['first_purchase'].min():%Y-%m-%d} to {rfm['last_purchase'].max():%Y-%m-%d}",
    ]}, index=["transactions", "customers", "revenue (net of returns)", "returned", "revenue per customer",
               "orders per customer", "customers with a repeat order", "period"])
    text = (f"{len(rfm):,} customers brought {revenue:,.0f} in revenue net of returns; {repeat:.0%} of them "
            "ordered more than once.")
    orders = f"distinct {cols['order']!r} ids with a purchase" if cols.get("order") else "days with a purchase"
    handling = {"net": "it reduces the spend of the purchase it is matched to (returns='net')",
                "drop": "returns were left out (returns='drop')",
                "error": "the log has none (returns='error')"}[cols["returns"]]
    notes = [f"Orders are {orders}; a return is never an order: {handling}."]
    if n_guests:
        notes.append(f"{n_guests:,} rows without a customer id (guest checkouts, {guest_amount:,.2f} in amount) "
                     "were left out.")
    return Section("overview", "Overview", [text] + notes, [("The log in numbers", facts)])


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

    result = pt.pareto(rfm["total_spend"])
    text = (f"The top 20% of customers bring {result.top_share:.1%} of revenue (Gini coefficient "
            f"{result.gini:.2f}): retention spending should follow value, not headcount.")
    if result.n_negative:
        text += (f" {result.n_negative:,} customers returned more than they bought in the log and count as "
                 "spending nothing.")
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


def _lifetime_value(tx: pd.DataFrame, cols: Dict[str, Any], customers: pd.DataFrame, months: int) -> Section:
    import patronage as pt

    key, title = "clv", "Still alive? Lifetime value (BG/NBD + Gamma-Gamma)"
    summary = pt.btyd_summary(tx, **cols, freq="D", freq_multiplier=7)  # weeks
    for column in ("p_alive", "clv", "value_if_alive", "value_at_risk"):
        customers[column] = np.nan
    try:
        # GammaGamma leaves out repeat buyers without positive spend (with a warning) and gives them the
        # population mean; every model warning goes into the text, not to stderr
        (bg, gg), notes = _quietly(lambda: (pt.BetaGeo().fit(summary), pt.GammaGamma().fit(summary)))
    except PatronageError as exc:
        return Section(key, "Still alive? Lifetime value", [f"The BTYD models could not be fitted: {exc}"])
    # an identification warning is given below in full, in its place
    said = {bg.identification_text(), gg.identification_text()}
    notes = [note for note in notes if note not in said]
    # Estimates with their (log-scale) 95% intervals: how far the data pin each one down.
    params = pd.concat([bg.summary(), gg.summary()])[["coef", "lower 95% bound", "upper 95% bound"]]
    params.columns = ["estimate", "95% interval from", "to"]
    tables = [("Model parameters (time unit: weeks)", params)]
    if not bg.identified_:
        # P(alive) and CLV would print values the data do not support as facts (e.g. "active with
        # probability 100%" from a dropout parameter that ran off to infinity): say so instead.
        text = ("The BG/NBD model is not identified on this data, so this report gives no P(alive), expected "
                "purchases or lifetime values: they would rest on parameters the data do not determine.")
        return Section(key, title, [text, bg.identification_text()] + notes, tables)
    text = ("The BG/NBD model estimates that the average customer is still active with probability {alive:.0%} "
            "(BG/NBD counts customers who never bought again as alive: a known property of the model).")
    if not gg.identified_:
        customers["p_alive"] = bg.p_alive(summary).reindex(customers.index)
        text = text.format(alive=customers["p_alive"].mean())
        text += " The Gamma-Gamma spend model is not identified on this data, so no lifetime values are given."
        paragraphs = [text, gg.identification_text()]
    else:
        risk, more = _quietly(lambda: pt.value_at_risk(bg, gg, summary, horizon=months, freq="W",
                                                       discount_rate=0.01))
        notes += more
        for column in ("p_alive", "clv", "value_if_alive", "value_at_risk"):
            customers[column] = risk[column].reindex(customers.index)
        text = text.format(alive=customers["p_alive"].mean())
        text += (f" Expected value over the next {months} months (Gamma-Gamma spend, 1% monthly discount): "
                 f"{customers['clv'].sum():,.0f} in total. If every customer were still active they would bring "
                 f"{customers['value_if_alive'].sum():,.0f}; {customers['value_at_risk'].sum():,.0f} of it is at "
                 "risk (value if alive x (1 - P(alive)): the value of customers who may already be gone).")
        paragraphs = [text]
        if "tier" in customers:
            by_tier = customers.groupby("tier", observed=True)[["clv", "value_if_alive", "value_at_risk"]].sum()
            tables.append(("CLV, value if alive and value at risk by tier", by_tier))
    fig, ax = _fig(5.5, 4.2)
    bg.plot_p_alive_matrix(summary, ax=ax)
    return Section(key, title, paragraphs + notes, tables, [("P(alive) by frequency and recency", figure_png(fig))])


def _churn(tx: pd.DataFrame, cols: Dict[str, Any], customers: pd.DataFrame, horizon: int,
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
    kw = dict(cols, horizon=f"{horizon}D")
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
    X_now = pt.churn_features(tx, **cols, window=f"{horizon}D")
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


def _lifecycle(tx: pd.DataFrame, cols: Dict[str, Any], customers: pd.DataFrame) -> Section:
    import patronage as pt

    stages = pt.lifecycle_stages(tx, **cols)
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

    title = "Win-back list"
    if "value_at_risk" in customers and customers["value_at_risk"].notna().all():
        # the same value at risk as the CSV: value if alive x (1 - P(alive))
        ranked = pt.winback_list(customers, p_alive=customers["p_alive"], value=customers["value_if_alive"],
                                 top=top)
        if "p_churn" in customers:
            ranked.insert(ranked.columns.get_loc("value_at_risk") + 1, "p_churn",
                          customers["p_churn"].reindex(ranked.index).to_numpy())
        text = (f"The {len(ranked)} customers with the most value at risk (their value if still active x the "
                "probability that they are gone, 1 - P(alive)), with the suggested action for their tier and the "
                "churn model's probability of no purchase in the churn window. Together they hold "
                f"{ranked['value_at_risk'].sum():,.0f} of value at risk.")
    else:  # no (trustworthy) lifetime value: the past spend at risk
        if "p_churn" in customers and customers["p_churn"].notna().all():
            p, basis = dict(p_churn=customers["p_churn"]), "the churn model's probability"
        elif "p_alive" in customers and customers["p_alive"].notna().all():
            p, basis = dict(p_alive=customers["p_alive"]), "1 - P(alive)"
        else:
            return Section("winback", title, ["No lifetime value, churn or P(alive) estimate: no win-back list."])
        ranked = pt.winback_list(customers, **p, value=customers["total_spend"].clip(lower=0), top=top)
        text = (f"The {len(ranked)} customers with the most expected value at risk ({basis} x past spend), with "
                "the suggested action for their tier (past spend stands in for the lifetime value, which this "
                f"report does not give). Together they hold {ranked['value_at_risk'].sum():,.0f} of past spend at "
                "risk.")
    customers["winback_rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index).reindex(
        customers.index)
    return Section("winback", f"{title} (top {len(ranked)})", [text], [("Customers to win back", ranked)])
