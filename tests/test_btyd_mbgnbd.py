"""Modified BG/NBD (patronage.ModifiedBetaGeo) against lifetimes 0.11.3's ModifiedBetaGeoFitter."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import patronage

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cdnow"

HIST = pd.DataFrame({"frequency": [2, 1, 0, 1, 5], "recency": [30.43, 1.71, 0.0, 4.86, 36.14],
                     "T": [38.86, 38.86, 38.86, 38.86, 38.14]})
# lifetimes 0.11.3 ModifiedBetaGeoFitter with r=0.25, alpha=4.4, a=0.8, b=2.4
LT_P_ALIVE = [0.7715461179075799, 0.2689988209360008, 0.6288312948124499, 0.3822553173389562, 0.8778049942796396]
LT_E39 = [1.3373325973692864, 0.2657375142715867, 0.1292276636374703, 0.3776209036652923, 3.4554114302189998]
LT_NEW = [0.04152354448848961, 1.0095042666147445, 1.605012632007883]  # t = 1, 39, 78
LT_PN39 = [0.6732061791632276, 0.1392120161219757, 0.06543512086759948, 0.03723120391572196, 0.02336933792927748]


def test_predictions_match_lifetimes() -> None:
    mbg = patronage.ModifiedBetaGeo.from_params(0.25, 4.4, 0.8, 2.4)
    np.testing.assert_allclose(mbg.p_alive(HIST), LT_P_ALIVE, rtol=1e-12)
    np.testing.assert_allclose(mbg.expected_purchases(HIST, 39), LT_E39, rtol=1e-10)
    np.testing.assert_allclose(mbg.expected_purchases_new_customer([1.0, 39.0, 78.0]), LT_NEW, rtol=1e-10)
    np.testing.assert_allclose(mbg.probability_of_n_purchases(39, range(5)), LT_PN39, rtol=1e-10)
    # a distribution: the probabilities sum to one and their mean is the expectation
    p = mbg.probability_of_n_purchases(39, range(3000))
    assert p.sum() == pytest.approx(1.0, rel=1e-12)
    assert (p.index * p).sum() == pytest.approx(LT_NEW[1], rel=1e-9)
    # unlike the BG/NBD, a customer without repeats may have left
    assert mbg.p_alive(HIST).iloc[2] < 1


def test_cdnow_fit_matches_lifetimes() -> None:
    if not DATA.is_dir():
        pytest.skip(f"shared CDNOW data not found at {DATA}")
    cdnow = pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col="ID")
    mbg = patronage.ModifiedBetaGeo().fit(cdnow)
    assert mbg.fit_info_["converged"]
    lifetimes = [0.5248377255676623, 6.182988479133949, 0.8913562809311403, 1.6140000256721425]
    np.testing.assert_allclose(mbg.params_, lifetimes, rtol=1e-4)
    # our optimum is at least as good as lifetimes' (which stops at tol 1e-7 with "precision loss")
    assert mbg.log_likelihood_ >= patronage.ModifiedBetaGeo.from_params(*lifetimes).log_likelihood(cdnow) - 1e-9
    clone = pickle.loads(pickle.dumps(mbg))
    assert isinstance(clone, patronage.ModifiedBetaGeo)
    pd.testing.assert_series_equal(clone.p_alive(cdnow), mbg.p_alive(cdnow))
    assert isinstance(patronage.ModifiedBetaGeo.from_json(mbg.to_json()), patronage.ModifiedBetaGeo)
    assert "MBG/NBD" in mbg._repr_html_()
