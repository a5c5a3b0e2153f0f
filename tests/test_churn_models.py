"""ChurnClassifier: quality against scikit-learn on Telco and CDNOW, the exact
logistic optimum, calibration against scikit-learn's calibrators, persistence,
determinism and bad input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage import _core
from patronage.exceptions import DataError, NotFittedError, ParameterError

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TELCO = DATA / "telco" / "Customer_Churn.csv"


@pytest.fixture(scope="module")
def telco():
    if not TELCO.exists():
        pytest.skip(f"shared data folder not found at {DATA}")
    df = pd.read_csv(TELCO)
    df["TotalCharges"] = pd.to_numeric(df["TotalCharges"], errors="coerce").fillna(0.0)  # 11 blanks: tenure 0
    y = (df.pop("Churn") == "Yes").astype(int)
    raw = df.drop(columns=["customerID"])
    onehot = pd.get_dummies(raw, dtype=float)
    idx_train, idx_test = train_test_split(raw.index, test_size=0.3, stratify=y, random_state=0)
    return raw, onehot, y, idx_train, idx_test


def test_telco_logistic_matches_sklearn(telco):
    raw, X, y, tr, te = telco
    ours = patronage.ChurnClassifier("logistic", C=1.0).fit(X.loc[tr], y.loc[tr])
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000))
    ref.fit(X.loc[tr], y.loc[tr])
    auc = roc_auc_score(y.loc[te], ours.predict_proba(X.loc[te])[:, 1])
    ref_auc = roc_auc_score(y.loc[te], ref.predict_proba(X.loc[te])[:, 1])
    assert abs(auc - ref_auc) < 0.005
    assert auc > 0.83
    # the same penalised optimum: coefficients per standard deviation agree closely
    np.testing.assert_allclose(ours.standardized_coef_.to_numpy(), ref[-1].coef_[0], atol=2e-4)
    np.testing.assert_allclose(ours.predict_proba(X.loc[te]), ref.predict_proba(X.loc[te]), atol=1e-4)
    np.testing.assert_allclose(ours.odds_ratios_.to_numpy(), np.exp(ref[-1].coef_[0]), rtol=1e-3)
    # the raw categorical table gives the same model (same one-hot design, same order within columns)
    raw_model = patronage.ChurnClassifier("logistic").fit(raw.loc[tr], y.loc[tr])
    raw_auc = roc_auc_score(y.loc[te], raw_model.churn_probability(raw.loc[te]))
    assert raw_auc == pytest.approx(auc, abs=1e-9)
    assert raw_model.odds_ratios_["Contract=Two year"] < 1 < raw_model.odds_ratios_["Contract=Month-to-month"]


def test_telco_gbm_matches_sklearn(telco):
    _, X, y, tr, te = telco
    ours = patronage.ChurnClassifier("gbm", random_state=0).fit(X.loc[tr], y.loc[tr])
    with threadpool_limits(1):  # OpenMP threads crawl on a busy 2-core machine
        ref = HistGradientBoostingClassifier(random_state=0, early_stopping=False).fit(X.loc[tr], y.loc[tr])
    auc = roc_auc_score(y.loc[te], ours.predict_proba(X.loc[te])[:, 1])
    ref_auc = roc_auc_score(y.loc[te], ref.predict_proba(X.loc[te])[:, 1])
    assert auc >= ref_auc - 0.01, (auc, ref_auc)
    imp = ours.feature_importances_
    assert imp.sum() == pytest.approx(1.0) and (imp >= 0).all()
    assert imp.idxmax() in ("Contract_Month-to-month", "tenure", "InternetService_Fiber optic", "TotalCharges")


def test_cdnow_model_beats_recency_baseline():
    tx = patronage.datasets.load_cdnow()
    X, y = patronage.churn_dataset(tx, cutoff="1997-09-30", horizon="273D")  # to 1998-06-30, the last day
    assert len(X) == 23570
    tr, te = train_test_split(X.index, test_size=0.3, stratify=y, random_state=0)
    baseline = roc_auc_score(y.loc[te], X.loc[te, "recency_days"])
    clf = patronage.ChurnClassifier("logistic").fit(X.loc[tr], y.loc[tr])
    auc = roc_auc_score(y.loc[te], clf.predict_proba(X.loc[te])[:, 1])
    assert auc > baseline + 0.005, (auc, baseline)


# --- exactness of the pieces ------------------------------------------------------------------

def blobs(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.exponential(3, n), "c": rng.integers(0, 4, n)})
    logit = 1.5 * X.a - 0.4 * X.b + 0.3 * X.c
    y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int), index=X.index)
    return X, y


def test_logistic_weights_and_class_weight_match_sklearn():
    X, y = blobs()
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    ours = patronage.ChurnClassifier(C=1e6, class_weight="balanced").fit(X, y, sample_weight=w)
    # a weak penalty: sklearn penalises unscaled coefficients, we penalise standardised ones
    ref = LogisticRegression(C=1e6, class_weight="balanced", tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-5)
    assert ours.coef_.shape == (1, 3)
    # decision_function = X @ coef_.T + intercept_
    np.testing.assert_allclose(ours.decision_function(X), X.to_numpy() @ ours.coef_[0] + ours.intercept_[0])


def test_logistic_on_many_rows_matches_sklearn():
    """100k rows: the fit starts from the subsample presolve and takes chord steps with its
    Hessian, and still lands on scikit-learn's penalised optimum (lbfgs to a 1e-10 gradient),
    unweighted and with sample and class weights (the loss's weighted path)."""
    X, y = blobs(100_000, seed=3)
    X["d"] = np.random.default_rng(4).normal(size=len(y)) * 1e4 + 5e4  # a column in other units
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, tol=1e-10, max_iter=10_000)).fit(X, y)
    ours = patronage.ChurnClassifier(C=0.01).fit(X, y)
    np.testing.assert_allclose(ours.standardized_coef_.to_numpy(), ref[-1].coef_[0], atol=1e-7)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-7)
    assert ours.n_iter_ <= 6  # full-data iterations only: the presolve did most of the work
    # a weak penalty, so the scaling does not matter (as in the test above)
    X = X.drop(columns="d")
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(y))
    ours = patronage.ChurnClassifier(C=1e6, class_weight="balanced").fit(X, y, sample_weight=w)
    ref = LogisticRegression(C=1e6, class_weight="balanced", tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6)


def test_calibrators_match_sklearn():
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(2)
    score = np.round(rng.normal(size=300), 2)  # ties
    y = (rng.random(300) < 1 / (1 + np.exp(-2 * score))).astype(float)
    new = np.linspace(-4, 4, 41)
    iso = _core.Calibrator.fit("isotonic", score, y, None)
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(score, y)
    np.testing.assert_allclose(iso.transform(new), ref.predict(new), atol=1e-12)
    platt = _core.Calibrator.fit("platt", score, y, None)
    ref_p = _SigmoidCalibration().fit(score, y)
    np.testing.assert_allclose(platt.transform(new), ref_p.predict(new), atol=1e-6)


@pytest.mark.parametrize("model, calibration", [("logistic", "platt"), ("gbm", "isotonic")])
def test_calibrated_classifier(model, calibration):
    X, y = blobs(800)
    clf = patronage.ChurnClassifier(model, calibration=calibration, random_state=3, max_iter=30).fit(X, y)
    p = clf.predict_proba(X)[:, 1]
    assert abs(p.mean() - y.mean()) < 0.03  # calibrated on out-of-fold scores: mean close to the base rate
    raw = 1 / (1 + np.exp(-clf.decision_function(X)))
    assert not np.allclose(p, raw)
    again = patronage.ChurnClassifier(model, calibration=calibration, random_state=3, max_iter=30).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


# --- persistence and determinism --------------------------------------------------------------

@pytest.mark.parametrize("params", [dict(model="logistic"), dict(model="gbm", random_state=7, max_iter=40),
                                    dict(model="gbm", calibration="platt", impute="native", max_iter=20)])
def test_pickle_json_clone_round_trips(params):
    X, y = blobs()
    X = X.assign(plan=np.where(X.c > 1, "pro", "basic"))
    X.loc[::17, "b"] = np.nan
    if params.get("impute") is None:
        params = {**params, "impute": "median"}
    clf = patronage.ChurnClassifier(**params).fit(X, y)
    p = clf.predict_proba(X)
    for copy in (pickle.loads(pickle.dumps(clf)), patronage.ChurnClassifier.from_json(clf.to_json())):
        np.testing.assert_array_equal(copy.predict_proba(X), p)
        assert copy.get_params() == clf.get_params()
        assert list(copy.feature_names_in_) == list(X.columns)
        np.testing.assert_array_equal(copy.classes_, clf.classes_)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "model_")
    np.testing.assert_array_equal(fresh.fit(X, y).predict_proba(X), p)  # same seed, same answer


def test_labels_of_any_two_values_and_threshold():
    X, y = blobs()
    labels = y.map({0: "No", 1: "Yes"})
    clf = patronage.ChurnClassifier().fit(X, labels)
    assert clf.classes_.tolist() == ["No", "Yes"]
    p = clf.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(clf.predict(X), np.where(p > 0.5, "Yes", "No"))
    t = patronage.choose_threshold(p, share=0.1)
    clf.set_params(threshold=t)
    assert (clf.predict(X) == "Yes").sum() == int(np.ceil(0.1 * len(X)))
    series = clf.churn_probability(X)
    assert series.index.equals(X.index) and np.allclose(series, p)


def test_unseen_and_missing_categories_get_zero_indicators():
    X, y = blobs()
    X = X.assign(plan=np.where(X.c > 1, "pro", "basic"))
    clf = patronage.ChurnClassifier().fit(X, y)
    row = X.iloc[[0, 0, 0]].copy()
    row["plan"] = ["enterprise", None, "pro"]
    d = clf.decision_function(row)
    assert d[0] == d[1]  # unseen == missing: all indicators 0
    assert d[0] != d[2]


# --- bad input --------------------------------------------------------------------------------

def test_bad_labels_and_alignment():
    X, y = blobs(100)
    with pytest.raises(DataError, match="only one class"):
        patronage.ChurnClassifier().fit(X, np.ones(100))
    with pytest.raises(DataError, match="Only binary classification is supported"):
        patronage.ChurnClassifier().fit(X, np.arange(100) % 3)
    with pytest.raises(DataError, match="different indexes"):
        patronage.ChurnClassifier().fit(X, y.sort_index(ascending=False))
    with pytest.raises(DataError, match="missing label"):
        patronage.ChurnClassifier().fit(X, y.astype(float).where(y.index != 5))


def test_nan_needs_an_imputation_choice():
    X, y = blobs(200)
    X.loc[7, "b"] = np.nan
    before = X.copy()
    for model in ("logistic", "gbm"):
        with pytest.raises(DataError, match=r"feature 'b' is missing \(NaN\) at index label 7 .*impute="):
            patronage.ChurnClassifier(model).fit(X, y)
    assert patronage.ChurnClassifier(impute="median").fit(X, y).design_.columns[1].fill == X.b.median()
    native = patronage.ChurnClassifier("gbm", impute="native", max_iter=10).fit(X, y)
    assert np.isfinite(native.predict_proba(X)).all()
    pd.testing.assert_frame_equal(X, before)  # nothing the user passed is modified
    with pytest.raises(ParameterError, match="needs model='gbm'"):
        patronage.ChurnClassifier(impute="native").fit(X, y)
    X.loc[8, "a"] = np.inf
    with pytest.raises(DataError, match="'a' is infinite at index label 8"):
        patronage.ChurnClassifier(impute="median").fit(X, y)


def test_feature_names_checked_at_predict():
    X, y = blobs(100)
    clf = patronage.ChurnClassifier().fit(X, y)
    with pytest.raises(ValueError, match="Feature names unseen at fit time:.*'d'"):
        clf.predict(X.rename(columns={"c": "d"}))
    with pytest.raises(ValueError, match="same order"):
        clf.predict(X[["c", "b", "a"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(clf.predict(X.to_numpy()), clf.predict(X))
    unnamed = patronage.ChurnClassifier().fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="X has 2 features, but ChurnClassifier is expecting 3"):
        unnamed.predict(X[["a", "b"]].to_numpy())
    with pytest.raises(NotFittedError):
        patronage.ChurnClassifier().predict(X)


@pytest.mark.parametrize("params, parameter", [
    (dict(model="svm"), "model"), (dict(C=0.0), "C"), (dict(C="big"), "C"),
    (dict(calibration="beta"), "calibration"), (dict(model="gbm", learning_rate=2.0), "learning_rate"),
    (dict(model="gbm", max_bins=300), "max_bins"), (dict(model="gbm", max_leaf_nodes=1), "max_leaf_nodes"),
    (dict(max_iter=0), "max_iter"), (dict(threshold=1.5), "threshold"), (dict(class_weight="auto"), "class_weight"),
    (dict(calibration="platt", calibration_cv=1), "calibration_cv"), (dict(impute="knn"), "impute"),
])
def test_bad_parameters(params, parameter):
    X, y = blobs(100)
    clf = patronage.ChurnClassifier(**params)  # __init__ only stores
    with pytest.raises(ParameterError) as info:
        clf.fit(X, y)
    assert info.value.parameter == parameter


def test_same_answer_on_one_thread(tmp_path):
    """Rayon's thread count does not change a single bit of the fitted models (70k rows: the
    parallel histogram and partition paths run)."""
    import subprocess
    import sys

    script = tmp_path / "fit.py"
    script.write_text(
        "import numpy as np, sys\n"
        "sys.path.insert(0, %r)\n"
        "from test_churn_models import blobs\n"
        "import patronage\n"
        "X, y = blobs(70_000, seed=5)\n"
        "out = [patronage.ChurnClassifier(m, max_iter=20).fit(X, y).predict_proba(X)[:, 1] for m in ('logistic', 'gbm')]\n"
        "np.save(sys.argv[1], np.vstack(out))\n" % str(Path(__file__).parent)
    )
    path = tmp_path / "one.npy"
    env = {**__import__("os").environ, "RAYON_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script), str(path)], check=True, env=env)
    X, y = blobs(70_000, seed=5)
    here = np.vstack([patronage.ChurnClassifier(m, max_iter=20).fit(X, y).predict_proba(X)[:, 1]
                      for m in ("logistic", "gbm")])
    np.testing.assert_array_equal(np.load(path), here)


def test_corrupt_json_is_rejected_not_a_panic():
    X, y = blobs(300)
    doc = json.loads(patronage.ChurnClassifier("gbm", max_iter=3).fit(X, y).to_json())
    model = json.loads(doc["fitted"]["model"])
    model["trees"][0]["nodes"][0]["left"] = 10_000
    doc["fitted"]["model"] = json.dumps(model)
    with pytest.raises(ValueError, match="child index out of order or range"):
        patronage.ChurnClassifier.from_json(json.dumps(doc))
    with pytest.raises(ValueError, match="not a ChurnClassifier JSON document"):
        patronage.ChurnClassifier.from_json("{}")
