"""Churn benchmark: patronage vs scikit-learn (and pandas for the data set), same run.

    python benches/bench_churn.py [--customers 1000000] [--repeat 1]

1. ``churn_dataset`` on a simulated log of ~10 purchases per customer (BG/NBD with
   r=2, alpha=60, a=0.5, b=8: ~10M transactions for 1M customers) vs a pandas
   groupby computing a subset of the same features (recency, frequency,
   monetary, tenure, gap mean/std, label).
2. On those 16 features (70/30 split by customer, fixed seed): fit + predict time
   and test ROC-AUC of ``ChurnClassifier("logistic")`` vs
   ``StandardScaler + LogisticRegression(lbfgs)`` (the same penalised objective),
   and ``ChurnClassifier("gbm")`` vs ``HistGradientBoostingClassifier`` (100 rounds,
   no early stopping, same defaults), scikit-learn also on one thread (OpenMP threads
   spin-wait badly on a shared machine).

Prints the ratios (scikit-learn time / patronage time: > 1 means patronage is faster).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

import patronage
from patronage.datasets import simulate_transactions


def timed(fn, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def pandas_features(tx: pd.DataFrame, cutoff: pd.Timestamp, horizon: int) -> pd.DataFrame:
    past = tx[tx["date"] <= cutoff]
    g = past.groupby("customer_id")
    first, last = g["date"].min(), g["date"].max()
    days = past[["customer_id", "date"]].drop_duplicates().sort_values(["customer_id", "date"])
    gap = days.groupby("customer_id")["date"].diff().dt.days
    gaps = gap.groupby(days["customer_id"]).agg(["mean", "std"])
    future = tx[(tx["date"] > cutoff) & (tx["date"] <= cutoff + pd.Timedelta(days=horizon))]
    bought = future.loc[future["amount"] >= 0, "customer_id"].unique()
    out = pd.DataFrame({
        "recency_days": (cutoff - last).dt.days, "frequency": days.groupby("customer_id").size(),
        "monetary": g["amount"].sum(), "tenure_days": (cutoff - first).dt.days,
        "gap_mean_days": gaps["mean"], "gap_std_days": gaps["std"],
    })
    out["churned"] = (~out.index.isin(bought)).astype(int)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    print(f"cores visible: {os.cpu_count()}; customers: {args.customers:,}")
    tx = simulate_transactions(args.customers, r=2.0, alpha=60.0, a=0.5, b=8.0, observation_days=546,
                               random_state=42)
    cutoff = tx["date"].min() + pd.Timedelta(days=400)
    horizon = 90
    print(f"transactions: {len(tx):,}")

    t_ours, (X, y) = timed(lambda: patronage.churn_dataset(tx, cutoff=cutoff, horizon=horizon), args.repeat)
    t_pd, ref = timed(lambda: pandas_features(tx, cutoff, horizon), args.repeat)
    assert (ref["churned"].to_numpy() == y.to_numpy()).all()
    np.testing.assert_allclose(ref["monetary"].to_numpy(), X["monetary"].to_numpy(), rtol=1e-9)
    print(f"churn_dataset ({X.shape[1]} features): patronage {t_ours:.2f}s, pandas ({ref.shape[1] - 1} "
          f"features) {t_pd:.2f}s -> pandas/patronage {t_pd / t_ours:.1f}x")
    del tx

    rng = np.random.default_rng(0)
    test = rng.random(len(y)) < 0.3
    Xtr, Xte, ytr, yte = X[~test], X[test], y[~test], y[test]
    Atr, Ate = np.ascontiguousarray(Xtr.to_numpy()), np.ascontiguousarray(Xte.to_numpy())
    print(f"train {Xtr.shape}, test {Xte.shape}, churn rate {y.mean():.3f}")

    rows = []

    def run(name, fit, proba):
        tf, model = timed(fit, args.repeat)
        tp, p = timed(lambda: proba(model), args.repeat)
        auc = roc_auc_score(yte, p)
        rows.append((name, tf, tp, auc))
        print(f"  {name:<34} fit {tf:7.2f}s  predict {tp:6.2f}s  ROC-AUC {auc:.4f}", flush=True)

    run("patronage logistic", lambda: patronage.ChurnClassifier("logistic").fit(Atr, ytr.to_numpy()),
        lambda m: m.predict_proba(Ate)[:, 1])
    run("sklearn LogisticRegression(lbfgs)",
        lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Atr, ytr.to_numpy()),
        lambda m: m.predict_proba(Ate)[:, 1])
    run("patronage gbm", lambda: patronage.ChurnClassifier("gbm", random_state=0).fit(Atr, ytr.to_numpy()),
        lambda m: m.predict_proba(Ate)[:, 1])
    run("sklearn HistGradientBoosting",
        lambda: HistGradientBoostingClassifier(early_stopping=False, random_state=0).fit(Atr, ytr.to_numpy()),
        lambda m: m.predict_proba(Ate)[:, 1])

    # OpenMP spins badly when the machine is shared: also time scikit-learn on one thread
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        run("sklearn LogisticRegression 1 thread",
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Atr, ytr.to_numpy()),
            lambda m: m.predict_proba(Ate)[:, 1])
        run("sklearn HistGradientBoosting 1 thr",
            lambda: HistGradientBoostingClassifier(early_stopping=False, random_state=0).fit(Atr, ytr.to_numpy()),
            lambda m: m.predict_proba(Ate)[:, 1])

    by = {r[0]: r for r in rows}
    for ours, theirs in [("patronage logistic", "sklearn LogisticRegression(lbfgs)"),
                         ("patronage logistic", "sklearn LogisticRegression 1 thread"),
                         ("patronage gbm", "sklearn HistGradientBoosting"),
                         ("patronage gbm", "sklearn HistGradientBoosting 1 thr")]:
        o, t = by[ours], by[theirs]
        print(f"{ours} vs {theirs}: fit {t[1] / o[1]:.2f}x, predict {t[2] / o[2]:.2f}x, "
              f"fit+predict {(t[1] + t[2]) / (o[1] + o[2]):.2f}x faster; ROC-AUC {o[3] - t[3]:+.4f}")


if __name__ == "__main__":
    main()
