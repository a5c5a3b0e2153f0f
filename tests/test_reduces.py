"""Mergeable reduces (patronage._kernels' partial/result pairs): the partials of batches of whole customers,
summed, give what the public function gives on the whole log. Batches are 1, 3 and 16 hash buckets of
customers with rows shuffled, on CDNOW, the Online Retail II export (returns, invoices, float ids) and a
simulated log. Counts must be equal exactly, float sums to 1e-12 relative; every partial also goes through
its flat table form (what an engine sums) and back."""

from __future__ import annotations

import functools
import operator

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage import _kernels as k
from patronage.datasets import load_cdnow, simulate_transactions
from patronage.exceptions import DataError, ParameterError

BUCKETS = (1, 3, 16)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


@pytest.fixture(scope="module")
def retail(shared_data) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz",
                      usecols=["Invoice", "Quantity", "InvoiceDate", "Price", "Customer ID"])
    tx = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
          .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    return tx.assign(date=pd.to_datetime(tx["date"]))[["customer_id", "date", "amount", "Invoice"]]


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate_transactions(3_000, random_state=11)


@pytest.fixture(params=["cdnow", "retail", "simulated"])
def log(request) -> tuple[pd.DataFrame, dict]:
    """A log and the column options it needs (OR: invoices are the orders)."""
    options = {"order": "Invoice"} if request.param == "retail" else {}
    return request.getfixturevalue(request.param), options


def buckets_of(frame: pd.DataFrame, n: int, key: str = "customer_id", seed: int = 0) -> list[pd.DataFrame]:
    """``frame``'s rows shuffled, split into ``n`` hash buckets of whole ``key`` values (empty ones dropped)."""
    shuffled = frame.sample(frac=1.0, random_state=seed)
    bucket = pd.util.hash_pandas_object(shuffled[key], index=False).to_numpy() % n
    return [shuffled[bucket == b] for b in range(n) if (bucket == b).any()]


def merged_globals(batches: list[pd.DataFrame], **columns) -> k.LogGlobals:
    return k.LogGlobals.merge(k.batch_globals(b, **columns) for b in batches)


def summed(partials: list) -> k.Partial:
    """The partials added with ``+``, checked against the engine's route (their flat tables, unioned, read back)."""
    total = functools.reduce(operator.add, partials)
    via_table = type(total).from_frame(pd.concat([p.to_frame() for p in partials]),
                                       **{f: getattr(total, f) for f in ("index_name", "order") if hasattr(total, f)})
    # counts equal; float sums (segment revenue) added in another order, to rounding
    pd.testing.assert_frame_equal(via_table.table.sort_index(), total.table.sort_index(), check_exact=False,
                                  rtol=1e-13, atol=0)
    return total


def reduce_over(name: str, batches: list[pd.DataFrame], g, partial_options: dict, result_options: dict):
    parts = [getattr(k, f"{name}_partial")(b, g, **partial_options) for b in batches]
    return getattr(k, f"{name}_result")(summed(parts), g, **result_options)


# --------------------------------------------------------------------------- logs

@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("period", ["M", "W"])
def test_retention(log, buckets, period):
    tx, cols = log
    batches = buckets_of(tx, buckets)
    g = merged_globals(batches, **cols)
    got = reduce_over("retention", batches, g, {"period": period, **cols}, {"period": period})
    pd.testing.assert_frame_equal(got, patronage.retention(tx, period=period, **cols), check_exact=True)


@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("within", [None, 30, 120])
def test_repurchase_rate(log, buckets, within):
    tx, cols = log
    batches = buckets_of(tx, buckets, seed=1)
    g = merged_globals(batches, **cols)
    got = reduce_over("repurchase_rate", batches, g, {"within": within, **cols}, {})
    pd.testing.assert_series_equal(got, patronage.repurchase_rate(tx, within=within, **cols), check_exact=True)


def test_repurchase_censoring_uses_the_whole_logs_last_day():
    """Customer 1's batch ends on day 10: on its own it would be censored for a 30-day window; in the
    whole log (last day 100) it is not, and it did come back (day 10)."""
    tx = pd.DataFrame({"customer_id": [1, 1, 2, 2], "amount": 1.0,
                       "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-01", "2024-04-10"])})
    one, two = tx[tx["customer_id"] == 1], tx[tx["customer_id"] == 2]
    g = merged_globals([one, two])
    assert patronage.repurchase_rate(one, within=30)["censored"] == 1  # the trap is real
    got = k.repurchase_rate_result(k.repurchase_rate_partial(one, g, within=30)
                                   + k.repurchase_rate_partial(two, g, within=30))
    pd.testing.assert_series_equal(got, patronage.repurchase_rate(tx, within=30), check_exact=True)
    assert got.tolist() == [2, 1, 0.5, 0]  # by hand: 1 came back on day 10, 2 only on day 100
    with pytest.raises(ParameterError, match="end_day"):
        k.repurchase_rate_partial(two, k.LogGlobals(g.first_purchase_day, g.last_day - 1, g.max_day))


@pytest.mark.parametrize("buckets", BUCKETS)
def test_lifecycle_transitions_with_each_dates_median_gap(log, buckets):
    tx, cols = log
    first, last = tx["date"].min(), tx["date"].max()
    from_date, to_date = first + (last - first) * 0.55, first + (last - first) * 0.85
    batches = buckets_of(tx, buckets, seed=2)
    gaps = tuple(k.median_gap(k.typical_gaps(b, {"as_of": when, **cols}) for b in batches)
                 for when in (from_date, to_date))
    assert gaps[0] != gaps[1]  # each date has its own default gap
    options = {"from_date": from_date, "to_date": to_date, **cols}
    got = reduce_over("lifecycle_transitions", batches, None, {**options, "default_gap": gaps}, {})
    pd.testing.assert_frame_equal(got, patronage.lifecycle_transitions(tx, **options), check_exact=True)


@pytest.mark.parametrize("buckets", BUCKETS)
def test_churn_dataset_map(log, buckets):
    tx, cols = log
    first, last = tx["date"].min(), tx["date"].max()
    cutoff = (first + (last - first) * 0.6).normalize()
    batches = buckets_of(tx, buckets, seed=3)
    g = merged_globals(batches, **cols)
    options = {"cutoff": cutoff, "horizon": "60D", **cols}
    tables = [k.run("churn_dataset", b, g, options) for b in batches]
    got = pd.concat([t for t in tables if t is not None]).sort_index()
    X, y = patronage.churn_dataset(tx, **options)
    pd.testing.assert_frame_equal(got.drop(columns="churned"), X, check_exact=True)
    pd.testing.assert_series_equal(got["churned"], y, check_exact=True)


def test_churn_dataset_batch_without_customers_before_the_cutoff(cdnow):
    late = cdnow[cdnow.groupby("customer_id")["date"].transform("min") > "1997-02-15"]
    g = k.batch_globals(cdnow)
    assert k.run("churn_dataset", late, g, {"cutoff": "1997-02-01", "horizon": "60D"}) is None
    with pytest.raises(ParameterError, match="cutoff"):  # the whole log is still checked
        k.run("churn_dataset", cdnow, g, {"cutoff": "1996-12-01", "horizon": "60D"})


@pytest.mark.parametrize("buckets", BUCKETS)
def test_btyd_summary_calibration_holdout_map(retail, buckets):
    """explicit() fills observation_end (the holdout's end) from the whole log; buckets whose customers
    all start after calibration_end give no rows."""
    batches = buckets_of(retail, buckets, seed=4)
    g = merged_globals(batches, order="Invoice")
    options = {"freq": "W", "calibration_end": "2010-06-30", "order": "Invoice"}
    tables = [k.run("btyd_summary", b, g, options) for b in batches]
    got = pd.concat([t for t in tables if t is not None and len(t)]).sort_index()
    pd.testing.assert_frame_equal(got, patronage.btyd_summary(retail, **options), check_exact=True)


# --------------------------------------------------------------------------- scored tables

@pytest.fixture(scope="module")
def scored(cdnow, retail, simulated) -> dict:
    return {name: patronage.rfm_scores(patronage.rfm_table(tx, **cols)).reset_index()
            for name, tx, cols in [("cdnow", cdnow, {}), ("retail", retail, {"order": "Invoice"}),
                                   ("simulated", simulated, {})]}


@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("name", ["cdnow", "retail", "simulated"])
def test_segment_summary(scored, name, buckets):
    table = scored[name]
    got = reduce_over("segment_summary", buckets_of(table, buckets), None, {}, {})
    want = patronage.segment_summary(table)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0)
    pd.testing.assert_series_equal(got["customers"], want["customers"], check_exact=True)
    # plain-string segments (an engine's strings): sorted, like the single-table summary of strings
    strings = table.assign(segment=table["segment"].astype(str))
    got = reduce_over("segment_summary", buckets_of(strings, buckets), None, {}, {})
    pd.testing.assert_frame_equal(got, patronage.segment_summary(strings), check_exact=False, rtol=1e-12, atol=0)


@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("name", ["cdnow", "retail", "simulated"])
@pytest.mark.parametrize("bins", [5, 10])
def test_rfm_scores_from_merged_histograms(scored, name, buckets, bins):
    rfm = scored[name].drop(columns=["R", "F", "M", "FM", "rfm_score", "segment"]).set_index("customer_id")
    batches = buckets_of(rfm.reset_index(), buckets)
    histogram = summed([k.rfm_scores_partial(b) for b in batches])
    got = pd.concat([k.rfm_scores_map(b, histogram, bins=bins) for b in batches]).set_index("customer_id")
    pd.testing.assert_frame_equal(got.sort_index(), patronage.rfm_scores(rfm, bins=bins), check_exact=True)


def test_rfm_scores_map_refuses_a_value_outside_the_histogram(cdnow):
    rfm = patronage.rfm_table(cdnow)
    histogram = k.rfm_scores_partial(rfm.iloc[:100])
    with pytest.raises(DataError, match="histogram"):
        k.rfm_scores_map(rfm.iloc[100:200], histogram)


# --------------------------------------------------------------------------- surveys

@pytest.fixture(scope="module")
def answers() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 20_000
    nps = rng.integers(0, 11, n).astype(float)
    nps[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"respondent": np.arange(n), "nps": nps, "csat": rng.integers(1, 6, n),
                         "ces": rng.integers(1, 8, n), "segment": rng.choice(["a", "b", "c", "d"], n)})


@pytest.mark.parametrize("buckets", BUCKETS)
@pytest.mark.parametrize("by", [None, "segment"])
@pytest.mark.parametrize("kind, partial_options, result_options", [
    ("nps", {"column": "nps"}, {}),
    ("csat", {"column": "csat", "scale": 5}, {"satisfied": (4, 5)}),
    ("ces", {"column": "ces", "scale": 7}, {}),
])
def test_surveys(answers, buckets, by, kind, partial_options, result_options):
    frame = answers[["respondent", partial_options["column"], "segment"]]
    batches = buckets_of(frame, buckets, key="respondent")
    got = reduce_over(kind, batches, None, {**partial_options, "by": by}, {**result_options, "by": by})
    want = getattr(patronage, kind)(frame, by=by, **partial_options, **result_options)
    if by is None:
        pd.testing.assert_series_equal(got, want, check_exact=True)
    else:
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_survey_counts_are_checked_when_read_back():
    with pytest.raises(ParameterError, match="negative"):
        patronage._core.nps_stats(np.full((1, 11), -1, dtype=np.int64), np.zeros(1, dtype=np.int64), 0.95)
    with pytest.raises(ParameterError, match="counts"):
        patronage._core.mean_stats(np.zeros((2, 3), dtype=np.int64), np.zeros(1, dtype=np.int64), 1, 0.95)
