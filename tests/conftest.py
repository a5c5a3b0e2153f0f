"""Shared fixtures: the read-only data sets beside the repository (../shared/data)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cdnow_sample(shared_data: Path) -> pd.DataFrame:
    """The 1/10 CDNOW sample: customer_id = sample id (1..2357), date, quantity, amount."""
    raw = pd.read_csv(shared_data / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "customer_id", "date", "quantity", "amount"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "date", "amount", "quantity"]]


def optional(module: str) -> Any:
    """``import module``, skipping the test when it is absent, except under CI=true, where its absence
    fails (CI installs every optional dependency: ``make venv``)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)  # the submodule itself (``__import__("a.b")`` gives ``a``)
    return pytest.importorskip(module)


def write_shuffled(tx: pd.DataFrame, directory: Path, n_files: int = 4, seed: int = 0) -> Path:
    """``tx`` row-shuffled into ``n_files`` Parquet files (round robin: every customer spans files);
    timestamps in microseconds (Spark reads no nanoseconds)."""
    directory.mkdir()
    shuffled = tx.sample(frac=1.0, random_state=seed)
    for i in range(n_files):
        shuffled.iloc[i::n_files].to_parquet(directory / f"part-{i}.parquet", index=False, coerce_timestamps="us")
    return directory


def retail_slice(shared_data: Path, max_rows: int = 30_000) -> pd.DataFrame:
    """Whole customers of the Online Retail II export (line level, invoices, returns, float ids), the
    first customers by id whose rows add up to about ``max_rows``: small enough for a Spark test."""
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz",
                      usecols=["Invoice", "Quantity", "InvoiceDate", "Price", "Customer ID"])
    tx = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
          .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    rows = tx["customer_id"].value_counts().sort_index().cumsum()
    keep = rows.index[rows <= max_rows]
    tx = tx[tx["customer_id"].isin(keep)]
    return tx.assign(date=pd.to_datetime(tx["date"]))[["customer_id", "date", "amount", "Invoice"]]


@pytest.fixture(scope="session")
def spark_logs(spark, shared_data, tmp_path_factory) -> dict:
    """name -> (pandas log, the same log as a Spark DataFrame read from row-shuffled Parquet files that
    split every customer's rows across files): "cdnow" (Spark dates), "retail" (an Online Retail II slice:
    timestamps without zone, float ids, invoices, returns), "simulated" (string ids, UTC timestamps)."""
    pytest.importorskip("pyarrow")  # pandas writes the Parquet files with it (a dependency of pyspark[sql])
    from pyspark.sql import functions as F

    from patronage.datasets import load_cdnow, simulate_transactions

    tmp = tmp_path_factory.mktemp("spark-logs")
    simulated = simulate_transactions(3_000, random_state=7)
    frames = {"cdnow": load_cdnow()[["customer_id", "date", "amount"]], "retail": retail_slice(shared_data),
              "simulated": simulated.assign(customer_id="c" + simulated["customer_id"].astype(str))}
    read = {name: spark.read.parquet(str(write_shuffled(tx, tmp / name, n_files=3, seed=i)))
            for i, (name, tx) in enumerate(frames.items())}
    read["cdnow"] = read["cdnow"].withColumn("date", F.to_date("date"))
    read["simulated"] = read["simulated"].withColumn("date", F.col("date").cast("timestamp"))
    return {name: (frames[name], read[name]) for name in frames}
