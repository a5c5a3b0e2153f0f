"""Benchmark: BG/NBD + Gamma-Gamma fits and 12-month CLV, patronage vs lifetimes 0.11.3.

    python benches/bench_btyd.py [--sizes 100000 1000000] [--repeats 3]

Customers are simulated with ``patronage.datasets.simulate_transactions`` (seeded) and
summarised with ``btyd_summary`` (days). The same summary goes, through a temporary
``.npz`` file, to lifetimes running in its own interpreter: lifetimes 0.11.3 needs
pandas < 3 and a setuptools that still ships pkg_resources, so it lives in a separate
virtual environment. Point ``LIFETIMES_PYTHON`` at its python (default
``/work/venv-lifetimes/bin/python``); create it with

    python3 -m venv /work/venv-lifetimes
    /work/venv-lifetimes/bin/pip install "pandas<3" "setuptools<70" lifetimes numpy scipy

Log-likelihoods are compared as the paper's (eq. 6) total, recomputed by patronage at
both tools' estimates: lifetimes' stored objective is a penalised mean on rescaled time.
Times are medians of ``--repeats`` runs for patronage and one run for lifetimes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import patronage
from patronage.datasets import simulate_transactions

LIFETIMES_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
d = np.load(sys.argv[1])
s = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "monetary_value")})
out = {}
t0 = time.perf_counter(); bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
out["bg_fit"] = time.perf_counter() - t0
rep = s[s["frequency"] > 0]
t0 = time.perf_counter(); gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
out["gg_fit"] = time.perf_counter() - t0
t0 = time.perf_counter()
clv = gg.customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                 time=12, discount_rate=0.01, freq="D")
out["clv"] = time.perf_counter() - t0
out["bg_params"] = [float(bg.params_[k]) for k in ("r", "alpha", "a", "b")]
out["gg_params"] = [float(gg.params_[k]) for k in ("p", "q", "v")]
np.save(sys.argv[2], clv.to_numpy())
print(json.dumps(out))
"""


def median_time(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), result


def run_lifetimes(python: str, summary, workdir: Path) -> dict | None:
    data, clv_out = workdir / "summary.npz", workdir / "clv_lifetimes.npy"
    np.savez(data, **{c: summary[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value")})
    proc = subprocess.run([python, "-c", LIFETIMES_SCRIPT, str(data), str(clv_out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  lifetimes failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["clv_values"] = np.load(clv_out)
    return out


def bench(n: int, repeats: int, lifetimes_python: str | None) -> None:
    tx = simulate_transactions(n, spend="gamma-gamma", random_state=2024)
    summary = patronage.btyd_summary(tx, freq="D")
    del tx
    print(f"\n## {n:,} customers ({int((summary['frequency'] > 0).sum()):,} repeat buyers), summary in days")
    patronage.BetaGeo().fit(summary.head(1000))  # warm-up (thread pool)
    t_bg, bg = median_time(lambda: patronage.BetaGeo().fit(summary), repeats)
    t_gg, gg = median_time(lambda: patronage.GammaGamma().fit(summary), repeats)
    t_clv, clv = median_time(lambda: patronage.customer_lifetime_value(
        bg, gg, summary, horizon=12, freq="D", discount_rate=0.01), repeats)
    rows = [("BetaGeo fit", t_bg), ("GammaGamma fit", t_gg), ("CLV 12 months", t_clv)]
    lt = None
    if lifetimes_python:
        with tempfile.TemporaryDirectory() as tmp:
            lt = run_lifetimes(lifetimes_python, summary, Path(tmp))
    print("| task | patronage | lifetimes | speed-up |")
    print("|---|---|---|---|")
    for (name, t), key in zip(rows, ("bg_fit", "gg_fit", "clv")):
        if lt:
            print(f"| {name} | {t:.3f} s | {lt[key]:.2f} s | {lt[key] / t:.0f}x |")
        else:
            print(f"| {name} | {t:.3f} s | - | - |")
    total = sum(t for _, t in rows)
    if lt:
        lt_total = lt["bg_fit"] + lt["gg_fit"] + lt["clv"]
        print(f"| all three | {total:.3f} s | {lt_total:.2f} s | {lt_total / total:.0f}x |")
        ll_ours = bg.log_likelihood_
        ll_lt = patronage.BetaGeo.from_params(*lt["bg_params"]).log_likelihood(summary)
        gg_ll_ours = gg.log_likelihood_
        gg_ll_lt = patronage.GammaGamma.from_params(*lt["gg_params"]).log_likelihood(summary)
        print(f"BG/NBD log-likelihood: patronage {ll_ours:.6f}, lifetimes' estimates {ll_lt:.6f}, "
              f"relative difference {(ll_ours - ll_lt) / abs(ll_lt):.2e} (positive: patronage higher)")
        print(f"Gamma-Gamma log-likelihood: patronage {gg_ll_ours:.6f}, lifetimes' estimates {gg_ll_lt:.6f}, "
              f"relative difference {(gg_ll_ours - gg_ll_lt) / abs(gg_ll_lt):.2e}")
        print("parameters (patronage / lifetimes):", dict(zip(bg.params_.index, zip(
            bg.params_.round(5), np.round(lt["bg_params"], 5)))), dict(zip(gg.params_.index, zip(
                gg.params_.round(4), np.round(lt["gg_params"], 4)))))
        # same definition: patronage's CLV at lifetimes' estimates equals lifetimes' CLV
        same = patronage.customer_lifetime_value(
            patronage.BetaGeo.from_params(*lt["bg_params"]), patronage.GammaGamma.from_params(*lt["gg_params"]),
            summary, horizon=12, freq="D", discount_rate=0.01).to_numpy()
        rel = np.max(np.abs(same - lt["clv_values"]) / np.maximum(np.abs(lt["clv_values"]), 1e-12))
        print(f"CLV at lifetimes' estimates vs lifetimes' CLV: max relative difference {rel:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    python = os.environ.get("LIFETIMES_PYTHON", "/work/venv-lifetimes/bin/python")
    if not Path(python).exists():
        print(f"lifetimes interpreter {python} not found (set LIFETIMES_PYTHON): patronage only")
        python = None
    print(f"patronage {patronage.__version__}, {os.cpu_count()} CPUs")
    for n in args.sizes:
        bench(n, args.repeats, python)


if __name__ == "__main__":
    main()
