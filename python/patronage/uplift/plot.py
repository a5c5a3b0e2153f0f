"""Plots of uplift rankings (matplotlib imported only when a plot is drawn)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..exceptions import ParameterError
from .metrics import _inputs, perfect_curve, qini_coefficient, qini_curve, uplift_curve

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_qini(y_true: Any, uplift: Any, treatment: Any, *, kind: str = "qini", ax: Any = None,
              label: Optional[str] = None, negative_effect: bool = True) -> "Axes":
    """The Qini (or uplift) curve of a ranking, with the random line and the perfect curve.

    Parameters
    ----------
    y_true, uplift, treatment
        As in :func:`qini_curve`.
    kind : {"qini", "uplift"}
        Which curve (:func:`qini_curve` or :func:`uplift_curve`).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    label : str, optional
        The model's legend entry (default "model", with the Qini coefficient for ``kind="qini"``).
    negative_effect : bool, default True
        The perfect Qini curve ranks control responders last (see :func:`qini_coefficient`).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import patronage
    >>> ax = patronage.plot_qini([1, 0, 1, 0, 1, 0], [3, 2, -1, 0, 2.5, 1], [1, 1, 0, 0, 1, 0])
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['model (Qini coefficient 1.000)', 'random', 'perfect']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    if kind not in ("qini", "uplift"):
        raise ParameterError(f"kind must be 'qini' or 'uplift', got {kind!r}", "kind")
    y, score, t = _inputs(y_true, uplift, treatment)
    curve = qini_curve(y, score, t) if kind == "qini" else uplift_curve(y, score, t)
    best = perfect_curve(y, t, kind, negative_effect)
    if label is None:
        label = (f"model (Qini coefficient {qini_coefficient(y, score, t, negative_effect=negative_effect):.3f})"
                 if kind == "qini" else "model")
    if ax is None:
        import matplotlib.pyplot as plt  # lazy: plotting is optional

        ax = plt.subplots()[1]
    ax.plot(curve["n_targeted"], curve[kind], label=label)
    end = best[kind].iloc[-1]
    ax.plot([0, best["n_targeted"].iloc[-1]], [0, end], linestyle="--", color="grey", label="random")
    ax.plot(best["n_targeted"], best[kind], linestyle=":", color="black", label="perfect")
    ax.set_xlabel("customers targeted (by decreasing predicted uplift)")
    ax.set_ylabel("incremental responders" if kind == "qini" else "uplift x customers targeted")
    ax.set_title("Qini curve" if kind == "qini" else "Uplift curve")
    ax.legend()
    return ax
