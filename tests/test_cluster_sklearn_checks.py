"""patronage.KMeans and patronage.CustomerSegmenter pass every scikit-learn estimator check
(ChurnClassifier: tests/test_churn_sklearn.py).

The segmenter is checked as a scikit-learn user would put it in a Pipeline of arrays: every column
(``features=None``), no revenue column (``value=None``) and plain standardisation (the checks' blobs
have negative coordinates, which the RFM default ``log1p(max(x, 0))`` would flatten)."""

from __future__ import annotations

import warnings

import pytest

import patronage

pytest.importorskip("sklearn", reason="scikit-learn provides the estimator checks")
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

with warnings.catch_warnings():
    # "does not inherit from sklearn.base.BaseEstimator": by design (no runtime scikit-learn dependency).
    # The checks are listed here, inside the filter (parametrize_with_checks lists them lazily, at
    # collection, where scikit-learn 1.6 would then raise that warning as an error)
    warnings.simplefilter("ignore", UserWarning)
    CHECKS = list(estimator_checks_generator(patronage.KMeans(random_state=0)))
    CHECKS += list(estimator_checks_generator(patronage.CustomerSegmenter(
        n_clusters=3, features=None, value=None, scaling="standard", random_state=0)))


@pytest.fixture(autouse=True)
def _sklearn_single_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("estimator, check", CHECKS,
                         ids=[f"{type(e).__name__}-{getattr(c, 'func', c).__name__}" for e, c in CHECKS])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
