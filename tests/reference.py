"""Independent pandas reference implementations the tests compare against.

Written the plain way (groupby and loops), sharing no code with Patronage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def rfm_reference(tx: pd.DataFrame, as_of=None, returns: str = "net") -> pd.DataFrame:
    df = tx[["customer_id", "date", "amount"]].copy()
    df["date"] = pd.to_datetime(df["date"]).dt.normalize()
    if returns == "drop":
        df = df[df["amount"] >= 0]
    as_of = df["date"].max() + pd.Timedelta(days=1) if as_of is None else pd.Timestamp(as_of)
    rows = {}
    for cid, g in df.groupby("customer_id", sort=True):
        days = np.sort(g["date"].unique())
        gaps = np.diff(days).astype("timedelta64[D]").astype(float)
        neg = g["amount"][g["amount"] < 0]
        rows[cid] = {
            "first_purchase": days[0],
            "last_purchase": days[-1],
            "recency_days": (as_of - days[-1]).days,
            "tenure_days": (as_of - days[0]).days,
            "n_orders": len(days),
            "n_transactions": len(g),
            "total_spend": g["amount"].sum(),
            "avg_order_value": g["amount"].sum() / len(days),
            "mean_days_between_orders": gaps.mean() if len(gaps) else np.nan,
            "std_days_between_orders": gaps.std(ddof=1) if len(gaps) > 1 else np.nan,
            "n_returns": len(neg),
            "returned_amount": -neg.sum(),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "customer_id"
    return out


def summary_reference(tx: pd.DataFrame, freq: str = "D", freq_multiplier: float = 1,
                      observation_end=None, calibration_end=None) -> pd.DataFrame:
    """lifetimes' summary_data_from_transaction_data / calibration_and_holdout_data,
    re-derived with pandas Periods (weeks W-SUN, months M)."""
    df = tx[["customer_id", "date", "amount"]].copy()
    df["date"] = pd.to_datetime(df["date"])
    obs_end = df["date"].max() if observation_end is None else pd.Timestamp(observation_end)

    def summarise(part: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
        part = part.assign(period=part["date"].dt.to_period(freq))
        end_p = end.to_period(freq)
        part = part[part["period"] <= end_p]
        per = part.groupby(["customer_id", "period"], sort=True)["amount"].sum().reset_index()
        rows = {}
        for cid, g in per.groupby("customer_id", sort=True):
            periods = list(g["period"])
            first, last = periods[0], periods[-1]
            rows[cid] = {
                "frequency": float(len(periods) - 1),
                "recency": _span(first, last, freq) / freq_multiplier,
                "T": _span(first, end_p, freq) / freq_multiplier,
                "monetary_value": float(g["amount"].iloc[1:].mean()) if len(periods) > 1 else 0.0,
            }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "customer_id"
        return out

    if calibration_end is None:
        return summarise(df, obs_end)
    cal_end = pd.Timestamp(calibration_end)
    cal = summarise(df[df["date"] <= cal_end], cal_end)
    cal.columns = [f"{c}_cal" for c in cal.columns]
    hold = df[(df["date"] > cal_end) & (df["date"] <= obs_end)]
    hold = hold.assign(period=hold["date"].dt.to_period(freq))
    freq_h = hold.groupby("customer_id")["period"].nunique().astype(float)
    mon_h = hold.groupby("customer_id")["amount"].mean()
    cal["frequency_holdout"] = freq_h.reindex(cal.index).fillna(0.0)
    cal["monetary_value_holdout"] = mon_h.reindex(cal.index).fillna(0.0)
    cal["duration_holdout"] = (obs_end.to_period(freq) - cal_end.to_period(freq)).n / freq_multiplier
    return cal


def _span(a: pd.Period, b: pd.Period, freq: str) -> float:
    if freq == "M":
        return float((b - a).n)
    days = (b.start_time - a.start_time).days
    return days / 7.0 if freq == "W" else float(days)
