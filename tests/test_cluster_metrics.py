"""Clustering criteria against scikit-learn (1e-9), and select_k."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import DataError, ParameterError

metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the reference implementation")
from sklearn.datasets import make_blobs  # noqa: E402


@pytest.fixture(scope="module")
def labelled_data():
    """Overlapping blobs, labels with a singleton cluster and non-consecutive string labels."""
    X, y = make_blobs(n_samples=700, n_features=4, centers=5, cluster_std=3.0, random_state=11)
    X = X - X.mean(0)
    labels = np.array(["c%d" % v for v in y], dtype=object)
    labels[17] = "lonely"  # a cluster of one: its silhouette is 0
    return X, labels


def test_silhouette_matches_sklearn(labelled_data):
    X, labels = labelled_data
    np.testing.assert_allclose(patronage.silhouette_samples(X, labels), metrics.silhouette_samples(X, labels),
                               rtol=1e-9, atol=1e-12)
    assert patronage.silhouette_score(X, labels) == pytest.approx(metrics.silhouette_score(X, labels), rel=1e-9)


def test_calinski_harabasz_and_davies_bouldin_match_sklearn(labelled_data):
    X, labels = labelled_data
    assert patronage.calinski_harabasz_score(X, labels) == pytest.approx(
        metrics.calinski_harabasz_score(X, labels), rel=1e-9)
    assert patronage.davies_bouldin_score(X, labels) == pytest.approx(
        metrics.davies_bouldin_score(X, labels), rel=1e-9)


def test_kmeans_labels_criteria_match_sklearn():
    X, _ = make_blobs(n_samples=400, n_features=3, centers=4, random_state=2)
    labels = patronage.KMeans(4, random_state=0).fit_predict(X)
    for ours, ref in [(patronage.silhouette_score, metrics.silhouette_score),
                      (patronage.calinski_harabasz_score, metrics.calinski_harabasz_score),
                      (patronage.davies_bouldin_score, metrics.davies_bouldin_score)]:
        assert ours(X, labels) == pytest.approx(ref(X, labels), rel=1e-9)


def test_degenerate_cases_follow_sklearn():
    X = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0], [2.0, 2.0]])
    y = [0, 0, 1, 1]
    assert patronage.calinski_harabasz_score(X, y) == metrics.calinski_harabasz_score(X, y) == 1.0
    assert patronage.davies_bouldin_score(X, y) == metrics.davies_bouldin_score(X, y) == 0.0
    assert patronage.silhouette_score(X, y) == pytest.approx(metrics.silhouette_score(X, y), rel=1e-12)


def test_sampled_silhouette_is_seeded_and_close():
    X, y = make_blobs(n_samples=3000, n_features=2, centers=3, random_state=4)
    a = patronage.silhouette_score(X, y, sample_size=800, random_state=3)
    assert a == patronage.silhouette_score(X, y, sample_size=800, random_state=3)
    assert a == pytest.approx(metrics.silhouette_score(X, y), abs=0.02)


def test_metric_errors():
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ParameterError, match="number of labels is 1") as err:
        patronage.silhouette_score(X, [0, 0, 0, 0])
    assert err.value.parameter == "labels"
    with pytest.raises(ParameterError, match="number of labels is 4"):
        patronage.calinski_harabasz_score(X, [0, 1, 2, 3])
    with pytest.raises(DataError, match="labels has 3 entries but X has 4 rows"):
        patronage.davies_bouldin_score(X, [0, 1, 1])
    with pytest.raises(DataError, match="'b' is NaN"):
        patronage.silhouette_score(pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, np.nan, 3, 4]}), [0, 0, 1, 1])


def test_select_k_table_and_recommendation():
    X, _ = make_blobs(n_samples=600, n_features=2, centers=4, cluster_std=0.8, random_state=21)
    table, k = patronage.select_k(X, range(2, 8), random_state=0)
    assert k == 4
    assert list(table.index) == [2, 3, 4, 5, 6, 7]
    assert table["recommended"].sum() == 1 and table.loc[4, "recommended"]
    assert table.attrs["recommended_k"] == 4
    assert (np.diff(table["inertia"]) <= 0).all()
    # the criteria are those of the k-means labels at each k
    labels = patronage.KMeans(4, random_state=0).fit_predict(X)
    assert table.loc[4, "silhouette"] == pytest.approx(metrics.silhouette_score(X, labels), rel=1e-9)
    assert table.loc[4, "calinski_harabasz"] == pytest.approx(metrics.calinski_harabasz_score(X, labels), rel=1e-9)
    # an elbow is found where inertia stops falling fast
    assert table["elbow"].sum() == 1
    with pytest.raises(ParameterError, match="k_range") as err:
        patronage.select_k(X, [1, 2])
    assert err.value.parameter == "k_range"
    with pytest.raises(ParameterError, match="k_range"):
        patronage.select_k(X[:5], [2, 5])
