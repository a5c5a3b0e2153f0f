"""Dask: patronage.dask.rfm_table on a row-shuffled Parquet log vs dask's own groupby.

A simulated log (ids drawn per row, so every customer's rows are spread over all files; the same log as
``bench_scale.py``) is written once as Parquet. Each contender runs in its own subprocess on a
``LocalCluster`` of ``--workers`` worker processes with one thread each, and writes its result to Parquet:

* ``patronage.dask.rfm_table`` (13 columns): one aggregate for the globals, ``shuffle(on=customer)``,
  the Rust kernel per partition;
* dask's own ``groupby(customer).agg`` computing the columns it can (first and last purchase day,
  distinct purchase days, transactions, spend: 5 columns).

Reported: the cluster's start-up apart, the wall time of the computation, rows/s, and the peak RSS of the
whole process tree (the client, the scheduler and the worker processes; psutil, every 20 ms), with the
machine's load before and after.

    python benches/bench_dask.py [--transactions 20000000] [--customers 2000000] [--workers 2]
                                 [--rows-per-file 1000000]

Needs dask[distributed], pyarrow, psutil.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_scale  # noqa: E402
from bench_scale import make_log, run_tree  # noqa: E402


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    return cluster, client, time.perf_counter() - t


def worker_patronage(log: str, out: str, workers: str) -> None:
    import dask.dataframe as dd

    import patronage.dask

    cluster, client, startup = _cluster(int(workers))
    t = time.perf_counter()
    patronage.dask.rfm_table(dd.read_parquet(log)).to_parquet(out)
    print(json.dumps({"startup_s": startup, "inner_s": time.perf_counter() - t}))
    client.close()
    cluster.close()


def worker_groupby(log: str, out: str, workers: str) -> None:
    import dask
    import dask.dataframe as dd

    cluster, client, startup = _cluster(int(workers))
    t = time.perf_counter()
    ddf = dd.read_parquet(log)
    day = ddf["date"].dt.floor("D")
    ddf = ddf.assign(day=day, buy_day=day.where(ddf["amount"] >= 0))  # NaT on return lines
    table = ddf.groupby("customer_id").agg(first_day=("buy_day", "min"), last_day=("buy_day", "max"),
                                           n_transactions=("amount", "size"), total_spend=("amount", "sum"))
    orders = ddf[ddf["amount"] >= 0][["customer_id", "day"]].drop_duplicates().groupby("customer_id").size()
    # written side by side in one compute (one read of the log): joining them fails in dask's
    # optimiser at many partitions (KeyError: customer_id), and groupby().agg has no nunique
    dask.compute(table.to_parquet(os.path.join(out, "agg"), compute=False),
                 orders.to_frame("n_orders").to_parquet(os.path.join(out, "orders"), compute=False))
    print(json.dumps({"startup_s": startup, "inner_s": time.perf_counter() - t}))
    client.close()
    cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--customers", type=int, default=2_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000, help="one dask partition per file")
    parser.add_argument("--workdir", default=None, help="where the log and results go (default: a temp dir)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        {"patronage": worker_patronage, "groupby": worker_groupby}[kind](*rest)
        return

    work = tempfile.mkdtemp(prefix="bench-dask-", dir=args.workdir)
    try:
        log = os.path.join(work, "log")
        t = time.perf_counter()
        bench_scale.ROWS_PER_FILE = args.rows_per_file
        make_log(log, args.transactions, args.customers)
        size = sum(os.path.getsize(os.path.join(log, f)) for f in os.listdir(log)) / 1e9
        print(f"log: {args.transactions:,} transactions, {args.customers:,} customer ids, {size:.2f} GB Parquet "
              f"in {len(os.listdir(log))} files, written in {time.perf_counter() - t:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs; "
              f"LocalCluster of {args.workers} worker processes x 1 thread")
        me = [sys.executable, os.path.abspath(__file__), "--worker"]
        results = {}
        for kind, label in (("patronage", "patronage.dask.rfm_table (13 columns)"),
                            ("groupby", "dask groupby().agg (5 columns)")):
            r = run_tree(me + [kind, log, os.path.join(work, f"out-{kind}"), str(args.workers)])
            results[kind] = r
            print(f"{label:40s} start-up {r['startup_s']:5.1f} s  compute {r['inner_s']:7.1f} s  "
                  f"{args.transactions / r['inner_s'] / 1e6:5.2f} M rows/s  "
                  f"peak RSS (process tree) {r['peak_rss_gb']:5.2f} GB")
        ratio = results["groupby"]["inner_s"] / results["patronage"]["inner_s"]
        print(f"dask groupby time / patronage.dask time: {ratio:.2f}x (above 1: patronage faster)")
        print(f"load average after the runs {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
