"""ChurnClassifier passes scikit-learn's check_estimator (both models)."""

from __future__ import annotations

import pytest

import patronage

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402


# Not subclassing sklearn.base.BaseEstimator is deliberate (scikit-learn is not a runtime
# dependency), so check_estimator's warning about it is expected; array-API checks skip
# themselves unless SCIPY_ARRAY_API is set.
@pytest.mark.filterwarnings("ignore:Estimator ChurnClassifier does not inherit:UserWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("model", ["logistic", "gbm"])
def test_check_estimator(model):
    results = check_estimator(patronage.ChurnClassifier(model), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert failed == []
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}
    assert len(results) > 40
