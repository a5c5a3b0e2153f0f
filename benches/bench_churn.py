"""Churn benchmark: patronage vs scikit-learn, LightGBM, shap (and pandas for the data set), same run.

    python benches/bench_churn.py [--customers 1000000] [--repeat 1]
    python benches/bench_churn.py threads [--rows 200000 2000000] [--repeat 3] [--threads 1 2] [--models gbm]
    python benches/bench_churn.py explain [--rows 1000000]

``threads`` (issue 28) prints the thread-for-thread table: each library on 1 thread, then each on 2,
on a seeded table of ``rows`` training rows x 16 features (see ``churn_table``) and 200,000 held-out
rows: fit time and held-out ROC-AUC of ``ChurnClassifier("logistic")`` vs ``StandardScaler +
LogisticRegression(lbfgs)``, and of ``ChurnClassifier("gbm")`` vs ``HistGradientBoostingClassifier``
and ``lightgbm.LGBMClassifier`` with the same trees (100 rounds, 31 leaves, 255 bins, 20 rows and
1e-3 hessian per leaf, no L2, learning rate 0.1, no early stopping, no bagging).
``explain`` times ``ChurnClassifier.explain`` on ``rows`` rows against shap's ``TreeExplainer``
(path-dependent) reading the very same trees, and checks they agree.

Default (no sub-command):
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
import sys
import time
from pathlib import Path

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


def churn_table(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows x 16 features shaped like a churn table (days since the last order, order
    counts, skewed spend, ratios, flags, a few noise columns) and labels drawn from a risk with
    thresholds and interactions (so trees beat a linear model) plus noise."""
    rng = np.random.default_rng(seed)
    recency = rng.exponential(60.0, n)
    frequency = rng.poisson(4.0, n) + 1.0
    tenure = recency + rng.exponential(300.0, n)
    gap = tenure / frequency * rng.lognormal(0.0, 0.3, n)
    monetary = rng.lognormal(4.0, 1.0, n) * frequency
    recent = rng.poisson(frequency / 4.0)
    previous = rng.poisson(frequency / 4.0)
    X = np.column_stack([
        recency, frequency, tenure, gap, recency / gap, monetary, monetary / frequency, recent, previous,
        (recent - previous) / np.maximum(recent + previous, 1.0), rng.random(n) < 0.3, rng.beta(1.0, 8.0, n),
        rng.normal(size=n), rng.normal(size=n), rng.integers(0, 5, n), rng.random(n),
    ]).astype(np.float64)
    logit = (1.2 * np.log1p(X[:, 4]) - 0.25 * np.sqrt(frequency) + 0.8 * (recent == 0) * (X[:, 10] > 0)
             - 0.3 * np.log(X[:, 6]) + 1.5 * X[:, 11] + 0.5 * np.tanh(X[:, 12] * X[:, 13]) - 0.2)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float64)
    return X, y


def bench_threads(args: argparse.Namespace) -> None:
    import lightgbm
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from patronage import _core

    def ours(model):
        return lambda n: (lambda X, y: _core._with_threads(
            n, lambda: patronage.ChurnClassifier(model, early_stopping=False).fit(X, y)))

    def sklearn(make):
        def fit(n):
            def run(X, y):
                with threadpool_limits(n):
                    return make().fit(X, y)
            return run
        return fit

    def lgbm(n):
        return lambda X, y: lightgbm.LGBMClassifier(
            n_estimators=100, learning_rate=0.1, num_leaves=31, max_depth=-1, max_bin=255,
            min_child_samples=20, min_child_weight=1e-3, reg_lambda=0.0, subsample=1.0,
            colsample_bytree=1.0, num_threads=n, verbose=-1, random_state=0).fit(X, y)

    contenders = [
        ("logistic", "patronage logistic", ours("logistic")),
        ("logistic", "sklearn LogisticRegression", sklearn(
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)))),
        ("gbm", "patronage gbm", ours("gbm")),
        ("gbm", "sklearn HistGradientBoosting", sklearn(
            lambda: HistGradientBoostingClassifier(early_stopping=False, random_state=0))),
        ("gbm", "lightgbm LGBMClassifier", lgbm),
    ]
    contenders = [c for c in contenders if c[0] in args.models]
    Xte, yte = churn_table(200_000, seed=1)
    print(f"cores visible: {os.cpu_count()}; held-out rows {len(yte):,}, churn rate {yte.mean():.3f}")
    for rows in args.rows:
        X, y = churn_table(rows, seed=0)
        print(f"\n{rows:,} training rows x {X.shape[1]} features (fit seconds, best of {args.repeat}; "
              f"held-out ROC-AUC)")
        print(f"| model | {'threads':>7} | {'fit':>7} | {'AUC':>6} | peer / patronage |")
        print("|---|---|---|---|---|")
        for threads in args.threads:
            times = {}
            for family, name, fit in contenders:
                t, model = timed(lambda: fit(threads)(X, y), args.repeat)
                auc = roc_auc_score(yte, model.predict_proba(Xte)[:, 1])
                times[name] = (t, auc)
                mine = times.get(f"patronage {family}")
                ratio = "" if name.startswith("patronage") else \
                    f"{t / mine[0]:.2f}x (AUC {mine[1] - auc:+.4f})"
                print(f"| {name} | {threads:>7} | {t:7.3f} | {auc:.4f} | {ratio} |", flush=True)


def bench_explain(args: argparse.Namespace) -> None:
    import shap

    from patronage import _core

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_churn_explain import shap_model  # our fitted trees in shap's format

    X, y = churn_table(args.rows[0], seed=0)
    clf = patronage.ChurnClassifier("gbm", early_stopping=False, random_state=0).fit(X, y)
    explainer = shap.TreeExplainer(shap_model(clf), feature_perturbation="tree_path_dependent")
    print(f"explain {len(y):,} rows x {X.shape[1]} features, {clf.n_iter_} trees of 31 leaves "
          f"(seconds, best of {args.repeat})")
    t_shap, ref = timed(lambda: explainer.shap_values(X), args.repeat)
    print(f"  shap TreeExplainer (its C extension, one thread)   {t_shap:7.2f}s", flush=True)
    for threads in (1, 2):
        t, phi = timed(lambda: _core._with_threads(threads, lambda: clf.explain(X)), args.repeat)
        gap = np.abs(phi.to_numpy() - ref).max()
        print(f"  patronage explain, {threads} thread(s)               {t:7.2f}s -> "
              f"shap / patronage {t_shap / t:.1f}x (largest difference {gap:.1e})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", nargs="?", choices=["dataset", "threads", "explain"], default="dataset")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, nargs="+", default=None)
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts of the threads table")
    ap.add_argument("--models", nargs="+", choices=["logistic", "gbm"], default=["logistic", "gbm"],
                    help="model families of the threads table (e.g. `--models gbm` to time only the gbm rows)")
    args = ap.parse_args()
    if args.part == "threads":
        args.rows, args.repeat = args.rows or [200_000, 2_000_000], args.repeat or 3
        return bench_threads(args)
    if args.part == "explain":
        args.rows, args.repeat = args.rows or [1_000_000], args.repeat or 1
        return bench_explain(args)
    args.repeat = args.repeat or 1
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
