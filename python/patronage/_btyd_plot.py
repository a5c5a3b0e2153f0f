"""Diagnostic plots of the BG/NBD model (matplotlib is imported here, lazily, on first use)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

from .exceptions import DataError, MissingColumnError, ParameterError


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def p_alive_matrix(bg: Any, summary: Any, max_frequency: Optional[int], max_recency: Optional[float],
                   ax: Any, time_unit: str = "periods", **kwargs: Any) -> Any:
    """P(alive) for customers of age ``max_recency`` over a frequency x time-since-last-purchase grid.

    The vertical axis is the time since the last purchase (``T - recency``), the direction of
    ``recency_days`` everywhere else; from a summary the frequency axis stops at the 99th percentile
    of frequency, so a few outliers do not leave the plot one colour.
    """
    if summary is not None:
        from .btyd import _BG_COLUMNS, _Columns

        cols = _Columns(summary, _BG_COLUMNS, "summary")
        if max_frequency is None:
            max_frequency = max(int(np.ceil(np.quantile(cols["frequency"], 0.99))), 1)
        max_recency = float(cols["T"].max()) if max_recency is None else max_recency
    if max_frequency is None or max_recency is None:
        raise ParameterError("give a summary, or both max_frequency and max_recency", "max_frequency")
    if int(max_frequency) < 1 or not float(max_recency) > 0:
        raise ParameterError("max_frequency must be >= 1 and max_recency > 0", "max_frequency")
    freqs = np.arange(int(max_frequency) + 1, dtype=np.float64)
    since = np.linspace(0.0, float(max_recency), min(int(max_recency) + 1, 200))
    ff, ss = np.meshgrid(freqs, since, indexing="ij")
    rr = np.where(ff == 0, 0.0, float(max_recency) - ss)  # recency is 0 without repeats
    # repeats at recency 0 cannot happen, and without repeats the time since "last purchase" is the age:
    # those cells stay blank (NaN)
    possible = np.where(ff == 0, ss == ss.max(), rr > 0)
    grid = pd.DataFrame({"frequency": ff[possible], "recency": rr[possible], "T": float(max_recency)})
    p = np.full(ff.shape, np.nan)
    p[possible] = bg.p_alive(grid).to_numpy()
    ax = _axes(ax)
    options = dict(origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis",
                   extent=(-0.5, max_frequency + 0.5, 0, max_recency))
    options.update(kwargs)
    image = ax.imshow(p.T, **options)
    ax.figure.colorbar(image, ax=ax, label="P(alive)")
    ax.set_xlabel("repeat purchases")
    ax.set_ylabel(f"{time_unit} since the last purchase")
    ax.set_title(f"P(alive) of customers first seen {max_recency:,.0f} {time_unit} ago")
    return ax


def period_transactions(bg: Any, summary: Any, max_frequency: int, ax: Any, **kwargs: Any) -> Any:
    """Customers by number of calibration repeat purchases: actual vs expected (sum over customers
    of P(X(T_i) = n))."""
    from .btyd import _BG_COLUMNS, _Columns

    if int(max_frequency) < 1:
        raise ParameterError("max_frequency must be >= 1", "max_frequency")
    cols = _Columns(summary, _BG_COLUMNS, "summary")
    top = int(max_frequency)
    actual = np.bincount(np.minimum(cols["frequency"].astype(np.int64), top), minlength=top + 1)
    ages, counts = np.unique(cols["T"], return_counts=True)
    expected = np.zeros(top + 1)
    for age, count in zip(ages, counts):
        probs = np.asarray(bg.probability_of_n_purchases(float(age), list(range(top))), dtype=float)
        expected[:top] += count * probs
        expected[top] += count * max(0.0, 1.0 - probs.sum())
    ax = _axes(ax)
    x = np.arange(top + 1)
    ax.bar(x - 0.2, actual, width=0.4, label="actual")
    ax.bar(x + 0.2, expected, **{"width": 0.4, "label": bg._title, **kwargs})
    ax.set_xticks(x, [str(i) for i in range(top)] + [f"{top}+"])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title("Calibration: period transactions")
    ax.legend()
    return ax


def holdout_purchases(bg: Any, summary: Any, max_frequency: int, ax: Any, **kwargs: Any) -> Any:
    """Mean holdout purchases by calibration frequency: actual vs conditional expectation."""
    from .btyd import _BG_COLUMNS, _Columns

    if not isinstance(summary, pd.DataFrame):
        raise TypeError("summary must be a btyd_summary DataFrame made with calibration_end")
    for col in ("frequency_holdout", "duration_holdout"):
        if col not in summary.columns:
            raise MissingColumnError(f"column {col!r} is not in the summary: make it with "
                                     "btyd_summary(..., calibration_end=...)", field=col)
    duration = summary["duration_holdout"].to_numpy(dtype=np.float64)
    if len(duration) == 0 or not np.all(duration == duration[0]):
        raise DataError("duration_holdout must be one value for all rows", field="duration_holdout")
    cols = _Columns(summary, _BG_COLUMNS, "summary")
    expected = bg.expected_purchases(summary, float(duration[0])).to_numpy()
    top = int(max_frequency)
    group = np.minimum(cols["frequency"].astype(np.int64), top)
    frame = pd.DataFrame({"group": group, "actual": summary["frequency_holdout"].to_numpy(dtype=np.float64),
                          "expected": expected}).groupby("group").mean()
    ax = _axes(ax)
    ax.plot(frame.index, frame["actual"], marker="o", label="actual")
    ax.plot(frame.index, frame["expected"], **{"marker": "s", "linestyle": "--", "label": bg._title, **kwargs})
    ax.set_xticks(range(top + 1), [str(i) for i in range(top)] + [f"{top}+"])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("mean purchases in the holdout period")
    ax.set_title("Holdout: actual vs expected purchases")
    ax.legend()
    return ax
