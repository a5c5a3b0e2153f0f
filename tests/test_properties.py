"""Properties of every transaction-level function, on random logs (hypothesis).

For each function and each random log (one row to a few dozen; one customer,
one day; amounts from subnormal to 1e308 of both signs; duplicated index
labels), within a time bound:

* it returns a result or raises a ``patronage.exceptions`` error (no crash);
* shuffling the rows does not change the result, bit for bit (after sorting
  by the result's index);
* neither does the number of threads (1 against 2, through ``_core._with_threads``);
* the input frame is not modified;
* numeric outputs hold no infinity, and NaN only where the function documents it.

The shuffled log runs on 2 threads and the original on 1, so one comparison
covers both invariances; a failure re-runs the pair to say which one broke.
These test invariants, not values, so they survive changes of definitions.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from typing import Any, Callable, Dict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import patronage
from patronage import _core
from patronage.exceptions import PatronageError

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get('PROPERTY_EXAMPLES', 500))
SETTINGS = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BASE = pd.Timestamp("2021-03-01")

# amounts: every finite double (subnormal to 1e308, both signs), ordinary money, and the edges themselves
AMOUNTS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-500, 500, allow_nan=False).map(lambda v: round(v, 2)),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e308, -1e308, 1.7976931348623157e308]),
)


@st.composite
def logs(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    n_customers = draw(st.integers(1, 5))
    span = draw(st.sampled_from([0, 2, 45, 400, 2000]))  # a one-day log up to several years
    customers = draw(st.lists(st.integers(0, n_customers - 1), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, span), min_size=n, max_size=n))
    amounts = draw(st.lists(AMOUNTS, min_size=n, max_size=n))
    labels = draw(st.one_of(st.none(), st.lists(st.integers(0, 3), min_size=n, max_size=n)))  # duplicated labels
    frame = pd.DataFrame({"customer_id": customers, "date": BASE + pd.to_timedelta(days, unit="D"),
                          "amount": amounts}, index=labels)
    return frame


def _inside(tx: pd.DataFrame, share: float) -> pd.Timestamp:
    """A date a given share of the way through the log (a cutoff inside it)."""
    first, last = tx["date"].min(), tx["date"].max()
    return (first + (last - first) * share).normalize()


def _scored(tx: pd.DataFrame) -> pd.DataFrame:
    return patronage.rfm_scores(patronage.rfm_table(tx))


# name -> (call, columns allowed to hold NaN: where the function documents it)
CALLS: Dict[str, Callable[[pd.DataFrame], Any]] = {
    "rfm_table": lambda tx: patronage.rfm_table(tx),
    "rfm_scores": _scored,
    "segment_summary": lambda tx: patronage.segment_summary(_scored(tx)),
    "btyd_summary": lambda tx: patronage.btyd_summary(tx),
    "btyd_summary_calibration": lambda tx: patronage.btyd_summary(tx, calibration_end=_inside(tx, 0.5)),
    "churn_features": lambda tx: patronage.churn_features(tx),
    "churn_dataset": lambda tx: patronage.churn_dataset(tx, cutoff=_inside(tx, 0.6), horizon="30D"),
    "repurchase_rate": lambda tx: patronage.repurchase_rate(tx, within=30),
    "retention": lambda tx: patronage.retention(tx, period="W"),
    "cohort_retention": lambda tx: patronage.cohort_retention(tx, period="W", metric="revenue"),
    "cohort_retention_customers": lambda tx: patronage.cohort_retention(tx, period="M"),
    "cohort_retention_sums": lambda tx: patronage.cohort_retention(tx, period="W", metric="revenue",
                                                                   normalize=False),
    "pareto": lambda tx: patronage.pareto(tx),
    "pareto_drop": lambda tx: patronage.pareto(tx, returns="drop"),
    "lifecycle_stages": lambda tx: patronage.lifecycle_stages(tx),
    "lifecycle_transitions": lambda tx: patronage.lifecycle_transitions(tx, _inside(tx, 0.4), _inside(tx, 1.0)),
}

# Columns (or, for matrices, whole outputs: "*") where NaN is documented.
_GAPS = {"mean_days_between_orders", "std_days_between_orders"}  # NaN with one order / fewer than two gaps
NAN_ALLOWED: Dict[str, set] = {
    "rfm_table": _GAPS,
    "rfm_scores": _GAPS,
    "cohort_retention": {"*"},  # cells beyond the last period are not observed yet
    "cohort_retention_customers": {"*"},
    "cohort_retention_sums": {"*"},
    "retention": {"retention_rate", "churn_rate"},  # the first period, and after one without actives
    "lifecycle_stages": {"typical_gap_days", "at_risk_after_days", "lapsed_after_days"},  # one order
    "lifecycle_transitions": set(),
    "segment_summary": {"share_of_revenue"},  # a total revenue of 0
    "repurchase_rate": {"repurchase"},  # every customer censored
}


def _frames(result: Any) -> Dict[str, Any]:
    """The result as named pieces, each sorted by its index when it has one."""
    if isinstance(result, tuple):
        return {f"[{i}]": v for i, piece in enumerate(result) for v in _frames(piece).values()}
    if dataclasses.is_dataclass(result):
        return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return {"": result.sort_index(kind="stable")}
    return {"": result}


def _assert_same(a: Any, b: Any) -> None:
    pa, pb = _frames(a), _frames(b)
    assert pa.keys() == pb.keys()
    for key in pa:
        x, y = pa[key], pb[key]
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x.sort_index(kind="stable"), y.sort_index(kind="stable"), check_exact=True)
        elif isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x.sort_index(kind="stable"), y.sort_index(kind="stable"),
                                           check_exact=True)
        elif isinstance(x, float):
            assert x == y or (np.isnan(x) and np.isnan(y)), (key, x, y)
        else:
            assert x == y, (key, x, y)


def _numeric_cells(result: Any) -> Dict[str, np.ndarray]:
    cells: Dict[str, np.ndarray] = {}
    for key, piece in _frames(result).items():
        if isinstance(piece, pd.DataFrame):
            for col in piece.columns:
                if pd.api.types.is_numeric_dtype(piece[col]) and not pd.api.types.is_bool_dtype(piece[col]):
                    cells[f"{key}{col}"] = piece[col].to_numpy(dtype=np.float64)
        elif isinstance(piece, pd.Series) and pd.api.types.is_numeric_dtype(piece):
            cells[f"{key}{piece.name}"] = piece.to_numpy(dtype=np.float64)
        elif isinstance(piece, (float, int, np.floating, np.integer)) and not isinstance(piece, bool):
            cells[key] = np.asarray([piece], dtype=np.float64)
    return cells


@dataclasses.dataclass(frozen=True)
class Refused:
    """A call that raised a patronage error (its row may differ with the row order)."""

    kind: str
    field: Any


def _outcome(call: Callable[[pd.DataFrame], Any], tx: pd.DataFrame, threads: int) -> Any:
    """The call's result on `threads` threads, or its error's kind and field; the input must not change."""
    before = tx.copy(deep=True)
    try:
        result = _core._with_threads(threads, lambda: call(tx))
    except PatronageError as exc:
        result = Refused(type(exc).__name__, getattr(exc, "field", None))
    pd.testing.assert_frame_equal(tx, before, check_exact=True)
    return result


def _check(name: str, tx: pd.DataFrame, order: Any) -> None:
    call = CALLS[name]
    ours = _outcome(call, tx, 1)
    shuffled = tx.iloc[list(order)]
    theirs = _outcome(call, shuffled, 2)
    if isinstance(ours, Refused) or isinstance(theirs, Refused):
        assert ours == theirs, (ours, theirs)
        return
    try:
        _assert_same(ours, theirs)
    except AssertionError:
        # which invariance broke: the thread count alone, or the row order?
        threads_only = _outcome(call, tx, 2)
        kind = "thread count" if not _same(ours, threads_only) else "row order"
        raise AssertionError(f"{name}: the result depends on the {kind}") from None
    allowed = NAN_ALLOWED.get(name, set())
    for col, values in _numeric_cells(ours).items():
        assert not np.isinf(values).any(), f"{name}: {col} holds inf"
        if "*" not in allowed and col not in allowed:
            assert not np.isnan(values).any(), f"{name}: {col} holds NaN"


def _same(a: Any, b: Any) -> bool:
    try:
        _assert_same(a, b)
    except AssertionError:
        return False
    return True


@st.composite
def log_and_order(draw: Any) -> Any:
    tx = draw(logs())
    return tx, draw(st.permutations(range(len(tx))))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_invariants(name):
    @SETTINGS
    @given(case=log_and_order())
    def check(case):
        tx, order = case
        _check(name, tx, order)

    check()


# The small logs above fit in one chunk of every parallel loop; the real log
# (400k rows, 4,383 customers) spans many, and its invoice lines share days, so
# its float sums depend on the order of the rows unless the code fixes one.
RETAIL = ["rfm_table", "btyd_summary", "btyd_summary_calibration", "churn_features", "churn_dataset",
          "cohort_retention_sums", "cohort_retention_customers", "pareto_drop", "lifecycle_stages", "retention"]


@pytest.fixture(scope="module")
def retail(shared_data) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz",
                      usecols=["Quantity", "Price", "InvoiceDate", "Customer ID"])
    tx = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
             .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    tx["date"] = pd.to_datetime(tx["date"])
    return tx[["customer_id", "date", "amount"]]


@pytest.mark.parametrize("name", RETAIL)
def test_invariants_on_the_retail_log(retail, name):
    """Export order on 1 thread against a shuffle on 2 threads: the same bits."""
    order = np.random.default_rng(7).permutation(len(retail))
    _check(name, retail, order)
