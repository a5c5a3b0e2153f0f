"""Uplift benchmark: patronage vs scikit-uplift, same run (issue 29).

    python benches/bench_uplift.py [--customers 1000000] [--test 200000] [--learner gbm logistic]

Simulated customers (seeded): six numeric features, a 50/50 random treatment, a visit whose
probability is ``0.15 + 0.1 tanh(x2) + t * tau(x)`` with ``tau = 0.12 [x1 > 0] + 0.06 x3 [x4 > 0]
- 0.04``, clipped to [0.01, 0.99]. Fit on ``customers`` rows, score (predict uplift) on ``test``
held-out rows; the held-out Qini coefficient is printed for both sides (equal Qini = the same
quality of ranking).

1. Fit + scoring of the two-model (T-) learner: ``patronage.UpliftClassifier("t_learner", learner)``
   vs ``sklift.models.TwoModels(method="vanilla")`` with the comparable scikit-learn learner:
   - ``gbm``: ``ChurnClassifier("gbm", early_stopping=False)`` vs
     ``HistGradientBoostingClassifier(early_stopping=False)`` (both: 100 rounds, 31 leaves,
     255 bins, learning rate 0.1, 20 rows per leaf, no L2: the same algorithm);
   - ``logistic``: ``ChurnClassifier("logistic")`` (Newton, standardised features, C=1) vs
     ``make_pipeline(StandardScaler(), LogisticRegression(C=1))`` (lbfgs; the same objective).
2. The metric functions on the held-out scores: ``qini_coefficient``, ``auuc``, ``uplift_at_k``
   vs scikit-uplift's ``qini_auc_score``, ``uplift_auc_score``, ``uplift_at_k`` (values must agree).

Both sides run on ONE thread (patronage through ``_core._with_threads(1, ...)``, scikit-learn's
OpenMP through threadpoolctl): on this shared 2-core machine OpenMP threads spin-wait badly, and a
thread-for-thread comparison is the fair one. ``--threads 2`` runs both on two.

Prints times and ratios (scikit-uplift time / patronage time: > 1 means patronage is faster) and
the machine's load average: the machine is shared, so only same-run ratios mean anything.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

import patronage


def simulate(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{j}" for j in range(1, 7)])
    t = rng.integers(0, 2, n)
    tau = 0.12 * (X["x1"] > 0) + 0.06 * X["x3"] * (X["x4"] > 0) - 0.04
    p = np.clip(0.15 + 0.1 * np.tanh(X["x2"]) + t * tau, 0.01, 0.99)
    y = (rng.uniform(size=n) < p).astype(np.int64)
    return X, y, t


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def learners(kind: str):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "gbm":
        ours = patronage.ChurnClassifier("gbm", early_stopping=False)
        theirs = [HistGradientBoostingClassifier(early_stopping=False, random_state=0) for _ in range(2)]
    else:
        ours = patronage.ChurnClassifier("logistic")
        theirs = [make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)) for _ in range(2)]
    return ours, theirs


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--test", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--learner", nargs="+", default=["gbm", "logistic"], choices=["gbm", "logistic"])
    args = parser.parse_args()
    from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score
    from sklift.models import TwoModels
    from threadpoolctl import threadpool_limits

    from patronage import _core

    def ours_on(fn):
        return lambda: _core._with_threads(args.threads, fn)

    def peer_on(fn):
        def run():
            with threadpool_limits(args.threads):
                return fn()
        return run

    X, y, t = simulate(args.customers, 0)
    Xt, yt, tt = simulate(args.test, 1)
    print(f"{args.customers:,} customers to fit, {args.test:,} to score, {args.threads} thread(s); "
          f"load average {os.getloadavg()}")
    for kind in args.learner:
        ours_learner, (trmnt, ctrl) = learners(kind)
        model = patronage.UpliftClassifier("t_learner", ours_learner, random_state=0)
        fit_ours, _ = timed(ours_on(lambda: model.fit(X, y, t)))
        score_ours, pred_ours = timed(ours_on(lambda: model.predict_uplift(Xt).to_numpy()))
        peer = TwoModels(estimator_trmnt=trmnt, estimator_ctrl=ctrl, method="vanilla")
        fit_peer, _ = timed(peer_on(lambda: quiet(peer.fit, X, y, t)))
        score_peer, pred_peer = timed(peer_on(lambda: quiet(peer.predict, Xt)))
        q_ours = patronage.qini_coefficient(yt, pred_ours, tt)
        q_peer = patronage.qini_coefficient(yt, pred_peer, tt)
        print(f"[{kind}] patronage UpliftClassifier  fit {fit_ours:7.2f} s  score {score_ours:6.2f} s  "
              f"held-out Qini {q_ours:.4f}")
        print(f"[{kind}] sklift TwoModels           fit {fit_peer:7.2f} s  score {score_peer:6.2f} s  "
              f"held-out Qini {q_peer:.4f}")
        total_ours, total_peer = fit_ours + score_ours, fit_peer + score_peer
        print(f"[{kind}] fit + score ratio (sklift / patronage): {total_peer / total_ours:.2f}x; "
              f"load {os.getloadavg()[0]:.1f}")

    scores = pred_ours
    pairs = [
        ("qini_coefficient", lambda: patronage.qini_coefficient(yt, scores, tt),
         lambda: quiet(qini_auc_score, yt, scores, tt)),
        ("auuc", lambda: patronage.auuc(yt, scores, tt), lambda: quiet(uplift_auc_score, yt, scores, tt)),
        ("uplift_at_k(k=0.3)", lambda: patronage.uplift_at_k(yt, scores, tt, k=0.3),
         lambda: quiet(uplift_at_k, yt, scores, tt, strategy="overall", k=0.3)),
    ]
    for name, ours, theirs in pairs:
        t_ours, v_ours = min((timed(ours_on(ours)) for _ in range(3)), key=lambda r: r[0])
        t_peer, v_peer = min((timed(peer_on(theirs)) for _ in range(3)), key=lambda r: r[0])
        print(f"{name:20s} patronage {t_ours * 1e3:8.1f} ms  sklift {t_peer * 1e3:8.1f} ms  "
              f"ratio {t_peer / t_ours:5.2f}x  |diff| {abs(v_ours - v_peer):.1e}")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
