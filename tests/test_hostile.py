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
            prof = patronage.CustomerSegmenter(3, random_state=0, transform="standard").fit(big).profile()
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
            "patronage.ChurnClassifier('gbm', max_iter=100_000).fit(X, y)"),
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
