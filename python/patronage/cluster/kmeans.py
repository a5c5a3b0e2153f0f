"""``KMeans``: scikit-learn's k-means estimator on the Rust core."""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any, Dict, Optional, Union

import numpy as np
import pandas as pd

from .. import _core
from .._base import ParamsMixin, json_document, seed_from
from ..exceptions import ConvergenceWarning, DataError, NotFittedError, ParameterError
from ._input import as_matrix, check_choice, check_int, check_names, feature_names, labelled

__all__ = ["KMeans"]

_FORMAT = "patronage.KMeans"
_VERSION = 1
_ALGORITHMS = ("auto", "lloyd", "hamerly", "elkan")
_OUTPUTS = ("default", "pandas")


class KMeans(ParamsMixin):
    """k-means clustering (exact Lloyd iterations, Hamerly's bounds, k-means++).

    A drop-in for :class:`sklearn.cluster.KMeans` on dense data: same
    parameters, attributes and results (from the same initial centres it gives
    the same labels and inertia), computed in Rust with the GIL released and
    deterministic for a given ``random_state`` whatever the thread count.
    Feature values must be finite and within +/-1e100 (k-means squares
    distances; beyond that the inertia would overflow): a DataError names the
    column and row otherwise. A fit can be stopped with Ctrl-C.

    Parameters
    ----------
    n_clusters : int, default 8
        Number of clusters (>= 1; at most the number of rows).
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features)
        ``"k-means++"``: greedy k-means++ (each centre the best of
        ``2 + ln(k)`` candidates, as scikit-learn). ``"random"``: distinct rows
        drawn uniformly. An array: the initial centres of every run.
    n_init : "auto" or int, default "auto"
        Runs from different initial centres; the lowest inertia is kept.
        ``"auto"`` is 1 for k-means++ and an array, 10 for ``"random"``.
        With an array ``init`` one run is made whatever ``n_init`` is.
    max_iter : int, default 300
        Iterations per run.
    tol : float, default 1e-4
        Stops when the sum of squared centre moves is at most ``tol`` times the
        mean feature variance (scikit-learn's rule); iterations also stop as
        soon as no label changes.
    random_state : None, int, or numpy RandomState/Generator
        Seeds the initialisation. None draws fresh entropy.
    algorithm : {"auto", "lloyd", "hamerly", "elkan"}, default "auto"
        The iteration kernel: all give the same result. ``"hamerly"`` keeps
        bounds that let it skip points which provably keep their centre (a
        skipped point is read, never written); ``"lloyd"`` compares every
        point with every centre in every iteration. ``"auto"`` uses
        ``"hamerly"`` with 8 or more features and more than 8 clusters, and
        ``"lloyd"`` otherwise (with few features a skipped point costs about
        as much memory traffic as reading it; up to 8 clusters, a Lloyd pass
        is one SIMD group of centres); ``"elkan"`` is accepted as an alias of
        ``"hamerly"``.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of int32, the cluster of every training row
    inertia_ : float, sum of squared distances of the rows to their centre
    n_iter_ : int, iterations of the kept run (``partial_fit``: batches seen)
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when fitted on a DataFrame with string column names

    Notes
    -----
    When every row is identical the fit succeeds with all centres on that
    point and ``inertia_ == 0``; as in scikit-learn, a fit that finds fewer
    distinct centres than ``n_clusters`` (duplicate rows) emits a
    :class:`~patronage.exceptions.ConvergenceWarning`. Empty clusters are re-seeded with the points
    farthest from their centres, so centres are never NaN. A Lloyd fit with 2
    to 7 features holds one transposed copy of ``X`` while it runs (as
    scikit-learn's ``copy_x`` does): its passes then read rows as SIMD lanes
    without rearranging them in every iteration. ``X`` itself is never modified.

    See Also
    --------
    CustomerSegmenter : Value tiers on RFM features.
    select_k : Choosing k.
    silhouette_score : Cluster quality.

    Examples
    --------
    >>> import numpy as np, patronage
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0], [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = patronage.KMeans(n_clusters=2, init=np.array([[0.0, 0.0], [9.0, 9.0]])).fit(X)
    >>> km.labels_
    array([0, 0, 0, 1, 1, 1], dtype=int32)
    >>> km.cluster_centers_
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> km.inertia_
    16.0
    >>> km.predict(np.array([[0.0, 0.0], [12.0, 3.0]]))
    array([0, 1], dtype=int32)
    """

    def __init__(self, n_clusters: int = 8, *, init: Any = "k-means++", n_init: Any = "auto", max_iter: int = 300,
                 tol: float = 1e-4, random_state: Any = None, algorithm: str = "auto") -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.algorithm = algorithm

    # -- parameters -----------------------------------------------------------------------------
    def _checked(self, n_features: int) -> Dict[str, Any]:
        k = check_int(self.n_clusters, "n_clusters", 1)
        centres: Optional[np.ndarray] = None
        if isinstance(self.init, str):
            method = check_choice(self.init, "init", ("k-means++", "random"))
        else:
            method = "array"
            try:
                centres = np.ascontiguousarray(self.init, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ParameterError(f"init must be 'k-means++', 'random' or an array of centres: {exc}",
                                     "init") from None
            if centres.shape != (k, n_features):
                raise ParameterError(
                    f"init has shape {centres.shape}, expected (n_clusters, n_features) = ({k}, {n_features})",
                    "init")
            if not np.isfinite(centres).all():
                raise ParameterError("init contains NaN or infinite values", "init")
        if isinstance(self.n_init, str) and self.n_init == "auto":
            n_init = None
        else:
            n_init = check_int(self.n_init, "n_init", 1)
        if centres is not None:
            n_init = 1
        max_iter = check_int(self.max_iter, "max_iter", 1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float, np.floating, np.integer)) \
                or not np.isfinite(self.tol) or self.tol < 0:
            raise ParameterError(f"tol must be a finite number >= 0, got {self.tol!r}", "tol")
        algorithm = check_choice(self.algorithm, "algorithm", _ALGORITHMS)
        return dict(n_clusters=k, init="k-means++" if method == "array" else method, centres=centres,
                    n_init=n_init, max_iter=max_iter, tol=float(self.tol),
                    algorithm="hamerly" if algorithm == "elkan" else algorithm)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "KMeans":
        """Compute the clusters of ``X`` (array or DataFrame, not modified); returns self.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Finite values within +/-1e100.
        y : ignored
            Present for scikit-learn's API.

        Returns
        -------
        KMeans
            The fitted estimator.
        """
        values = as_matrix(X)
        p = self._checked(values.shape[1])
        seed = seed_from(self.random_state)
        with labelled(X):
            model, labels = _core.KMeansModel.fit(values, p["n_clusters"], p["init"], p["centres"], p["n_init"],
                                                  p["max_iter"], p["tol"], seed, p["algorithm"])
        self._set_fitted(model, values.shape[1], feature_names(X))
        self.labels_ = labels
        distinct = len(np.unique(self.cluster_centers_, axis=0))
        if distinct < p["n_clusters"]:
            warnings.warn(ConvergenceWarning(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({p['n_clusters']}). "
                "Possibly due to duplicate points in X."), stacklevel=2)
        return self

    def partial_fit(self, X: Any, y: Any = None) -> "KMeans":
        """One mini-batch step on ``X``; returns self.

        The first call initialises the centres from this batch (``init``,
        ``random_state``); every call assigns the batch to the closest centres
        and moves each centre to the mean of all rows ever assigned to it (as
        scikit-learn's ``MiniBatchKMeans``, without its reassignment of small
        clusters). ``labels_`` and ``inertia_`` then describe the last batch
        (inertia against the centres before the update); ``n_iter_`` counts
        the batches.
        """
        values = as_matrix(X)
        previous = getattr(self, "_model", None)
        if previous is not None:
            check_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
            if values.shape[1] != self.n_features_in_:
                raise ParameterError(f"X has {values.shape[1]} features, but {type(self).__name__} is expecting "
                                     f"{self.n_features_in_} features as input", "X")
        p = self._checked(values.shape[1])
        seed = seed_from(self.random_state) if previous is None else 0
        with labelled(X):
            model, labels = _core.KMeansModel.partial_fit(previous, values, p["n_clusters"], p["init"],
                                                          p["centres"], seed)
        names = feature_names(X) if previous is None else getattr(self, "feature_names_in_", None)
        self._set_fitted(model, values.shape[1], names)
        self.labels_ = labels
        return self

    def _set_fitted(self, model: Any, n_features: int, names: Optional[np.ndarray]) -> None:
        self._model = model
        self.cluster_centers_ = model.centres
        self.inertia_ = float(model.inertia)
        self.n_iter_ = int(model.n_iter)
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X).labels_

    def fit_transform(self, X: Any, y: Any = None) -> Union[np.ndarray, pd.DataFrame]:
        """Fit and return the distances of ``X`` to the centres (see :meth:`transform`)."""
        return self.fit(X).transform(X)

    # -- output of transform, as scikit-learn's set_output ---------------------------------------
    def set_output(self, *, transform: Optional[str] = None) -> "KMeans":
        """Choose what :meth:`transform` returns; returns self.

        Parameters
        ----------
        transform : {"default", "pandas"} or None
            ``"pandas"``: a DataFrame with the columns of
            :meth:`get_feature_names_out`, indexed like ``X`` when ``X`` is a
            DataFrame. ``"default"``: an ndarray. None leaves the choice
            unchanged (scikit-learn's global ``transform_output`` applies when
            nothing was chosen).

        Returns
        -------
        KMeans
            self, so calls chain (``Pipeline.set_output`` calls it on every step).
        """
        if transform is None:
            return self
        self._sklearn_output_config = {"transform": check_choice(transform, "transform", _OUTPUTS)}
        return self

    def _output(self) -> str:
        chosen = getattr(self, "_sklearn_output_config", {}).get("transform")
        if chosen is not None:
            return str(chosen)
        sklearn = sys.modules.get("sklearn")  # its global set_config(transform_output=...), if in use
        glob = sklearn.get_config().get("transform_output", "default") if sklearn is not None else "default"
        return "pandas" if glob == "pandas" else "default"

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the :meth:`transform` columns: ``kmeans0`` ... ``kmeans{k-1}``.

        Parameters
        ----------
        input_features : array-like of str or None
            Checked against ``feature_names_in_`` when given (scikit-learn's rule);
            the output names do not depend on it.

        Returns
        -------
        ndarray of str objects
            One name per cluster: the distance to that centre.
        """
        if not hasattr(self, "_model"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call 'fit' first")
        if input_features is not None:
            given = np.asarray(input_features, dtype=object)
            names = getattr(self, "feature_names_in_", None)
            expected = names if names is not None else np.array([f"x{j}" for j in range(self.n_features_in_)],
                                                                dtype=object)
            if len(given) != len(expected) or not np.array_equal(given, expected):
                raise ParameterError(f"input_features is not equal to feature_names_in_: {list(expected)}",
                                     "input_features")
        return np.asarray([f"kmeans{j}" for j in range(len(self.cluster_centers_))], dtype=object)

    # -- using a fitted model -------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_model")

    def _fitted_matrix(self, X: Any) -> np.ndarray:
        if not hasattr(self, "_model"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call 'fit' first")
        values = as_matrix(X)
        check_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
        if values.shape[1] != self.n_features_in_:
            raise ParameterError(f"X has {values.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input", "X")
        return values

    def predict(self, X: Any) -> np.ndarray:
        """The closest centre (int32) of every row of ``X``."""
        values = self._fitted_matrix(X)
        with labelled(X):
            return self._model.predict(values)[0]

    def transform(self, X: Any) -> Union[np.ndarray, pd.DataFrame]:
        """Euclidean distance of every row of ``X`` to every centre, shape (n, n_clusters).

        An ndarray, or a DataFrame (columns :meth:`get_feature_names_out`,
        index of ``X``) after ``set_output(transform="pandas")``.
        """
        values = self._fitted_matrix(X)
        with labelled(X):
            distances = self._model.transform(values)
        if self._output() == "pandas":
            index = X.index if isinstance(X, pd.DataFrame) else None
            return pd.DataFrame(distances, index=index, columns=self.get_feature_names_out())
        return distances

    def _repr_html_(self) -> str:
        """Parameters, fit diagnostics and the cluster centres, for Jupyter."""
        import html

        if not hasattr(self, "cluster_centers_"):
            return f"<pre>{html.escape(repr(self))} (not fitted)</pre>"
        names = list(getattr(self, "feature_names_in_", [f"x{j}" for j in range(self.n_features_in_)]))
        centres = pd.DataFrame(self.cluster_centers_, columns=names)
        centres.insert(0, "customers", np.bincount(self.labels_, minlength=len(centres)))
        centres.index.name = "cluster"
        return (f"<p><b>{html.escape(repr(self))}</b>: inertia {self.inertia_:,.4g} after {self.n_iter_} "
                f"iterations</p>" + centres.to_html(float_format=lambda v: f"{v:,.4g}"))

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the inertia of ``X`` against the centres (higher is better)."""
        values = self._fitted_matrix(X)
        with labelled(X):
            return -float(self._model.predict(values)[1])

    # -- persistence ----------------------------------------------------------------------------
    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        if "_model" in state:
            state["_model"] = state["_model"].to_json()
        state["_format_version"] = _VERSION
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        version = state.pop("_format_version", None)
        if version != _VERSION:
            raise ParameterError(f"cannot load a KMeans pickled with format version {version!r} "
                                 f"(this version reads {_VERSION})", "state")
        if "_model" in state:
            state["_model"] = _core.KMeansModel.from_json(state["_model"])
        self.__dict__.update(state)

    def to_json(self) -> str:
        """The parameters and the fitted model as JSON (no pickle needed to load it).

        The training ``labels_`` are data, not model, and are not included.
        """
        params = self.get_params(deep=False)
        if isinstance(params["init"], np.ndarray):
            params["init"] = params["init"].tolist()
        rs = params["random_state"]
        if rs is not None and not isinstance(rs, (int, np.integer)):
            params["random_state"] = None
        elif rs is not None:
            params["random_state"] = int(rs)
        doc: Dict[str, Any] = {"format": _FORMAT, "version": _VERSION, "params": params}
        if hasattr(self, "_model"):
            doc["model"] = json.loads(self._model.to_json())
            doc["n_features_in"] = self.n_features_in_
            names = getattr(self, "feature_names_in_", None)
            doc["feature_names_in"] = None if names is None else [str(n) for n in names]
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> "KMeans":
        """A KMeans from :meth:`to_json` output (fitted if it was)."""
        with json_document(text, "KMeans") as doc:
            if doc.get("format") != _FORMAT or doc.get("version") != _VERSION:
                raise DataError(f"not a {_FORMAT} version {_VERSION} JSON document")
            params = dict(doc["params"])
            if isinstance(params.get("init"), list):
                params["init"] = np.asarray(params["init"], dtype=np.float64)
            est = cls(**params)
            if "model" in doc:
                model = _core.KMeansModel.from_json(json.dumps(doc["model"]))
                names = doc.get("feature_names_in")
                est._set_fitted(model, int(doc["n_features_in"]),
                                None if names is None else np.asarray(names, dtype=object))
            return est

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(estimator_type="clusterer", target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(preserves_dtype=["float64"]), input_tags=InputTags())
