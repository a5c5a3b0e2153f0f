"""RFM aggregation: patronage.rfm_table vs pandas groupby vs polars group_by, same data, same run.

10M transactions of 1M customers (a time-ordered log, ids in random order), from a pandas DataFrame.
Each tool runs in its own subprocess so peak memory is measured cleanly (VmHWM reset after loading).
The pandas/polars baselines compute only min/max/count/sum per customer (less than rfm_table,
which also counts distinct order days, gap statistics and returns); an extra pandas line computes
the full table's distinct-day count too.

    python benches/bench_rfm.py [--transactions 10000000] [--customers 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_data(path: str, n_tx: int, n_customers: int) -> None:
    rng = np.random.default_rng(0)
    customer = rng.integers(0, n_customers, n_tx, dtype=np.int64)
    day = np.sort(rng.integers(0, 730, n_tx))  # time-ordered log over two years
    date = (np.datetime64("2023-01-01", "D") + day).astype("datetime64[ns]")
    date = date + rng.integers(0, 86_400, n_tx).astype("timedelta64[s]")  # time of day
    amount = np.round(rng.lognormal(3.3, 0.6, n_tx), 2)
    np.savez(path, customer=customer, date=date.view(np.int64), amount=amount)


def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def worker(path: str, tool: str, repeat: int) -> dict:
    import pandas as pd

    data = np.load(path)
    df = pd.DataFrame({"customer_id": data["customer"], "date": data["date"].view("datetime64[ns]"),
                       "amount": data["amount"]})
    input_bytes = int(df.memory_usage(index=False).sum())
    if tool == "patronage":
        import patronage

        run = lambda: patronage.rfm_table(df)  # noqa: E731
    elif tool == "pandas":
        run = lambda: df.groupby("customer_id").agg(  # noqa: E731
            first=("date", "min"), last=("date", "max"), n=("amount", "size"), spend=("amount", "sum"))
    elif tool == "pandas_full":
        def run():
            g = df.assign(day=df["date"].dt.normalize()).groupby("customer_id")
            out = g.agg(first=("day", "min"), last=("day", "max"), n=("amount", "size"), spend=("amount", "sum"))
            out["n_orders"] = g["day"].nunique()
            return out
    elif tool in ("polars", "polars_lazy"):
        import polars as pl

        pdf = pl.from_pandas(df)
        aggs = [pl.col("date").min().alias("first"), pl.col("date").max().alias("last"),
                pl.len().alias("n"), pl.col("amount").sum().alias("spend")]
        if tool == "polars":
            run = lambda: pdf.group_by("customer_id").agg(aggs)  # noqa: E731
        else:
            run = lambda: pdf.lazy().group_by("customer_id").agg(aggs).collect()  # noqa: E731
    else:
        raise SystemExit(f"unknown tool {tool}")
    import gc

    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak-RSS mark after loading
        fh.write("5")
    base = _status("VmRSS")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
        del result
    peak = _status("VmHWM") - base
    return {"tool": tool, "seconds": float(np.median(times)), "best": min(times), "peak_bytes": peak,
            "input_bytes": input_bytes}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tx.npz")
        make_data(path, args.transactions, args.customers)
        results = {}
        for tool in ["patronage", "pandas", "pandas_full", "polars", "polars_lazy"]:
            out = subprocess.run([sys.executable, __file__, "--repeat", str(args.repeat), "--worker", path, tool],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{tool}: failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            results[tool] = json.loads(out.stdout)
    print(f"rfm aggregation, {args.transactions:,} transactions of {args.customers:,} customers "
          f"(median of {args.repeat}; {os.cpu_count()} cores)")
    me = results.get("patronage")
    for tool, r in results.items():
        ratio = "" if me is None else f"  patronage is {r['seconds'] / me['seconds']:5.2f}x faster"
        print(f"  {tool:12s} {r['seconds']:7.3f} s   peak +{r['peak_bytes'] / 2**20:7.0f} MiB "
              f"({r['peak_bytes'] / r['input_bytes']:.2f}x input){'' if tool == 'patronage' else ratio}")


if __name__ == "__main__":
    main()
