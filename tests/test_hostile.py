"""Hostile input (issue 23, section 5): each input that once hung, aborted the
process, panicked or returned inf/NaN now gives a clear ``patronage.exceptions``
error or a correct result.

Every case runs in a fresh interpreter with a time limit, so a regression shows
as a failed test (timeout, abort or panic), never as a hung or killed test run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict

import numpy as np
import pytest

# What a case's snippet gets before it: `run()` is the snippet's function; its
# return value or its exception is printed as one JSON line.
_HARNESS = """
import json, sys
import numpy as np, pandas as pd, patronage
from patronage import exceptions

{code}

try:
    out = run()
except BaseException as exc:
    out = {{"error": type(exc).__name__, "patronage": isinstance(exc, exceptions.PatronageError),
           "message": str(exc), "field": getattr(exc, "field", None),
           "parameter": getattr(exc, "parameter", None), "label": repr(getattr(exc, "label", None))}}
print("RESULT " + json.dumps(out, default=float))
"""


def bounded(code: str, timeout: float = 60.0) -> Dict[str, Any]:
    """Runs `code` (which defines `run()`) in a subprocess; what `run` returned or raised."""
    script = _HARNESS.format(code=textwrap.dedent(code))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def assert_error(out: Dict[str, Any], kind: str, *, field: Any = None, parameter: Any = None,
                 match: str = "") -> None:
    assert out.get("error") == kind and out["patronage"], out
    if field is not None:
        assert out["field"] == field, out
    if parameter is not None:
        assert out["parameter"] == parameter, out
    assert match in out["message"], out


# --------------------------------------------------------------------------- churn models

def test_logistic_column_of_1e308_fits_as_if_absent():
    """A constant column of 1e308 (the fit once looped for ever) gets coefficient 0:
    the probabilities are scikit-learn's on the other column alone."""
    out = bounded("""
        from sklearn.linear_model import LogisticRegression
        def run():
            rng = np.random.default_rng(0)
            a = rng.normal(size=300)
            y = (a + rng.normal(size=300) > 0).astype(int)
            X = pd.DataFrame({"a": a, "b": np.full(300, 1e308)})
            ours = patronage.ChurnClassifier("logistic").fit(X, y).predict_proba(X)[:, 1]
            z = ((a - a.mean()) / a.std()).reshape(-1, 1)  # the model penalises standardised coefficients
            ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(z, y).predict_proba(z)[:, 1]
            return float(np.abs(ours - ref).max())
    """)
    assert out < 1e-6, out


def test_logistic_column_in_units_of_1e300_fits():
    """A column whose values reach 1e308 (sums of them overflow) fits like the same
    column in ordinary units; one spanning more than the largest float is named."""
    out = bounded("""
        def run():
            rng = np.random.default_rng(1)
            a = rng.uniform(-1, 1, 300)
            y = (a + rng.normal(size=300) > 0).astype(int)
            small = patronage.ChurnClassifier("logistic").fit(pd.DataFrame({"a": a}), y)
            huge = pd.DataFrame({"a": a * 0.85e308})
            big = patronage.ChurnClassifier("logistic").fit(huge, y)
            gap = np.abs(big.predict_proba(huge)[:, 1] - small.predict_proba(pd.DataFrame({"a": a}))[:, 1]).max()
            wide = pd.DataFrame({"a": np.r_[-1.5e308, 1.5e308, a[2:]]})
            try:
                patronage.ChurnClassifier("logistic").fit(wide, y)
            except exceptions.DataError as exc:
                return [float(gap), str(exc), exc.field]
    """)
    assert out[0] < 1e-9 and "wider than the largest float" in out[1] and out[2] == "a", out


def test_logistic_sample_weight_1e308_is_refused():
    out = bounded("""
        def run():
            rng = np.random.default_rng(0)
            X = pd.DataFrame({"a": rng.normal(size=200)})
            y = rng.integers(0, 2, 200)
            patronage.ChurnClassifier("logistic").fit(X, y, sample_weight=np.full(200, 1e308))
    """, timeout=30)
    assert_error(out, "DataError", field="sample_weight", match="1e100")


def test_logistic_10000_features_is_refused_quickly():
    """10,000 features x 100 rows gave no result after 120 s."""
    start = time.perf_counter()
    out = bounded("""
        def run():
            rng = np.random.default_rng(0)
            patronage.ChurnClassifier("logistic").fit(rng.normal(size=(100, 10_000)), rng.integers(0, 2, 100))
    """, timeout=60)
    assert_error(out, "ParameterError", parameter="X", match="at most 1000")
    assert time.perf_counter() - start < 30


def test_gbm_sample_weight_1e308_is_refused_and_large_weights_stay_finite():
    """Weights of 1e308 gave NaN probabilities; weights of 1e90 give those of weights 1."""
    out = bounded("""
        def run():
            rng = np.random.default_rng(0)
            X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
            y = (X["a"] + rng.normal(size=400) > 0).astype(int)
            p1 = patronage.ChurnClassifier("gbm", max_iter=20).fit(X, y).predict_proba(X)[:, 1]
            pbig = patronage.ChurnClassifier("gbm", max_iter=20).fit(X, y, sample_weight=np.full(400, 1e90)).predict_proba(X)[:, 1]
            try:
                patronage.ChurnClassifier("gbm").fit(X, y, sample_weight=np.full(400, 1e308))
            except exceptions.DataError as exc:
                return [bool(np.isfinite(pbig).all()), float(np.abs(p1 - pbig).max()), exc.field]
    """)
    assert out[0] and out[1] < 1e-9 and out[2] == "sample_weight", out


# --------------------------------------------------------------------------- surveys

@pytest.mark.parametrize("call", [
    "patronage.csat([1, 2, 3], scale=2**40)",            # once: SIGABRT (allocation failure)
    "patronage.csat([1, 2, 3], scale=(-2**62, 2**62))",  # once: panic "capacity overflow"
    "patronage.csat([1, 2, 3], scale=(-2**63, 2**63 - 1))",  # once: panic "index out of bounds"
    "patronage.ces([1, 2, 3], scale=2**70)",             # once: bare OverflowError
    "patronage.ces([1, 2, 3], scale=(0, 101))",          # 102 levels: one above the limit
    "patronage.csat([1, 2], scale=5, satisfied=[2**70])",
])
def test_survey_scale_beyond_the_limit_is_a_parameter_error(call):
    out = bounded(f"""
        def run():
            return {call}
    """, timeout=30)
    assert out.get("error") == "ParameterError" and out["patronage"], out
    assert out["parameter"] in ("scale", "satisfied"), out


def test_survey_scale_at_the_limit_works():
    """0..100 (101 levels) is allowed; the mean is computed by hand."""
    out = bounded("""
        def run():
            r = patronage.ces([0, 100, 50, 50], scale=(0, 100))
            return [float(r["ces"]), float(r["n"])]
    """)
    assert out == [50.0, 4.0]


# --------------------------------------------------------------------------- k-means

@pytest.mark.parametrize("big", [1e200, 1e308])
def test_kmeans_on_huge_values_names_the_column(big):
    """Inertia was inf (1e200) and centres NaN (1e308)."""
    out = bounded(f"""
        def run():
            X = pd.DataFrame({{"spend": np.r_[np.arange(20.0), {big}], "orders": np.arange(21.0)}},
                             index=[f"c{{i}}" for i in range(21)])
            patronage.KMeans(3, random_state=0).fit(X)
    """)
    assert_error(out, "DataError", field="spend", match="beyond +/-1e100")
    assert out["label"] == "'c20'", out


def test_kmeans_values_near_the_limit_give_a_finite_inertia():
    """X * 2**300 (about 1e90): same labels, inertia * 2**600, exactly (power-of-two scaling)."""
    out = bounded("""
        def run():
            X = np.random.default_rng(0).normal(size=(200, 3))
            a = patronage.KMeans(3, random_state=0).fit(X)
            b = patronage.KMeans(3, random_state=0).fit(X * 2.0**300)
            return [bool((a.labels_ == b.labels_).all()), b.inertia_ == a.inertia_ * 2.0**600,
                    bool(np.isfinite(b.inertia_))]
    """)
    assert out == [True, True, True]


def test_segmenter_spend_of_1e308_is_refused_and_1e300_profiles_finite():
    out = bounded("""
        def run():
            rng = np.random.default_rng(0)
            n = 60
            rfm = pd.DataFrame({"recency_days": rng.integers(1, 100, n).astype(float),
                                "n_orders": rng.integers(1, 10, n).astype(float),
                                "total_spend": rng.uniform(1, 100, n)})
            huge = rfm.copy()
            huge.loc[[3, 4], "total_spend"] = 1e308
            try:
                patronage.CustomerSegmenter(3, random_state=0).fit(huge)
            except exceptions.DataError as exc:
                refused = exc.field
            big = rfm.copy()
            big.loc[[3, 4], "total_spend"] = 1e300
            prof = patronage.CustomerSegmenter(3, random_state=0, scaling="standard").fit(big).profile()
            numbers = prof.select_dtypes("number")
            return [refused, bool(np.isfinite(numbers.to_numpy()).all()), float(prof["revenue"].sum())]
    """)
    assert out[0] == "total_spend" and out[1], out
    assert out[2] == pytest.approx(2e300, rel=1e-12)


# --------------------------------------------------------------------------- cohorts and totals

def test_cohort_retention_never_divides_by_a_vanishing_first_period():
    """The inf cells of random logs (found again by tests/test_properties.py): a
    first-week revenue of 5e-324 divided later revenue by almost nothing, and
    one of 0.1 + 0.2 - 0.3 (5.6e-17, zero up to rounding) gave 1.8e17. One customer's
    purchase day now nets exactly (0.1 + 0.2 - 0.3 = 0), so that cohort's revenue is 0."""
    out = bounded("""
        def run():
            seen = []
            for first in ([5e-324], [0.1, 0.2, -0.3]):
                n = len(first)
                tx = pd.DataFrame({"customer_id": [1] * (n + 1),
                                   "date": pd.to_datetime(["2024-01-01"] * n + ["2024-01-20"]),
                                   "amount": first + [10.0]})
                try:
                    patronage.cohort_retention(tx, period="W", metric="revenue")
                except exceptions.DataError as exc:
                    seen.append([exc.field, str(exc)])
                plain = patronage.cohort_retention(tx, period="W", metric="revenue", normalize=False)
                seen.append(bool(np.isfinite(plain.to_numpy()[~np.isnan(plain.to_numpy())]).all()))
            return seen
    """)
    assert out[0][0] == "amount" and "overflows" in out[0][1], out
    assert out[2][0] == "amount" and "first-period revenue of 0," in out[2][1], out
    assert out[1] is True and out[3] is True


def test_amounts_whose_total_overflows_are_refused():
    """Two purchases of 1e308 made a customer's total_spend inf."""
    out = bounded("""
        def run():
            tx = pd.DataFrame({"customer_id": [1, 1], "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                               "amount": [1e308, 1e308]})
            patronage.rfm_table(tx)
    """)
    assert_error(out, "DataError", field="amount", match="beyond 1e300")


# --------------------------------------------------------------------------- BTYD summaries

@pytest.mark.parametrize("model", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
def test_btyd_repeat_purchases_at_recency_zero_are_refused(model):
    """frequency > 0 with recency == 0 is impossible; it used to fit silently."""
    out = bounded(f"""
        def run():
            s = pd.DataFrame({{"frequency": [2.0, 0.0, 1.0], "recency": [0.0, 0.0, 3.0], "T": [5.0, 4.0, 6.0]}},
                             index=["ann", "bob", "cy"])
            patronage.{model}().fit(s)
    """)
    assert_error(out, "DataError", field="recency", match="'ann'")


# --------------------------------------------------------------------------- from_json

@pytest.mark.parametrize("model", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "GammaGamma", "KMeans",
                                   "ChurnClassifier"])
def test_from_json_on_deeply_nested_garbage_is_a_data_error(model):
    """Nesting beyond Python's and serde_json's recursion limits, bare and inside
    an envelope that passes the format checks (RecursionError before)."""
    out = bounded(f"""
        def run():
            cls = patronage.{model}
            deep = "[" * 100_000 + "]" * 100_000
            seen = []
            for text in (deep, '{{"format": 1, "model": ' + deep + '}}', "[" * 200 + "]" * 200):
                try:
                    cls.from_json(text)
                except exceptions.DataError as exc:
                    seen.append("not a" in str(exc))
            fitted = {{"BetaGeo": "patronage.BetaGeo", "ModifiedBetaGeo": "patronage.ModifiedBetaGeo",
                      "ParetoNBD": "patronage.ParetoNBD"}}.get("{model}")
            if fitted:  # a real envelope around a nested model: serde_json's recursion limit
                doc = {{"format": 1, "class": "{model}", "params": {{}}, "model": None}}
                from patronage import btyd
                doc["format"] = btyd._FORMAT
                text = json.dumps(doc).replace("null", "[" * 1000 + "]" * 1000)
                try:
                    cls.from_json(text)
                except exceptions.DataError:
                    seen.append(True)
            return seen
    """)
    assert isinstance(out, list) and out and all(out), out


# --------------------------------------------------------------------------- issue 30: durations never wrap

# indented like the snippets it is put before (they are dedented together)
_LOG = """
        tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3, 4],
                           "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-05", "2024-01-10",
                                                   "2024-01-07", "2024-01-20"]),
                           "amount": [10.0, 20.0, 5.0, 6.0, 7.0, 8.0]})
"""

_DURATION_CALLS = {
    "horizon": "patronage.churn_dataset(tx, cutoff='2024-02-01', horizon=VALUE)",
    "window": "patronage.churn_features(tx.assign(date=tx['date'] - pd.Timedelta(days=25_000)), window=VALUE)",
    "within": "patronage.repurchase_rate(tx, within=VALUE)",
    "new_days": "patronage.lifecycle_stages(tx, new_days=VALUE)",
}


@pytest.mark.parametrize("parameter", sorted(_DURATION_CALLS))
def test_durations_beyond_the_longest_are_parameter_errors_not_wrapped(parameter):
    """2**63-1 days wrapped inside the core (a customer who came back was labelled
    churned; a pre-1970 log lost its trend features) and 2**64 gave a bare
    OverflowError: both are now a ParameterError naming the parameter, and the
    longest duration accepted still works."""
    out = bounded(_LOG + """
        from patronage._frame import MAX_DURATION_DAYS
        def run():
            outcomes = []
            for value in (2**63 - 1, 2**64, -2**63, np.int64(2**63 - 1), MAX_DURATION_DAYS + 1, MAX_DURATION_DAYS):
                try:
                    eval(CALL.replace("VALUE", repr(int(value))))
                    outcomes.append("ok")
                except exceptions.ParameterError as exc:
                    outcomes.append([exc.parameter, "longest duration" in str(exc) or "at least" in str(exc)])
            return outcomes
    """.replace("CALL", repr(_DURATION_CALLS[parameter])))
    assert out[:5] == [[parameter, True]] * 5, out
    assert out[5] == "ok" or out[5][0] == parameter, out


def test_long_windows_agree_with_the_longest_accepted():
    """A window of 2**63-1 days on a pre-1970 log wrapped and zeroed the trend
    features, and within=2**63-1 disagreed with within=10**6. Windows longer
    than the log now all give the same answer: the trend windows hold every
    purchase, and every customer is censored for the repurchase rate (none was
    observed for that long)."""
    out = bounded(_LOG + """
        from patronage._frame import MAX_DURATION_DAYS
        def run():
            old = tx.assign(date=tx["date"] - pd.Timedelta(days=25_000))
            X = patronage.churn_features(old, window=MAX_DURATION_DAYS)
            X2 = patronage.churn_features(old, window=10**6)
            r = patronage.repurchase_rate(tx, within=MAX_DURATION_DAYS)
            r2 = patronage.repurchase_rate(tx, within=10**6)
            return {"same": bool(X.equals(X2)), "frequency": X["frequency"].tolist(),
                    "customers": [float(r["customers"]), float(r2["customers"])]}
    """)
    assert out == {"same": True, "frequency": [2.0, 2.0, 1.0, 1.0], "customers": [0.0, 0.0]}, out


# --------------------------------------------------------------------------- issue 30: only real amounts

_LOG_CALLS = {
    "rfm_table": "patronage.rfm_table(t)",
    "btyd_summary": "patronage.btyd_summary(t)",
    "churn_dataset": "patronage.churn_dataset(t, cutoff='2024-01-15', horizon=30)",
    "churn_features": "patronage.churn_features(t)",
    "repurchase_rate": "patronage.repurchase_rate(t, within=30)",
    "retention": "patronage.retention(t)",
    "cohort_retention": "patronage.cohort_retention(t)",
    "pareto": "patronage.pareto(t)",
    "lifecycle_stages": "patronage.lifecycle_stages(t)",
    "lifecycle_transitions": "patronage.lifecycle_transitions(t, '2024-01-15', '2024-03-01')",
    "backtest": "patronage.churn.backtest(t, cutoffs=['2024-01-05', '2024-01-30'], horizon=20)",
    "customer_report": "patronage.report.customer_report(t, progress=False)",
}

_BAD_AMOUNTS = {
    "complex": "tx['amount'] + 1j",
    "complex_objects": "pd.Series([complex(v, 1) for v in tx['amount']], dtype=object)",
    "timedelta": "pd.to_timedelta(tx['amount'], unit='D')",
    "datetime": "tx['date']",
    "period": "tx['date'].dt.to_period('D')",
    "bool": "tx['amount'] > 6",
    "categorical": "tx['amount'].astype('category')",
    "interval": "pd.Series(pd.interval_range(0, 6), dtype='interval')",
}


@pytest.mark.parametrize("call", sorted(_LOG_CALLS))
def test_non_real_amounts_are_refused_by_every_log_function(call):
    """A complex or timedelta64 amount column was summed as if it were money
    (the imaginary part dropped, durations read as nanoseconds): every function
    that takes a log now refuses each non-real dtype naming the column."""
    out = bounded(_LOG + """
        import patronage.churn, patronage.report
        BAD = BAD_AMOUNTS
        def run():
            seen = {}
            for kind, expr in BAD.items():
                t = tx.assign(amount=eval(expr).to_numpy() if kind == "interval" else eval(expr))
                try:
                    CALL
                    seen[kind] = "accepted"
                except exceptions.ColumnTypeError as exc:
                    seen[kind] = exc.field
            return seen
    """.replace("BAD_AMOUNTS", repr(_BAD_AMOUNTS)).replace("CALL", _LOG_CALLS[call]), timeout=120)
    assert out == {kind: "amount" for kind in _BAD_AMOUNTS}, out


# --------------------------------------------------------------------------- issue 30: errors name the culprit

def test_errors_name_the_parameter_or_columns_at_fault():
    """as_of before the first purchase blamed `cutoff`; a calibration end before
    every purchase said only "no transactions are left"; recency > T named recency only."""
    out = bounded(_LOG + """
        def run():
            found = []
            try:
                patronage.churn_features(tx, as_of="2000-01-01")
            except exceptions.ParameterError as exc:
                found.append([exc.parameter, "`as_of`" in str(exc) and "cutoff" not in str(exc)])
            for kwargs in ({"calibration_end": "2000-01-01"}, {"observation_end": "2000-01-01"}):
                try:
                    patronage.btyd_summary(tx, **kwargs)
                except exceptions.ParameterError as exc:
                    found.append([exc.parameter, "2000-01-01 is before the first purchase (2024-01-01)" in str(exc)])
            summary = pd.DataFrame({"frequency_cal": [1.0, 2.0], "recency_cal": [3.0, 10.0], "T_cal": [8.0, 5.0]})
            try:
                patronage.BetaGeo().fit(summary)
            except exceptions.DataError as exc:
                found.append([exc.field, exc.label, str(exc)])
            return found
    """)
    assert out[0] == ["as_of", True], out
    assert out[1] == ["calibration_end", True] and out[2] == ["observation_end", True], out
    field, label, message = out[3]
    assert (field, label) == ("recency_cal", 1) and "'T_cal' (5)" in message and "recency (10)" in message, out


# --------------------------------------------------------------------------- issue 31: columns, ids, zones, dates

def test_duplicate_column_names_are_named():
    """Two `amount` columns crashed all log functions with AttributeError."""
    out = bounded(_LOG + """
        def run():
            t = pd.concat([tx, tx[["amount"]]], axis=1)
            fields = []
            for call in (patronage.rfm_table, patronage.pareto, patronage.lifecycle_stages, patronage.btyd_summary):
                try:
                    call(t)
                except exceptions.DataError as exc:
                    fields.append([exc.field, "appears 2 times" in str(exc)])
            return fields
    """)
    assert out == [["amount", True]] * 4, out


def test_big_endian_ids_come_back_native_endian():
    out = bounded(_LOG + """
        def run():
            result = []
            for dtype in (">i8", ">i4", ">u8", ">f8"):
                rfm = patronage.rfm_table(tx.assign(customer_id=tx["customer_id"].to_numpy().astype(dtype)))
                result.append([rfm.index.dtype.isnative, float(rfm.loc[2, "total_spend"])])
            return result
    """)
    assert out == [[True, 11.0]] * 4, out


def test_mixed_utc_offsets_count_on_their_local_calendar_day():
    """Offsets that differ row to row (summer and winter time) were "unparseable
    dates". Each purchase counts on the day written, as for one time zone: the
    23:30+02:00 purchase is on 2024-06-30 (not 21:30 UTC's same day either way),
    the 00:30+01:00 one on 2024-01-01 (it was 2023-12-31 in UTC)."""
    out = bounded("""
        def run():
            tx = pd.DataFrame({"customer_id": [1, 1, 2],
                               "date": ["2024-01-01T00:30:00+01:00", "2024-06-30T23:30:00+02:00",
                                        "2024-03-10T12:00:00-05:00"],
                               "amount": [1.0, 2.0, 3.0]})
            rfm = patronage.rfm_table(tx)
            return [str(d.date()) for d in rfm["first_purchase"]] + [str(rfm.loc[1, "last_purchase"].date())]
    """)
    assert out == ["2024-01-01", "2024-03-10", "2024-06-30"], out


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_dates_outside_the_nanosecond_range_come_back_as_themselves(unit):
    """Day numbers went back through nanoseconds and wrapped: 9999-01-01 came back
    as 1815-03-31, 0001-01-01 as 1754-08-30. Dates now return at the column's
    resolution; at ns the extremes are the ns range's own ends."""
    out = bounded("""
        def run():
            unit = UNIT
            if unit == "ns":
                days = ["1677-09-22", "1677-09-23", "2262-04-10", "2262-04-11"]
            else:
                days = ["0001-01-01", "0001-01-02", "9999-06-30", "9999-12-31", "1677-01-01", "2262-06-01",
                        "12000-05-05", "12000-05-07"]
            values = np.array(days, dtype=f"datetime64[{unit}]")
            n = len(values) // 2
            tx = pd.DataFrame({"customer_id": np.repeat(np.arange(n), 2), "date": values, "amount": 1.0})
            rfm = patronage.rfm_table(tx, as_of=np.datetime64(days[-1]))
            return {"dtype": str(rfm["first_purchase"].dtype),
                    "first": [str(np.datetime64(v, "D")) for v in rfm["first_purchase"].to_numpy()],
                    "last": [str(np.datetime64(v, "D")) for v in rfm["last_purchase"].to_numpy()],
                    "tenure": rfm["tenure_days"].tolist(), "expected": days}
    """.replace("UNIT", repr(unit)))
    days = out["expected"]
    assert out["dtype"] == f"datetime64[{unit}]", out
    assert out["first"] == [str(np.datetime64(d, "D")) for d in days[0::2]], out
    assert out["last"] == [str(np.datetime64(d, "D")) for d in days[1::2]], out
    last = np.datetime64(days[-1], "D")
    assert out["tenure"] == [int((last - np.datetime64(d, "D")).astype(int)) for d in days[0::2]], out


def test_a_day_without_a_nanosecond_midnight_is_refused_with_its_row():
    """1677-09-21 00:12:44 is a valid datetime64[ns]; its day's midnight is not."""
    out = bounded("""
        def run():
            when = np.array(["2000-01-01T00:00:00", "1677-09-21T00:12:44"], dtype="datetime64[ns]")
            tx = pd.DataFrame({"customer_id": [1, 2], "when": when, "amount": 1.0}, index=["a", "b"])
            patronage.rfm_table(tx, date="when")
    """)
    assert_error(out, "DataError", field="when", match="index label 'b' (row 1)")


def test_cohorts_in_1677_and_9999_are_their_own_periods():
    """A log in 1677 had a first cohort period of 2262-03."""
    out = bounded("""
        def run():
            out = []
            for days in (["1677-01-03", "1677-02-10", "1677-03-01"], ["9999-10-01", "9999-11-15", "9999-12-20"]):
                tx = pd.DataFrame({"customer_id": [1, 1, 2], "date": np.array(days, dtype="datetime64[s]"),
                                   "amount": 1.0})
                out.append([str(p) for p in patronage.cohort_retention(tx, period="M").index])
            return out
    """)
    assert out == [["1677-01", "1677-03"], ["9999-10", "9999-12"]], out


# --------------------------------------------------------------------------- issue 31: model files

_PREDICT = 'pd.DataFrame({"frequency": [0.0, 2.0, 30.0], "recency": [0.0, 20.0, 300.0], "T": [40.0, 50.0, 400.0]})'


def test_model_parameters_that_cannot_give_finite_predictions_are_refused():
    """ParetoNBD.from_params(0.5, 4, 1e308, 2.4) gave NaN P(alive) for every customer.
    Since the Pareto/NBD terms are evaluated as integrals (issue 23) that model's
    predictions are finite for ordinary customers and a DataError naming the row
    for the rest, so it is accepted; GammaGamma's q = 1e308 still gives NaN and is
    refused."""
    out = bounded(f"""
        def run():
            found = []
            for make in (lambda: patronage.ParetoNBD.from_params(0.5, 4, 1e308, 2.4),
                         lambda: patronage.GammaGamma.from_params(6.0, 1e308, 1e308)):
                try:
                    make()
                    found.append("accepted")
                except exceptions.ParameterError as exc:
                    found.append(exc.parameter)
            extreme = patronage.ParetoNBD.from_params(0.5, 4, 1e308, 2.4)
            for x in (0.0, 1.0, 5.0, 20.0):
                history = pd.DataFrame({{"frequency": [x], "recency": [min(x, 30.0)], "T": [40.0]}})
                try:
                    found.append(bool(np.isfinite(extreme.p_alive(history)).all()))
                except exceptions.DataError as exc:
                    found.append("row" if exc.row == 0 else str(exc))
            ok = patronage.ParetoNBD.from_params(0.55, 10.58, 0.61, 11.67).p_alive({_PREDICT})
            found.append(bool(np.isfinite(ok).all()))
            return found
    """)
    assert out[:2] == ["accepted", "q"] and set(out[2:6]) <= {True, "row"} and out[6] is True, out


def test_tampered_model_files_are_model_file_errors():
    """Tampered files raised bare KeyError / IndexError / OverflowError, or were
    accepted and then predicted NaN; each is now a ModelFileError saying what is wrong."""
    out = bounded(f"""
        import json, pickle
        def run():
            bg = patronage.BetaGeo.from_params(0.243, 4.414, 0.793, 2.426)
            doc = json.loads(bg.to_json())
            tampered = []
            bad = json.loads(json.dumps(doc)); del bad["model"]; tampered.append(json.dumps(bad))
            bad = json.loads(json.dumps(doc)); bad["format"] = "patronage.BTYD/99"; tampered.append(json.dumps(bad))
            tampered.append(bg.to_json().replace('"r": 0.243', '"r": 1e400'))
            results = []
            for text in tampered:
                try:
                    patronage.BetaGeo.from_json(text)
                    results.append("accepted")
                except exceptions.ModelFileError as exc:
                    results.append(isinstance(exc, ValueError))
            state = bg.__getstate__()
            state.pop("model")
            try:
                patronage.BetaGeo.__new__(patronage.BetaGeo).__setstate__(state)
                results.append("accepted")
            except exceptions.ModelFileError:
                results.append(True)
            return results
    """)
    assert out == [True] * 4, out


# --------------------------------------------------------------------------- issue 30: totals that would overflow

def test_winback_values_whose_cumulative_total_overflows_are_refused():
    """Three customers worth 1e308 made cumulative_value_at_risk inf; complex values were cast to real."""
    out = bounded("""
        def run():
            found = []
            p = pd.Series([0.9, 0.8, 0.5], index=[1, 2, 3])
            for value in ([1e308, 1e308, 1e308], [1 + 1j, 2.0, 5.0]):
                try:
                    patronage.winback_list(pd.DataFrame({"value": value}, index=[1, 2, 3]), p_churn=p, value="value")
                    found.append("accepted")
                except exceptions.PatronageError as exc:
                    found.append([type(exc).__name__, exc.field])
            w = patronage.winback_list(pd.DataFrame({"value": [1e299, 2e299, 5.0]}, index=[1, 2, 3]), p_churn=p,
                                       value="value")
            found.append(float(w["cumulative_value_at_risk"].iloc[-1]))
            return found
    """)
    assert out[:2] == [["DataError", "value"], ["ColumnTypeError", "value"]], out
    assert out[2] == pytest.approx(0.9e299 + 1.6e299 + 2.5, rel=1e-12), out


@pytest.mark.parametrize("call", sorted(_LOG_CALLS))
def test_amounts_near_the_double_limit_are_refused_by_every_log_function(call):
    """Amounts near 1e308 gave total_spend = inf, pareto a top share of 0 and a
    Gini of NaN, and backtest hung: every function refuses them, naming the column."""
    out = bounded(_LOG + """
        import patronage.churn, patronage.report
        def run():
            t = tx.assign(amount=tx["amount"] * 5e306)  # up to 1e308, each finite
            CALL
    """.replace("CALL", _LOG_CALLS[call]), timeout=120)
    assert_error(out, "DataError", field="amount", match="beyond 1e300")


# --------------------------------------------------------------------------- Ctrl-C

_BTYD_SUMMARY = ("import pandas as pd; rng = np.random.default_rng(0); T = rng.uniform(1, 400, {n}); "
                 "f = rng.poisson(3, {n}).astype(float); rec = np.where(f > 0, T * rng.uniform(size={n}), 0.0); "
                 "s = pd.DataFrame({{'frequency': f, 'recency': rec, 'T': T, "
                 "'monetary_value': np.where(f > 0, 20.0, 0.0)}})")

_LONG_CALLS = {
    # each runs for tens of seconds uninterrupted on this project's 2-core machines
    "kmeans": ("X = np.random.default_rng(0).normal(size=(300_000, 8))",
               "patronage.KMeans(64, n_init=50, max_iter=100_000, tol=0, algorithm='lloyd', random_state=0).fit(X)"),
    "silhouette": ("X = np.random.default_rng(0).normal(size=(80_000, 4)); labels = np.arange(80_000) % 5",
                   "patronage.cluster.silhouette_samples(X, labels)"),
    "logistic": ("rng = np.random.default_rng(0); X = rng.normal(size=(12_000, 900)); y = rng.integers(0, 2, 12_000)",
                 "patronage.ChurnClassifier('logistic', max_iter=100, tol=1e-300).fit(X, y)"),
    "gbm": ("rng = np.random.default_rng(0); X = rng.normal(size=(300_000, 10)); y = rng.integers(0, 2, 300_000)",
            "patronage.ChurnClassifier('gbm', max_iter=100_000, early_stopping=False).fit(X, y)"),
    # BTYD summaries with continuous times: no two rows merge, every likelihood evaluation (or CLV
    # month) is a quadrature per customer
    "pareto_fit": (_BTYD_SUMMARY.format(n=500_000), "patronage.ParetoNBD().fit(s)"),
    "btyd_clv": (_BTYD_SUMMARY.format(n=300_000),
                 "patronage.customer_lifetime_value(patronage.BetaGeo.from_params(0.774, 49.7, 0.026, 0.41), "
                 "patronage.GammaGamma.from_params(6.25, 3.74, 15.44), s, horizon=1200, freq='D')"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_LONG_CALLS))
def test_ctrl_c_stops_a_long_computation_within_a_second_or_two(name):
    """SIGINT (Ctrl-C in a terminal or Jupyter's interrupt) about 1 s into a long
    fit raises KeyboardInterrupt in the caller within a couple of seconds."""
    setup, call = _LONG_CALLS[name]
    script = textwrap.dedent(f"""
        import time, numpy as np, patronage, patronage.cluster
        {setup}
        print("started", flush=True)
        try:
            {call}
            print("finished", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        time.sleep(1.0)
        assert proc.poll() is None, "the computation ended within a second: it proves nothing"
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        waited = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.strip() == "interrupted", (out, err[-2000:])
    assert waited < 2.5, f"KeyboardInterrupt came {waited:.2f} s after SIGINT"


# --------------------------------------------------------------------------- the CLI: hostile files in, safe files out

def cli(cwd: Any, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patronage", "report", *args, "--quiet"], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def assert_one_error_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]


def _write_hostile(path: Any, kind: str) -> None:
    import gzip

    csv = b"customer_id,date,amount\n" + b"".join(b"%d,2024-01-%02d,%d.5\n" % (i % 7, 1 + i % 28, i)
                                                   for i in range(2000))
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == "truncated_gzip":
        path.write_bytes(gzip.compress(csv)[:300])
    elif kind == "corrupt_gzip":
        data = bytearray(gzip.compress(csv))
        data[40:60] = b"\xff" * 20
        path.write_bytes(bytes(data))
    elif kind == "header_only":
        path.write_bytes(b"customer_id,date,amount\n")
    elif kind == "directory":
        path.mkdir()


# kind -> (file name, a word the error line must hold)
_HOSTILE_INPUTS = {"empty": ("log.csv", "log.csv"), "binary": ("log.csv", "customer_id"),
                   "truncated_gzip": ("log.csv.gz", "log.csv.gz"), "corrupt_gzip": ("log.csv.gz", "log.csv.gz"),
                   "header_only": ("log.csv", "empty"), "directory": ("log.csv", "directory")}


@pytest.mark.parametrize("kind", sorted(_HOSTILE_INPUTS))
def test_cli_on_a_hostile_input_file_says_one_error_line_and_writes_nothing(tmp_path, kind):
    name, word = _HOSTILE_INPUTS[kind]
    source = tmp_path / name
    _write_hostile(source, kind)
    before = set(tmp_path.iterdir())
    proc = cli(tmp_path, source.name, "--out", "r.html")
    assert_one_error_line(proc, word)
    assert set(tmp_path.iterdir()) == before  # no report, no staged temporary file


_SMALL_LOG = "patronage.datasets.simulate_transactions(300, random_state=1).to_csv('log.csv', index=False)"


@pytest.fixture(scope="module")
def small_log(tmp_path_factory) -> Any:
    folder = tmp_path_factory.mktemp("cli")
    subprocess.run([sys.executable, "-c", "import patronage; " + _SMALL_LOG], cwd=folder, check=True, timeout=120)
    return folder / "log.csv"


def _destination(tmp_path: Any, kind: str) -> str:
    """A `--out` of the given kind in tmp_path; returns the argument."""
    import socket

    if kind == "dev_full":
        return "/dev/full"
    if kind == "dev_null":
        return "/dev/null"
    if kind == "directory":
        (tmp_path / "r.html").mkdir()
    elif kind == "csv_is_a_directory":
        (tmp_path / "r.csv").mkdir()
    elif kind == "fifo":
        os.mkfifo(tmp_path / "r.html")
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tmp_path / "r.html"))
        sock.close()
    elif kind == "missing_folder":
        return str(tmp_path / "no" / "such" / "r.html")
    elif kind == "under_a_file":
        (tmp_path / "plain").write_text("x")
        return str(tmp_path / "plain" / "r.html")
    return str(tmp_path / "r.html")


_REFUSED_DESTINATIONS = {"dev_full": "character device", "dev_null": "character device", "directory": "directory",
                         "csv_is_a_directory": "directory", "fifo": "named pipe", "socket": "socket",
                         "under_a_file": "cannot create the folder"}


@pytest.mark.parametrize("kind", sorted(_REFUSED_DESTINATIONS))
def test_cli_refuses_an_out_that_is_not_a_regular_file(tmp_path, small_log, kind):
    """`--out /dev/full` as root replaced the device with the report and exited 0;
    a pipe was replaced by a file; with report.csv a directory, report.html was
    left behind. Each is refused before the work, with nothing written."""
    out = _destination(tmp_path, kind)
    before = {p: p.stat().st_mode for p in tmp_path.iterdir()}
    dev = os.stat(out).st_rdev if out.startswith("/dev/") else None
    proc = cli(tmp_path, str(small_log), "--out", out)
    assert_one_error_line(proc, _REFUSED_DESTINATIONS[kind])
    assert {p: p.stat().st_mode for p in tmp_path.iterdir()} == before
    if dev is not None:
        assert os.stat(out).st_rdev == dev and not os.path.isfile(out)


def test_cli_writes_through_a_symlink_and_keeps_it(tmp_path, small_log):
    """A symlinked `--out` is followed deliberately: the file it names gets the report, the link stays."""
    target = tmp_path / "real"
    target.mkdir()
    (target / "r.html").write_text("old")
    (tmp_path / "r.html").symlink_to(target / "r.html")
    proc = cli(tmp_path, str(small_log), "--out", "r.html")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.html").is_symlink() and "<html" in (target / "r.html").read_text()
    assert (tmp_path / "r.csv").is_file()  # the CSV goes beside the name given
    assert sorted(p.name for p in target.iterdir()) == ["r.html"]  # no staged file left


def test_report_files_appear_together_or_not_at_all(tmp_path, monkeypatch):
    """If moving the second file into place fails, the first is put back as it was."""
    from patronage.report import _write

    (tmp_path / "r.html").write_text("old page")
    real_replace = os.replace
    calls = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append(dst)
        if str(dst).endswith("r.csv"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(_write.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        _write.write_all([(str(tmp_path / "r.html"), b"new page", "html_path"),
                          (str(tmp_path / "r.csv"), b"a,b\n", "csv_path")])
    monkeypatch.undo()
    assert (tmp_path / "r.html").read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_cli_streams_a_gz_log_keeping_only_the_columns_it_needs(tmp_path):
    """A .gz that inflates to ~190 MB, almost all of it a text column the report
    does not use, was read whole (about 400 MB resident, measured); streamed with
    only the needed columns, the run stays under 300 MB and stops at the first
    problem (a guest row at the very end) with one error line."""
    import gzip

    with gzip.open(tmp_path / "big.csv.gz", "wt", compresslevel=1) as fh:
        fh.write("customer_id,date,amount,description\n")
        block = "".join(f"{i % 1000},2024-01-{1 + i % 28:02d},{i % 50}.5,{'x' * 300}\n" for i in range(10_000))
        for _ in range(60):
            fh.write(block)
        fh.write(",2024-02-01,1.0,guest\n")
    script = textwrap.dedent("""
        import resource, subprocess, sys
        proc = subprocess.run([sys.executable, "-m", "patronage", "report", "big.csv.gz", "--quiet", "--out", "r.html"],
                              capture_output=True, text=True)
        print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
        print(proc.stderr.strip())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    status, peak_mb = map(int, out.stdout.splitlines()[0].split())
    assert status == 2 and out.stdout.splitlines()[1].startswith("error: column 'customer_id'"), out.stdout
    assert peak_mb < 300, peak_mb
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv.gz"]
