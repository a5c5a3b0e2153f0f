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
    assert image.shape[1] == int(summary["frequency_cal"].max()) + 1
    assert np.allclose(image[:, 0], 1.0)  # no repeat purchase: alive
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
    plt.close("all")


def test_holdout_purchases(holdout) -> None:
    bg, summary = holdout
    ax = bg.plot_holdout_purchases(summary, max_frequency=4)
    actual, expected = ax.lines
    assert len(actual.get_xdata()) == len(expected.get_xdata()) <= 5
    assert np.all(np.diff(expected.get_ydata()) > 0)  # more past purchases, more expected
    with pytest.raises(MissingColumnError):
        bg.plot_holdout_purchases(summary.drop(columns="frequency_holdout"))
    plt.close("all")
