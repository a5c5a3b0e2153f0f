"""patronage.KMeans against scikit-learn's KMeans, and its own guarantees."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import DataError, NotFittedError, ParameterError

sk_cluster = pytest.importorskip("sklearn.cluster", reason="scikit-learn is the reference implementation")
from sklearn.datasets import make_blobs  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _sklearn_single_thread():
    """scikit-learn's OpenMP threads busy-wait on this shared 2-core machine (20x slower): use one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def blobs(n, d, k, seed):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=2.0, random_state=seed)
    return X


@pytest.fixture(scope="module")
def cdnow_rfm_scaled():
    """The CDNOW RFM table, log1p + standardised (the segmenter's default scaling)."""
    if not (DATA / "cdnow").is_dir():
        pytest.skip(f"shared data folder {DATA / 'cdnow'} is absent")
    tx = pd.read_csv(DATA / "cdnow" / "CDNOW_master.txt", sep=r"\s+")
    tx["date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    rfm = patronage.rfm_table(tx, "customer_id", "date", "dollar_value")
    z = np.log1p(rfm[["recency_days", "n_orders", "total_spend"]].to_numpy(float))
    return (z - z.mean(0)) / z.std(0)


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
@pytest.mark.parametrize("d, tol", [(3, 1e-4), (3, 0.0), (8, 0.0), (16, 1e-4), (16, 0.0)])
def test_same_initial_centres_same_result_as_sklearn(d, tol, algorithm):
    X = blobs(3000, d, 8, seed=d)
    start = X[np.random.default_rng(d).choice(len(X), 8, replace=False)]
    ref = sk_cluster.KMeans(8, init=start, n_init=1, tol=tol, algorithm="lloyd").fit(X)
    ours = patronage.KMeans(8, init=start, tol=tol, algorithm=algorithm).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-9)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.score(X), ref.score(X), rtol=1e-9)
    assert ours.labels_.dtype == np.int32


def test_real_rfm_same_result_as_sklearn(cdnow_rfm_scaled):
    X = cdnow_rfm_scaled
    start = X[np.random.default_rng(3).choice(len(X), 5, replace=False)]
    ref = sk_cluster.KMeans(5, init=start, n_init=1).fit(X)
    ours = patronage.KMeans(5, init=start).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-9)


def _median_inertia(make, X, seeds):
    return float(np.median([make(s).fit(X).inertia_ for s in seeds]))


@pytest.mark.parametrize("data", ["cdnow", "blobs16"])
def test_kmeans_plus_plus_inertia_no_worse_than_sklearn(data, cdnow_rfm_scaled):
    X = cdnow_rfm_scaled if data == "cdnow" else blobs(5000, 16, 12, seed=5)
    seeds = range(12)
    ours = _median_inertia(lambda s: patronage.KMeans(8, n_init=1, random_state=s), X, seeds)
    ref = _median_inertia(lambda s: sk_cluster.KMeans(8, n_init=1, random_state=s), X, seeds)
    # same algorithm, different random streams: allow 0.5% of seed noise
    assert ours <= ref * 1.005, (ours, ref)


def test_restarts_and_seeds():
    X = blobs(2000, 2, 10, seed=1)
    a = patronage.KMeans(10, n_init=3, random_state=42).fit(X)
    b = patronage.KMeans(10, n_init=3, random_state=42).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    # the first of n_init runs is the run n_init=1 makes: more restarts never do worse
    one = patronage.KMeans(10, n_init=1, random_state=5).fit(X).inertia_
    assert patronage.KMeans(10, n_init=8, random_state=5).fit(X).inertia_ <= one
    rs = np.random.RandomState(0)
    assert patronage.KMeans(3, random_state=rs).fit(X).n_iter_ >= 1


_THREAD_SCRIPT = """
import hashlib, numpy as np, patronage
X = np.random.default_rng(0).normal(size=(60000, 5)) * np.arange(1, 6)
km = patronage.KMeans(6, n_init=2, random_state=7).fit(X)
print(hashlib.sha256(km.labels_.tobytes() + km.cluster_centers_.tobytes()).hexdigest(), km.inertia_.hex())
"""


def test_same_result_whatever_the_thread_count():
    outs = []
    for threads in ("1", "2"):
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        run = subprocess.run([sys.executable, "-c", _THREAD_SCRIPT], env=env, capture_output=True, text=True,
                             check=True)
        outs.append(run.stdout.strip())
    assert outs[0] == outs[1]


def test_dataframe_names_and_predict_checks():
    X = pd.DataFrame(blobs(300, 3, 3, seed=2), columns=["r", "f", "m"], index=np.arange(300) * 10)
    km = patronage.KMeans(3, random_state=0).fit(X)
    assert list(km.feature_names_in_) == ["r", "f", "m"]
    assert km.n_features_in_ == 3
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    with pytest.raises(DataError, match="feature names should match.*'x'"):
        km.predict(X.rename(columns={"m": "x"}))
    with pytest.raises(DataError, match="different order"):
        km.predict(X[["m", "f", "r"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        km.predict(X.to_numpy())
    with pytest.raises(ParameterError, match="X has 2 features, but KMeans is expecting 3"):
        patronage.KMeans(3).fit(X.to_numpy()).predict(X.to_numpy()[:, :2])


def test_input_not_modified():
    X = pd.DataFrame(blobs(200, 2, 2, seed=3), columns=["a", "b"])
    before = X.copy()
    arr = np.asfortranarray(X.to_numpy())
    arr_before = arr.copy()
    init = arr[:2].copy()
    patronage.KMeans(2, init=init).fit(X)
    patronage.KMeans(2, random_state=0).fit(arr).predict(arr)
    pd.testing.assert_frame_equal(X, before)
    np.testing.assert_array_equal(arr, arr_before)
    np.testing.assert_array_equal(init, arr[:2])


@pytest.mark.parametrize("params, name", [
    (dict(n_clusters=0), "n_clusters"),
    (dict(n_clusters=2.5), "n_clusters"),
    (dict(n_clusters=True), "n_clusters"),
    (dict(init="kmeans"), "init"),
    (dict(n_clusters=2, init=np.zeros((3, 2))), "init"),
    (dict(n_clusters=2, init=np.array([[0.0, np.nan], [1.0, 1.0]])), "init"),
    (dict(n_init=0), "n_init"),
    (dict(n_init="many"), "n_init"),
    (dict(max_iter=0), "max_iter"),
    (dict(tol=-1.0), "tol"),
    (dict(tol=float("nan")), "tol"),
    (dict(algorithm="full"), "algorithm"),
    (dict(random_state=-3), "random_state"),
    (dict(random_state="seed"), "random_state"),
])
def test_bad_parameters_name_themselves(params, name):
    X = blobs(50, 2, 2, seed=0)
    with pytest.raises(ParameterError) as err:
        patronage.KMeans(**{"n_clusters": 2, **params}).fit(X)
    assert err.value.parameter == name
    assert name in str(err.value)


def test_bad_data():
    X = pd.DataFrame({"recency": [1.0, 2.0, 3.0], "spend": [1.0, np.inf, 2.0]}, index=["a", "b", "c"])
    with pytest.raises(DataError, match=r"column 'spend' is NaN or infinite at index label 'b' \(row 1\)"):
        patronage.KMeans(2).fit(X)
    with pytest.raises(DataError, match="X column 0 is NaN or infinite at row 2"):
        patronage.KMeans(2).fit(np.array([[1.0], [2.0], [np.nan]]))
    with pytest.raises(ParameterError, match="n_samples=3 should be >= n_clusters=4") as err:
        patronage.KMeans(4).fit(X.fillna(0).replace(np.inf, 0))
    assert err.value.parameter == "n_clusters"
    with pytest.raises(DataError, match="Reshape your data"):
        patronage.KMeans(2).fit(np.arange(5.0))
    with pytest.raises(TypeError, match="numeric"):
        patronage.KMeans(2).fit(pd.DataFrame({"a": ["x", "y", "z"]}))
    with pytest.raises(NotFittedError):
        patronage.KMeans(2).predict(np.zeros((2, 2)))
    fitted = patronage.KMeans(2, random_state=0).fit(np.array([[0.0], [1.0], [5.0]]))
    with pytest.raises(DataError, match="NaN or infinite"):
        fitted.predict(np.array([[np.nan]]))


def test_one_cluster_is_the_mean():
    X = blobs(100, 2, 3, seed=8)
    km = patronage.KMeans(1).fit(X)
    np.testing.assert_allclose(km.cluster_centers_[0], X.mean(0), rtol=1e-12)
    assert km.inertia_ == pytest.approx(((X - X.mean(0)) ** 2).sum(), rel=1e-12)
    assert (km.labels_ == 0).all()


def test_corrupt_json_is_rejected():
    doc = json.loads(patronage.KMeans(2, random_state=0).fit(blobs(50, 2, 2, seed=1)).to_json())
    doc["model"]["counts"]["data"] = [1.0]
    doc["model"]["counts"]["dim"] = [1]
    with pytest.raises(DataError, match="counts"):
        patronage.KMeans.from_json(json.dumps(doc))


def test_identical_points_fit_with_zero_inertia():
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning

    X = np.full((20, 3), 7.0)
    # scikit-learn warns that it found 1 distinct cluster of 4; so does patronage, with the same text,
    # caught by a filter on scikit-learn's class
    with pytest.warns(SkConvergenceWarning) as ref:
        SkKMeans(4, n_init=1, random_state=0).fit(X)
    with pytest.warns(SkConvergenceWarning) as ours:
        km = patronage.KMeans(4, random_state=0).fit(X)
    assert [str(w.message) for w in ours] == [str(w.message) for w in ref]
    assert isinstance(ours[0].message, patronage.exceptions.ConvergenceWarning)
    assert km.inertia_ == 0.0
    assert np.all(km.cluster_centers_ == 7.0)
    assert np.isfinite(km.transform(X)).all()


def test_pickle_and_json_round_trips():
    X = pd.DataFrame(blobs(500, 3, 4, seed=4), columns=["r", "f", "m"])
    km = patronage.KMeans(4, random_state=1).fit(X)
    clone = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(clone.predict(X), km.predict(X))
    np.testing.assert_array_equal(clone.labels_, km.labels_)
    assert clone.inertia_ == km.inertia_
    text = km.to_json()
    back = patronage.KMeans.from_json(text)
    assert json.loads(text)["params"]["random_state"] == 1
    np.testing.assert_array_equal(back.cluster_centers_, km.cluster_centers_)  # bit-exact floats
    np.testing.assert_array_equal(back.predict(X), km.predict(X))
    assert list(back.feature_names_in_) == ["r", "f", "m"]
    assert back.get_params() == km.get_params()
    unfitted = patronage.KMeans.from_json(patronage.KMeans(3, init="random").to_json())
    assert unfitted.get_params()["init"] == "random" and not hasattr(unfitted, "cluster_centers_")
    with pytest.raises(DataError):
        patronage.KMeans.from_json('{"format": "other"}')


def test_clone_and_params():
    from sklearn.base import clone

    km = patronage.KMeans(5, n_init=2, random_state=3)
    c = clone(km)
    assert c.get_params() == km.get_params() and c is not km
    assert repr(km) == "KMeans(n_clusters=5, n_init=2, random_state=3)"
    with pytest.raises(ParameterError, match="invalid parameter 'k'"):
        km.set_params(k=3)


def test_partial_fit_matches_sklearn_minibatch_updates():
    X = blobs(3000, 3, 4, seed=6)
    start = X[:4].copy()
    ours = patronage.KMeans(4, init=start)
    # scikit-learn's MiniBatchKMeans update without random reassignment
    ref = sk_cluster.MiniBatchKMeans(4, init=start, n_init=1, reassignment_ratio=0.0, batch_size=500)
    for batch in np.array_split(X, 6):
        ours.partial_fit(batch)
        ref.partial_fit(batch)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert ours.n_iter_ == 6
    with pytest.raises(ParameterError, match="expecting 3 features"):
        ours.partial_fit(X[:10, :2])


def test_kmeans_html_repr_shows_the_fit():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
    assert "not fitted" in patronage.KMeans(n_clusters=2)._repr_html_()
    html = patronage.KMeans(n_clusters=2, random_state=0).fit(X)._repr_html_()
    assert "inertia 1 after" in html and "<table" in html and "customers" in html
