"""patronage.KMeans passes scikit-learn's estimator checks.

Deliberately expected to fail (listed with the reason, run as xfail):
- check_estimators_unfitted: it requires scikit-learn's own NotFittedError
  class. patronage raises patronage.exceptions.NotFittedError, which, like
  scikit-learn's, subclasses ValueError and AttributeError, but scikit-learn
  is not a runtime dependency of patronage so it cannot subclass its class.
"""

from __future__ import annotations

import warnings

import pytest

import patronage

pytest.importorskip("sklearn", reason="scikit-learn provides the estimator checks")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

EXPECTED_FAILED = {
    "check_estimators_unfitted": "needs sklearn.exceptions.NotFittedError; patronage's NotFittedError subclasses "
                                 "ValueError and AttributeError but scikit-learn is not a runtime dependency",
}

with warnings.catch_warnings():
    # "does not inherit from sklearn.base.BaseEstimator": by design (no runtime scikit-learn dependency)
    warnings.simplefilter("ignore", UserWarning)
    _checks = parametrize_with_checks([patronage.KMeans(random_state=0)],
                                      expected_failed_checks=lambda est: EXPECTED_FAILED)


@pytest.fixture(autouse=True)
def _sklearn_single_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@_checks
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
