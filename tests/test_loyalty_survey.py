"""Survey metrics: NPS, CSAT, CES. Hand-computed values, CI coverage by simulation, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


def test_nps_by_hand_with_boundaries_and_nonresponse():
    # every boundary answer: 6 is a detractor, 7 and 8 passives, 9 a promoter
    answers = pd.Series([0, 6, 7, 8, 9, 10, 10, np.nan, np.nan], index=list("abcdefghi"), name="q1")
    r = patronage.nps(answers)
    assert isinstance(r, pd.Series) and r.name == "nps"
    assert (r["n"], r["n_missing"], r["promoters"], r["passives"], r["detractors"]) == (7, 2, 3, 2, 2)
    p_pro, p_det = 3 / 7, 2 / 7
    assert r["share_promoters"] == pytest.approx(p_pro)
    assert r["share_passives"] == pytest.approx(2 / 7)
    assert r["nps"] == pytest.approx(100 / 7)
    se = math.sqrt((p_pro + p_det - (p_pro - p_det) ** 2) / 7)
    assert r["se"] == pytest.approx(100 * se)
    assert r["ci_low"] == pytest.approx(100 * (1 / 7 - Z95 * se), rel=1e-8)
    assert r["ci_high"] == pytest.approx(100 * (1 / 7 + Z95 * se), rel=1e-8)


def test_nps_ties_all_promoters_and_single_respondent_groups():
    # identical answers: NPS 100 with a zero-width interval (documented); one-answer groups likewise
    r = patronage.nps(pd.Series([10, 9, 9, 3, np.nan]), by=pd.Series(["x", "x", "x", "y", "z"]))
    assert list(r.index) == ["x", "y", "z"]
    assert r.loc["x", "nps"] == 100.0 and r.loc["x", "ci_low"] == 100.0 and r.loc["x", "ci_high"] == 100.0
    assert r.loc["y", "nps"] == -100.0 and r.loc["y", "n"] == 1
    # a group of non-responses only: counted, with NaN statistics
    assert r.loc["z", "n"] == 0 and r.loc["z", "n_missing"] == 1 and np.isnan(r.loc["z", "nps"])


def test_nps_grouping_aligns_series_on_the_index():
    scores = pd.Series([10, 0, 9, 5], index=[11, 12, 13, 14])
    by = pd.Series(["b", "a", "b", "a"], index=[11, 12, 13, 14]).iloc[::-1]  # same labels, other order
    r = patronage.nps(scores, by=by)
    assert r.loc["b", "nps"] == 100.0 and r.loc["a", "nps"] == -100.0
    # by as a column of a DataFrame, and as a plain list
    frame = pd.DataFrame({"score": scores.to_numpy(), "tier": ["b", "a", "b", "a"]})
    pd.testing.assert_frame_equal(patronage.nps(frame, column="score", by="tier"),
                                  patronage.nps(scores.to_numpy(), by=["b", "a", "b", "a"]).rename_axis("tier"))


def test_nps_agrees_with_a_direct_computation_per_group():
    rng = np.random.default_rng(3)
    scores = pd.Series(rng.integers(0, 11, 500).astype(float))
    scores[rng.random(500) < 0.1] = np.nan
    seg = pd.Series(rng.choice(["core", "potential", "ordinary"], 500))
    r = patronage.nps(scores, by=seg)
    for name, group in scores.groupby(seg):
        answered = group.dropna()
        expected = 100 * ((answered >= 9).mean() - (answered <= 6).mean())
        assert r.loc[name, "nps"] == pytest.approx(expected)
        assert r.loc[name, "n_missing"] == group.isna().sum()


def test_csat_wilson_interval_by_hand():
    r = patronage.csat([5, 4, 4, 5, 2, np.nan])
    assert (r["n"], r["n_missing"], r["n_satisfied"]) == (5, 1, 4)
    p, n = 0.8, 5
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    assert r["csat"] == 0.8
    assert r["ci_low"] == pytest.approx(centre - half, rel=1e-8)
    assert r["ci_high"] == pytest.approx(centre + half, rel=1e-8)
    # other scale and satisfied set; a 0..10 scale through (low, high)
    assert patronage.csat([7, 6, 5, 1], scale=7, satisfied=(6, 7))["csat"] == 0.5
    assert patronage.csat([0, 10, 8], scale=(0, 10), satisfied=range(8, 11))["n_satisfied"] == 2


def test_ces_mean_t_interval_and_distribution():
    r = patronage.ces(pd.Series([2, 4, 4, 7, np.nan]))
    assert r["n"] == 4 and r["ces"] == pytest.approx(4.25)
    std = np.std([2, 4, 4, 7], ddof=1)
    t3 = 3.1824463052837078  # scipy.stats.t.ppf(0.975, 3)
    assert r["std"] == pytest.approx(std)
    assert r["ci_high"] == pytest.approx(4.25 + t3 * std / 2, rel=1e-12)  # the exact t quantile
    assert r["share_4"] == 0.5 and r["share_1"] == 0.0 and r["share_7"] == 0.25
    one = patronage.ces([3, 5], by=["a", "b"])
    assert one.loc["a", "ces"] == 3 and np.isnan(one.loc["a", "ci_low"])  # one respondent: no spread


def test_confidence_level_changes_the_width():
    wide = patronage.nps(list(range(11)) * 3, confidence=0.99)
    narrow = patronage.nps(list(range(11)) * 3, confidence=0.8)
    assert wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"]


def test_confidence_intervals_cover_the_truth_about_95_percent():
    """Seeded simulation: 4000 surveys each, one call per metric with the survey as group."""
    rng = np.random.default_rng(20261123)
    reps = 4000
    # NPS: 30% detractors (0-6), 30% passives, 40% promoters -> NPS 10; n = 150
    n = 150
    kind = rng.choice(3, size=(reps, n), p=[0.3, 0.3, 0.4])
    answers = np.choose(kind, [rng.integers(0, 7, (reps, n)), rng.integers(7, 9, (reps, n)),
                               rng.integers(9, 11, (reps, n))]).astype(float)
    survey = np.repeat(np.arange(reps), n)
    r = patronage.nps(answers.ravel(), by=survey)
    cover = ((r["ci_low"] <= 10.0) & (10.0 <= r["ci_high"])).mean()
    assert 0.935 <= cover <= 0.965, cover
    # CSAT: 85% satisfied, n = 120 (Wilson; its exact coverage there is 0.946 by the binomial sum,
    # it oscillates with n, e.g. 0.960 at n = 80)
    n = 120
    sat = rng.random((reps, n)) < 0.85
    answers = np.where(sat, rng.integers(4, 6, (reps, n)), rng.integers(1, 4, (reps, n))).astype(float)
    r = patronage.csat(answers.ravel(), by=np.repeat(np.arange(reps), n))
    cover = ((r["ci_low"] <= 0.85) & (0.85 <= r["ci_high"])).mean()
    assert 0.935 <= cover <= 0.965, cover
    # CES: answers 1..7 with a skewed distribution, n = 40 (t interval)
    n = 40
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05])
    mean = float(np.dot(np.arange(1, 8), p))
    answers = rng.choice(np.arange(1, 8), size=(reps, n), p=p).astype(float)
    r = patronage.ces(answers.ravel(), by=np.repeat(np.arange(reps), n))
    cover = ((r["ci_low"] <= mean) & (mean <= r["ci_high"])).mean()
    assert 0.935 <= cover <= 0.965, cover


def test_input_is_not_modified():
    frame = pd.DataFrame({"score": [10, np.nan, 3.0], "tier": ["a", "b", "a"]})
    copy = frame.copy()
    patronage.nps(frame, column="score", by="tier")
    patronage.csat(frame["score"].clip(1, 5), by=frame["tier"])
    pd.testing.assert_frame_equal(frame, copy)


@pytest.mark.parametrize("bad, shown", [(11, "11"), (7.5, "7.5"), (-1, "-1"), (np.inf, "inf")])
def test_out_of_range_or_non_integer_answers_name_value_and_label(bad, shown):
    scores = pd.Series([10, 9, bad], index=["ann", "bob", "cyd"], name="recommend")
    with pytest.raises(ValueError, match=rf"NPS answer {shown} in 'recommend' at index label 'cyd' \(row 2\)") as info:
        patronage.nps(scores)
    assert isinstance(info.value, DataError) and info.value.label == "cyd"


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(DataError, match="empty"):
        patronage.nps(pd.Series([], dtype=float))
    with pytest.raises(ColumnTypeError, match="found 'ten' at index label 1"):
        patronage.nps(pd.Series(["9", "ten"]))
    with pytest.raises(ColumnTypeError, match="booleans"):
        patronage.csat(pd.Series([True, False]))
    with pytest.raises(TypeError, match="scores must be"):
        patronage.nps("9 10 3")
    with pytest.raises(ParameterError, match="confidence"):
        patronage.nps([9], confidence=1.5)
    with pytest.raises(ParameterError, match="scale"):
        patronage.csat([1], scale=1)
    with pytest.raises(ParameterError, match="satisfied"):
        patronage.csat([1, 5], satisfied=(6,))
    with pytest.raises(ParameterError, match="satisfied"):
        patronage.csat([1, 5], satisfied=())
    with pytest.raises(DataError, match=r"CSAT answer 6 .* not an integer from 1 to 5"):
        patronage.csat([1, 6])
    with pytest.raises(DataError, match="missing group at index label 1"):
        patronage.nps([9, 10], by=pd.Series(["a", None]))
    with pytest.raises(DataError, match="no group for the answer at index label 'b'"):
        patronage.nps(pd.Series([9, 10], index=["a", "b"]), by=pd.Series(["x"], index=["a"]))
    with pytest.raises(ParameterError, match="one group per answer"):
        patronage.nps([9, 10], by=["a"])
    with pytest.raises(ParameterError, match="names a column"):
        patronage.nps(pd.Series([9]), by="tier")
    with pytest.raises(MissingColumnError, match="'tier'"):
        patronage.nps(pd.DataFrame({"s": [9]}), by="tier")
    with pytest.raises(ParameterError, match="column="):
        patronage.nps(pd.DataFrame({"s": [9], "t": [1]}))
