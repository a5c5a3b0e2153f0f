"""Fits from sums (patronage._fit_sums): GammaGamma and ChurnClassifier("logistic") fitted from the sums of
row-shuffled partitions equal the fits in memory (within 1e-8 relative; the reference is the in-memory fit,
itself checked against lifetimes and scikit-learn in test_btyd.py and test_churn.py), on CDNOW and Online
Retail II, with 1, 3 and 16 partitions (some empty). The engine here is a list of pandas partitions, so
the driver and the compiled kernels are tested without Spark or Dask (test_spark_fit.py, test_dask.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage import _core, _fit_sums
from patronage.datasets import load_cdnow
from patronage.exceptions import DataError, ParameterError

from conftest import retail_slice


class Partitions(_fit_sums.Engine):
    """``frame``'s rows shuffled into ``n`` partitions (the first one empty when n > 1); counts the jobs."""

    def __init__(self, frame: pd.DataFrame, n: int, seed: int = 0) -> None:
        shuffled = frame.sample(frac=1.0, random_state=seed)
        cuts = np.linspace(0, len(shuffled), n + 1).astype(int)
        self.parts = [shuffled.iloc[:0]] * (n > 1) + [shuffled.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
        self.frame, self.jobs = frame, 0

    def collect(self, kernel, merge=np.add):
        self.jobs += 1
        rows = [np.asarray(kernel(p), dtype=np.float64) for p in self.parts if len(p)]
        return np.array(rows).reshape(len(rows), -1)

    def meta(self):
        return self.frame.iloc[:0]

    def counts(self, column):
        return self.frame[column].value_counts(dropna=False)

    def distinct(self, column, limit):
        return self.frame[column].dropna().drop_duplicates().head(limit)


def caught(fit) -> tuple:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        model = fit()
    return model, sorted(f"{w.category.__name__}: {w.message}" for w in said)


@pytest.fixture(scope="module")
def logs(shared_data) -> dict:
    return {"cdnow": load_cdnow(), "retail": retail_slice(shared_data, max_rows=60_000)}


@pytest.mark.parametrize("partitions", [1, 3, 16])
@pytest.mark.parametrize("name", ["cdnow", "retail"])
def test_gamma_gamma_from_sums_is_the_fit_in_memory(logs, name, partitions):
    summary = patronage.btyd_summary(logs[name], freq="W")
    want, want_said = caught(lambda: patronage.GammaGamma().fit(summary))
    engine = Partitions(summary, partitions, seed=partitions)
    got, said = caught(lambda: _fit_sums.fit_gamma_gamma(patronage.GammaGamma(), engine))
    assert said == want_said  # retail: the same repeat buyers with spend <= 0 left out, said alike
    np.testing.assert_allclose(got.params_, want.params_, rtol=1e-8, atol=0)
    np.testing.assert_allclose(got.log_likelihood_, want.log_likelihood_, rtol=1e-12)
    np.testing.assert_allclose(got.frequency_spend_correlation_, want.frequency_spend_correlation_, rtol=1e-10)
    np.testing.assert_allclose(got.standard_errors_, want.standard_errors_, rtol=1e-6)
    assert got.n_customers_ == want.n_customers_
    assert got.fit_info_["converged"] and got.fit_info_["n_patterns"] == want.fit_info_["n_patterns"]
    # two passes, then one job per evaluation of the likelihood
    assert engine.jobs == 2 + got.fit_info_["evaluations"]
    again = patronage.GammaGamma.from_json(got.to_json())  # the ordinary estimator
    pd.testing.assert_series_equal(again.params_, got.params_)
    assert "Gamma-Gamma" in got._repr_html_()


def test_gamma_gamma_sums_are_the_likelihood_and_its_derivatives():
    """The kernel's sums against the model's own log-likelihood and central differences."""
    f = np.array([1.0, 2.0, 5.0, 0.0, 3.0])
    m = np.array([10.0, 22.5, 13.0, 0.0, 40.0])
    p = np.array([2.5, 3.1, 12.0])
    sums = _core.gamma_gamma_sums(f, m, None, tuple(p), True)
    model = patronage.GammaGamma.from_params(*p)
    assert sums[0] == pytest.approx(model.log_likelihood(pd.DataFrame({"frequency": f, "monetary_value": m})),
                                    rel=1e-13)
    for k in range(3):
        h = 1e-6 * p[k]
        up, down = p.copy(), p.copy()
        up[k] += h
        down[k] -= h
        ll = [_core.gamma_gamma_sums(f, m, None, tuple(q), False)[0] for q in (up, down)]
        assert sums[1 + k] == pytest.approx((ll[0] - ll[1]) / (2 * h), rel=1e-6)
    assert _core.gamma_gamma_totals(f, m) == (4.0, 11.0, 85.5, 4.0)
    with pytest.raises(ParameterError, match="`q`: must be a positive number"):
        _core.gamma_gamma_sums(f, m, None, (1.0, -1.0, 1.0), False)


def churn_table(log: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    X, y = patronage.churn_dataset(log, cutoff=cutoff, horizon="90D")
    # a categorical feature too (one-hot with the sorted values, as in fit)
    plan = np.where(X["frequency"] > 3, "loyal", np.where(X["frequency"] > 1, "repeat", "single"))
    return X.assign(plan=plan, churned=y)


@pytest.mark.parametrize("partitions", [1, 3, 16])
@pytest.mark.parametrize("name, cutoff, options", [
    ("cdnow", "1998-01-01", {}),
    ("cdnow", "1997-10-01", {"C": 0.05, "class_weight": "balanced"}),
    ("retail", "2010-09-01", {"class_weight": {0: 1.0, 1: 2.5}, "impute": "zero"}),
])
def test_logistic_from_sums_is_the_fit_in_memory(logs, name, cutoff, options, partitions):
    table = churn_table(logs[name], cutoff)
    X, y = table.drop(columns="churned"), table["churned"]
    want = patronage.ChurnClassifier("logistic", **options).fit(X, y)
    engine = Partitions(table, partitions, seed=partitions)
    got = _fit_sums.fit_logistic(patronage.ChurnClassifier("logistic", **options), engine, list(X.columns),
                                 "churned")
    assert got.feature_names_out_ == want.feature_names_out_
    assert list(got.feature_names_in_) == list(X.columns) and got.classes_.tolist() == want.classes_.tolist()
    np.testing.assert_allclose(got.coef_, want.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(got.intercept_, want.intercept_, rtol=1e-8)
    np.testing.assert_allclose(got.model_.mean, want.model_.mean, rtol=1e-12)
    np.testing.assert_allclose(got.model_.scale, want.model_.scale, rtol=1e-12)
    np.testing.assert_allclose(got.predict_proba(X), want.predict_proba(X), rtol=1e-8, atol=1e-14)
    assert got.model_.converged
    # three standardisation passes, then Newton: one job per iteration (the line search rarely adds one)
    assert 3 + got.n_iter_ <= engine.jobs <= 3 + 2 * got.n_iter_ + 2
    again = patronage.ChurnClassifier.from_json(got.to_json())
    np.testing.assert_array_equal(again.coef_, got.coef_)


def test_what_a_fit_from_sums_refuses(logs):
    table = churn_table(logs["cdnow"], "1998-01-01")
    features = [c for c in table.columns if c != "churned"]
    engine = Partitions(table, 3)
    for options, name in [({"calibration": "platt"}, "calibration"), ({"impute": "median"}, "impute")]:
        with pytest.raises(ParameterError, match=name) as info:
            _fit_sums.fit_logistic(patronage.ChurnClassifier("logistic", **options), engine, features, "churned")
        assert info.value.parameter == name
    with pytest.raises(ParameterError, match="model='logistic'"):
        _fit_sums.fit_logistic(patronage.ChurnClassifier("gbm"), engine, features, "churned")
    one_class = Partitions(table.assign(churned=1), 3)
    with pytest.raises(DataError, match="only one class"):
        _fit_sums.fit_logistic(patronage.ChurnClassifier(), one_class, features, "churned")
    broken = Partitions(table.assign(frequency=table["frequency"].where(table.index != table.index[5])), 3)
    with pytest.raises(DataError, match=r"feature 'frequency' is missing \(NaN\)"):
        _fit_sums.fit_logistic(patronage.ChurnClassifier(), broken, features, "churned")
    summary = patronage.btyd_summary(logs["cdnow"], freq="W")
    with pytest.raises(DataError, match="no repeat buyers"):
        _fit_sums.fit_gamma_gamma(patronage.GammaGamma(), Partitions(summary.assign(frequency=0.0), 3))

    class Failing(Partitions):
        def collect(self, kernel, merge=np.add):
            if self.jobs == 4:
                raise RuntimeError("executor lost")
            return super().collect(kernel, merge)

    with pytest.raises(RuntimeError, match="executor lost"), warnings.catch_warnings():  # the engine's error
        warnings.simplefilter("ignore", UserWarning)  # CDNOW has a repeat buyer with spend 0, left out
        _fit_sums.fit_gamma_gamma(patronage.GammaGamma(), Failing(summary, 3))
