"""Plots of the loyalty module (matplotlib is imported only when a plot is drawn)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib (a dependency of patronage): pip install matplotlib") from exc
    _, ax = plt.subplots()
    return ax


def cohort_heatmap(matrix: pd.DataFrame, *, ax: Any, annotate: Optional[bool], cmap: str, mark_last: bool,
                   **kwargs: Any) -> Any:
    values = matrix.to_numpy(dtype=np.float64)
    ax = _axes(ax)
    masked = np.ma.masked_invalid(values)
    # the first column is 100% by definition: the colour scale is set by the later ones, where cohorts differ
    later = values[:, 1:][np.isfinite(values[:, 1:])]
    options = {"aspect": "auto", "cmap": cmap, "interpolation": "nearest"}
    if later.size and later.max() > 0:
        options.update(vmin=0.0, vmax=float(later.max()))
    options.update(kwargs)
    image = ax.imshow(masked, **options)
    finite = values[np.isfinite(values)]
    top = finite.max() if finite.size else 1.0
    percent = bool(finite.size) and top <= 1.0 + 1e-9  # a normalized matrix: shares, shown as percentages
    bar = ax.figure.colorbar(image, ax=ax,
                             extend="max" if later.size and values[:, :1].max() > later.max() else "neither")
    if percent:
        from matplotlib.ticker import PercentFormatter

        bar.formatter = PercentFormatter(1.0, decimals=0)
        bar.update_ticks()
    rows, cols = values.shape
    if annotate is None:
        annotate = rows <= 24 and cols <= 24
    if annotate:
        for i in range(rows):
            for j in range(cols):
                v = values[i, j]
                if np.isfinite(v):
                    text = f"{v:.0%}" if percent else f"{v:,.0f}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=7,
                            color="white" if top and v > 0.6 * top else "black")
    if mark_last:
        _hatch_last_period(ax, values)
    step = max(1, -(-rows // 24))  # at most 24 labels
    ax.set_yticks(range(0, rows, step))
    ax.set_yticklabels(_period_labels(matrix.index[::step]))
    unit = _period_unit(matrix.index)
    ax.set_xlabel(f"{matrix.columns.name or 'age'} ({unit} since first order)")
    ax.set_ylabel(matrix.index.name or "cohort")
    ax.set_title("Cohort retention")
    return ax


def _hatch_last_period(ax: Any, values: np.ndarray) -> None:
    """Hatch each cohort's last observed cell: the log's last period, which may be partial (a log that ends
    on the 9th holds a third of that month), so its lower retention is not a real drop."""
    from matplotlib.patches import Patch, Rectangle

    observed = np.isfinite(values)
    last = [(i, int(np.flatnonzero(row)[-1])) for i, row in enumerate(observed) if row.any()]
    for i, j in last:
        if j > 0:  # age 0 is the cohort's first period by definition
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="grey",
                                   linewidth=0))
    if any(j > 0 for _, j in last):
        ax.legend(handles=[Patch(facecolor="white", edgecolor="grey", hatch="///",
                                 label="last period of the log (may be partial)")],
                  loc="lower right", fontsize=7, framealpha=0.9)  # the unobserved triangle is empty


#: Period frequency prefixes and their plural names, for the age axis.
_UNITS = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years", "A": "years"}


def _period_unit(index: pd.Index) -> str:
    freq = getattr(index, "freqstr", None) or ""
    return _UNITS.get(freq[:1], "periods")


def _period_labels(index: pd.Index) -> list:
    """Short labels: a week by its first day (``2010-01-04``, not ``2010-01-04/2010-01-10``), a month as
    ``2010-01``, other periods as pandas prints them."""
    if isinstance(index, pd.PeriodIndex) and index.freqstr.startswith("W"):
        return [f"{p.start_time:%Y-%m-%d}" for p in index]
    if isinstance(index, pd.PeriodIndex) and index.freqstr.startswith("M"):
        return [f"{p.start_time:%Y-%m}" for p in index]
    return [str(x) for x in index]


def lorenz_plot(result: Any, *, ax: Any, **kwargs: Any) -> Any:
    ax = _axes(ax)
    curve = result.lorenz
    ax.plot(curve["share_of_customers"], curve["share_of_revenue"],
            **{"label": f"Lorenz curve (Gini {result.gini:.2f})", **kwargs})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="equal spend")
    x = 1.0 - result.top
    ax.scatter([x], [1.0 - result.top_share], color="C3", zorder=3,
               label=f"top {result.top:.0%} bring {result.top_share:.0%} of revenue")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("share of customers (lowest spend first)")
    ax.set_ylabel("share of revenue")
    ax.set_title("Revenue concentration")
    ax.legend(loc="upper left")
    return ax


def quadrant_plot(matrix: pd.DataFrame, *, ax: Any, satisfied_at: Optional[float], loyal_at: Optional[float],
                  random_state: int, **kwargs: Any) -> Any:
    ax = _axes(ax)
    rng = np.random.default_rng(random_state)
    known = matrix["quadrant"].notna().to_numpy()
    sat = matrix["satisfaction"].to_numpy(dtype=np.float64)[known]
    loy = matrix["loyalty"].to_numpy(dtype=np.float64)[known]
    quadrant = matrix["quadrant"].to_numpy()[known]

    def spread(v: np.ndarray) -> float:
        levels = np.unique(v)
        return 0.15 * (np.min(np.diff(levels)) if len(levels) > 1 else 1.0)

    jitter_x = rng.uniform(-1, 1, len(sat)) * spread(sat) if len(sat) else sat
    jitter_y = rng.uniform(-1, 1, len(loy)) * spread(loy) if len(loy) else loy
    colours = {"loyal": "C2", "vulnerable": "C1", "hostage": "C0", "defector": "C3"}
    total = max(1, len(quadrant))
    for name, colour in colours.items():
        mask = quadrant == name
        ax.scatter(sat[mask] + jitter_x[mask], loy[mask] + jitter_y[mask],
                   **{"s": 8, "alpha": 0.5, "color": colour,
                      "label": f"{name}: {mask.sum()} ({mask.sum() / total:.0%})", **kwargs})

    def cut(explicit: Optional[float], values: np.ndarray, flags: np.ndarray) -> Optional[float]:
        if explicit is not None:
            return explicit
        high, low = values[flags], values[~flags]
        return (high.min() + low.max()) / 2 if len(high) and len(low) else None

    satisfied = np.isin(quadrant, ["loyal", "vulnerable"])
    loyal = np.isin(quadrant, ["loyal", "hostage"])
    x_cut, y_cut = cut(satisfied_at, sat, satisfied), cut(loyal_at, loy, loyal)
    if x_cut is not None:
        ax.axvline(x_cut, color="grey", linestyle="--")
    if y_cut is not None:
        ax.axhline(y_cut, color="grey", linestyle="--")
    if len(loy) and loy.max() > 20:  # repeat counts up to 170: most customers would sit in one band
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("satisfaction")
    ax.set_ylabel("loyalty")
    ax.set_title("Satisfaction x loyalty")
    ax.legend(loc="best", fontsize=8)
    return ax
