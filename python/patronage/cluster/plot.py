"""Plots of k selection and segments. matplotlib is imported only when a
function is called, so it stays an optional dependency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd

from ..exceptions import ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["plot_k_selection", "plot_clusters", "plot_tiers"]

_CRITERIA = {
    "inertia": "inertia (lower)",
    "silhouette": "silhouette (higher)",
    "calinski_harabasz": "Calinski-Harabasz (higher)",
    "davies_bouldin": "Davies-Bouldin (lower)",
}


def _axes(ax: Any) -> Any:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def plot_k_selection(selection: Any, ax: Any = None) -> Axes:
    """Every criterion of :func:`select_k` against k, each scaled to 0..1 so they
    share one axis; the recommended k is marked. Returns the Axes.

    ``selection`` is the :class:`SelectK` result or its ``table``.

    Parameters
    ----------
    selection : SelectK or DataFrame
        The result of :func:`select_k`, or its ``table``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    select_k : The criteria it draws.

    Examples
    --------
    >>> import numpy as np, patronage, matplotlib
    >>> matplotlib.use("Agg")
    >>> X = np.random.default_rng(1).normal(size=(60, 2))
    >>> ax = patronage.plot_k_selection(patronage.select_k(X, range(2, 6), random_state=0))
    >>> ax.get_xlabel()
    'number of clusters k'
    """
    table = getattr(selection, "table", selection)
    if not isinstance(table, pd.DataFrame) or not set(_CRITERIA) <= set(table.columns):
        raise ParameterError("selection must be the result of select_k (or its table)", "selection")
    ax = _axes(ax)
    ks = table.index.to_numpy()
    for column, label in _CRITERIA.items():
        v = table[column].to_numpy(dtype=float)
        span = v.max() - v.min()
        ax.plot(ks, (v - v.min()) / span if span > 0 else np.zeros_like(v), marker="o", label=label)
    if "recommended" in table and table["recommended"].any():
        k = int(table.index[table["recommended"].to_numpy()][0])
        ax.axvline(k, color="grey", linestyle="--", label=f"recommended k = {k}")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("criterion, scaled to 0..1")
    ax.set_xticks(ks)
    ax.legend(fontsize="small")
    return ax


def plot_clusters(segmenter: Any, rfm: pd.DataFrame, x: Optional[str] = None, y: Optional[str] = None, *,
                  ax: Any = None, log: bool = True, max_points: int = 5000, random_state: int = 0) -> Axes:
    """Customers on two raw features, coloured by tier, with the cluster centres
    (in raw units) as crosses. Draws at most ``max_points`` customers (a seeded
    sample). Returns the Axes.

    Parameters
    ----------
    segmenter : CustomerSegmenter
        A fitted segmenter.
    rfm : DataFrame
        The customers to draw (with the segmenter's features).
    x, y : str, optional
        The two features on the axes (default: the first two of ``segmenter.features_``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    log : bool, default True
        Logarithmic axes (spend and order counts are heavy-tailed).
    max_points : int, default 5000
        Most customers drawn (a seeded sample).
    random_state : int, default 0
        Seeds that sample.

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    CustomerSegmenter : The segmenter.
    plot_tiers : Shares per tier.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import patronage
    >>> from patronage.cluster import plot_clusters
    >>> rfm = patronage.rfm_table(patronage.datasets.simulate_transactions(400, random_state=0))
    >>> seg = patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm)
    >>> ax = plot_clusters(seg, rfm, "n_orders", "total_spend")
    >>> ax.get_xlabel()
    'n_orders'
    """
    segmenter._require_fitted()
    features = segmenter.features_
    x = x or features[0]
    y = y or features[-1]
    for name, col in (("x", x), ("y", y)):
        if col not in features:
            raise ParameterError(f"{name}={col!r} is not one of the segmenter's features {features}", name)
    tiers = segmenter.predict_tier(rfm)
    frame = rfm[[x, y]].assign(tier=tiers)
    if len(frame) > max_points:
        frame = frame.sample(max_points, random_state=random_state)
    ax = _axes(ax)
    colours = segmenter._tier_colours()
    for tier, part in frame.groupby("tier", observed=True, sort=False):
        ax.scatter(part[x], part[y], s=6, alpha=0.4, color=colours[tier], label=str(tier))
    prof = segmenter.profile()
    ax.scatter(prof[f"centre_{x}"], prof[f"centre_{y}"], marker="X", s=120, c=[colours[t] for t in prof["tier"]],
               edgecolors="black", label="centres")
    if log:
        for col, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
            if (frame[col] > 0).all():
                setter("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize="small", markerscale=2)
    return ax


def plot_tiers(segmenter: Any, ax: Any = None) -> Axes:
    """Share of customers next to share of revenue for every tier, best first.
    Returns the Axes.

    Parameters
    ----------
    segmenter : CustomerSegmenter
        A fitted segmenter.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    CustomerSegmenter : The segmenter.
    plot_clusters : Customers by tier.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import patronage
    >>> from patronage.cluster import plot_tiers
    >>> rfm = patronage.rfm_table(patronage.datasets.simulate_transactions(400, random_state=0))
    >>> ax = plot_tiers(patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm))
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['core', 'potential', 'ordinary']
    """
    prof = segmenter.profile()
    ax = _axes(ax)
    pos = np.arange(len(prof))
    ax.bar(pos - 0.2, prof["share_of_customers"], width=0.4, label="share of customers")
    ax.bar(pos + 0.2, prof["share_of_revenue"], width=0.4, label="share of revenue")
    ax.set_xticks(pos)
    ax.set_xticklabels(prof["tier"].astype(str))
    ax.set_ylabel("share")
    ax.set_title("tiers by value")
    ax.legend(fontsize="small")
    return ax
