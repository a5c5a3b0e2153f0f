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


def plot_k_selection(selection: Any, ax: Any = None, **kwargs: Any) -> np.ndarray:
    """Every criterion of :func:`select_k` against k, one panel each in its own units (rescaling them onto
    one axis would hide how much each changes), the recommended k marked in all four.

    ``selection`` is the :class:`SelectK` result or its ``table``; ``ax`` four Axes (default: a new 2 x 2
    figure); other keyword arguments go to ``Axes.plot``. Returns the four Axes.

    Parameters
    ----------
    selection : SelectK or DataFrame
        The result of :func:`select_k`, or its ``table``.
    ax : array of four matplotlib Axes, optional
        Where to draw; a new 2 x 2 figure when None.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The four panels.

    See Also
    --------
    select_k : The criteria it draws.

    Examples
    --------
    >>> import numpy as np, patronage, matplotlib
    >>> matplotlib.use("Agg")
    >>> X = np.random.default_rng(1).normal(size=(60, 2))
    >>> axes = patronage.plot_k_selection(patronage.select_k(X, range(2, 6), random_state=0))
    >>> [a.get_title() for a in axes][:2]
    ['inertia (lower)', 'silhouette (higher)']
    """
    table = getattr(selection, "table", selection)
    if not isinstance(table, pd.DataFrame) or not set(_CRITERIA) <= set(table.columns):
        raise ParameterError("selection must be the result of select_k (or its table)", "selection")
    if ax is None:
        import matplotlib.pyplot as plt

        fig, grid = plt.subplots(2, 2, figsize=(8, 5), sharex=True, layout="constrained")
        axes = list(np.ravel(grid))
    else:
        axes = list(np.ravel(ax))
        if len(axes) != len(_CRITERIA):
            raise ParameterError(f"ax must be {len(_CRITERIA)} Axes, one per criterion, got {len(axes)}", "ax")
        fig = axes[0].figure
    ks = table.index.to_numpy()
    k = int(table.index[table["recommended"].to_numpy()][0]) if "recommended" in table and \
        table["recommended"].any() else None
    for panel, (column, label) in zip(axes, _CRITERIA.items()):
        panel.plot(ks, table[column].to_numpy(dtype=float), **{"marker": "o", **kwargs})
        if k is not None:
            panel.axvline(k, color="grey", linestyle="--")
        panel.set_title(label)
        panel.set_xticks(ks)
    for panel in axes[-2:]:
        panel.set_xlabel("number of clusters k")
    fig.suptitle(f"Choosing the number of clusters" + (f": recommended k = {k}" if k is not None else ""))
    return axes


def plot_clusters(segmenter: Any, rfm: pd.DataFrame, x: Optional[str] = None, y: Optional[str] = None, *,
                  ax: Any = None, log: bool = True, max_points: int = 5000, random_state: int = 0,
                  **kwargs: Any) -> Axes:
    """Customers on two raw features, coloured by tier, with the cluster centres
    (in raw units) as crosses. Draws at most ``max_points`` customers (a seeded
    sample), the largest tier first so the small ones stay visible. With
    ``log`` an axis whose values are all positive is logarithmic, and one with
    zeros (a customer who spent nothing) is symmetric-log, linear only below
    its smallest positive value. Other keyword arguments go to
    ``Axes.scatter``. Returns the Axes.

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
    **kwargs
        Passed to matplotlib (see above).

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
    groups = sorted(frame.groupby("tier", observed=True, sort=False), key=lambda item: -len(item[1]))
    for tier, part in groups:
        ax.scatter(part[x], part[y], **{"s": 6, "alpha": 0.4, "color": colours[tier], "label": str(tier), **kwargs})
    prof = segmenter.profile()
    ax.scatter(prof[f"centre_{x}"], prof[f"centre_{y}"], marker="X", s=120, c=[colours[t] for t in prof["tier"]],
               edgecolors="black", label="centres")
    if log:
        for col, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
            values = frame[col].to_numpy(dtype=float)
            if (values > 0).all():
                setter("log")
            elif (values > 0).any():  # a few zeros must not flatten everyone else onto a linear axis
                setter("symlog", linthresh=float(values[values > 0].min()))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize="small", markerscale=2)
    return ax


def plot_tiers(segmenter: Any, ax: Any = None, **kwargs: Any) -> Axes:
    """Share of customers next to share of revenue for every tier, best first.
    Other keyword arguments go to ``Axes.bar``. Returns the Axes.

    Parameters
    ----------
    segmenter : CustomerSegmenter
        A fitted segmenter.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    **kwargs
        Passed to matplotlib (see above).

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
    ax.bar(pos - 0.2, prof["share_of_customers"], **{"width": 0.4, "label": "share of customers", **kwargs})
    ax.bar(pos + 0.2, prof["share_of_revenue"], **{"width": 0.4, "label": "share of revenue", **kwargs})
    ax.set_xticks(pos)
    ax.set_xticklabels(prof["tier"].astype(str))
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share")
    ax.set_title("Tiers: share of customers and of revenue")
    ax.legend(fontsize="small")
    return ax
