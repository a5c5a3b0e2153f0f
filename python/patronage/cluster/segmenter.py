"""``CustomerSegmenter``: RFM features -> scaling -> k-means -> value tiers."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from .._base import ParamsMixin, seed_from
from .._frame import finite_column, require_columns, require_frame
from .._input import is_table
from ..exceptions import DataError, NotFittedError, ParameterError
from ._input import as_matrix, check_choice, check_int
from .kmeans import KMeans
from .metrics import SelectK, select_k

__all__ = ["CustomerSegmenter", "tier_names"]

_SCALINGS = ("log-standard", "standard", "none")
#: The k tried when ``n_clusters="auto"`` and ``k_range`` is None.
DEFAULT_K_RANGE = range(3, 9)
_STATE_VERSION = 1


def _plain_index(index: pd.Index) -> Dict[str, Any]:
    numeric = index.dtype.kind in "biuf"
    return {"values": index.to_numpy() if numeric else index.tolist(), "dtype": str(index.dtype),
            "name": index.name}


def _pandas_index(state: Dict[str, Any]) -> pd.Index:
    return pd.Index(state["values"], dtype=state["dtype"], name=state["name"])


def _plain(obj: Any) -> Any:
    """A fitted attribute as lists, ndarrays and dicts (what skops stores without
    pickle); DataFrames and Series of numbers, bools or strings."""
    if isinstance(obj, pd.DataFrame):
        return {"pandas": "DataFrame", "index": _plain_index(obj.index), "columns": [str(c) for c in obj.columns],
                "data": [_plain(obj[c]) for c in obj.columns], "attrs": dict(obj.attrs)}
    if isinstance(obj, pd.Series):
        numeric = obj.dtype.kind in "biuf"
        return {"pandas": "Series", "index": _plain_index(obj.index), "name": obj.name, "dtype": str(obj.dtype),
                "values": obj.to_numpy() if numeric else obj.tolist()}
    return obj


def _pandas(state: Any) -> Any:
    """Inverse of :func:`_plain`."""
    if not isinstance(state, dict) or state.get("pandas") not in ("DataFrame", "Series"):
        return state
    index = _pandas_index(state["index"])
    if state["pandas"] == "Series":
        return pd.Series(state["values"], index=index, name=state["name"], dtype=state["dtype"])
    frame = pd.DataFrame({c: _pandas(col).to_numpy() for c, col in zip(state["columns"], state["data"])},
                         index=index)
    frame.attrs.update(state["attrs"])
    return frame


def tier_names(k: int) -> List[str]:
    """Tier names for ``k`` clusters ranked by value, best first.

    With 3 clusters: core, potential, ordinary. With 2: core, ordinary; with
    1: core. With more, the ranks are split into three groups as evenly as
    possible (larger groups first) and numbered within a group when it has
    more than one cluster: 5 clusters -> core 1, core 2, potential 1,
    potential 2, ordinary.

    >>> tier_names(5)
    ['core 1', 'core 2', 'potential 1', 'potential 2', 'ordinary']
    >>> tier_names(7)
    ['core 1', 'core 2', 'core 3', 'potential 1', 'potential 2', 'ordinary 1', 'ordinary 2']
    """
    k = check_int(k, "k", 1)
    if k <= 3:
        return [["core"], ["core", "ordinary"], ["core", "potential", "ordinary"]][k - 1]
    names = []
    for word, group in zip(("core", "potential", "ordinary"), np.array_split(np.arange(k), 3)):
        names += [f"{word} {i + 1}" for i in range(len(group))] if len(group) > 1 else [word]
    return names


def _units(values: np.ndarray) -> np.ndarray:
    """Per column, a power of two near its largest magnitude. Dividing by it
    is exact, so sums and means of the divided column, multiplied back, have
    the same bits as the plain ones on ordinary data, but do not overflow on
    columns near the largest float (a spend of 1e308)."""
    peak = np.abs(values).max(axis=0)
    with np.errstate(divide="ignore"):
        exponent = np.where(peak > 0, np.floor(np.log2(peak)), 0.0)
    return np.exp2(np.clip(exponent, -1000, 1000))


def _moments(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (population), overflow-free (see :func:`_units`)."""
    unit = _units(values)
    scaled = values / unit
    return scaled.mean(axis=0) * unit, scaled.std(axis=0) * unit


class CustomerSegmenter(ParamsMixin):
    """Segments customers into value tiers with k-means on scaled RFM features.

    Heavy-tailed RFM columns are first made comparable: with the default
    ``scaling="log-standard"`` each feature is ``log1p``-transformed and then
    standardised (mean 0, standard deviation 1, population formula). Negative
    values are taken as 0 before ``log1p``: a customer whose net spend is zero
    or negative after returns brought nothing and is placed with the customers
    who spent least (their tier is ranked by their actual ``value``). The
    scaling is part of the fitted model, so :meth:`predict` on new customers
    places them consistently. k is picked by :func:`select_k` when
    ``n_clusters="auto"``. Clusters are ranked by mean ``value`` per customer
    (total spend by default) and named by :func:`tier_names` (core, potential,
    ordinary), which :meth:`rename_tiers` or ``tier_labels`` override.

    Besides an RFM table (or any table), ``fit`` takes a numeric array, as
    scikit-learn estimators do (e.g. after a ``ColumnTransformer`` in a
    ``Pipeline``): its columns are named ``x0, x1, ...``, so give
    ``features=None`` (every column) and ``value`` by that name or None.

    Parameters
    ----------
    n_clusters : "auto" or int, default "auto"
    features : sequence of str or None, default ("recency_days", "n_orders", "total_spend")
        Columns of the RFM table (:func:`patronage.rfm_table`) to cluster on;
        None: every column of the table or array.
    scaling : {"log-standard", "standard", "none"}, default "log-standard"
        ``"log-standard"``: ``log1p(max(x, 0))``, then standardised.
    random_state : None, int or numpy RandomState/Generator
    value : str or None, default "total_spend"
        The revenue column: orders the tiers, and the ``revenue`` of
        :meth:`profile`. None: no revenue; the clusters are ranked by size
        (largest first) and named ``segment 1, segment 2, ...`` (value tiers
        need a value).
    k_range : iterable of int, optional
        The k tried when ``n_clusters="auto"``; default ``range(3, 9)`` (from
        3: two clusters cannot make the three tiers of the CRM playbook).
    n_init : int, default 4
        k-means runs per k (the lowest inertia is kept).
    tier_labels : sequence of str, optional
        Tier names best first (one per cluster) instead of :func:`tier_names`.

    Attributes
    ----------
    n_clusters_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only when fitted on a table with string column names)
    labels_ : Series of int, the cluster of every customer, indexed like the RFM table
    tiers_ : Series, tier name of every cluster, best first (index: cluster)
    customer_tiers_ : categorical Series, the tier of every customer
    kmeans_ : KMeans on the scaled features
    center_, scale_ : ndarray, the fitted scaling (after log1p when used)
    selection_ : DataFrame of the k-selection criteria (``n_clusters="auto"`` only)

    See Also
    --------
    KMeans : The clustering.
    select_k : How k is chosen.
    plot_tiers : Tiers at a glance.
    plot_clusters : Customers by tier.

    Examples
    --------
    >>> import patronage
    >>> from patronage.datasets import load_cdnow
    >>> rfm = patronage.rfm_table(load_cdnow())
    >>> seg = patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm)
    >>> seg.tiers_.tolist()
    ['core', 'potential', 'ordinary']
    >>> prof = seg.profile()
    >>> bool(prof["share_of_revenue"].iloc[0] > prof["share_of_customers"].iloc[0])
    True
    """

    def __init__(self, n_clusters: Union[str, int] = "auto", *,
                 features: Sequence[str] = ("recency_days", "n_orders", "total_spend"),
                 scaling: str = "log-standard", random_state: Any = None, value: Optional[str] = "total_spend",
                 k_range: Any = None, n_init: int = 4, tier_labels: Optional[Sequence[str]] = None) -> None:
        self.n_clusters = n_clusters
        self.features = features
        self.scaling = scaling
        self.random_state = random_state
        self.value = value
        self.k_range = k_range
        self.n_init = n_init
        self.tier_labels = tier_labels

    # -- scaling --------------------------------------------------------------------------------
    @staticmethod
    def _table(X: Any) -> pd.DataFrame:
        """``X`` as a DataFrame: a table as it is, an array with scikit-learn's column names ``x0, x1, ...``."""
        if X is None or is_table(X):
            return require_frame(X, "rfm")
        values = as_matrix(X, "X")
        return pd.DataFrame(values, columns=[f"x{j}" for j in range(values.shape[1])])

    def _features(self, frame: pd.DataFrame) -> List[str]:
        if self.features is None:
            if len(frame.columns) == 0:
                raise DataError(f"found array with 0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
                                "required.", field="features")
            return list(frame.columns)
        if isinstance(self.features, str) or not all(isinstance(f, str) for f in self.features):
            raise ParameterError(f"features must be a sequence of column names or None, got {self.features!r}",
                                 "features")
        features = list(self.features)
        if not features or len(set(features)) != len(features):
            raise ParameterError(f"features must be non-empty and distinct, got {features}", "features")
        return features

    def _raw(self, frame: pd.DataFrame, features: List[str]) -> np.ndarray:
        require_columns(frame, features, "RFM table")
        if len(frame) == 0:
            raise DataError(f"rfm has no customers: found array with 0 sample(s) (shape={frame.shape}) while a "
                            "minimum of 1 is required.")
        return np.column_stack([finite_column(frame, f) for f in features])

    def _fitted_raw(self, X: Any) -> Tuple[pd.DataFrame, np.ndarray]:
        """New customers' table and raw features, checked against what ``fit`` saw."""
        self._require_fitted()
        frame = self._table(X)
        if self.features is None and frame.shape[1] != self.n_features_in_:
            raise DataError(f"X has {frame.shape[1]} features, but CustomerSegmenter is expecting "
                            f"{self.n_features_in_} features as input.", field="features")
        return frame, self._raw(frame, self.features_)

    def _log(self, raw: np.ndarray) -> np.ndarray:
        if self.scaling != "log-standard":
            return raw
        return np.log1p(np.maximum(raw, 0.0))  # a negative net spend brought nothing

    def _scaled(self, rfm: pd.DataFrame, raw: np.ndarray) -> pd.DataFrame:
        """What k-means sees, as a frame: its errors then name the feature and the customer."""
        z = (self._log(raw) - self.center_) / self.scale_
        return pd.DataFrame(z, index=rfm.index, columns=self.features_)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, rfm: Any, y: Any = None) -> "CustomerSegmenter":
        """Scale the features, choose k (if "auto"), cluster and name the tiers; returns self."""
        check_choice(self.scaling, "scaling", _SCALINGS)
        n_init = check_int(self.n_init, "n_init", 1)
        frame = self._table(rfm)
        features = self._features(frame)
        raw = self._raw(frame, features)
        if self.value is None:
            spend = None
        else:
            require_columns(frame, [self.value], "RFM table")
            spend = (finite_column(frame, self.value) if self.value not in features
                     else raw[:, features.index(self.value)])
        n = len(raw)
        if n == 1:
            raise DataError("rfm has 1 sample (one customer): segmenting needs at least 2")
        logged = self._log(raw)
        center, scale = _moments(logged)
        # relative to each column's own magnitude (a spend of 1e300 does not make recency flat)
        peak = np.abs(logged).max(axis=0)
        flat = [f for f, s, m in zip(features, scale, peak) if not s > 1e-12 * max(1.0, m)]
        if len(flat) == len(features):
            raise DataError(f"every customer has the same {features}: a single distinct point cannot be segmented",
                            field=features[0])
        if flat:
            raise DataError(f"column {flat[0]!r} has zero variance (every customer has "
                            f"{raw[0, features.index(flat[0])]!r}); it cannot separate customers: remove it from "
                            "features", field=flat[0])
        if self.scaling == "none":
            center, scale = np.zeros(len(features)), np.ones(len(features))
        with np.errstate(over="ignore"):
            total = np.abs(spend).sum() if spend is not None else 0.0
        if not np.isfinite(total):
            raise DataError(f"column {self.value!r} sums to more than the largest float, so the revenue of a tier "
                            "cannot be represented: rescale it (e.g. to thousands)", field=self.value)
        self.features_ = features
        self.n_features_in_ = len(features)
        if isinstance(rfm, pd.DataFrame) and self.features is None and all(isinstance(c, str) for c in features):
            self.feature_names_in_ = np.asarray(features, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.center_, self.scale_ = center, scale
        z = self._scaled(frame, raw)
        seed = seed_from(self.random_state)
        if isinstance(self.n_clusters, str):
            check_choice(self.n_clusters, "n_clusters", ("auto",))
            k_range = DEFAULT_K_RANGE if self.k_range is None else self.k_range
            ks = [k for k in k_range if k < n]
            if not ks:
                raise ParameterError(f"k_range {list(k_range)} has no k below the {n} customers", "k_range")
            selection: SelectK = select_k(z, ks, random_state=seed, n_init=n_init)
            self.selection_ = selection.table
            k = selection.recommended_k
        else:
            k = check_int(self.n_clusters, "n_clusters", 1)
            if k > n:
                raise ParameterError(f"n_clusters={k} but rfm has only {n} customers", "n_clusters")
        if self.tier_labels is not None and len(self.tier_labels) != k:
            raise ParameterError(f"tier_labels has {len(self.tier_labels)} names for {k} clusters", "tier_labels")
        self.kmeans_ = KMeans(k, n_init=n_init, random_state=seed).fit(z)
        self.n_clusters_ = k
        labels = self.kmeans_.labels_
        self.labels_ = pd.Series(labels.astype(np.int64), index=frame.index, name="cluster")
        self._profile = self._make_profile(raw, spend, labels, features)
        order = self._profile.index.to_numpy()
        names = (list(self.tier_labels) if self.tier_labels is not None
                 else tier_names(k) if spend is not None else [f"segment {i + 1}" for i in range(k)])
        self._set_tiers(pd.Series(names, index=pd.Index(order, name="cluster"), name="tier"))
        return self

    def _make_profile(self, raw: np.ndarray, spend: Optional[np.ndarray], labels: np.ndarray,
                      features: List[str]) -> pd.DataFrame:
        k = self.kmeans_.n_clusters
        data = pd.DataFrame(raw, columns=[f"_f{j}" for j in range(len(features))])  # any column names
        data["_cluster"] = labels
        groups = data.groupby("_cluster", sort=True)
        out = pd.DataFrame(index=pd.RangeIndex(k, name="cluster"))
        out["customers"] = groups.size().reindex(out.index, fill_value=0)
        out["share_of_customers"] = out["customers"] / len(data)
        if spend is not None:
            data["_value"] = spend
            out["revenue"] = data.groupby("_cluster", sort=True)["_value"].sum().reindex(out.index, fill_value=0.0)
            total = spend.sum()
            out["share_of_revenue"] = out["revenue"] / total if total != 0 else np.nan
            out["value_per_customer"] = out["revenue"] / out["customers"]
        for j, (f, unit) in enumerate(zip(features, _units(raw))):
            column = data[f"_f{j}"]
            out[f"mean_{f}"] = (column / unit).groupby(data["_cluster"], sort=True).mean() * unit
            out[f"median_{f}"] = column.groupby(data["_cluster"], sort=True).median()
        centres = self.kmeans_.cluster_centers_ * self.scale_ + self.center_
        if self.scaling == "log-standard":
            centres = np.expm1(centres)
        for j, f in enumerate(features):
            out[f"centre_{f}"] = centres[:, j]
        rank = "value_per_customer" if spend is not None else "customers"
        return out.sort_values(rank, ascending=False, kind="stable")

    def _set_tiers(self, tiers: pd.Series) -> None:
        if tiers.duplicated().any():
            raise ParameterError(f"tier names must be distinct, got {tiers.tolist()}", "names")
        self.tiers_ = tiers
        cats = pd.CategoricalDtype(tiers.tolist(), ordered=True)
        self.customer_tiers_ = self.labels_.map(tiers).astype(cats).rename("tier")

    def _require_fitted(self) -> None:
        if not hasattr(self, "kmeans_"):
            raise NotFittedError("This CustomerSegmenter is not fitted yet; call 'fit' first")

    def rename_tiers(self, names: Union[Mapping[int, str], Sequence[str]]) -> "CustomerSegmenter":
        """Override tier names: a mapping cluster -> name, or names best first; returns self."""
        self._require_fitted()
        tiers = self.tiers_.copy()
        if isinstance(names, Mapping):
            unknown = [c for c in names if c not in tiers.index]
            if unknown:
                raise ParameterError(f"no cluster {unknown[0]!r}; clusters are {tiers.index.tolist()}", "names")
            for c, name in names.items():
                tiers[c] = name
        else:
            names = list(names)
            if len(names) != len(tiers):
                raise ParameterError(f"got {len(names)} names for {len(tiers)} tiers", "names")
            tiers[:] = names
        self._set_tiers(tiers)
        return self

    # -- results --------------------------------------------------------------------------------
    def profile(self) -> pd.DataFrame:
        """Per cluster, best first: ``tier``, ``customers``, ``share_of_customers``,
        ``revenue``, ``share_of_revenue``, ``value_per_customer``, then
        ``mean_``/``median_`` of each raw feature and ``centre_`` of each feature
        in raw units (the cluster centre mapped back through the scaling)."""
        self._require_fitted()
        out = self._profile.copy()
        out.insert(0, "tier", self.tiers_.reindex(out.index))
        return out

    def predict(self, rfm: Any) -> pd.Series:
        """The cluster of new customers (same columns as at fit; scaled with the fitted scaling)."""
        frame, raw = self._fitted_raw(rfm)
        labels = self.kmeans_.predict(self._scaled(frame, raw))
        return pd.Series(labels.astype(np.int64), index=frame.index, name="cluster")

    def predict_tier(self, rfm: pd.DataFrame) -> pd.Series:
        """The tier name of new customers."""
        clusters = self.predict(rfm)
        cats = pd.CategoricalDtype(self.tiers_.tolist(), ordered=True)
        return clusters.map(self.tiers_).astype(cats).rename("tier")

    def transform_features(self, rfm: Any) -> pd.DataFrame:
        """The scaled features k-means sees, indexed like ``rfm``."""
        frame, raw = self._fitted_raw(rfm)
        return self._scaled(frame, raw)

    def _repr_html_(self) -> str:
        if not hasattr(self, "kmeans_"):
            return f"<pre>{self!r} (not fitted)</pre>"
        cols = [c for c in ("tier", "customers", "share_of_customers", "revenue", "share_of_revenue")
                if c in self._profile.columns or c == "tier"]
        return f"<p><b>{self!r}</b>: {self.n_clusters_} clusters</p>" + self.profile()[cols].to_html(
            float_format=lambda v: f"{v:,.3f}")

    def score(self, rfm: pd.DataFrame, y: Any = None) -> float:
        """Opposite of the k-means inertia of ``rfm``'s scaled features (higher is better).

        What :class:`sklearn.model_selection.GridSearchCV` maximises when no
        ``scoring`` is given, as for scikit-learn's ``KMeans``.

        Parameters
        ----------
        rfm : DataFrame
            Customers with the columns of ``features``.
        y : ignored
            Present for scikit-learn's API.

        Returns
        -------
        float
            ``-sum`` of squared distances of the customers to their closest centre,
            in the scaled feature space.
        """
        return self.kmeans_.score(self.transform_features(rfm))

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "kmeans_")

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type="clusterer", target_tags=TargetTags(required=False),
                    input_tags=InputTags())

    # -- persistence: plain values, so skops (which refuses pickle) stores a fitted segmenter ----------
    def __getstate__(self) -> Dict[str, Any]:
        state = {name: _plain(value) for name, value in self.__dict__.items() if name != "customer_tiers_"}
        state["k_range"] = list(self.k_range) if isinstance(self.k_range, range) else self.k_range
        state["_k_range_is_range"] = isinstance(self.k_range, range)
        state["_state_version"] = _STATE_VERSION
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        version = state.pop("_state_version", None)
        if version != _STATE_VERSION:
            raise ParameterError(f"cannot load a CustomerSegmenter saved with state version {version!r} "
                                 f"(this version reads {_STATE_VERSION})", "state")
        if state.pop("_k_range_is_range", False):
            ks = list(state["k_range"])
            state["k_range"] = range(ks[0], ks[-1] + 1) if ks and ks == list(range(ks[0], ks[-1] + 1)) else ks
        self.__dict__.update({name: _pandas(value) for name, value in state.items()})
        if hasattr(self, "tiers_"):
            self._set_tiers(self.tiers_)

    def _tier_colours(self) -> Dict[str, Any]:
        import matplotlib.pyplot as plt

        cmap = plt.get_cmap("viridis")
        n = len(self.tiers_)
        return {name: cmap(i / max(n - 1, 1)) for i, name in enumerate(self.tiers_.tolist())}
