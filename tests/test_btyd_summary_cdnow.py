"""btyd_summary reproduces the published CDNOW calibration summary from the raw sample log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cdnow"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared CDNOW data not found at {DATA}")


def test_cdnow_sample_summary_matches_the_published_file() -> None:
    raw = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype={"date": str},
                      names=["master_id", "customer_id", "date", "cds", "amount"])
    summary = patronage.btyd_summary(raw, observation_end="1997-09-30", freq="D", freq_multiplier=7)
    ref = pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col="ID")
    assert summary.index.equals(ref.index.rename("customer_id"))
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(summary[column].round(2).to_numpy(), ref[column].to_numpy())
    # and the fit on it is the paper's
    bg = patronage.BetaGeo().fit(summary)
    assert round(bg.log_likelihood_, 1) == -9582.4
