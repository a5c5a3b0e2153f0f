"""Smoke tests of the BG/NBD diagnostic plots (Agg backend), and what they draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.datasets import simulate_transactions
from patronage.exceptions import MissingColumnError, ParameterError

mpl = pytest.importorskip("matplotlib", reason="matplotlib is an optional (plot) dependency")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def holdout():
    tx = simulate_transactions(2000, random_state=3)
    summary = patronage.btyd_summary(tx, freq="D", freq_multiplier=7, calibration_end="2024-12-31",
                                     observation_end="2025-06-29")
    return patronage.BetaGeo().fit(summary), summary


def test_p_alive_matrix(holdout) -> None:
    bg, summary = holdout
    ax = bg.plot_p_alive_matrix(summary)
    image = ax.images[0].get_array()
    # the frequency axis stops at the 99th percentile (here 9, the largest is 40): outliers do not flatten it
    assert image.shape[1] == int(np.ceil(np.quantile(summary["frequency_cal"], 0.99))) + 1 < 40
    # no repeat purchase: alive; the only such cell is at the customers' age (time since first purchase)
    assert np.isfinite(image[:, 0]).sum() == 1 and image[-1, 0] == pytest.approx(1.0)
    # rows run with the time since the last purchase: P(alive) of a repeat buyer falls as it grows
    column = image[:, 3][np.isfinite(image[:, 3])]
    assert (np.diff(column) <= 1e-12).all() and column[0] > column[-1]
    assert ax.get_ylabel() == "periods since the last purchase" and "ago" in ax.get_title()
    ax2 = bg.plot_p_alive_matrix(max_frequency=5, max_recency=40)
    assert ax2.images[0].get_array().shape == (41, 6)
    with pytest.raises(ParameterError):
        bg.plot_p_alive_matrix()
    plt.close("all")


def test_period_transactions(holdout) -> None:
    bg, summary = holdout
    fig, ax = plt.subplots()
    assert bg.plot_period_transactions(summary, max_frequency=5, ax=ax) is ax
    heights = [p.get_height() for p in ax.patches]
    actual, expected = heights[:6], heights[6:]
    assert sum(actual) == len(summary)
    assert sum(expected) == pytest.approx(len(summary), rel=1e-9)  # probabilities sum to one
    ax = bg.plot_period_transactions(summary, max_frequency=5, color="orange")  # keywords reach the model's bars
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["actual", "BG/NBD"]
    assert ax.patches[6].get_facecolor() == mpl.colors.to_rgba("orange")
    plt.close("all")


def test_holdout_purchases(holdout) -> None:
    bg, summary = holdout
    ax = bg.plot_holdout_purchases(summary, max_frequency=4)
    actual, expected = ax.lines
    assert len(actual.get_xdata()) == len(expected.get_xdata()) <= 5
    assert np.all(np.diff(expected.get_ydata()) > 0)  # more past purchases, more expected
    mbg = patronage.ModifiedBetaGeo.from_params(*bg.params_)  # the legend names the model drawn
    ax = mbg.plot_holdout_purchases(summary, max_frequency=4, color="black", linewidth=2.5)
    assert ax.lines[1].get_label() == "MBG/NBD" and ax.lines[1].get_linewidth() == 2.5
    with pytest.raises(MissingColumnError):
        bg.plot_holdout_purchases(summary.drop(columns="frequency_holdout"))
    plt.close("all")
