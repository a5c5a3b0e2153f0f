"""patronage.dask: the same results as the pandas functions on a dask LocalCluster (2 workers, threads), on
CDNOW, the Online Retail II export and a simulated log read from row-shuffled Parquet files that spread every
customer over files, with 1, 3 and 16 partitions; BTYD fits on dask-counted patterns equal full fits."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage
from conftest import optional
from patronage.datasets import load_cdnow, simulate_transactions
from patronage.exceptions import ConvergenceWarning, DataError

optional("dask")
optional("distributed")
optional("pyarrow")  # dask reads and pandas writes the Parquet files with it
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import patronage.dask as pdask  # noqa: E402

PARTITIONS = (1, 3, 16)

# dask's own read_parquet calls reset_index(inplace=True), which pandas >= 3.1 deprecates: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index is deprecated")


@pytest.fixture(scope="session")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


def write_shuffled(tx: pd.DataFrame, directory: Path, n_files: int, seed: int) -> Path:
    """``tx`` row-shuffled into ``n_files`` Parquet files, round robin: every customer spans files."""
    directory.mkdir()
    shuffled = tx.sample(frac=1.0, random_state=seed)
    for i in range(n_files):
        shuffled.iloc[i::n_files].to_parquet(directory / f"part-{i:02d}.parquet", index=False)
    return directory


@pytest.fixture(scope="module")
def logs(shared_data, tmp_path_factory) -> dict:
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz",
                      usecols=["Invoice", "Quantity", "InvoiceDate", "Price", "Customer ID"])
    retail = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
              .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    retail = retail.assign(date=pd.to_datetime(retail["date"]))[["customer_id", "date", "amount", "Invoice"]]
    out = {}
    for name, tx, cols in [("cdnow", load_cdnow(), {}), ("retail", retail, {"order": "Invoice"}),
                           ("simulated", simulate_transactions(3_000, random_state=3), {})]:
        out[name] = (tx, write_shuffled(tx, tmp_path_factory.mktemp(name) / "log", 16, seed=len(name)), cols)
    return out


def read(logs: dict, name: str, partitions: int):
    """The log as a dask DataFrame of ``partitions`` partitions (files grouped, or each file)."""
    tx, path, cols = logs[name]
    files = sorted(str(p) for p in path.glob("*.parquet"))
    ddf = dd.read_parquet(files)
    return tx, ddf.repartition(npartitions=partitions) if partitions != ddf.npartitions else ddf, cols


def same(lazy, want: pd.DataFrame) -> None:
    assert isinstance(lazy, dd.DataFrame)
    got = lazy.compute().sort_index()
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_index_type=False)


@pytest.mark.parametrize("partitions", PARTITIONS)
@pytest.mark.parametrize("name", ["cdnow", "retail", "simulated"])
def test_per_customer_tables(client, logs, name, partitions):
    tx, ddf, cols = read(logs, name, partitions)
    same(pdask.rfm_table(ddf, **cols), patronage.rfm_table(tx, **cols))
    if partitions == 3:  # the other maps: once per log (wall time)
        same(pdask.lifecycle_stages(ddf, **cols), patronage.lifecycle_stages(tx, **cols))
        same(pdask.btyd_summary(ddf, freq="W", **cols), patronage.btyd_summary(tx, freq="W", **cols))
        same(pdask.churn_features(ddf, window="60D", **cols), patronage.churn_features(tx, window="60D", **cols))
        cutoff = tx["date"].min() + (tx["date"].max() - tx["date"].min()) * 0.6
        X, y = pdask.churn_dataset(ddf, cutoff=cutoff.normalize(), horizon="60D", **cols)
        X_want, y_want = patronage.churn_dataset(tx, cutoff=cutoff.normalize(), horizon="60D", **cols)
        same(X, X_want)
        pd.testing.assert_series_equal(y.compute().sort_index(), y_want, check_exact=True, check_index_type=False)


@pytest.mark.parametrize("partitions", PARTITIONS)
@pytest.mark.parametrize("name", ["cdnow", "retail", "simulated"])
def test_reduces(client, logs, name, partitions):
    tx, ddf, cols = read(logs, name, partitions)
    pd.testing.assert_frame_equal(pdask.retention(ddf, **cols), patronage.retention(tx, **cols), check_exact=True)
    pd.testing.assert_series_equal(pdask.repurchase_rate(ddf, within=90, **cols),
                                   patronage.repurchase_rate(tx, within=90, **cols), check_exact=True)
    pd.testing.assert_frame_equal(pdask.cohort_retention(ddf, **cols), patronage.cohort_retention(tx, **cols),
                                  check_exact=True)
    if partitions == 16:  # two more passes for the two dates' median gaps: once per log (wall time)
        first, last = tx["date"].min(), tx["date"].max()
        dates = (first + (last - first) * 0.5, first + (last - first) * 0.8)
        pd.testing.assert_frame_equal(pdask.lifecycle_transitions(ddf, *dates, **cols),
                                      patronage.lifecycle_transitions(tx, *dates, **cols), check_exact=True)


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_scores_and_segments(client, logs, partitions):
    tx, ddf, cols = read(logs, "retail", partitions)
    rfm = pdask.rfm_table(ddf, **cols).persist()  # scored twice below: computed once
    scored = pdask.rfm_scores(rfm).persist()
    want = patronage.rfm_scores(patronage.rfm_table(tx, **cols))
    same(scored, want)
    pd.testing.assert_frame_equal(pdask.segment_summary(scored), patronage.segment_summary(want),
                                  check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_surveys(client, partitions):
    rng = np.random.default_rng(2)
    n = 5_000
    answers = pd.DataFrame({"nps": rng.integers(0, 11, n).astype(float), "ces": rng.integers(1, 8, n),
                            "csat": rng.integers(1, 6, n), "tier": rng.choice(["gold", "silver", "bronze"], n)})
    answers.loc[rng.random(n) < 0.05, "nps"] = np.nan
    ddf = dd.from_pandas(answers, npartitions=partitions)
    pd.testing.assert_series_equal(pdask.nps(ddf, column="nps"), patronage.nps(answers, column="nps"),
                                   check_exact=True)
    for kind, column in [("nps", "nps"), ("csat", "csat"), ("ces", "ces")]:
        # dask holds the tiers as Arrow strings: the index's dtype is its own (pandas 2.0's
        # check_index_type=False still compares string with object), so the labels are compared as objects
        got = getattr(pdask, kind)(ddf, column=column, by="tier")
        pd.testing.assert_frame_equal(got.set_axis(got.index.astype(object)),
                                      getattr(patronage, kind)(answers, column=column, by="tier"),
                                      check_exact=True, check_index_type=False)


@pytest.mark.parametrize("model", [patronage.BetaGeo, patronage.ModifiedBetaGeo, patronage.ParetoNBD])
def test_pattern_weighted_fit_equals_the_full_fit(client, logs, model):
    tx, ddf, cols = read(logs, "cdnow", 3)
    summary = patronage.btyd_summary(tx, freq="W")
    full = model().fit(summary)
    fitted = pdask.fit(model(), pdask.btyd_summary(ddf, freq="W"))
    assert isinstance(fitted, model)
    np.testing.assert_allclose(fitted.params_.to_numpy(), full.params_.to_numpy(), rtol=1e-6)
    # the distinct patterns without their counts (as one public Spark accelerator fits) are far off
    patterns = summary[["frequency", "recency", "T"]].drop_duplicates()
    assert len(patterns) < len(summary) / 5
    with warnings.catch_warnings():  # unweighted, Pareto/NBD even lands on a ridge (a ConvergenceWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        wrong = model().fit(patterns)
    assert np.max(np.abs(wrong.params_.to_numpy() / full.params_.to_numpy() - 1)) > 0.05


def test_predict_carries_the_model_as_json(client, logs):
    tx, ddf, cols = read(logs, "cdnow", 3)
    summary = patronage.btyd_summary(tx, freq="W")
    model = patronage.BetaGeo().fit(summary)
    got = pdask.predict(model, pdask.btyd_summary(ddf, freq="W"), t=52).compute().sort_index()
    pd.testing.assert_series_equal(got["p_alive"], model.p_alive(summary).rename("p_alive"), check_exact=True,
                                   check_index_type=False)
    pd.testing.assert_series_equal(got["expected_purchases"],
                                   model.expected_purchases(summary, 52).rename("expected_purchases"),
                                   check_exact=True, check_index_type=False)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    spend = patronage.GammaGamma().fit(repeat)
    got = pdask.predict(spend, dd.from_pandas(repeat, npartitions=3)).compute().sort_index()
    pd.testing.assert_series_equal(got["expected_average_spend"],
                                   spend.expected_average_spend(repeat).rename("expected_average_spend"),
                                   check_exact=True)


def test_read_only_and_misaligned_partitions(client):
    """Partitions whose buffers are read-only, or misaligned (as from an Arrow buffer at an odd offset)."""
    tx = simulate_transactions(500, random_state=4)

    def hostile(part: pd.DataFrame) -> pd.DataFrame:
        columns = {}
        for name in part.columns:
            values = part[name].to_numpy()
            if values.dtype.kind in "if":
                raw = np.zeros(values.nbytes + 1, dtype=np.uint8)
                odd = raw[1:].view(values.dtype)  # misaligned by one byte
                odd[:] = values
                values = odd
            values = values.copy() if values.dtype.kind not in "if" else values
            values.flags.writeable = False
            columns[name] = values
        return pd.DataFrame(columns, index=part.index, copy=False)

    ddf = dd.from_pandas(tx, npartitions=3).map_partitions(hostile, meta=tx.iloc[:0])
    assert not ddf.partitions[0].compute()["amount"].to_numpy().flags.writeable
    same(pdask.rfm_table(ddf), patronage.rfm_table(tx))
    pd.testing.assert_frame_equal(pdask.retention(ddf), patronage.retention(tx), check_exact=True)


def test_a_partition_of_returns_only(client):
    """Globals come per partition: one holding only returns (a day after every purchase) still counts."""
    tx = simulate_transactions(300, random_state=6)
    late = pd.DataFrame({"customer_id": tx["customer_id"].iloc[:5].to_numpy(), "amount": -1.0,
                         "date": tx["date"].max() + pd.Timedelta(days=3)})
    ddf = dd.concat([dd.from_pandas(tx, npartitions=2), dd.from_pandas(late, npartitions=1)])
    log = pd.concat([tx, late], ignore_index=True)
    same(pdask.rfm_table(ddf), patronage.rfm_table(log))
    pd.testing.assert_frame_equal(pdask.retention(ddf), patronage.retention(log), check_exact=True)
    with pytest.raises(DataError, match="no purchase"):
        pdask.rfm_table(dd.from_pandas(late, npartitions=1))


def test_cohort_revenue(client, logs):
    tx, ddf, cols = read(logs, "retail", 3)
    for normalize in (True, False):
        pd.testing.assert_frame_equal(pdask.cohort_retention(ddf, metric="revenue", normalize=normalize, **cols),
                                      patronage.cohort_retention(tx, metric="revenue", normalize=normalize, **cols),
                                      check_exact=False, rtol=1e-12)


def test_refusals(client):
    tx = load_cdnow()
    with pytest.raises(TypeError, match="dask DataFrame, got pandas.DataFrame"):
        pdask.rfm_table(tx)
    with pytest.raises(TypeError, match="takes a BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma"):
        pdask.fit("GammaGamma", dd.from_pandas(tx, npartitions=1))
    with pytest.raises(DataError, match="'client'"):
        pdask.rfm_table(dd.from_pandas(tx, npartitions=1), customer="client")


@pytest.mark.parametrize("name, partitions", [("cdnow", 1), ("retail", 16)])
def test_fits_from_partition_sums_equal_the_pandas_fits(client, logs, name, partitions):
    """GammaGamma and the logistic churn model from per-partition likelihood sums: within 1e-8 relative."""
    tx, ddf, cols = read(logs, name, partitions)
    summary = patronage.btyd_summary(tx, freq="W", **cols)
    with warnings.catch_warnings():  # retail: repeat buyers with spend <= 0 left out, said on both sides
        warnings.simplefilter("ignore", UserWarning)
        want = patronage.GammaGamma().fit(summary)
        got = pdask.fit(patronage.GammaGamma(), pdask.btyd_summary(ddf, freq="W", **cols))
    np.testing.assert_allclose(got.params_, want.params_, rtol=1e-8, atol=0)
    assert got.n_customers_ == want.n_customers_
    cutoff = {"cdnow": "1998-01-01", "retail": "2010-09-01"}[name]
    X, y = patronage.churn_dataset(tx, cutoff=cutoff, horizon="90D", **cols)
    dX, dy = pdask.churn_dataset(ddf, cutoff=cutoff, horizon="90D", **cols)
    clf = pdask.fit(patronage.ChurnClassifier("logistic", class_weight="balanced"), dX, dy)
    ref = patronage.ChurnClassifier("logistic", class_weight="balanced").fit(X, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, rtol=1e-8)


def test_sampled_fits_and_pareto(client, logs):
    tx, ddf, cols = read(logs, "cdnow", 3)
    rfm = patronage.rfm_table(tx)
    drfm = pdask.rfm_table(ddf)
    features = ["recency_days", "n_orders", "total_spend"]
    every = pdask.fit(patronage.KMeans(3, random_state=0), drfm[features], sample_size=None)
    np.testing.assert_array_equal(every.cluster_centers_,
                                  patronage.KMeans(3, random_state=0).fit(rfm[features]).cluster_centers_)
    one = pdask.fit(patronage.KMeans(3, random_state=0), drfm[features], sample_size=800, seed=4)
    other = pdask.fit(patronage.KMeans(3, random_state=0), drfm[features].repartition(npartitions=5),
                      sample_size=800, seed=4)
    np.testing.assert_array_equal(one.cluster_centers_, other.cluster_centers_)  # whatever the partitioning
    reseeded = pdask.fit(patronage.KMeans(3, random_state=0), drfm[features], sample_size=800, seed=5)
    assert not np.array_equal(one.cluster_centers_, reseeded.cluster_centers_)
    seg = pdask.fit(patronage.CustomerSegmenter(n_clusters=3, random_state=0), drfm, sample_size=None)
    assert seg.tiers_.tolist() == patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm).tiers_.tolist()
    want = patronage.pareto(tx)
    got = pdask.pareto(ddf)
    assert (got.top_share, got.gini, got.n_customers) == (want.top_share, want.gini, want.n_customers)
    pd.testing.assert_frame_equal(got.ranking, want.ranking, check_exact=True, check_index_type=False)
