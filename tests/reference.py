"""Independent pandas reference implementations the tests compare against.

Written the plain way (groupby, merge_asof and loops), sharing no code with Patronage.

The rules for purchases and returns, as documented in ``patronage.rfm_table``:

* a row with amount >= 0 is a purchase line, a negative amount a return line;
* an order is a customer-day with a purchase line, or (with an order column) an order id of the
  customer with a purchase line, dated on its earliest purchase line; a purchase day is a day
  with an order;
* under returns="net" a return line is matched to the purchase day of its own order when that
  order has a purchase line on or before it, else to the customer's latest purchase day on or
  before it; a return before the first purchase day matches nothing and is left out;
* returns="drop" removes negative rows first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _rows(tx: pd.DataFrame, returns: str = "net", order: str | None = None, until=None) -> pd.DataFrame:
    """customer, day, amount, order (a column name or None) of the kept rows on or before ``until``."""
    dates = pd.to_datetime(tx["date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)  # the local calendar day
    df = pd.DataFrame({
        "customer": tx["customer_id"].to_numpy(),
        "day": dates.dt.normalize().to_numpy(),
        "amount": tx["amount"].to_numpy(dtype=float) if "amount" in tx else np.zeros(len(tx)),
        "order": tx[order].to_numpy() if order is not None else np.zeros(len(tx)),
    })
    if returns == "drop":
        df = df[df["amount"] >= 0]
    if until is not None:
        df = df[df["day"] <= pd.Timestamp(until)]
    return df


def purchase_days(tx: pd.DataFrame, returns: str = "net", order: str | None = None, until=None) -> pd.DataFrame:
    """One row per (customer, purchase day): orders, purchase_lines, gross, return_lines, returned,
    spend (= gross - returned), from the rows on or before ``until``."""
    df = _rows(tx, returns, order, until)
    buys = df[df["amount"] >= 0].copy()
    rets = df[df["amount"] < 0].copy()
    if order is None:
        buys["order_day"] = buys["day"]
        rets["target"] = rets["day"]
    else:
        # an order is placed on its earliest purchase line's day; its later lines belong to that day
        order_day = buys.groupby(["customer", "order"])["day"].min().rename("order_day")
        buys = buys.join(order_day, on=["customer", "order"])
        rets = rets.join(order_day, on=["customer", "order"])
        linked = rets["order_day"].notna() & (rets["order_day"] <= rets["day"])
        rets["target"] = rets["day"].where(~linked, rets["order_day"])
    n_orders = buys.groupby(["customer", "order_day"])["order"].nunique() if order is not None else \
        buys.groupby(["customer", "order_day"]).size().clip(upper=1)
    days = buys.groupby(["customer", "order_day"]).agg(purchase_lines=("amount", "size"), gross=("amount", "sum"))
    days["orders"] = n_orders
    days = days.reset_index().rename(columns={"order_day": "day"})
    if len(rets):
        # each return to the latest purchase day of its customer on or before its target day
        keys = days[["customer", "day"]].rename(columns={"day": "matched"})
        keys["key"] = keys["matched"]
        rets = rets.sort_values("target")
        matched = pd.merge_asof(rets, keys.sort_values("key"), left_on="target", right_on="key",
                                by="customer", direction="backward")
        matched = matched.dropna(subset=["matched"])
        per_day = matched.groupby(["customer", "matched"]).agg(return_lines=("amount", "size"),
                                                               returned=("amount", lambda a: -a.sum()))
        per_day.index = per_day.index.set_names(["customer", "day"])
        days = days.join(per_day, on=["customer", "day"])
    else:
        days["return_lines"], days["returned"] = 0, 0.0
    days[["return_lines", "returned"]] = days[["return_lines", "returned"]].fillna(0)
    days["return_lines"] = days["return_lines"].astype(np.int64)
    days["spend"] = days["gross"] - days["returned"]
    return days.sort_values(["customer", "day"]).reset_index(drop=True)


def rfm_reference(tx: pd.DataFrame, as_of=None, returns: str = "net", order: str | None = None) -> pd.DataFrame:
    df = _rows(tx, returns, order)
    as_of = df["day"].max() + pd.Timedelta(days=1) if as_of is None else pd.Timestamp(as_of)
    rows = {}
    for cid, g in purchase_days(tx, returns, order).groupby("customer", sort=True):
        days = g["day"].to_numpy()
        gaps = np.diff(days).astype("timedelta64[D]").astype(float)
        n_orders = int(g["orders"].sum())
        rows[cid] = {
            "first_purchase": days[0],
            "last_purchase": days[-1],
            "recency_days": (as_of - days[-1]).days,
            "tenure_days": (as_of - days[0]).days,
            "n_orders": n_orders,
            "n_transactions": int(g["purchase_lines"].sum() + g["return_lines"].sum()),
            "total_spend": g["spend"].sum(),
            "avg_order_value": g["spend"].sum() / n_orders,
            "mean_days_between_orders": gaps.mean() if len(gaps) else np.nan,
            "std_days_between_orders": gaps.std(ddof=1) if len(gaps) > 1 else np.nan,
            "n_returns": int(g["return_lines"].sum()),
            "returned_amount": g["returned"].sum(),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "customer_id"
    return out


def summary_reference(tx: pd.DataFrame, freq: str = "D", freq_multiplier: float = 1,
                      observation_end=None, calibration_end=None, returns: str = "net",
                      order: str | None = None) -> pd.DataFrame:
    """lifetimes' summary_data_from_transaction_data / calibration_and_holdout_data on purchase
    days (a period with a purchase day counts once; its spend is the net spend of its purchase
    days), re-derived with pandas Periods (weeks W-SUN, months M)."""
    dates = pd.to_datetime(tx["date"])
    obs_end = dates.max() if observation_end is None else pd.Timestamp(observation_end)

    def summarise(until: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        end_p = end.to_period(freq)
        days = purchase_days(tx, returns, order, until=until)
        days = days.assign(period=days["day"].dt.to_period(freq))
        per = days.groupby(["customer", "period"], sort=True)["spend"].sum().reset_index()
        rows = {}
        for cid, g in per.groupby("customer", sort=True):
            periods = list(g["period"])
            first, last = periods[0], periods[-1]
            rows[cid] = {
                "frequency": float(len(periods) - 1),
                "recency": _span(first, last, freq) / freq_multiplier,
                "T": _span(first, end_p, freq) / freq_multiplier,
                "monetary_value": float(g["spend"].iloc[1:].mean()) if len(periods) > 1 else 0.0,
            }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "customer_id"
        return out

    if calibration_end is None:
        # lifetimes compares period starts: the whole period of the end is in
        return summarise(obs_end.to_period(freq).end_time.normalize(), obs_end)
    cal_end = pd.Timestamp(calibration_end)
    cal = summarise(cal_end, cal_end)
    cal.columns = [f"{c}_cal" for c in cal.columns]
    hold = purchase_days(tx, returns, order, until=obs_end)
    hold = hold[hold["day"] > cal_end].assign(period=lambda d: d["day"].dt.to_period(freq))
    freq_h = hold.groupby("customer")["period"].nunique().astype(float)
    mon_h = hold.groupby("customer")["spend"].sum() / hold.groupby("customer")["purchase_lines"].sum()
    cal["frequency_holdout"] = freq_h.reindex(cal.index).fillna(0.0)
    cal["monetary_value_holdout"] = mon_h.reindex(cal.index).fillna(0.0)
    cal["duration_holdout"] = (obs_end.to_period(freq) - cal_end.to_period(freq)).n / freq_multiplier
    return cal


def _span(a: pd.Period, b: pd.Period, freq: str) -> float:
    if freq == "M":
        return float((b - a).n)
    days = (b.start_time - a.start_time).days
    return days / 7.0 if freq == "W" else float(days)


def churn_reference(tx: pd.DataFrame, cutoff, horizon: int, window: int, returns: str = "net",
                    order: str | None = None) -> tuple:
    """The documented churn features and labels, customer by customer in plain Python."""
    cutoff = pd.Timestamp(cutoff)
    # churned: no order placed in the horizon (a return, or a later line of an earlier order, is none)
    later = purchase_days(tx, returns, order, until=cutoff + pd.Timedelta(days=horizon))
    bought = set(later.loc[later["day"] > cutoff, "customer"])
    trend = lambda a, b: (a - b) / (abs(a) + abs(b)) if abs(a) + abs(b) > 0 else 0.0  # noqa: E731
    rows, labels = {}, {}
    for cid, g in purchase_days(tx, returns, order, until=cutoff).groupby("customer", sort=True):
        age = (cutoff - g["day"]).dt.days.to_numpy()  # days before the cutoff
        days = -age
        gaps = np.diff(days)
        recency, tenure = age[-1], age[0]
        gap_mean = gaps.mean() if len(gaps) else tenure
        gap_std = gaps.std(ddof=1) if len(gaps) > 1 else 0.0
        recent = age < window
        previous = (age < 2 * window) & ~recent
        orders, spend = g["orders"].to_numpy(), g["spend"].to_numpy()
        o_rec, o_prev = orders[recent].sum(), orders[previous].sum()
        s_rec, s_prev = spend[recent].sum(), spend[previous].sum()
        gross, returned = g["gross"].sum(), g["returned"].sum()
        n = orders.sum()
        rows[cid] = [recency, n, spend.sum(), spend.sum() / n, tenure, gap_mean, gap_std,
                     recency / max(gap_mean, 1), o_rec, o_prev, trend(o_rec, o_prev), s_rec, s_prev,
                     trend(s_rec, s_prev), returned / (gross + returned) if gross + returned > 0 else 0.0,
                     float(n == 1)]
        labels[cid] = int(cid not in bought)
    return rows, labels


def cohort_reference(tx: pd.DataFrame, period: str, metric: str, normalize: bool, returns: str = "net",
                     order: str | None = None) -> pd.DataFrame:
    """Cohort = period of the first purchase day, age = periods since, a return counted at the age of
    the purchase day it is matched to; unobserved cells NaN."""
    days = purchase_days(tx, returns, order)
    p = pd.PeriodIndex(days["day"], freq=period).asi8
    df = pd.DataFrame({"c": days["customer"].to_numpy(), "p": p, "a": days["spend"].to_numpy()})
    df["cohort"] = df.groupby("c")["p"].transform("min")
    df["age"] = df["p"] - df["cohort"]
    cells = df.groupby(["cohort", "age"])
    table = (cells["c"].nunique() if metric == "customers" else cells["a"].sum()).unstack(fill_value=0)
    log_end = pd.PeriodIndex(_rows(tx, returns, order)["day"], freq=period).asi8.max()
    n_ages = log_end - p.min() + 1
    table = table.reindex(columns=range(n_ages), fill_value=0.0).astype(float)
    if normalize:
        base = df.groupby("cohort")["c"].nunique() if metric == "customers" else table[0]
        table = table.div(base, axis=0)
    ages = np.arange(n_ages)[None, :]
    return table.where(table.index.to_numpy()[:, None] + ages <= log_end)


def retention_reference(tx: pd.DataFrame, period: str, returns: str = "net") -> pd.DataFrame:
    """active / new / retained / returning customers per period, from purchase days."""
    days = purchase_days(tx, returns)
    days = days.assign(p=days["day"].dt.to_period(period))
    log = _rows(tx, returns)
    periods = pd.period_range(days["p"].min(), log["day"].max().to_period(period), freq=period)
    active = {p: set() for p in periods}
    for c, p in zip(days["customer"], days["p"]):
        active[p].add(c)
    first = days.groupby("customer")["p"].min()
    out = []
    for i, p in enumerate(periods):
        now = active[p]
        prev = active[periods[i - 1]] if i else set()
        new = {c for c in now if first[c] == p}
        out.append((len(now), len(new), len(now & prev), len(now - prev - new)))
    return pd.DataFrame(out, columns=["active", "new", "retained", "returning"], index=periods)


def repurchase_reference(tx: pd.DataFrame, within=None, returns: str = "net") -> tuple:
    """(customers, repeat_customers, censored): a second purchase day, within ``within`` days."""
    days = purchase_days(tx, returns)
    end = _rows(tx, returns)["day"].max()
    customers = repeat = censored = 0
    for _, g in days.groupby("customer"):
        d = g["day"].to_numpy()
        if within is not None and d[0] + np.timedelta64(within, "D") > end:
            censored += 1
            continue
        customers += 1
        if len(d) > 1 and (within is None or (d[1] - d[0]) / np.timedelta64(1, "D") <= within):
            repeat += 1
    return customers, repeat, censored
