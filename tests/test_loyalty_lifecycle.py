"""Lifecycle stages and transitions: crafted customers, an independent reference of the documented rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import patronage
from patronage.exceptions import DataError, ParameterError

START = pd.Timestamp("2024-01-01")


def orders(spec):
    """{customer: [day offsets]} as a transaction log (amount 1)."""
    rows = [(c, START + pd.Timedelta(days=d), 1.0) for c, days in spec.items() for d in days]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


CRAFTED = {
    "steady": [100, 130, 190],                    # gaps 30, 60 (median 45); 10 days since -> active
    "back": [0, 10, 20, 30, 40, 50, 180],         # rhythm 10, returned after 130 -> reactivated
    "gone": [0, 10, 20, 30, 40, 50, 55, 150],     # rhythm 10, 50 days since > 4 x 10 -> lapsed
    "late": [150, 160, 170, 175],                 # rhythm 10 (median of 10, 10, 5), 25 days since > 20 -> at_risk
    "fresh": [185],                               # first order 15 days ago -> new
    "once": [10],                                 # one order 190 days ago, population gap 10 -> lapsed
    "future": [250],                              # after as_of -> not a customer yet
}
AS_OF = START + pd.Timedelta(days=200)


def test_crafted_customers_get_the_documented_stages():
    out = patronage.lifecycle_stages(orders(CRAFTED), as_of=AS_OF)
    assert out.index.tolist() == ["back", "fresh", "gone", "late", "once", "steady"]  # ids sorted, "future" absent
    assert out["stage"].to_dict() == {"steady": "active", "back": "reactivated", "gone": "lapsed",
                                      "late": "at_risk", "fresh": "new", "once": "lapsed"}
    assert list(out["stage"].cat.categories) == list(patronage.LIFECYCLE_STAGES)
    assert out.loc["late", "days_since_last_order"] == 25
    assert out.loc["late", "typical_gap_days"] == 10 and out.loc["late", "at_risk_after_days"] == 20
    assert out.loc["steady", "typical_gap_days"] == 45 and out.loc["steady", "n_orders"] == 3
    # the one-order customer is measured against the median typical gap (of 45, 10, 10, 10) = 10
    assert np.isnan(out.loc["once", "typical_gap_days"]) and out.loc["once", "lapsed_after_days"] == 40


def test_reactivated_customer_becomes_active_with_the_next_order_in_rhythm():
    spec = {"back": [0, 10, 20, 30, 40, 50, 180, 190]}  # one more order 10 days after coming back
    out = patronage.lifecycle_stages(orders(spec), as_of=START + pd.Timedelta(days=195), default_gap=10)
    assert out.loc["back", "stage"] == "active"


def test_fixed_thresholds_mean_rhythm_and_new_days():
    spec = {"a": [0, 1, 2, 160], "b": [0, 150], "c": [0, 100], "d": [190]}
    out = patronage.lifecycle_stages(orders(spec), as_of=AS_OF, at_risk_days=30, lapsed_days=60)
    assert out["stage"].tolist() == ["at_risk", "at_risk", "lapsed", "new"]
    assert patronage.lifecycle_stages(orders(spec), as_of=AS_OF, at_risk_days=30, lapsed_days=60,
                                      new_days=5).loc["d", "stage"] == "active"
    # mean rhythm: gaps 1, 1, 158 have median 1 but mean 53.3: 40 days since is no lapse on the mean,
    # and the 158-day gap after a rhythm of 1 day made the customer lapsed -> reactivated
    spec = {"a": [0, 1, 2, 160]}
    assert patronage.lifecycle_stages(orders(spec), as_of=AS_OF, rhythm="mean").loc["a", "stage"] == "reactivated"
    assert patronage.lifecycle_stages(orders(spec), as_of=AS_OF).loc["a", "stage"] == "lapsed"


def test_default_as_of_is_the_day_after_the_last_order():
    out = patronage.lifecycle_stages(orders({"a": [0, 10, 20], "b": [0, 30]}))
    assert out["days_since_last_order"].tolist() == [11, 1]


def test_lifecycle_transitions_count_moves_between_dates():
    spec = {"a": [0, 60], "b": [9], "c": [79], "d": [0, 5, 10, 15, 20, 25, 30]}
    moves = patronage.lifecycle_transitions(orders(spec), START + pd.Timedelta(days=31), START + pd.Timedelta(days=91),
                                            default_gap=10)
    # a: at_risk (31 days since, gap 10 -> 20 < 31 < 40) -> reactivated (gap 60 > 40, 31 days since < 2 x 60)
    # b: new -> lapsed; c: not acquired -> new; d: active (rhythm 5, 1 day since) -> lapsed
    assert moves.loc["at_risk", "reactivated"] == 1
    assert moves.loc["new", "lapsed"] == 1
    assert moves.loc["not_acquired", "new"] == 1
    assert moves.loc["active", "lapsed"] == 1
    assert moves.to_numpy().sum() == 4
    assert moves.index.tolist() == ["not_acquired"] + list(patronage.LIFECYCLE_STAGES)
    # the stages agree with lifecycle_stages at each date
    before = patronage.lifecycle_stages(orders(spec), as_of=START + pd.Timedelta(days=31), default_gap=10)
    assert before["stage"].value_counts().reindex(moves.index[1:]).tolist() == moves.sum(axis=1).iloc[1:].tolist()


def reference_stages(tx, as_of, new_days=30, k_risk=2.0, k_lapsed=4.0):
    """The documented rules, customer by customer, in plain Python."""
    days = (tx["date"] - pd.Timestamp("1970-01-01")).dt.days
    per_customer = {}
    for c, d in zip(tx["customer_id"], days):
        if d <= as_of:
            per_customer.setdefault(c, set()).add(d)
    rhythm = {}
    for c, ds in per_customer.items():
        ds = sorted(ds)
        gaps = np.diff(ds).astype(float)
        rhythm[c] = (ds, gaps)
    typical = [np.median(g) for _, g in rhythm.values() if len(g)]
    fallback = np.median(typical) if typical else np.nan
    stages = {}
    for c, (ds, gaps) in rhythm.items():
        gap = np.median(gaps) if len(gaps) else fallback
        since = as_of - ds[-1]
        prior = np.median(gaps[:-1]) if len(gaps) >= 2 else fallback
        if as_of - ds[0] < new_days:
            stages[c] = "new"
        elif since > k_lapsed * gap:
            stages[c] = "lapsed"
        elif since > k_risk * gap:
            stages[c] = "at_risk"
        elif len(gaps) and gaps[-1] > k_lapsed * prior:
            stages[c] = "reactivated"
        else:
            stages[c] = "active"
    return stages


@settings(max_examples=60, deadline=None)
@given(spec=st.dictionaries(st.integers(0, 20), st.lists(st.integers(0, 300), min_size=1, max_size=8), min_size=1,
                            max_size=12),
       as_of=st.integers(150, 320))
def test_stages_match_an_independent_implementation_of_the_rules(spec, as_of):
    tx = orders(spec)
    as_of_day = (START - pd.Timestamp("1970-01-01")).days + as_of
    want = reference_stages(tx, as_of_day)
    has_gap = any(len(set(d for d in ds if d <= as_of)) >= 2 for ds in spec.values())
    if not want:
        with pytest.raises(DataError, match="no customer has a purchase"):
            patronage.lifecycle_stages(tx, as_of=START + pd.Timedelta(days=as_of))
        return
    try:
        got = patronage.lifecycle_stages(tx, as_of=START + pd.Timedelta(days=as_of))
    except DataError as exc:
        assert not has_gap and "default_gap" in str(exc)
        return
    assert got["stage"].astype(str).to_dict() == want


def test_bad_parameters_and_inputs():
    tx = orders({"a": [0, 10], "b": [5]})
    for kwargs, name in [({"new_days": -1}, "new_days"), ({"new_days": 2.5}, "new_days"),
                         ({"at_risk_factor": 0}, "at_risk_factor"), ({"lapsed_factor": 1.5}, "lapsed_factor"),
                         ({"at_risk_days": -3}, "at_risk_days"), ({"at_risk_days": 9, "lapsed_days": 9}, "lapsed_days"),
                         ({"default_gap": "x"}, "default_gap"), ({"rhythm": "mode"}, "rhythm"),
                         ({"as_of": "not a date"}, "as_of")]:
        with pytest.raises(ParameterError) as info:
            patronage.lifecycle_stages(tx, **kwargs)
        assert info.value.parameter == name, kwargs
    with pytest.raises(DataError, match="no customer has a purchase on or before"):
        patronage.lifecycle_stages(tx, as_of="2023-01-01")
    with pytest.raises(DataError, match="default_gap"):
        patronage.lifecycle_stages(orders({"a": [0], "b": [5]}), as_of="2024-06-01")
    with pytest.raises(ParameterError, match="later than from_date"):
        patronage.lifecycle_transitions(tx, "2024-02-01", "2024-01-01")
    with pytest.raises(ParameterError, match="unknown lifecycle option 'as_of'"):
        patronage.lifecycle_transitions(tx, "2024-01-01", "2024-02-01", as_of="2024-01-01")
