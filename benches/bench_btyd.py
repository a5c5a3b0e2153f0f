"""Benchmark: BTYD fits and predictions, patronage vs lifetimes 0.11.3.

    python benches/bench_btyd.py [--sections fit pareto predict] [--sizes 100000 1000000]
                                 [--pareto-sizes 1000000] [--predict-size 300000] [--repeats 3]
                                 [--lifetimes-timeout 1800]

* ``fit``: BG/NBD + Gamma-Gamma fits and 12-month CLV on simulated customers (``--sizes``);
* ``pareto``: the Pareto/NBD fit on the Online Retail II summary (days and weeks; the shared
  data set) and on simulated customers (``--pareto-sizes``), with default options; lifetimes
  gets ``--lifetimes-timeout`` seconds per fit (default 1800): past that its process is
  stopped and the row shows "> N s", a lower bound on its time and on the speed-up;
* ``predict``: expected purchases (next 30 days) of ``--predict-size`` simulated customers
  from known parameters (``PREDICT_MODELS``): BG/NBD with the CDNOW estimates (days) and
  with a + b < 1 as fitted on real logs (r 0.774, alpha 49.7, a 0.026, b 0.41), where the
  old series failed, MBG/NBD and Pareto/NBD; 12-month CLV for the BG/NBD rows; values are
  compared where lifetimes' are finite.

Customers are simulated with ``patronage.datasets.simulate_transactions`` (seeded) and
summarised with ``btyd_summary`` (days). The same summary goes, through a temporary
``.npz`` file, to lifetimes running in its own interpreter: lifetimes 0.11.3 needs
pandas < 3 and a setuptools that still ships pkg_resources, so it lives in a separate
virtual environment. Point ``LIFETIMES_PYTHON`` at its python (default
``/work/venv-lifetimes/bin/python``); create it with

    python3 -m venv /work/venv-lifetimes
    /work/venv-lifetimes/bin/pip install "pandas<3" "setuptools<70" lifetimes numpy scipy

Log-likelihoods are compared as the papers' totals, recomputed by patronage at both
tools' estimates: lifetimes' stored objective is a penalised mean on rescaled time.
Times are medians of ``--repeats`` runs for patronage and one run for lifetimes. The predict
section also gives CPU time (all threads): on a machine shared with other work, wall-clock
ratios of a multi-threaded call against a single-threaded one move with the load; the CPU
ratio says how much work each does.
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


LIFETIMES_PARETO_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from lifetimes import ParetoNBDFitter
d = np.load(sys.argv[1])
s = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")})
t0 = time.perf_counter(); m = ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"])
out = {"fit": time.perf_counter() - t0, "params": [float(m.params_[k]) for k in ("r", "alpha", "s", "beta")]}
print(json.dumps(out))
"""

LIFETIMES_PREDICT_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
import lifetimes
from lifetimes import GammaGammaFitter
d = np.load(sys.argv[1])
s = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "monetary_value")})
fitter, names, params = getattr(lifetimes, sys.argv[5]), *json.loads(sys.argv[3])
m = fitter()
m.params_ = pd.Series(dict(zip(names, params)))
m.predict = m.conditional_expected_number_of_purchases_up_to_time  # as fit() sets it
t0, c0 = time.perf_counter(), time.process_time()
e = m.conditional_expected_number_of_purchases_up_to_time(30, s["frequency"], s["recency"], s["T"])
out = {"expected": time.perf_counter() - t0, "expected_cpu": time.process_time() - c0}
values = {"expected": np.asarray(e, dtype=float)}
if sys.argv[4] != "null":  # 12-month CLV with a Gamma-Gamma spend model
    gg = GammaGammaFitter()
    gg.params_ = pd.Series(dict(zip(("p", "q", "v"), json.loads(sys.argv[4]))))
    t0, c0 = time.perf_counter(), time.process_time()
    clv = gg.customer_lifetime_value(m, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                     time=12, discount_rate=0.01, freq="D")
    out["clv"], out["clv_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    values["clv"] = clv.to_numpy(dtype=float)
np.savez(sys.argv[2], **values)
print(json.dumps(out))
"""

#: The predict section's models (days): patronage class, lifetimes fitter, parameters, and
#: whether 12-month CLV is timed too. BG/NBD with CDNOW's estimates and with a + b < 1 as
#: real logs give; MBG/NBD with CDNOW's BG/NBD estimates; Pareto/NBD with CDNOW's (weeks x 7).
PREDICT_MODELS = {
    "BG/NBD, CDNOW region": ("BetaGeo", "BetaGeoFitter", (0.243, 4.414 * 7, 0.793, 2.426), True),
    "BG/NBD, a + b < 1 region": ("BetaGeo", "BetaGeoFitter", (0.774, 49.7, 0.026, 0.41), True),
    "MBG/NBD, CDNOW region": ("ModifiedBetaGeo", "ModifiedBetaGeoFitter", (0.243, 4.414 * 7, 0.793, 2.426), False),
    "Pareto/NBD, CDNOW region": ("ParetoNBD", "ParetoNBDFitter", (0.55, 10.58 * 7, 0.61, 11.67 * 7), False),
}
GAMMA_GAMMA = (6.25, 3.74, 15.44)
ONLINE_RETAIL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online_retail_ii" / \
    "online_retail_ii_2009_2010.csv.gz"


class TimedOut(Exception):
    """lifetimes did not finish within its time budget (``seconds``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"lifetimes did not finish in {seconds:g} s")
        self.seconds = seconds


def run_script(python: str, script: str, args: list, timeout: float | None = None) -> dict | None:
    """Run a lifetimes script; ``timeout`` seconds at most (then :class:`TimedOut`: the child is killed)."""
    try:
        proc = subprocess.run([python, "-c", script, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimedOut(timeout) from None
    if proc.returncode != 0:
        print(f"  lifetimes failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ratio(theirs: float | None, ours: float) -> str:
    return "-" if theirs is None else f"{theirs / ours:.0f}x"


def pareto_fit(name: str, summary, repeats: int, python: str | None, timeout: float | None) -> None:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ridge warning is reported below, not raised
        t_ours, m = median_time(lambda: patronage.ParetoNBD().fit(summary), repeats)
    lt, lt_cell, speed_up = None, "-", "-"
    if python:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "summary.npz"
            np.savez(data, **{c: summary[c].to_numpy() for c in ("frequency", "recency", "T")})
            try:
                lt = run_script(python, LIFETIMES_PARETO_SCRIPT, [data], timeout)
            except TimedOut as exc:  # a lower bound on lifetimes' time, and so on the speed-up
                lt_cell, speed_up = f"> {exc.seconds:g} s (stopped)", f"> {exc.seconds / t_ours:.0f}x"
    if lt:
        lt_cell, speed_up = f"{lt['fit']:.2f} s", ratio(lt["fit"], t_ours)
    print(f"| {name} ({len(summary):,} customers) | {t_ours:.3f} s | {lt_cell} | {speed_up} |")
    line = (f"    patronage: {dict(m.params_.round(5))}, log-likelihood {m.log_likelihood_:.4f}, "
            f"converged {m.fit_info_['converged']}, identified {m.identified_}")
    if lt:
        ll_lt = patronage.ParetoNBD.from_params(*lt["params"]).log_likelihood(summary)
        line += (f"\n    lifetimes: {dict(zip(m.params_.index, np.round(lt['params'], 5)))}, log-likelihood "
                 f"(patronage's evaluation) {ll_lt:.4f}; patronage - lifetimes = {m.log_likelihood_ - ll_lt:.4f}")
    print(line)


def bench_pareto(sizes: list, repeats: int, python: str | None, timeout: float | None) -> None:
    print("\n## Pareto/NBD fit, default options")
    print("| data | patronage | lifetimes | speed-up |")
    print("|---|---|---|---|")
    if ONLINE_RETAIL.exists():
        import pandas as pd
        raw = pd.read_csv(ONLINE_RETAIL)
        tx = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
              .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
        for freq, label in (("D", "days"), ("W", "weeks")):
            pareto_fit(f"Online Retail II, {label}", patronage.btyd_summary(tx, freq=freq), repeats, python,
                       timeout)
    else:
        print(f"(Online Retail II not found at {ONLINE_RETAIL})")
    for n in sizes:
        summary = patronage.btyd_summary(simulate_transactions(n, random_state=2024), freq="D")
        pareto_fit("simulated, days", summary, 1, python, timeout)


def bench_predict(n: int, repeats: int, python: str | None) -> None:
    tx = simulate_transactions(n, spend="gamma-gamma", random_state=2024)
    summary = patronage.btyd_summary(tx, freq="D")
    del tx
    print(f"\n## Predictions for {n:,} customers (summary in days): expected purchases in the next 30 days, "
          "12-month CLV")
    print("| model | task | patronage | lifetimes | speed-up | CPU time, patronage / lifetimes | max rel. "
          "difference where lifetimes is finite (non-finite in lifetimes) |")
    print("|---|---|---|---|---|---|---|")
    gg = patronage.GammaGamma.from_params(*GAMMA_GAMMA)
    for name, (cls, fitter, params, with_clv) in PREDICT_MODELS.items():
        model = getattr(patronage, cls).from_params(*params)
        model.expected_purchases(summary.head(1000), 30)  # warm-up (thread pool)
        t_e, cpu_e, e = median_wall_cpu(lambda: model.expected_purchases(summary, 30), repeats)
        rows = [("expected purchases", t_e, cpu_e, e, "expected")]
        if with_clv:
            t_c, cpu_c, clv = median_wall_cpu(lambda: patronage.customer_lifetime_value(
                model, gg, summary, horizon=12, freq="D", discount_rate=0.01), repeats)
            rows.append(("CLV 12 months", t_c, cpu_c, clv, "clv"))
        lt, values = None, None
        if python:
            with tempfile.TemporaryDirectory() as tmp:
                data, out = Path(tmp) / "summary.npz", Path(tmp) / "out.npz"
                np.savez(data, **{c: summary[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value")})
                lt = run_script(python, LIFETIMES_PREDICT_SCRIPT,
                                [data, out, json.dumps([list(model.params_.index), list(params)]),
                                 json.dumps(list(GAMMA_GAMMA) if with_clv else None), fitter])
                if lt:
                    values = dict(np.load(out))
        for task, t_ours, cpu_ours, ours, key in rows:
            if lt:
                theirs = values[key]
                ok = np.isfinite(theirs)
                rel = np.max(np.abs(ours.to_numpy()[ok] - theirs[ok]) / np.maximum(np.abs(theirs[ok]), 1e-300))
                cpu = lt[f"{key}_cpu"]
                print(f"| {name} | {task} | {t_ours * 1e3:.1f} ms | {lt[key]:.3f} s | {ratio(lt[key], t_ours)} | "
                      f"{cpu_ours * 1e3:.1f} ms / {cpu:.3f} s = {ratio(cpu, cpu_ours)} | "
                      f"{rel:.1e} ({int((~ok).sum())}) |")
            else:
                print(f"| {name} | {task} | {t_ours * 1e3:.1f} ms | - | - | {cpu_ours * 1e3:.1f} ms | - |")
            assert np.isfinite(ours).all()


def median_wall_cpu(fn, repeats: int):
    """Median wall-clock and CPU (all threads of the process) seconds of ``fn``, and its result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus)), result


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
    parser.add_argument("--sections", nargs="+", choices=["fit", "pareto", "predict"],
                        default=["fit", "pareto", "predict"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--pareto-sizes", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--predict-size", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lifetimes-timeout", type=float, default=1800.0,
                        help="seconds lifetimes may take per Pareto/NBD fit; past it the row shows a lower bound")
    args = parser.parse_args()
    python = os.environ.get("LIFETIMES_PYTHON", "/work/venv-lifetimes/bin/python")
    if not Path(python).exists():
        print(f"lifetimes interpreter {python} not found (set LIFETIMES_PYTHON): patronage only")
        python = None
    print(f"patronage {patronage.__version__}, {os.cpu_count()} CPUs")
    if "fit" in args.sections:
        for n in args.sizes:
            bench(n, args.repeats, python)
    if "pareto" in args.sections:
        bench_pareto(args.pareto_sizes, args.repeats, python, args.lifetimes_timeout)
    if "predict" in args.sections:
        bench_predict(args.predict_size, args.repeats, python)


if __name__ == "__main__":
    main()
