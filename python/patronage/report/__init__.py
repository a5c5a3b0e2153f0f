"""The one-command customer report: every Patronage capability on one transaction log.

``python -m patronage report [FILE]`` and :func:`customer_report` run the whole
pipeline (RFM and segments, revenue concentration, k-means tiers, BG/NBD and
CLV, churn risk, lifecycle stages, the win-back list) and produce one
self-contained HTML page plus a per-customer table.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from ..exceptions import DataError, PatronageError
from ._format import Formats, display
from ._html import Section, figure_png, render
from ._write import write_all

__all__ = ["CustomerReport", "customer_report"]


@dataclass(repr=False)
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
        churn probability and its reasons (``churn_reasons``), lifecycle stage, usual gap and overdue ratio, and
        win-back rank and reason.
    """

    title: str
    subtitle: str
    sections: List[Section]
    customers: pd.DataFrame

    def __repr__(self) -> str:  # the page and the table are large: say what is there
        return (f"CustomerReport({self.title!r}, {len(self.customers):,} customers, sections: "
                f"{', '.join(s.key for s in self.sections)})")

    def to_html(self) -> str:
        """The self-contained HTML page."""
        return render(self.title, self.subtitle, self.sections)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, html_path: str, csv_path: Optional[str] = None) -> None:
        """Writes the page (and the per-customer CSV): both or neither.

        Each destination must be a regular file or not exist yet; a symlink is
        followed (the file it names is replaced, the link kept). A directory,
        device, named pipe or socket is refused with a ParameterError before
        anything is written.
        """
        targets = [(html_path, self.to_html().encode("utf-8"), "html_path")]
        if csv_path is not None:
            targets.append((csv_path, self.customers.to_csv().encode("utf-8"), "csv_path"))
        write_all(targets)


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
    """A figure and its axes, without pyplot: the user's backend and open figures are left alone."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def customer_report(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    *,
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
    drop_missing_ids: bool = False,
    n_tiers: int = 3,
    horizon_days: int = 90,
    clv_months: int = 12,
    top: int = 100,
    currency: str = "",
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
    amount : str or None, default "amount"
        The amount column; ``None`` for a log of visits or orders without
        money: the report then gives the sections that need none (overview,
        P(alive), churn, lifecycle, win-back by orders) and says which it left
        out.
    returns, order, date_format
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
        Longest win-back list. The list holds only customers who are lapsing
        or lost (lifecycle stage ``at_risk`` or ``lapsed``: more than twice or
        four times their usual gap since their last order), each with the
        reason.
    currency : str, default ""
        Shown with money: a code (``"GBP"``) or a symbol (``"£"``).
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
    >>> rep
    CustomerReport('Customer report', 600 customers, sections: overview, segments, ...)
    """
    import patronage as pt
    from .._frame import first_label, require_columns, require_frame

    require_columns(require_frame(tx), [customer], "transaction log")
    if not isinstance(currency, str):
        raise TypeError(f"currency must be a string such as 'GBP' or '£', got {type(currency).__name__}")
    guests = tx[customer].isna().to_numpy()
    n_guests, guest_amount = int(guests.sum()), 0.0
    if n_guests and not drop_missing_ids:
        pos, label = first_label(tx.index, guests)
        raise DataError(f"column {customer!r} has no customer id in {n_guests:,} rows (guest checkouts), the first "
                        f"at index label {label!r} (row {pos}); pass drop_missing_ids=True (command line: "
                        "--drop-missing-ids) to leave them out of the report", field=customer, row=pos, label=label)
    if n_guests:
        if amount is not None and amount in tx.columns:
            guest_amount = float(pd.to_numeric(tx.loc[guests, amount], errors="coerce").sum())
        tx = tx.loc[~guests]
    fmt = Formats(currency)
    money = amount is not None
    steps = _Progress(progress, 7 if money else 5)
    cols = dict(customer=customer, date=date, amount=amount, returns=returns, order=order, date_format=date_format)
    rfm = steps.run("RFM profiles and segments", lambda: pt.rfm_table(tx, **cols))
    customers = pt.rfm_scores(rfm) if money else rfm.copy()
    sections = [_overview(tx, rfm, cols, n_guests, guest_amount, fmt)]
    if money:
        sections += [_segments(customers, fmt), _concentration(rfm)]
        sections.append(steps.run("k-means tiers", lambda: _tiers(rfm, customers, n_tiers, random_state, fmt)))
    clv_section, risk_per_customer = steps.run("BG/NBD, Gamma-Gamma and CLV",
                                               lambda: _lifetime_value(tx, cols, customers, clv_months, fmt))
    sections.append(clv_section)
    sections.append(steps.run("churn model", lambda: _churn(tx, cols, customers, horizon_days, random_state)))
    sections.append(steps.run("lifecycle stages", lambda: _lifecycle(tx, cols, customers)))
    sections.append(steps.run("win-back list", lambda: _winback(customers, top, fmt, risk_per_customer)))
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

_NO_MONEY = ("RFM segments, revenue concentration, value tiers, spend per purchase, lifetime value and value at "
             "risk")


def _overview(tx: pd.DataFrame, rfm: pd.DataFrame, cols: Dict[str, Any], n_guests: int, guest_amount: float,
              fmt: Formats) -> Section:
    repeat = (rfm["n_orders"] > 1).mean()
    period = f"{rfm['first_purchase'].min():%Y-%m-%d} to {rfm['last_purchase'].max():%Y-%m-%d}"
    facts = {"Transactions": fmt.count(len(tx)), "Customers": fmt.count(len(rfm))}
    orders = f"distinct {cols['order']!r} ids with a purchase" if cols.get("order") else "days with a purchase"
    notes = []
    if cols["amount"] is None:
        text = (f"{len(rfm):,} customers; {repeat:.0%} of them ordered more than once. The log has no amount "
                f"column, so this report leaves out: {_NO_MONEY}.")
    else:
        revenue = rfm["total_spend"].sum()
        facts.update({"Revenue (net of returns)": fmt.money(revenue), "Returned": fmt.money(rfm["returned_amount"].sum()),
                      "Revenue per customer": fmt.money(revenue / len(rfm), 2)})
        text = (f"{len(rfm):,} customers brought {fmt.money(revenue)} in revenue net of returns; {repeat:.0%} of "
                "them ordered more than once.")
        handling = {"net": "it reduces the spend of the purchase it is matched to (returns='net')",
                    "drop": "returns were left out (returns='drop')",
                    "error": "the log has none (returns='error')"}[cols["returns"]]
        notes.append(f"Orders are {orders}; a return is never an order: {handling}.")
    facts.update({"Orders per customer": fmt.number(rfm["n_orders"].mean(), 2),
                  "Customers with a repeat order": fmt.percent(repeat, 1), "Period": period})
    if n_guests:
        amount_text = f", {fmt.money(guest_amount)} in amount" if cols["amount"] is not None else ""
        notes.append(f"{n_guests:,} rows without a customer id (guest checkouts{amount_text}) were left out.")
    table = pd.DataFrame({"Value": list(facts.values())}, index=pd.Index(list(facts), name="Measure"))
    return Section("overview", "Overview", [text] + notes, [("The log in numbers", table)])


def _segments(scored: pd.DataFrame, fmt: Formats) -> Section:
    import patronage as pt

    summary = pt.segment_summary(scored)
    best = summary["share_of_revenue"].idxmax()
    text = (f"{best} are {summary.loc[best, 'share_of_customers']:.0%} of customers and bring "
            f"{summary.loc[best, 'share_of_revenue']:.0%} of revenue: protect them first. Customers are scored 1-5 "
            "on recency, frequency and monetary value; the segment follows from R and the combined FM score.")
    fig, ax = _fig()
    summary[["share_of_customers", "share_of_revenue"]].rename(
        columns={"share_of_customers": "customers", "share_of_revenue": "revenue"}).plot.barh(ax=ax)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_percent_axis())
    ax.set_xlabel("share")
    ax.set_ylabel("")
    table = display(summary, {
        "customers": ("Customers", fmt.count), "share_of_customers": ("Share of customers", fmt.percent),
        "share_of_revenue": ("Share of revenue", fmt.percent),
        "mean_total_spend": ("Average spend", fmt.money), "mean_n_orders": ("Average orders", fmt.number),
        "mean_recency_days": ("Days since last order (average)", fmt.count)}, "Segment")
    return Section("segments", "RFM segments", [text], [("Segments", table)],
                   [("Share of customers and of revenue per RFM segment", figure_png(fig))])


def _percent_axis() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)


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
    shares = display(result.shares.to_frame("share"), {"share": ("Share of revenue", Formats.percent)},
                     "Customers")
    return Section("concentration", "Revenue concentration (80/20)", [text],
                   [("Revenue share of the top customers", shares)], [("Lorenz curve", figure_png(fig))])


def _tiers(rfm: pd.DataFrame, customers: pd.DataFrame, n_tiers: int, random_state: int, fmt: Formats) -> Section:
    import patronage as pt

    seg = pt.CustomerSegmenter(n_clusters=n_tiers, random_state=random_state).fit(rfm)
    customers["tier"] = seg.customer_tiers_
    profile = seg.profile().set_index("tier")
    top_tier = seg.tiers_.iloc[0]
    row = profile.loc[top_tier]
    text = (f"The {top_tier} tier is {row['share_of_customers']:.0%} of customers and brings "
            f"{row['share_of_revenue']:.0%} of revenue: serve it personally; grow the potential tier with "
            f"tailored offers; keep the ordinary tier on automated, low-cost contact. (k-means on log-scaled "
            f"recency, orders and spend, {n_tiers} tiers.)")
    from ..cluster import plot_tiers

    fig, ax = _fig()
    plot_tiers(seg, ax=ax)
    table = display(profile, {
        "customers": ("Customers", fmt.count), "share_of_customers": ("Share of customers", fmt.percent),
        "share_of_revenue": ("Share of revenue", fmt.percent),
        "value_per_customer": ("Revenue per customer", fmt.money),
        "median_recency_days": ("Days since last order (median)", fmt.count),
        "median_n_orders": ("Orders (median)", fmt.count)}, "Tier")
    return Section("tiers", "Customer tiers (k-means)", [text], [("Tier profiles", table)],
                   [("Tier profiles", figure_png(fig))])


_PARAMETER_NAMES = {
    "r": "r: shape of purchase rates", "alpha": "alpha: scale of purchase rates (weeks)",
    "a": "a: dropout, first shape", "b": "b: dropout, second shape",
    "p": "p: shape of spend per purchase", "q": "q: shape of customers' mean spend",
    "v": "v: scale of customers' mean spend",
}

_RIDGE_RULE = ("evaluated across the (a, b) the data allow (a and b scaled together, within the likelihood-ratio 95% "
               "range); a figure is given with its range when that range is within 5% of it, and withheld otherwise")


def _parameters(model: Any) -> pd.DataFrame:
    params = model.summary()
    four = lambda v: "∞" if v == np.inf else "" if not np.isfinite(v) else f"{v:.4g}"  # noqa: E731
    return display(params.rename(index=_PARAMETER_NAMES), {
        "coef": ("Estimate", four), "lower 95% bound": ("95% interval from", four),
        "upper 95% bound": ("to", four)}, "Parameter")


def _lifetime_value(tx: pd.DataFrame, cols: Dict[str, Any], customers: pd.DataFrame, months: int,
                    fmt: Formats) -> Tuple[Section, bool]:
    """The section, and whether its per-customer value at risk may rank the win-back list (only when
    the BG/NBD is identified: stable totals along a ridge can rest on per-customer values the data do
    not fix)."""
    import patronage as pt

    key, title = "clv", "Still alive? Lifetime value (BG/NBD + Gamma-Gamma)"
    money = cols["amount"] is not None
    if not money:
        title = "Still alive? (BG/NBD)"
    summary = pt.btyd_summary(tx, **cols, freq="D", freq_multiplier=7)  # weeks
    for column in ("p_alive", "clv", "value_if_alive", "value_at_risk"):
        customers[column] = np.nan
    try:
        # GammaGamma leaves out repeat buyers without positive spend (with a warning) and gives them the
        # population mean; every model warning goes into the text, not to stderr
        (bg, gg), notes = _quietly(lambda: (pt.BetaGeo().fit(summary),
                                            pt.GammaGamma().fit(summary) if money else None))
    except PatronageError as exc:
        return Section(key, title, [f"The BTYD models could not be fitted: {exc}"]), False
    said = {bg.identification_text()} | ({gg.identification_text()} if gg is not None else set())
    notes = [note for note in notes if note not in said]  # identification is explained below, in its place
    tables = [("Purchase and dropout model (BG/NBD, time unit: weeks)", _parameters(bg))]
    if gg is not None:
        tables.append(("Spend model (Gamma-Gamma)", _parameters(gg)))
    with_value = gg is not None and gg.identified_

    risks: Dict[tuple, pd.DataFrame] = {}

    def risk_of(model: Any) -> pd.DataFrame:  # once per model, shared by the three totals
        params = tuple(model.params_)
        if params not in risks:
            risks[params] = pt.value_at_risk(model, gg, summary, horizon=months, freq="W", discount_rate=0.01)
        return risks[params]

    def risk_total(column: str) -> Callable[[Any], float]:
        return lambda model: risk_of(model)[column].sum()

    checks: Dict[str, Callable[[Any], float]] = {
        "p_alive": lambda model: model.p_alive(summary).mean(),
        "purchases": lambda model: model.expected_purchases(summary, 52.0).sum()}
    if with_value:
        checks.update({column: risk_total(column) for column in ("clv", "value_if_alive", "value_at_risk")})
    ridge, more = _quietly(lambda: None if bg.identified_ else pt.predictions_on_the_ridge(bg, summary, checks))
    notes += more
    usable = (lambda name: True) if ridge is None else (lambda name: bool(ridge.loc[name, "stable"]))

    def figure(name: str, text: str, render: Callable[[float], str]) -> str:
        if ridge is None:
            return text.format(render(predictions[name]))
        low, high = ridge.loc[name, "low"], ridge.loc[name, "high"]
        return text.format(f"{render(predictions[name])} (range {render(low)} to {render(high)})")

    predictions = {name: f(bg) for name, f in checks.items()} if ridge is None else ridge["estimate"]
    p_alive = bg.p_alive(summary).reindex(customers.index)
    if not usable("p_alive"):
        text = ("The BG/NBD model is not identified on this data, and its P(alive) moves by more than 5% across "
                "the parameters the data allow, so this report gives no P(alive), expected purchases or "
                "lifetime values.")
        return Section(key, title, [text, bg.identification_text() + f" (Predictions {_RIDGE_RULE}.)"] + notes,
                       tables), False
    customers["p_alive"] = p_alive
    sentences = [figure("p_alive", "The average customer is still active with probability {}",
                        lambda v: Formats.percent(v, 1))
                 + " (BG/NBD counts customers who never bought again as alive: a known property of the model)."]
    if usable("purchases"):
        sentences.append(figure("purchases", "They will place {} orders in the next 52 weeks.", fmt.count))
    paragraphs: List[str] = []
    if with_value:
        risk = risk_of(bg)
        for column in ("clv", "value_if_alive", "value_at_risk"):
            if usable(column):
                customers[column] = risk[column].reindex(customers.index)
        if usable("clv"):
            sentences.append(figure("clv", f"Expected value over the next {months} months (Gamma-Gamma spend, 1% "
                                    "monthly discount): {}.", fmt.money))
        if usable("value_at_risk"):
            sentences.append(figure("value_at_risk", "{} of it is at risk: the value of customers who may "
                                    "already be gone (value if still active x (1 - P(alive))).", fmt.money))
        if "tier" in customers and usable("clv") and usable("value_at_risk"):
            by_tier = customers.groupby("tier", observed=True)[["clv", "value_if_alive", "value_at_risk"]].sum()
            tables.append(("Lifetime value by tier", display(by_tier, {
                "clv": (f"Expected value, {months} months", fmt.money),
                "value_if_alive": ("Value if still active", fmt.money),
                "value_at_risk": ("Value at risk", fmt.money)}, "Tier")))
    elif gg is not None:
        paragraphs.append("The Gamma-Gamma spend model is not identified on this data, so no lifetime values "
                          "are given. " + gg.identification_text())
    if ridge is not None:
        withheld = [label for name, label in (("purchases", "expected purchases"), ("clv", "lifetime value"),
                                              ("value_at_risk", "value at risk")) if name in ridge.index
                    and not usable(name)]
        paragraphs.append(bg.identification_text() + f" Predictions are {_RIDGE_RULE}"
                          + (f"; withheld: {', '.join(withheld)}." if withheld else "."))
    fig, ax = _fig(5.5, 4.2)
    bg.plot_p_alive_matrix(summary, ax=ax, time_unit="weeks")
    section = Section(key, title, [" ".join(sentences)] + paragraphs + notes, tables,
                      [("P(alive) by repeat purchases and time since the last purchase", figure_png(fig))])
    return section, bool(bg.identified_ and with_value and customers["value_at_risk"].notna().all())


_METRIC_NAMES = {"roc_auc": "ROC-AUC", "pr_auc": "Precision-recall AUC", "log_loss": "Log loss",
                 "brier": "Brier score", "top_decile_lift": "Top-decile lift", "base_rate": "Churn rate",
                 "n": "Customers"}


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
    # why each customer is at risk: the model's three strongest risk-raising features, in words
    why = model.reasons(X_now)
    customers["churn_reasons"] = why.apply(lambda r: "; ".join(v for v in r if isinstance(v, str)), axis=1).reindex(
        customers.index)
    base = float(np.mean(y_test))
    text = (f"Today {np.nanmean(customers['p_churn']):.0%} of customers are expected not to buy in the next "
            f"{horizon} days; contact the riskiest tenth first: among them the model found churners "
            f"{report.top_decile_lift:.1f} times as often as at random (ROC-AUC {report.roc_auc:.2f}, checked "
            f"out of time on the {horizon} days to {end:%Y-%m-%d}, where {base:.0%} churned).")
    fig, ax = _fig(5.0, 4.0)
    from ..churn import plot_gains

    plot_gains(y_test, p_test, ax=ax)
    summary = report.summary()
    metrics = pd.DataFrame({"Value": [Formats.count(v) if k == "n" else Formats.percent(v, 1) if k == "base_rate"
                                      else f"{v:.3f}" for k, v in summary.items()]},
                           index=pd.Index([_METRIC_NAMES.get(str(k), str(k).replace("_", " ")) for k in summary.index],
                                          name="Measure"))
    importances = model.feature_importances_.sort_values(ascending=False).head(8).to_frame("importance")
    importances = display(importances.rename(index=lambda name: str(name).replace("_", " ")),
                          {"importance": ("Share of the model's splits", Formats.percent)}, "Feature")
    tables = [("Out-of-time evaluation", metrics), ("What the model looks at (no direction: importance only)",
                                                    importances)]
    return Section(key, title, [text], tables, [("Cumulative gains, out of time", figure_png(fig))])


#: The lifecycle stages' thresholds, as multiples of a customer's usual gap (lifecycle_stages' defaults).
_AT_RISK_FACTOR, _LAPSED_FACTOR = 2.0, 4.0


def _lifecycle(tx: pd.DataFrame, cols: Dict[str, Any], customers: pd.DataFrame) -> Section:
    import patronage as pt

    stages = pt.lifecycle_stages(tx, **cols, at_risk_factor=_AT_RISK_FACTOR, lapsed_factor=_LAPSED_FACTOR)
    customers["stage"] = stages["stage"].reindex(customers.index)
    # one rhythm for every section and column: the gap the stage was measured against (the median gap
    # between the customer's purchase days; for one-time buyers, the median of everyone's)
    customers["days_since_last_order"] = stages["days_since_last_order"].reindex(customers.index)
    customers["usual_gap_days"] = (stages["at_risk_after_days"] / _AT_RISK_FACTOR).reindex(customers.index)
    customers["overdue_ratio"] = customers["days_since_last_order"] / customers["usual_gap_days"]
    counts = stages["stage"].value_counts(sort=False).to_frame("customers")
    counts["share"] = counts["customers"] / counts["customers"].sum()
    at_risk, lapsed = counts["share"].get("at_risk", 0.0), counts["share"].get("lapsed", 0.0)
    text = (f"{at_risk:.0%} of customers are at risk (more than twice their usual gap since their last order) "
            f"and {lapsed:.0%} have lapsed (more than four times): reach the at-risk ones while they still "
            "remember you. A customer's usual gap is the median gap between their purchase days; for one-time "
            "buyers, the median of everyone's.")
    fig, ax = _fig(6.0, 3.0)
    counts["customers"].rename(index=lambda s: str(s).replace("_", " ")).plot.bar(ax=ax, rot=0)
    ax.set_ylabel("customers")
    ax.set_xlabel("")
    table = display(counts.rename(index=lambda s: str(s).replace("_", " ")),
                    {"customers": ("Customers", Formats.count), "share": ("Share", Formats.percent)}, "Stage")
    return Section("lifecycle", "Lifecycle stages", [text], [("Customers per stage", table)],
                   [("Customers per lifecycle stage", figure_png(fig))])


#: Rows of the win-back list on the page (a phone screen or two); the CSV has them all.
_WINBACK_ROWS_SHOWN = 25

#: The stages a win-back list is for: lapsing (at risk) or lost (lapsed).
WINBACK_STAGES = ("at_risk", "lapsed")


def _winback(customers: pd.DataFrame, top: int, fmt: Formats, risk_per_customer: bool) -> Section:
    import patronage as pt

    title = "Win-back list"
    customers["winback_rank"] = np.nan
    customers["winback_reason"] = None
    eligible = customers.loc[customers["stage"].isin(WINBACK_STAGES)]
    if eligible.empty:
        return Section("winback", title, ["No customer is at risk or lapsed: nobody to win back today."])
    money = "total_spend" in customers and "R" in customers
    if risk_per_customer:
        # the same value at risk as the CSV: value if alive x (1 - P(alive)) (see _lifetime_value)
        p, value, column, basis = (dict(p_alive=eligible["p_alive"]), eligible["value_if_alive"], "value_at_risk",
                                   "their value if still active x the probability that they are gone")
    elif customers["p_churn"].notna().all() or customers["p_alive"].notna().all():
        # past spend (or, without money, past orders) stands in for the value
        if customers["p_churn"].notna().all():
            p, basis = dict(p_churn=eligible["p_churn"]), "the churn model's probability"
        else:
            p, basis = dict(p_alive=eligible["p_alive"]), "1 - P(alive)"
        if money:
            value, column, basis = eligible["total_spend"].clip(lower=0), "spend_at_risk", basis + " x past spend"
        else:
            value, column, basis = eligible["n_orders"].astype(float), "orders_at_risk", basis + " x past orders"
    else:
        return Section("winback", title, ["No lifetime value, churn or P(alive) estimate: no win-back list."])
    ranked = pt.winback_list(eligible, **p, value=value, top=top).rename(
        columns={"value_at_risk": column, "cumulative_value_at_risk": "cumulative_" + column})
    reasons = [f"{'lapsed' if stage == 'lapsed' else 'at risk'}: last order {days:,.0f} days ago, {ratio:.1f}x "
               f"their usual gap of {gap:,.0f} days" for stage, days, ratio, gap in
               zip(ranked["stage"], ranked["days_since_last_order"], ranked["overdue_ratio"], ranked["usual_gap_days"])]
    if "churn_reasons" in customers:  # and the churn model's strongest reasons, in words
        model_why = customers["churn_reasons"].reindex(ranked.index)
        reasons = [f"{r}; the churn model: {m}" if isinstance(m, str) and m else r for r, m in zip(reasons, model_why)]
    ranked["reason"] = reasons
    customers.loc[ranked.index, "winback_rank"] = ranked["rank"].to_numpy(dtype=float)
    if column != "value_at_risk":  # its own name: value at risk is (1 - P(alive)) x value if alive only
        customers[column] = np.nan
        customers.loc[ranked.index, column] = ranked[column].to_numpy()
    customers.loc[ranked.index, "winback_reason"] = reasons
    total = ranked[column].sum()
    worth = fmt.money(total) if column != "orders_at_risk" else f"{total:,.0f} expected orders"
    text = (f"Call these {len(ranked)} customers first: they are lapsing or lost (at risk: more than twice their "
            f"usual gap since their last order; lapsed: more than four times) and hold {worth} at risk "
            f"({basis}). Each row says why; the CSV has every customer.")
    shown = {"reason": ("Why on the list", str)}
    if "tier" in ranked:
        shown["tier"] = ("Tier", str)
    shown["p_lost"] = ("Chance they are gone" if "p_alive" in p else "Churn probability", Formats.percent)
    if column == "orders_at_risk":
        shown[column] = ("Orders at risk", lambda v: f"{v:,.1f}")
    else:
        shown[column] = ("Value at risk" if column == "value_at_risk" else "Past spend at risk", fmt.money)
    shown["action"] = ("Suggested action", str)
    table = display(ranked.head(_WINBACK_ROWS_SHOWN).rename(index=str), shown, "Customer")
    caption = "Customers to win back" + (f" (the first {_WINBACK_ROWS_SHOWN}; all {len(ranked)} are in the CSV's "
                                         "winback_rank)" if len(ranked) > _WINBACK_ROWS_SHOWN else "")
    return Section("winback", f"{title} (top {len(ranked)})", [text], [(caption, table)])
