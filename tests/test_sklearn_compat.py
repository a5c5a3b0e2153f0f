"""scikit-learn to the letter: set_output, feature names out, scikit-learn's
exception classes, GridSearchCV and skops round trips, each checked against
scikit-learn's own estimators or an independent computation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.datasets import load_cdnow

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning  # noqa: E402
from sklearn.exceptions import NotFittedError as SkNotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.fixture(scope="module")
def rfm():
    return patronage.rfm_table(load_cdnow())


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 3.0], [0.0, 7.0, -3.0]])
    X = centres[rng.integers(0, 3, n)] + rng.normal(size=(n, 3))
    return pd.DataFrame(X, columns=["recency", "frequency", "spend"], index=pd.RangeIndex(1000, 1000 + n))


def test_pipeline_ending_in_kmeans_gives_pandas_like_scikit_learn():
    X = _blobs()
    init = np.array([[-1.0, -1.0, -1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
    ours = make_pipeline(StandardScaler(), patronage.KMeans(3, init=init)).set_output(transform="pandas")
    ref = make_pipeline(StandardScaler(), SkKMeans(3, init=init, n_init=1)).set_output(transform="pandas")
    got, expected = ours.fit_transform(X), ref.fit_transform(X)
    assert isinstance(got, pd.DataFrame)
    assert got.columns.tolist() == expected.columns.tolist() == ["kmeans0", "kmeans1", "kmeans2"]
    pd.testing.assert_index_equal(got.index, X.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())


def test_set_output_default_and_global_config():
    X = _blobs()
    km = patronage.KMeans(3, random_state=0).fit(X)
    assert isinstance(km.transform(X), np.ndarray)
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(km.transform(X), pd.DataFrame)
        # an explicit choice wins over the global one, as in scikit-learn
        assert isinstance(km.set_output(transform="default").transform(X), np.ndarray)
    with pytest.raises(patronage.exceptions.ParameterError, match="transform"):
        km.set_output(transform="arrow")


def test_get_feature_names_out_checks_input_features_like_scikit_learn():
    X = _blobs()
    km = patronage.KMeans(3, random_state=0).fit(X)
    ref = SkKMeans(3, n_init=1, random_state=0).fit(X)
    np.testing.assert_array_equal(km.get_feature_names_out(X.columns), ref.get_feature_names_out(X.columns))
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        ref.get_feature_names_out(["a", "b", "c"])
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        km.get_feature_names_out(["a", "b", "c"])
    with pytest.raises(SkNotFittedError):
        patronage.KMeans(3).get_feature_names_out()


def test_not_fitted_models_raise_scikit_learns_class(rfm):
    summary = patronage.btyd_summary(load_cdnow().head(200))
    unfitted = [
        lambda: patronage.KMeans(3).predict(np.zeros((2, 3))),
        lambda: patronage.CustomerSegmenter(3).predict(rfm),
        lambda: patronage.ChurnClassifier().predict_proba(np.zeros((2, 3))),
        lambda: patronage.BetaGeo().p_alive(summary),
    ]
    for call in unfitted:
        with pytest.raises(SkNotFittedError) as info:
            call()
        assert isinstance(info.value, patronage.exceptions.NotFittedError)
        assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)


def test_logistic_non_convergence_warns_like_scikit_learn():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4))
    y = (X @ np.array([2.0, -1.0, 0.5, 0.0]) + rng.normal(size=400) > 0).astype(int)
    with pytest.warns(SkConvergenceWarning):
        LogisticRegression(max_iter=1).fit(X, y)  # the reference: scikit-learn warns too
    with pytest.warns(SkConvergenceWarning, match="did not converge in max_iter=1"):
        patronage.ChurnClassifier("logistic", max_iter=1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)  # a filter on scikit-learn's class silences it
        patronage.ChurnClassifier("logistic", max_iter=1).fit(X, y)
    patronage.ChurnClassifier("logistic").fit(X, y)  # converges: no warning (warnings are errors here)


def test_segmenter_score_is_minus_inertia_of_the_scaled_features(rfm):
    seg = patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm)
    z = seg.transform_features(rfm).to_numpy()
    d2 = ((z[:, None, :] - seg.kmeans_.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(seg.score(rfm), -d2.min(axis=1).sum(), rtol=1e-9)


def test_segmenter_grid_search_picks_the_best_mean_score(rfm):
    sample = rfm.sample(3000, random_state=0)
    grid = {"n_clusters": [2, 3, 4], "scaling": ["log-standard", "standard"]}
    search = GridSearchCV(patronage.CustomerSegmenter(random_state=0), grid, cv=KFold(3)).fit(sample)
    # the same search by hand: mean held-out score per candidate
    means = {}
    for k in grid["n_clusters"]:
        for scaling in grid["scaling"]:
            scores = []
            for train, test in KFold(3).split(sample):
                seg = patronage.CustomerSegmenter(k, scaling=scaling, random_state=0).fit(sample.iloc[train])
                scores.append(seg.score(sample.iloc[test]))
            means[(k, scaling)] = np.mean(scores)
    best = max(means, key=means.get)
    assert (search.best_params_["n_clusters"], search.best_params_["scaling"]) == best
    np.testing.assert_allclose(search.best_score_, means[best], rtol=1e-12)
    assert search.best_estimator_.n_clusters_ == best[0]


def test_skops_round_trips(rfm):
    sio = pytest.importorskip("skops.io")
    X = rfm[["recency_days", "n_orders", "total_spend"]]
    rng = np.random.default_rng(0)
    y = pd.Series(rng.integers(0, 2, len(X)), index=X.index)
    fitted = [
        (patronage.KMeans(4, random_state=0).fit(X), lambda m: (m.transform(X),)),
        (patronage.CustomerSegmenter(n_clusters="auto", k_range=range(3, 5), random_state=0).fit(rfm),
         lambda m: (m.predict_tier(rfm), m.profile(), m.selection_, m.customer_tiers_)),
        (patronage.ChurnClassifier("gbm", max_iter=5).fit(X, y), lambda m: (m.predict_proba(X),)),
    ]
    for model, outputs in fitted:
        data = sio.dumps(model)
        untrusted = sio.get_untrusted_types(data=data)
        assert all(name.startswith("patronage.") for name in untrusted), untrusted
        loaded = sio.loads(data, trusted=untrusted)
        assert type(loaded) is type(model)
        for got, expected in zip(outputs(loaded), outputs(model)):
            if isinstance(expected, pd.DataFrame):
                pd.testing.assert_frame_equal(got, expected)
            elif isinstance(expected, pd.Series):
                pd.testing.assert_series_equal(got, expected)
            else:
                np.testing.assert_array_equal(got, expected)
