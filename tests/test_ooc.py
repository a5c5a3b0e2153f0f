"""Out of core (patronage.ooc): the same tables as the in-memory functions, exactly, for 1, 3 and 16
buckets, from row-shuffled Parquet files that split every customer's rows across files, on CDNOW, the
Online Retail II export (returns, invoices, float ids) and a simulated log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage
from conftest import optional
from patronage import ooc
from patronage.datasets import load_cdnow, simulate_transactions
from patronage.exceptions import DataError, ParameterError

optional("duckdb")
optional("pyarrow")  # pandas writes the test's Parquet files with it

BUCKETS = (1, 3, 16)


def write_shuffled(tx: pd.DataFrame, directory: Path, n_files: int = 4, seed: int = 0) -> Path:
    """``tx`` row-shuffled into ``n_files`` Parquet files (round robin: every customer spans files)."""
    directory.mkdir()
    shuffled = tx.sample(frac=1.0, random_state=seed)
    for i in range(n_files):
        shuffled.iloc[i::n_files].to_parquet(directory / f"part-{i}.parquet", index=False)
    return directory


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    tx = load_cdnow()
    return tx, write_shuffled(tx, tmp_path_factory.mktemp("cdnow") / "log")


@pytest.fixture(scope="module")
def retail(shared_data, tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz")
    tx = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
          .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    tx = tx.assign(date=pd.to_datetime(tx["date"]))[["customer_id", "date", "amount", "Invoice"]]
    return tx, write_shuffled(tx, tmp_path_factory.mktemp("retail") / "log", seed=1)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    tx = simulate_transactions(5_000, random_state=7)
    return tx, write_shuffled(tx, tmp_path_factory.mktemp("sim") / "log", n_files=3, seed=2)


def assert_same(data: tuple[pd.DataFrame, Path], name: str, options: dict, buckets: int) -> pd.DataFrame:
    """ooc.<name> on the Parquet files equals patronage.<name> on the frame, exactly; the ooc result."""
    tx, path = data
    got = getattr(ooc, name)(path, buckets=buckets, progress=False, **options)
    pd.testing.assert_frame_equal(got, getattr(patronage, name)(tx, **options), check_exact=True)
    return got


CASES = [
    ("rfm_table", {}),
    ("btyd_summary", {"freq": "W"}),
    ("churn_features", {"window": "90D"}),
    ("lifecycle_stages", {}),
]


@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("name, options", CASES)
def test_cdnow_equals_in_memory(cdnow, name, options, buckets):
    assert_same(cdnow, name, options, buckets)


@pytest.mark.parametrize("buckets", BUCKETS)
def test_cdnow_btyd_calibration_holdout(cdnow, buckets):
    options = {"freq": "W", "calibration_end": "1997-09-30", "observation_end": "1998-06-30"}
    assert "frequency_holdout" in assert_same(cdnow, "btyd_summary", options, buckets)


RETAIL_CASES = [
    ("rfm_table", {"order": "Invoice"}),
    ("rfm_table", {"returns": "drop"}),
    ("btyd_summary", {"freq": "W", "calibration_end": "2010-09-01", "order": "Invoice"}),
    ("churn_features", {"window": "60D", "order": "Invoice"}),
    ("lifecycle_stages", {"order": "Invoice"}),
    ("lifecycle_stages", {"as_of": "2010-03-01"}),  # some buckets may have nobody acquired yet
]


@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("name, options", RETAIL_CASES)
def test_online_retail_equals_in_memory(retail, name, options, buckets):
    got = assert_same(retail, name, options, buckets)
    assert got.index.dtype == np.int64  # float ids read back as int64, as in memory


@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("name, options", CASES)
def test_simulated_equals_in_memory(simulated, name, options, buckets):
    assert_same(simulated, name, options, buckets)


@pytest.mark.parametrize("buckets", BUCKETS)
def test_cohort_retention_merges_bucket_partials(retail, buckets):
    tx, path = retail
    for period in ("M", "W"):
        got = ooc.cohort_retention(path, period=period, order="Invoice", buckets=buckets, progress=False)
        pd.testing.assert_frame_equal(got, patronage.cohort_retention(tx, period=period, order="Invoice"),
                                      check_exact=True)
    # revenue cells are sums taken in another order: equal to rounding
    got = ooc.cohort_retention(path, metric="revenue", normalize=False, buckets=buckets, progress=False)
    pd.testing.assert_frame_equal(got, patronage.cohort_retention(tx, metric="revenue", normalize=False),
                                  rtol=1e-12)


def test_output_to_parquet_and_csv_input(cdnow, tmp_path):
    tx, path = cdnow
    out = ooc.rfm_table(path, buckets=3, output=tmp_path / "rfm", progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.parquet", "part-00001.parquet",
                                                     "part-00002.parquet"]
    back = pd.read_parquet(out).set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(back, patronage.rfm_table(tx), check_exact=True, check_dtype=False)
    csv = tmp_path / "log.csv"
    tx.sample(frac=1.0, random_state=3).to_csv(csv, index=False)
    # a CSV's dates have no resolution of their own: DuckDB reads microseconds, pandas < 3 nanoseconds
    pd.testing.assert_frame_equal(ooc.rfm_table(csv, buckets=3, progress=False), patronage.rfm_table(tx),
                                  check_exact=True, check_dtype=False)


def test_bad_input_is_named(cdnow, tmp_path):
    _, path = cdnow
    with pytest.raises(DataError, match="column 'spend' is not in the transaction log"):
        ooc.rfm_table(path, amount="spend", progress=False)
    with pytest.raises(ParameterError, match="does not exist"):
        ooc.rfm_table(tmp_path / "nowhere.parquet")
    with pytest.raises(ParameterError, match="buckets must be an integer in 1..4096"):
        ooc.rfm_table(path, buckets=0)
    with pytest.raises(ParameterError, match="memory_limit"):
        ooc.rfm_table(path, memory_limit="lots")
