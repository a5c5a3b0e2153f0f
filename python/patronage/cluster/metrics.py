"""Clustering criteria (exact, scikit-learn's definitions) and k selection."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np
import pandas as pd

from .. import _core
from .._base import seed_from
from ..exceptions import ParameterError
from ._input import as_matrix, check_int, labelled, labels_array

__all__ = ["silhouette_score", "silhouette_samples", "calinski_harabasz_score", "davies_bouldin_score",
           "select_k", "SelectK"]


def silhouette_samples(X: Any, labels: Any) -> np.ndarray:
    """Silhouette coefficient of every row (Euclidean), exact.

    ``(b - a) / max(a, b)`` with ``a`` the mean distance to the other members
    of the row's cluster and ``b`` the lowest mean distance to another
    cluster's members; 0 for a cluster of one (scikit-learn's definition).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Finite feature values.
    labels : array-like of shape (n_samples,)
        The cluster of every row (any hashable labels; at least 2 and at most
        n_samples - 1 distinct).

    Returns
    -------
    ndarray of float64, shape (n_samples,)

    See Also
    --------
    silhouette_score : Their mean.

    Examples
    --------
    >>> import patronage
    >>> patronage.silhouette_samples([[0.0], [1.0], [4.0], [6.0]], [0, 0, 1, 1])
    array([0.8       , 0.75      , 0.42857143, 0.63636364])
    """
    values = as_matrix(X)
    codes, _ = labels_array(labels, len(values))
    with labelled(X):
        return _core.silhouette_samples(values, codes)


def silhouette_score(X: Any, labels: Any, *, sample_size: Optional[int] = None, random_state: Any = None) -> float:
    """Mean silhouette coefficient (Euclidean), exact on all rows or on a seeded sample.

    Parameters
    ----------
    X : array or DataFrame of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,), any hashable labels
    sample_size : int, optional
        Compute on this many rows drawn without replacement (time
        O(sample_size^2), memory O(n)). None uses every row.
    random_state : None, int or numpy RandomState/Generator
        Seeds the sample.

    See Also
    --------
    silhouette_samples : Per row.
    calinski_harabasz_score : Variance ratio.
    davies_bouldin_score : Cluster similarity.

    Examples
    --------
    >>> import patronage
    >>> round(patronage.silhouette_score([[0.0], [1.0], [4.0], [6.0]], ["a", "a", "b", "b"]), 6)
    0.653734
    """
    values = as_matrix(X)
    codes, _ = labels_array(labels, len(values))
    size = None if sample_size is None else check_int(sample_size, "sample_size", 3)
    with labelled(X):
        return float(_core.silhouette_score(values, codes, size, seed_from(random_state)))


def calinski_harabasz_score(X: Any, labels: Any) -> float:
    """Calinski-Harabasz index (variance ratio criterion; higher is better).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Finite feature values.
    labels : array-like of shape (n_samples,)
        The cluster of every row (at least 2 and at most n_samples - 1 distinct).

    Returns
    -------
    float

    See Also
    --------
    silhouette_score : Silhouette.
    davies_bouldin_score : Cluster similarity.

    Examples
    --------
    >>> import patronage
    >>> patronage.calinski_harabasz_score([[0.0], [1.0], [4.0], [6.0]], [0, 0, 1, 1])
    16.2
    """
    values = as_matrix(X)
    codes, _ = labels_array(labels, len(values))
    with labelled(X):
        return float(_core.calinski_harabasz_score(values, codes))


def davies_bouldin_score(X: Any, labels: Any) -> float:
    """Davies-Bouldin index (lower is better; 0 is the minimum).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Finite feature values.
    labels : array-like of shape (n_samples,)
        The cluster of every row (at least 2 and at most n_samples - 1 distinct).

    Returns
    -------
    float

    See Also
    --------
    silhouette_score : Silhouette.
    calinski_harabasz_score : Variance ratio.

    Examples
    --------
    >>> import patronage
    >>> round(patronage.davies_bouldin_score([[0.0], [1.0], [4.0], [6.0]], [0, 0, 1, 1]), 6)
    0.333333
    """
    values = as_matrix(X)
    codes, _ = labels_array(labels, len(values))
    with labelled(X):
        return float(_core.davies_bouldin_score(values, codes))


class SelectK(NamedTuple):
    """What :func:`select_k` returns: unpack as ``table, k = select_k(X)``."""

    table: pd.DataFrame
    recommended_k: int

    def _repr_html_(self) -> str:  # in a notebook: the recommendation, then the criteria per k
        return (f"<p><b>Recommended number of clusters: {self.recommended_k}</b></p>"
                + self.table.to_html(float_format=lambda v: f"{v:.4g}"))


def select_k(X: Any, k_range: Any = range(2, 11), *, random_state: Any = None, n_init: Any = "auto",
             max_iter: int = 300, tol: float = 1e-4, sample_size: Optional[int] = 10_000) -> SelectK:
    """Fit k-means for every k of ``k_range`` and score each fit.

    Criteria per k: ``inertia`` (falls with k; its elbow is picked with the
    Kneedle rule: with k and inertia scaled to 0..1, the point farthest below
    the line from the first to the last point), ``silhouette`` (higher is
    better), ``calinski_harabasz`` (higher), ``davies_bouldin`` (lower).
    The recommended k is the one most criteria pick (the elbow, the best
    silhouette, the best Calinski-Harabasz, the best Davies-Bouldin), ties
    going to the higher silhouette.

    Parameters
    ----------
    X : array or DataFrame (scale it first: see :class:`CustomerSegmenter`)
    k_range : iterable of int, default range(2, 11)
        Every k from 2 to n_samples - 1.
    random_state : None, int or numpy RandomState/Generator
    n_init, max_iter, tol : as :class:`KMeans`
    sample_size : int or None, default 10000
        The silhouette is computed on this many rows (seeded) when X has more;
        None computes it on every row (O(n^2) time).

    Returns
    -------
    SelectK
        ``table``: DataFrame indexed by ``k`` with ``inertia``, ``silhouette``,
        ``calinski_harabasz``, ``davies_bouldin``, ``n_iter`` and boolean
        ``elbow`` and ``recommended`` columns; ``recommended_k``: int.

    See Also
    --------
    plot_k_selection : Its plot.
    silhouette_score : One criterion.
    KMeans : The clustering.

    Examples
    --------
    >>> import numpy as np, patronage
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(c, 0.3, size=(50, 2)) for c in ([0, 0], [5, 0], [0, 5])])
    >>> table, k = patronage.select_k(X, range(2, 7), random_state=0)
    >>> k
    3
    >>> list(table.columns)
    ['inertia', 'silhouette', 'calinski_harabasz', 'davies_bouldin', 'n_iter', 'elbow', 'recommended']
    """
    values = as_matrix(X)
    try:
        ks = [check_int(k, "k_range", 2) for k in k_range]
    except TypeError:
        raise ParameterError(f"k_range must be an iterable of integers, got {k_range!r}", "k_range") from None
    if not ks:
        raise ParameterError("k_range is empty", "k_range")
    if len(set(ks)) != len(ks):
        raise ParameterError(f"k_range has repeated values: {ks}", "k_range")
    ks = sorted(ks)
    n_init_value = None if isinstance(n_init, str) and n_init == "auto" else check_int(n_init, "n_init", 1)
    max_iter = check_int(max_iter, "max_iter", 1)
    size = None if sample_size is None else check_int(sample_size, "sample_size", 3)
    with labelled(X):
        res = _core.select_k(values, ks, n_init_value, max_iter, float(tol), seed_from(random_state), size)
    recommended = int(res.pop("recommended"))
    table = pd.DataFrame({name: res[name] for name in
                          ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "n_iter"]})
    table = table.set_index("k")
    elbow = _core.elbow(ks, table["inertia"].tolist())
    table["elbow"] = table.index == elbow
    table["recommended"] = table.index == recommended
    table.attrs["recommended_k"] = recommended
    table.attrs["elbow_k"] = elbow
    return SelectK(table, recommended)
