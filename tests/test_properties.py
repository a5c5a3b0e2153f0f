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


# --------------------------------------------------------------------------- every dtype pandas and Arrow have
#
# A log whose amounts are small whole numbers (exact in every numeric dtype) and
# whose ids are single digits (the same order as numbers and as text) gives the
# same result whatever dtype holds each column; a dtype that does not hold real
# numbers (amounts) is a ColumnTypeError naming the column. Fewer examples per
# dtype than above: the dtypes multiply the cases.

DTYPE_EXAMPLES = max(EXAMPLES // 25, 5)
DTYPE_SETTINGS = settings(SETTINGS, max_examples=DTYPE_EXAMPLES)
DTYPE_CALLS = ["rfm_table", "btyd_summary", "churn_features", "pareto", "cohort_retention_sums", "lifecycle_stages",
               "retention"]

try:
    import pyarrow  # noqa: F401
    ARROW = True
except ImportError:  # pragma: no cover (make venv installs it)
    ARROW = False


def _arrow(dtype: str) -> Any:
    return pytest.param(dtype, marks=pytest.mark.skipif(not ARROW, reason="pyarrow is not installed"))


REAL_AMOUNT_DTYPES = ["int8", "int16", "int32", "int64", "float32", "float64", "Int8", "Int64", "Float32", "Float64",
                      "object", "string", "str", _arrow("int64[pyarrow]"), _arrow("double[pyarrow]"),
                      _arrow("decimal128(12, 2)[pyarrow]"), _arrow("string[pyarrow]")]
UNSIGNED_AMOUNT_DTYPES = ["uint8", "uint64", "UInt32", _arrow("uint16[pyarrow]")]  # no returns to hold
NON_REAL_AMOUNT_DTYPES = ["bool", "boolean", "complex128", "complex64", "timedelta64[ns]", "datetime64[s]",
                          "period[D]", "category", "interval", _arrow("bool[pyarrow]"), _arrow("duration[ns][pyarrow]"),
                          _arrow("timestamp[us][pyarrow]")]
ID_DTYPES = ["int8", "int32", "uint64", ">i8", "<i4", "float64", "Int64", "UInt16", "object", "str", "category",
             _arrow("int64[pyarrow]"), _arrow("string[pyarrow]"), _arrow("dictionary<values=int64, indices=int8>"
                                                                          "[pyarrow]")]
DATE_DTYPES = ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]", "datetime64[ns, UTC]",
               "datetime64[us, Europe/Berlin]", "iso strings", "object timestamps", "object dates",
               _arrow("timestamp[ns][pyarrow]"), _arrow("timestamp[s, tz=Asia/Tokyo][pyarrow]"),
               _arrow("date32[pyarrow]")]


@st.composite
def whole_logs(draw: Any, signed: bool = True) -> pd.DataFrame:
    n = draw(st.integers(1, 20))
    low = -40 if signed else 0
    return pd.DataFrame({
        "customer_id": draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
        "date": BASE + pd.to_timedelta(draw(st.lists(st.integers(0, 400), min_size=n, max_size=n)), unit="D"),
        "amount": np.asarray(draw(st.lists(st.integers(low, 120), min_size=n, max_size=n)), dtype=np.float64),
    }, index=draw(st.one_of(st.none(), st.lists(st.integers(0, 2), min_size=n, max_size=n))))


def _arrow_dtype(name: str) -> Any:
    """Arrow types with parameters, which pandas cannot parse from a string."""
    import pyarrow as pa

    return {"decimal128(12, 2)[pyarrow]": pd.ArrowDtype(pa.decimal128(12, 2))}.get(name, name)


def _as_amount_dtype(values: pd.Series, dtype: str) -> pd.Series:
    if dtype == "object":
        return pd.Series([int(v) for v in values], index=values.index, dtype=object)
    if dtype in ("string", "str", "string[pyarrow]"):
        return values.map(lambda v: f"{v:.2f}").astype(dtype)
    if dtype.startswith("decimal"):
        import decimal

        return pd.Series([decimal.Decimal(f"{v:.2f}") for v in values], index=values.index).astype(_arrow_dtype(dtype))
    if dtype == "interval":
        return pd.Series(pd.arrays.IntervalArray.from_breaks(np.arange(len(values) + 1.0)), index=values.index)
    if dtype in ("timedelta64[ns]", "duration[ns][pyarrow]"):
        return pd.to_timedelta(values, unit="D").astype(dtype)
    if dtype in ("datetime64[s]", "timestamp[us][pyarrow]"):
        return (BASE + pd.to_timedelta(values, unit="D")).astype(dtype)
    if dtype == "period[D]":
        return (BASE + pd.to_timedelta(values, unit="D")).dt.to_period("D")
    if dtype in ("bool", "boolean", "bool[pyarrow]"):
        return (values > 0).astype(dtype)
    return values.astype(dtype)


def _as_id_dtype(values: pd.Series, dtype: str) -> pd.Series:
    if dtype in (">i8", "<i4"):
        return pd.Series(values.to_numpy().astype(dtype), index=values.index)
    if dtype in ("object", "str", "string[pyarrow]"):
        return values.astype(str).astype(dtype)
    if dtype.startswith("dictionary"):  # pandas cannot convert numpy to it: encode in Arrow
        import pyarrow as pa

        return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values.to_numpy()).dictionary_encode()),
                         index=values.index)
    return values.astype(dtype)


def _as_date_dtype(values: pd.Series, dtype: str) -> pd.Series:
    if dtype == "iso strings":
        return values.dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dtype == "object timestamps":
        return pd.Series(list(values), index=values.index, dtype=object)
    if dtype == "object dates":
        return pd.Series([v.date() for v in values], index=values.index, dtype=object)
    if "tz=" in dtype or ", " in dtype:  # the same wall-clock times in a zone: the same local days
        zone = dtype.split("tz=")[1].split("]")[0] if "tz=" in dtype else dtype.split(", ")[1].rstrip("]")
        return values.dt.tz_localize(zone).astype(dtype)
    if dtype == "date32[pyarrow]":
        return pd.Series([v.date() for v in values], index=values.index).astype(dtype)
    return values.astype(dtype)


def _values_only(result: Any) -> Dict[str, Any]:
    """The result's numbers, without the dtypes of its index (ids and periods come back in the input's dtype)."""
    out = {}
    for key, piece in _frames(result).items():
        if isinstance(piece, pd.DataFrame):
            out[key] = piece.reset_index(drop=True).astype({c: np.float64 for c in piece.columns
                                                           if pd.api.types.is_numeric_dtype(piece[c])})
        elif isinstance(piece, pd.Series):
            out[key] = piece.reset_index(drop=True)
        else:
            out[key] = piece
    return out


def _same_numbers(name: str, ours: Any, reference: Any) -> None:
    if isinstance(reference, Refused) or isinstance(ours, Refused):
        assert isinstance(ours, Refused) and isinstance(reference, Refused) and ours == reference, (name, ours,
                                                                                                   reference)
        return
    a, b = _values_only(ours), _values_only(reference)
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], pd.DataFrame):
            pd.testing.assert_frame_equal(a[key], b[key], check_exact=True, check_dtype=False,
                                          check_column_type=False)
        elif isinstance(a[key], pd.Series):
            pd.testing.assert_series_equal(a[key], b[key], check_exact=True, check_dtype=False,
                                           check_index_type=False)
        else:
            assert a[key] == b[key] or (np.isnan(a[key]) and np.isnan(b[key])), (name, key)


def _column_dtype_check(column: str, convert: Callable[[pd.Series, str], pd.Series], dtype: str,
                        signed: bool = True) -> None:
    @DTYPE_SETTINGS
    @given(tx=whole_logs(signed=signed))
    def check(tx):
        other = tx.assign(**{column: convert(tx[column], dtype)})
        for name in DTYPE_CALLS:
            _same_numbers(name, _outcome(CALLS[name], other, 1), _outcome(CALLS[name], tx, 1))

    check()


@pytest.mark.parametrize("dtype", REAL_AMOUNT_DTYPES)
def test_every_real_amount_dtype_gives_the_float64_result(dtype):
    _column_dtype_check("amount", _as_amount_dtype, dtype)


@pytest.mark.parametrize("dtype", UNSIGNED_AMOUNT_DTYPES)
def test_every_unsigned_amount_dtype_gives_the_float64_result(dtype):
    _column_dtype_check("amount", _as_amount_dtype, dtype, signed=False)


@pytest.mark.parametrize("dtype", NON_REAL_AMOUNT_DTYPES)
def test_every_non_real_amount_dtype_is_a_column_type_error(dtype):
    @DTYPE_SETTINGS
    @given(tx=whole_logs())
    def check(tx):
        other = tx.assign(amount=_as_amount_dtype(tx["amount"], dtype))
        for name in DTYPE_CALLS:
            assert _outcome(CALLS[name], other, 1) == Refused("ColumnTypeError", "amount"), (name, dtype)

    check()


@pytest.mark.parametrize("dtype", ID_DTYPES)
def test_every_id_dtype_gives_the_same_numbers(dtype):
    _column_dtype_check("customer_id", _as_id_dtype, dtype)


@pytest.mark.parametrize("dtype", DATE_DTYPES)
def test_every_date_dtype_gives_the_same_numbers(dtype):
    _column_dtype_check("date", _as_date_dtype, dtype)


# --------------------------------------------------------------------------- integer parameters at and beyond int64

EXTREME_INTS = st.one_of(
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30,
                     -(2**63), -(2**63) - 1, -(2**64), 365_242_500_000, 365_242_500_001]),
    st.integers(-(2**70), 2**70),
)
INT_PARAMETER_CALLS: Dict[str, Callable[[pd.DataFrame, int], Any]] = {
    "horizon": lambda tx, v: patronage.churn_dataset(tx, cutoff=_inside(tx, 0.3), horizon=v,
                                                     observation_end=pd.Timestamp("2262-01-01")),
    "window": lambda tx, v: patronage.churn_features(tx, window=v),
    "within": lambda tx, v: patronage.repurchase_rate(tx, within=v),
    "new_days": lambda tx, v: patronage.lifecycle_stages(tx, new_days=v),
    "top": lambda tx, v: patronage.winback_list(patronage.rfm_table(tx).assign(p=0.5), p_churn="p",
                                                value="total_spend", top=v),
}


@pytest.mark.parametrize("parameter", sorted(INT_PARAMETER_CALLS))
def test_integer_parameters_at_and_beyond_int64_give_a_result_or_a_parameter_error(parameter):
    """Never an OverflowError, never a wrapped result: a result, or a ParameterError naming the parameter."""
    call = INT_PARAMETER_CALLS[parameter]

    @DTYPE_SETTINGS
    @given(tx=whole_logs(signed=False).filter(lambda t: t["amount"].sum() > 0), value=EXTREME_INTS)
    def check(tx, value):
        try:
            call(tx, value)
        except PatronageError as exc:
            if getattr(exc, "parameter", None) is not None:
                assert exc.parameter in (parameter, "cutoff", "p_churn"), (parameter, value, exc)

    check()
