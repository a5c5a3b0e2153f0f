"""Plots of churn models (matplotlib imported only when a plot is drawn).

Each function draws on ``ax`` (or a new figure) and returns the Axes.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from patronage.churn import plot_roc
>>> ax = plot_roc([0, 1, 1, 0, 1], [0.2, 0.9, 0.6, 0.4, 0.3])
>>> ax.get_title(), ax.get_legend().get_texts()[0].get_text()
('ROC curve', 'model (AUC 0.833)')
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ..exceptions import ParameterError
from .classifier import ChurnClassifier
from .evaluation import binary_inputs, calibration_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes



def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # lazy: plotting is optional

    return plt.subplots()[1]


def roc_points(y: np.ndarray, p: np.ndarray) -> tuple:
    """False and true positive rates at each distinct threshold (from (0, 0))."""
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def plot_roc(y_true: Any, proba: Any, *, ax: Any = None, label: Optional[str] = None, **kwargs: Any) -> Axes:
    """ROC curve with its AUC in the legend, and the chance diagonal.

    Other keyword arguments go to the model's line (``Axes.plot``).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from patronage.churn import plot_roc
    >>> ax = plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> ax is not None
    True
    """
    from .evaluation import churn_report

    y, p = binary_inputs(y_true, proba)
    fpr, tpr = roc_points(y, p)
    auc = churn_report(y, p).roc_auc
    ax = _axes(ax)
    ax.plot(fpr, tpr, **{"label": f"{label or 'model'} (AUC {auc:.3f})", **kwargs})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    return ax


def plot_gains(y_true: Any, proba: Any, *, kind: str = "gains", ax: Any = None, **kwargs: Any) -> Axes:
    """Cumulative gains (share of churners found vs share contacted) or lift.

    The gains chart shows the best possible curve (every churner first) and
    random contact next to the model's, and the churn rate in its title: when
    most customers churn even a perfect model stays close to the diagonal.
    Other keyword arguments go to the model's line (``Axes.plot``).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from patronage.churn import plot_gains
    >>> ax = plot_gains([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> ax is not None
    True
    """
    if kind not in ("gains", "lift"):
        raise ParameterError(f"kind must be 'gains' or 'lift', got {kind!r}", "kind")
    y, p = binary_inputs(y_true, proba)
    order = np.argsort(-p, kind="stable")
    share = np.arange(1, len(y) + 1) / len(y)
    found = np.cumsum(y[order]) / max(y.sum(), 1)
    ax = _axes(ax)
    if kind == "gains":
        base = y.mean()
        ax.plot(np.r_[0, share], np.r_[0, found], **{"label": "model", **kwargs})
        # when most customers churn even a perfect model finds them near the diagonal: draw both bounds
        ax.plot([0, base, 1], [0, 1, 1], linestyle=":", color="black", label="best possible")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
        ax.set(ylabel="share of churners found", title=f"Cumulative gains (churn rate {base:.0%})")
    else:
        ax.plot(share, found / share, **{"label": "model", **kwargs})
        ax.axhline(1.0, linestyle="--", color="grey", label="random")
        ax.set(ylabel="cumulative lift", title="Lift")
    ax.set_xlabel("share of customers contacted (riskiest first)")
    ax.legend(loc="best")
    return ax


def plot_calibration(y_true: Any, proba: Any, *, n_bins: int = 10, ax: Any = None, **kwargs: Any) -> Axes:
    """Observed churn rate against mean predicted probability per bin.

    Other keyword arguments go to the model's line (``Axes.plot``).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from patronage.churn import plot_calibration
    >>> ax = plot_calibration([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], n_bins=2)
    >>> ax is not None
    True
    """
    y, p = binary_inputs(y_true, proba)
    table = calibration_table(y, p, n_bins)
    ax = _axes(ax)
    ax.plot(table["mean_predicted"], table["observed_rate"], **{"marker": "o", "label": "model", **kwargs})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.set(xlabel="mean predicted churn probability", ylabel="observed churn rate", title="Calibration")
    ax.legend(loc="upper left")
    return ax


def plot_feature_effects(model: ChurnClassifier, *, top: int = 10, ax: Any = None, **kwargs: Any) -> Axes:
    """The strongest features: log odds ratios per standard deviation (logistic:
    red raises churn, blue lowers it) or split-gain importances (gbm: one colour
    and no zero line, since an importance has no direction), as horizontal bars.
    Other keyword arguments go to ``Axes.barh``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd, patronage
    >>> from patronage.churn import plot_feature_effects
    >>> X = pd.DataFrame({"recency_days": [5.0, 80, 10, 120, 7, 95], "orders": [6.0, 1, 4, 1, 5, 2]})
    >>> model = patronage.ChurnClassifier("logistic").fit(X, [0, 1, 0, 1, 0, 1])
    >>> ax = plot_feature_effects(model, top=2)
    >>> len(ax.patches)
    2
    """
    if not isinstance(model, ChurnClassifier):
        raise ParameterError(f"model must be a fitted ChurnClassifier, got {type(model).__name__}", "model")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ParameterError(f"top must be a positive integer, got {top!r}", "top")
    if model.model == "logistic":
        effects = model.standardized_coef_
        xlabel = "log odds ratio per standard deviation"
    else:
        effects = model.feature_importances_
        xlabel = "share of split gain"
    chosen = effects.reindex(effects.abs().sort_values(ascending=False).index[:top])[::-1]
    ax = _axes(ax)
    if model.model == "logistic":
        colors = ["tab:red" if v > 0 else "tab:blue" for v in chosen.to_numpy()]
        ax.barh(chosen.index.astype(str), chosen.to_numpy(), **{"color": colors, **kwargs})
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set(xlabel=xlabel, title="What raises (red) or lowers (blue) churn")
    else:
        ax.barh(chosen.index.astype(str), chosen.to_numpy(), **{"color": "tab:grey", **kwargs})
        ax.set(xlabel=xlabel, title="What the model looks at (importance, no direction)")
    return ax


def plot_waterfall(model: ChurnClassifier, X: Any, customer: Any = None, *, top: int = 8, ax: Any = None,
                   **kwargs: Any) -> Any:
    """Why one customer is at risk: the contributions of :meth:`ChurnClassifier.explain` as a waterfall.

    Starts at the model's base value (the log-odds of the training
    population), adds the ``top`` largest contributions (by size; the rest
    as one "other features" bar), red where they raise the risk and blue
    where they lower it, and ends at the customer's log-odds; the axis is in
    log-odds, with the matching churn probabilities written at both ends.
    Other keyword arguments go to every bar (``Axes.barh``).

    Parameters
    ----------
    model : fitted ChurnClassifier
    X : DataFrame or array
        Features (as given to ``fit``).
    customer : index label, optional
        The row of ``X`` (default: the first).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd, patronage
    >>> from patronage.churn import plot_waterfall
    >>> X = pd.DataFrame({"recency_days": [5.0, 80, 10, 120, 7, 95], "orders": [6.0, 1, 4, 1, 5, 2]})
    >>> model = patronage.ChurnClassifier("logistic").fit(X, [0, 1, 0, 1, 0, 1])
    >>> ax = plot_waterfall(model, X, customer=3)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['base value', 'recency_days = 120', 'orders = 1', "customer's log-odds"]
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import pandas as pd

    if not isinstance(model, ChurnClassifier):
        raise ParameterError(f"model must be a fitted ChurnClassifier, got {type(model).__name__}", "model")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ParameterError(f"top must be a positive integer, got {top!r}", "top")
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    if customer is None:
        row = frame.iloc[[0]]
    elif customer in frame.index:
        row = frame.loc[[customer]]
        if len(row) != 1:
            raise ParameterError(f"customer {customer!r} labels {len(row)} rows of X; its index must be unique",
                                 "customer")
    else:
        raise ParameterError(f"customer {customer!r} is not in X's index", "customer")
    given = row if isinstance(X, pd.DataFrame) else row.to_numpy()
    phi = model.explain(given).iloc[0]
    base = model.base_value_
    design = pd.Series(model._design_matrix(given)[0], index=phi.index)
    chosen = phi.reindex(phi.abs().sort_values(ascending=False, kind="stable").index)
    shown, rest = chosen.iloc[:top], chosen.iloc[top:]
    labels = ["base value"] + [f"{name} = {value:g}" for name, value in zip(shown.index, design[shown.index])]
    steps = list(shown.to_numpy())
    if len(rest):
        labels.append(f"{len(rest)} other features")
        steps.append(float(rest.sum()))
    labels.append("customer's log-odds")
    ax = _axes(ax)
    start = base
    ax.barh(0, base, **{"color": "grey", **kwargs})
    for k, step in enumerate(steps, start=1):
        ax.barh(k, step, left=start, **{"color": "tab:red" if step > 0 else "tab:blue", **kwargs})
        start += step
    ax.barh(len(steps) + 1, start, **{"color": "black", **kwargs})
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    prob = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    ax.set(xlabel="log-odds of churn", title=f"Churn risk {prob(base):.0%} on average -> {prob(start):.0%} "
           f"for customer {row.index[0]!r}")
    return ax
