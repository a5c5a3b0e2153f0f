"""Scale: patronage.ooc on a row-shuffled Parquet log vs DuckDB's own SQL; polars vs pandas input.

1. Out of core. A simulated log (ids drawn per row, so every customer's rows are spread over the whole
   log and its files) is written once as Parquet, in files of 5M rows. ``patronage.ooc.rfm_table(dir,
   memory_limit=...)`` writes the RFM table to Parquet; DuckDB's own SQL (same memory_limit) computes
   the columns it can in one GROUP BY (first/last day, distinct purchase days, transactions, spend) to
   Parquet too, and again without the distinct days (``--duckdb``). Each runs in its own subprocess;
   the parent samples the RSS of the whole process tree every 20 ms (psutil) and reports the peak, with
   wall time and rows/s.
2. polars and pyarrow vs pandas input on ``--input-transactions`` rows: ``patronage.rfm_table`` on a
   table read from the same Parquet by pandas, polars or pyarrow, each in its own subprocess: time of the
   call and the peak RSS added by it (VmHWM reset after loading). ``--input-only`` runs just this part.

    python benches/bench_scale.py [--transactions 200000000] [--customers 20000000] [--memory-limit 4GB]
                                  [--input-transactions 10000000] [--input-only] [--workdir DIR]
                                  [--duckdb both|full|nodistinct|none] [--duckdb-temp-limit 12GB]

The issue's target is 200M transactions / 20M customers with peak RSS < 6 GB; on a small shared machine
run e.g. ``--transactions 20000000 --customers 2000000``. Needs duckdb, pyarrow, polars, psutil, tqdm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_rfm import _status  # noqa: E402  (VmRSS / VmHWM of this process)

ROWS_PER_FILE = 5_000_000


def make_log(directory: str, n_tx: int, n_customers: int) -> None:
    """The log as Parquet files of ROWS_PER_FILE rows: customer, date (ns, with time of day), amount."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(0)
    for k, start in enumerate(range(0, n_tx, ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, n_tx - start)
        customer = rng.integers(0, n_customers, n, dtype=np.int64)
        date = (np.datetime64("2023-01-01", "ns") + rng.integers(0, 730 * 86_400, n).astype("timedelta64[s]"))
        amount = np.round(rng.lognormal(3.3, 0.6, n), 2)
        amount[rng.random(n) < 0.02] *= -1  # 2% return lines
        table = pa.table({"customer_id": customer, "date": date, "amount": amount})
        pq.write_table(table, os.path.join(directory, f"part-{k:04d}.parquet"))


def run_tree(argv: list, check: bool = True) -> dict:
    """Runs ``argv``; wall time, peak RSS of its process tree (sampled every 20 ms), and its JSON output."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                rss = sum(p.memory_info().rss for p in [root] + root.children(recursive=True))
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    thread.join()
    if proc.returncode and check:
        raise SystemExit(f"{argv} failed with exit code {proc.returncode}")
    if proc.returncode:
        return {"wall_s": wall, "peak_rss_gb": peak / 1e9, "failed": proc.returncode}
    return {"wall_s": wall, "peak_rss_gb": peak / 1e9, **json.loads(out.strip().splitlines()[-1])}


def worker_ooc(log: str, out: str, memory_limit: str, temp: str) -> None:
    import patronage.ooc

    t = time.perf_counter()
    patronage.ooc.rfm_table(log, memory_limit=memory_limit, temp_directory=temp, output=out)
    print(json.dumps({"inner_s": time.perf_counter() - t}))


DUCKDB_QUERIES = {
    # the RFM columns DuckDB's SQL can compute, distinct purchase days included
    "duckdb": ("DuckDB SQL GROUP BY (5 columns)", """
        SELECT customer_id, min(date::DATE) FILTER (WHERE amount >= 0) AS first_day,
               max(date::DATE) FILTER (WHERE amount >= 0) AS last_day,
               count(DISTINCT date::DATE) FILTER (WHERE amount >= 0) AS n_orders,
               count(*) AS n_transactions, sum(amount) AS total_spend"""),
    # without the distinct-days count, whose per-group sets are what make DuckDB spill on large logs
    "duckdb-nodistinct": ("DuckDB SQL, no distinct days (4 columns)", """
        SELECT customer_id, min(date::DATE) FILTER (WHERE amount >= 0) AS first_day,
               max(date::DATE) FILTER (WHERE amount >= 0) AS last_day,
               count(*) AS n_transactions, sum(amount) AS total_spend"""),
}


def worker_duckdb(query: str, log: str, out: str, memory_limit: str, temp: str, temp_limit: str) -> None:
    import duckdb

    t = time.perf_counter()
    # a cap on the spill: DuckDB stops with an error rather than fill the disk
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": temp,
                                 "max_temp_directory_size": temp_limit, "preserve_insertion_order": False})
    select = DUCKDB_QUERIES[query][1]
    con.execute(f"COPY ({select} FROM read_parquet('{log}/*.parquet') GROUP BY customer_id) TO '{out}' (FORMAT parquet)")
    print(json.dumps({"inner_s": time.perf_counter() - t}))


def worker_input(log: str, library: str, rows: str) -> None:
    import patronage

    n_rows = int(rows)
    files = sorted(os.path.join(log, f) for f in os.listdir(log))
    if library == "polars":
        import polars as pl

        frame = pl.scan_parquet(files).head(n_rows).collect()
        size = frame.estimated_size()
    elif library == "pyarrow":
        import pyarrow.parquet as pq

        frame = pq.ParquetDataset(files).read().slice(0, n_rows)
        size = frame.nbytes
    else:
        import pandas as pd
        import pyarrow.parquet as pq

        frame = pq.ParquetDataset(files).read().slice(0, n_rows).to_pandas()
        size = int(frame.memory_usage(index=False).sum())
    with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM to the current RSS
        fh.write("5")
    base = _status("VmRSS:")
    t = time.perf_counter()
    result = patronage.rfm_table(frame)
    elapsed = time.perf_counter() - t
    print(json.dumps({"inner_s": elapsed, "input_gb": size / 1e9, "added_peak_gb": (_status("VmHWM:") - base) / 1e9,
                      "customers": len(result)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=200_000_000)
    parser.add_argument("--customers", type=int, default=20_000_000)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--input-transactions", type=int, default=10_000_000)
    parser.add_argument("--duckdb-temp-limit", default="12GB", help="DuckDB's max_temp_directory_size (its spill)")
    parser.add_argument("--duckdb", choices=("both", "full", "nodistinct", "none"), default="both",
                        help="which DuckDB queries to run: with distinct purchase days, without, both or none")
    parser.add_argument("--input-only", action="store_true", help="only the polars/pyarrow vs pandas input runs")
    parser.add_argument("--workdir", default=None, help="where the log and results go (default: a temp dir)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind.startswith("duckdb"):
            worker_duckdb(kind, *rest)
        else:
            {"ooc": worker_ooc, "input": worker_input}[kind](*rest)
        return

    work = tempfile.mkdtemp(prefix="bench-scale-", dir=args.workdir)
    try:
        log = os.path.join(work, "log")
        t = time.perf_counter()
        make_log(log, args.transactions, args.customers)
        size = sum(os.path.getsize(os.path.join(log, f)) for f in os.listdir(log)) / 1e9
        print(f"log: {args.transactions:,} transactions, {args.customers:,} customer ids, {size:.2f} GB Parquet "
              f"in {len(os.listdir(log))} files, written in {time.perf_counter() - t:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs")
        me = [sys.executable, os.path.abspath(__file__), "--worker"]
        queries = {"both": ["duckdb", "duckdb-nodistinct"], "full": ["duckdb"], "nodistinct": ["duckdb-nodistinct"],
                   "none": []}[args.duckdb]
        for kind in () if args.input_only else ["ooc"] + queries:
            out, temp = os.path.join(work, f"out-{kind}"), os.path.join(work, f"tmp-{kind}")
            extra = [args.duckdb_temp_limit] if kind != "ooc" else []
            r = run_tree(me + [kind, log, out, args.memory_limit, temp] + extra, check=False)
            label = "patronage.ooc.rfm_table (13 columns)" if kind == "ooc" else DUCKDB_QUERIES[kind][0]
            outcome = f"FAILED (exit {r['failed']}) after" if "failed" in r else "wall"
            print(f"{label:40s} {outcome} {r['wall_s']:7.1f} s  {args.transactions / r['wall_s'] / 1e6:6.2f} M rows/s  "
                  f"peak RSS (process tree) {r['peak_rss_gb']:5.2f} GB  [memory_limit={args.memory_limit}]", flush=True)
            for done in (out, temp):  # keep the disk for the next run
                shutil.rmtree(done, ignore_errors=True)
        n = min(args.input_transactions, args.transactions)
        for library in ("pandas", "polars", "pyarrow"):
            r = run_tree(me + ["input", log, library, str(n)])
            print(f"rfm_table on {n:,} rows from {library:7s}: {r['inner_s']:6.2f} s, input frame "
                  f"{r['input_gb']:.2f} GB, peak RSS added by the call {r['added_peak_gb']:.2f} GB")
        print(f"load average after the runs {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
