"""rfm_table, rfm_scores and segment_summary against independent references."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import patronage
from patronage.exceptions import DataError, ParameterError
from reference import rfm_reference

INT_COLS = ["recency_days", "tenure_days", "n_orders", "n_transactions", "n_returns"]
FLOAT_COLS = ["total_spend", "avg_order_value", "mean_days_between_orders", "std_days_between_orders",
              "returned_amount"]


def assert_matches_reference(got: pd.DataFrame, tx: pd.DataFrame, **kw) -> None:
    want = rfm_reference(tx, **kw)
    assert list(got.index) == list(want.index)
    for c in INT_COLS:
        np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(dtype=np.int64), err_msg=c)
    for c in FLOAT_COLS:
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(dtype=float), rtol=1e-12, atol=1e-9,
                                   err_msg=c)
    for c in ["first_purchase", "last_purchase"]:
        np.testing.assert_array_equal(got[c].to_numpy(), pd.to_datetime(want[c]).to_numpy(), err_msg=c)


@st.composite
def transaction_logs(draw):
    n = draw(st.integers(1, 60))
    n_customers = draw(st.integers(1, 8))
    ids = draw(st.lists(st.integers(0, n_customers - 1), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))  # many duplicate days
    amounts = draw(st.lists(st.one_of(st.floats(0, 500, allow_nan=False),
                                      st.floats(-100, 0, allow_nan=False, exclude_max=True)),
                            min_size=n, max_size=n))
    id_kind = draw(st.sampled_from(["int", "str", "category", "uint", "wide_int"]))
    if id_kind == "str":
        col = [f"c{i:03d}" for i in ids]
    elif id_kind == "category":
        col = pd.Categorical([f"k{i}" for i in ids])
    elif id_kind == "uint":
        col = np.array(ids, dtype=np.uint32)
    elif id_kind == "wide_int":  # ids spread far apart: the hash path of the factorizer
        col = np.array(ids, dtype=np.int64) * 10**15 - 5 * 10**15
    else:
        col = np.array(ids, dtype=np.int64) + 1000
    date = pd.Timestamp("2023-12-20") + pd.to_timedelta(days, unit="D")
    # invoice ids: a few per customer, shared by rows of a day or of several days
    invoice = [f"inv{i % 3}-{d // 9}" for i, d in zip(ids, days)]
    return pd.DataFrame({"customer_id": col, "date": date, "amount": amounts, "invoice": invoice},
                        index=pd.RangeIndex(100, 100 + n))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=transaction_logs(), returns=st.sampled_from(["net", "drop"]), order=st.sampled_from([None, "invoice"]))
def test_rfm_table_equals_pandas_reference(tx, returns, order):
    before = tx.copy(deep=True)
    if not (tx["amount"] >= 0).any():  # returns only: nobody has a purchase
        with pytest.raises(DataError):
            patronage.rfm_table(tx, returns=returns, order=order)
        return
    got = patronage.rfm_table(tx, returns=returns, order=order)
    pd.testing.assert_frame_equal(tx, before)  # the caller's frame is untouched
    assert_matches_reference(got, tx, returns=returns, order=order)
    # the rows arrive in another order (the grouped path of the core): the same table
    shuffled = tx.sample(frac=1.0, random_state=0)
    again = patronage.rfm_table(shuffled, returns=returns, order=order)
    pd.testing.assert_frame_equal(again[INT_COLS], got[INT_COLS])


def test_hand_checked_profile():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "a"],
        "date": ["2024-03-01", "2024-03-01", "2024-03-05", "2024-03-04", "2024-03-11"],
        "amount": [10.0, 2.0, 5.0, 7.0, -3.0],
    })
    rfm = patronage.rfm_table(tx, as_of="2024-03-13")
    a = rfm.loc["a"]
    # 03-11 holds only a return: not an order; it reduces the spend of the 03-05 purchase
    assert (a.recency_days, a.tenure_days, a.n_orders, a.n_transactions) == (8, 12, 2, 4)
    assert a.last_purchase == pd.Timestamp("2024-03-05")
    assert a.total_spend == pytest.approx(14.0)
    assert a.avg_order_value == pytest.approx(7.0)
    assert a.mean_days_between_orders == pytest.approx(4.0)  # one gap
    assert np.isnan(a.std_days_between_orders)
    assert (a.n_returns, a.returned_amount) == (1, 3.0)
    assert rfm.loc["b", "recency_days"] == 9
    assert rfm.index.name == "customer_id"
    assert rfm["first_purchase"].dtype == pd.to_datetime(tx["date"]).dtype  # the parsed dates' resolution
    assert rfm["n_orders"].dtype == np.int64
    dropped = patronage.rfm_table(tx, as_of="2024-03-13", returns="drop")
    assert dropped.loc["a", "recency_days"] == 8 and dropped.loc["a", "total_spend"] == 17.0


DAY = pd.Timestamp("2024-01-01")


def log(rows, columns=("customer_id", "date", "amount")) -> pd.DataFrame:
    """Rows of (customer, day offset, amount[, order]) as a transaction log."""
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["date"] = DAY + pd.to_timedelta(frame["date"], unit="D")
    return frame


def test_rule_a_return_only_day_is_not_an_order():
    # c1 buys on day 0 and returns on day 5 only: one order, still a one-time buyer
    rfm = patronage.rfm_table(log([(1, 0, 30.0), (1, 5, -10.0), (2, 0, 5.0), (2, 3, 5.0)]))
    assert rfm.loc[1, "n_orders"] == 1 and rfm.loc[1, "last_purchase"] == DAY
    assert rfm.loc[1, "total_spend"] == 20.0 and rfm.loc[1, "recency_days"] == 6
    assert np.isnan(rfm.loc[1, "mean_days_between_orders"])
    assert (rfm["n_orders"] > 1).sum() == 1  # only customer 2 is a repeat buyer


def test_rule_a_return_on_a_purchase_day_nets_into_it():
    rfm = patronage.rfm_table(log([(1, 0, -4.0), (1, 0, 10.0), (1, 2, 6.0)]))
    assert (rfm.loc[1, "n_orders"], rfm.loc[1, "n_transactions"], rfm.loc[1, "n_returns"]) == (2, 3, 1)
    assert rfm.loc[1, "total_spend"] == 12.0 and rfm.loc[1, "first_purchase"] == DAY


def test_rule_a_customer_with_only_returns_has_no_row_and_net_spend_can_be_negative():
    tx = log([(1, 0, 10.0), (1, 4, -25.0), (2, 1, -7.0), (3, 2, 8.0)])
    rfm = patronage.rfm_table(tx)
    assert rfm.index.tolist() == [1, 3]  # 2 only returned (a purchase from before the log)
    assert rfm.loc[1, "total_spend"] == -15.0 and rfm.loc[1, "avg_order_value"] == -15.0
    # a return before the first purchase is left out of everything
    rfm = patronage.rfm_table(log([(1, 0, -5.0), (1, 3, 10.0)]))
    assert (rfm.loc[1, "total_spend"], rfm.loc[1, "n_returns"], rfm.loc[1, "n_transactions"]) == (10.0, 0, 1)
    with pytest.raises(DataError, match="no purchase"):
        patronage.rfm_table(log([(1, 0, -5.0), (2, 3, -1.0)]))
    with pytest.raises(DataError, match=r"column 'amount' is negative at index label 1 \(row 1\)"):
        patronage.rfm_table(tx, returns="error")


def test_rule_zero_amounts_are_purchases():
    # a free item is still bought; a log without amounts is all purchases
    rfm = patronage.rfm_table(log([(1, 0, 0.0), (1, 5, 0.0), (1, 6, -2.0)]))
    assert rfm.loc[1, "n_orders"] == 2 and rfm.loc[1, "total_spend"] == -2.0
    no_amount = log([(1, 0, 0.0), (1, 5, 0.0)]).drop(columns="amount")
    assert patronage.rfm_table(no_amount, amount=None)["n_orders"].tolist() == [2]


def test_rule_orders_with_several_lines_and_cancellations():
    cols = ("customer_id", "date", "amount", "invoice")
    tx = log([(1, 0, 5.0, "A"), (1, 0, 3.0, "A"),   # order A: two lines
              (1, 0, 2.0, "B"),                      # order B, same day
              (1, 4, 4.0, "C"), (1, 4, -1.0, "C"),   # order C with a partial cancellation line
              (1, 6, -3.0, "A"),                     # a late cancellation line on order A: back to day 0
              (1, 8, -2.0, "C900"),                  # a cancellation invoice (own number): latest purchase (day 4)
              (2, 1, 9.0, "A")], columns=cols)       # the same id under another customer: another order
    rfm = patronage.rfm_table(tx, order="invoice")
    assert rfm.loc[1, "n_orders"] == 3 and rfm.loc[2, "n_orders"] == 1
    assert rfm.loc[1, "n_transactions"] == 7 and rfm.loc[1, "n_returns"] == 3
    assert rfm.loc[1, "total_spend"] == 8.0 and rfm.loc[1, "avg_order_value"] == pytest.approx(8.0 / 3)
    assert rfm.loc[1, "mean_days_between_orders"] == 4.0  # between purchase days 0 and 4
    # without the id an order is a purchase day
    assert patronage.rfm_table(tx).loc[1, "n_orders"] == 2
    summary = patronage.btyd_summary(tx, order="invoice", observation_end=DAY + pd.Timedelta(days=8))
    # day 0 spend: 10 - 3 (late line of A) = 7; day 4: 4 - 1 - 2 = 1: the repeat period's spend
    assert summary.loc[1, "frequency"] == 1 and summary.loc[1, "monetary_value"] == 1.0
    # without ids the late line of A nets into day 4 (the latest purchase day before it)
    assert patronage.btyd_summary(tx).loc[1, "monetary_value"] == -2.0


def test_rule_invoice_level_and_line_level_logs_agree():
    cols = ("customer_id", "date", "amount", "invoice")
    lines = log([(1, 0, 5.0, "A"), (1, 0, 3.0, "A"), (1, 2, 4.0, "B"), (1, 3, -4.0, "C1"), (1, 9, 1.0, "D"),
                 (2, 1, 2.0, "E"), (2, 1, -2.0, "C2")], columns=cols)
    invoices = lines.groupby(["customer_id", "invoice"], as_index=False).agg(date=("date", "min"),
                                                                              amount=("amount", "sum"))
    a = patronage.rfm_table(lines, order="invoice")
    b = patronage.rfm_table(invoices, order="invoice")
    pd.testing.assert_frame_equal(a.drop(columns="n_transactions"), b.drop(columns="n_transactions"))


def test_order_column_errors_name_it():
    tx = log([(1, 0, 5.0, "A"), (1, 1, 2.0, None)], columns=("customer_id", "date", "amount", "invoice"))
    with pytest.raises(DataError, match=r"column 'invoice' has a missing order id at index label 1 \(row 1\)"):
        patronage.rfm_table(tx, order="invoice")
    with pytest.raises(patronage.exceptions.MissingColumnError, match="'Invoice' is not in the transaction log"):
        patronage.rfm_table(tx, order="Invoice")
    with pytest.raises(patronage.exceptions.ParameterError, match="order must be a column name"):
        patronage.rfm_table(tx, order=3)
    # integer ids are used as they are, any other type is factorized: the same orders
    ints = tx.assign(invoice=[10, 11])
    strs = tx.assign(invoice=["10", "11"])
    pd.testing.assert_frame_equal(patronage.rfm_table(ints, order="invoice"),
                                  patronage.rfm_table(strs, order="invoice"))


def test_float_ids_come_back_as_integers():
    tx = log([(12503.0, 0, 5.0), (12346.0, 1, 2.0), (12503.0, 4, 1.0)])
    rfm = patronage.rfm_table(tx)
    assert rfm.index.dtype == np.int64 and rfm.index.tolist() == [12346, 12503]
    assert patronage.btyd_summary(tx).index.dtype == np.int64
    X = patronage.churn_features(tx, window="3D")
    assert X.index.dtype == np.int64
    assert patronage.lifecycle_stages(tx, default_gap=5).index.dtype == np.int64
    assert patronage.pareto(tx).ranking.index.dtype == np.int64
    # not whole numbers: kept as floats
    assert patronage.rfm_table(tx.assign(customer_id=[1.5, 2.0, 1.5])).index.dtype == np.float64


def test_date_flavours_agree():
    days = ["2024-01-01", "2024-01-03", "2024-02-10"]
    base = pd.DataFrame({"customer_id": [1, 1, 2], "date": pd.to_datetime(days), "amount": [1.0, 2.0, 3.0]})
    want = patronage.rfm_table(base)
    variants = {
        "iso strings": days,
        "datetime.date": [dt.date.fromisoformat(d) for d in days],
        "with time of day": pd.to_datetime(days) + pd.Timedelta(hours=23, minutes=59),
        "tz-aware (local day)": pd.to_datetime(days).tz_localize("America/New_York") + pd.Timedelta(hours=22),
        "second resolution": pd.to_datetime(days).astype("datetime64[s]"),
    }
    for name, col in variants.items():
        got = patronage.rfm_table(base.assign(date=col))
        # the same days; the purchase dates keep each input's resolution (issue 31)
        pd.testing.assert_frame_equal(got.astype({c: want[c].dtype for c in ["first_purchase", "last_purchase"]}),
                                      want, obj=name)


def test_nullable_and_categorical_ids_keep_their_labels():
    tx = pd.DataFrame({"cid": pd.array([7, 3, 7], dtype="Int64"), "when": ["2024-01-01"] * 3,
                       "value": pd.array([1, 2, 3], dtype="Int64")})
    rfm = patronage.rfm_table(tx, customer="cid", date="when", amount="value")
    assert list(rfm.index) == [3, 7] and rfm.index.name == "cid"
    cat = pd.DataFrame({"customer_id": pd.Categorical(["z", "y", "z"], categories=["z", "y", "unused"]),
                        "date": ["2024-01-01"] * 3, "amount": [1.0, 2.0, 3.0]})
    rfm = patronage.rfm_table(cat)
    assert list(rfm.index) == ["z", "y"]  # category order; unused categories have no row
    assert list(rfm["total_spend"]) == [4.0, 2.0]


def test_as_of_default_and_equal_to_last_day():
    tx = pd.DataFrame({"customer_id": [1], "date": ["2024-05-05"], "amount": [9.0]})
    assert patronage.rfm_table(tx)["recency_days"].iloc[0] == 1
    assert patronage.rfm_table(tx, as_of="2024-05-05")["recency_days"].iloc[0] == 0


def test_cdnow_full_log():
    rfm = patronage.rfm_table(patronage.datasets.load_cdnow())
    assert len(rfm) == 23570
    assert rfm["n_transactions"].sum() == 69659
    assert rfm["total_spend"].sum() == pytest.approx(2500315.63, abs=0.01)
    assert rfm["last_purchase"].max() == pd.Timestamp("1998-06-30")


# --- scores and segments ---------------------------------------------------------------------


def test_scores_match_the_documented_rule():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 20, 500).astype(float)
    frame = pd.DataFrame({"recency_days": values, "n_orders": values, "total_spend": values})
    scored = patronage.rfm_scores(frame, bins=5)
    # independent: pandas' lowest rank of each tie block as a percentile
    q = pd.Series(values).rank(method="min") / len(values)
    want = np.clip(np.ceil(5 * q), 1, 5).astype(int)
    np.testing.assert_array_equal(scored["F"], want)
    np.testing.assert_array_equal(scored["M"], want)
    want_r = np.clip(np.ceil(5 * pd.Series(-values).rank(method="min") / len(values)), 1, 5)
    np.testing.assert_array_equal(scored["R"], want_r.astype(int))


def test_heavy_ties_do_not_collapse():
    # 80% one-order customers, like most shops
    n_orders = np.r_[np.ones(800), np.arange(2, 202)]
    frame = pd.DataFrame({"recency_days": np.arange(1000.0), "n_orders": n_orders,
                          "total_spend": np.arange(1000.0)})
    scored = patronage.rfm_scores(frame)
    assert scored.loc[:799, "F"].nunique() == 1
    assert scored.loc[:799, "F"].iloc[0] == 1  # one-order customers: the lowest score
    assert set(scored["F"].iloc[800:]) == {5}
    assert sorted(scored["R"].unique()) == [1, 2, 3, 4, 5]


def test_segments_follow_the_documented_grid():
    frame = pd.DataFrame({"recency_days": [1, 100, 100, 50], "n_orders": [10, 1, 10, 5],
                          "total_spend": [10.0, 1.0, 10.0, 5.0]})
    scored = patronage.rfm_scores(frame, bins=4)
    # by hand: R = [4, 1, 1, 3], F = M = [3, 1, 3, 2], FM = [3, 1, 3, 2]; on the 5-grid
    # (midpoints, ceil((s - 1/2) * 5 / 4)): R = [5, 1, 1, 4], FM = [4, 1, 4, 2]
    assert list(scored["rfm_score"]) == ["433", "111", "133", "322"]
    assert list(scored["segment"]) == ["Champions", "Lost", "Cannot Lose Them", "Potential Loyalist"]
    renamed = patronage.rfm_scores(frame, bins=4, segment_map={(5, 4): "VIP"})
    assert list(renamed["segment"]) == ["VIP", "Lost", "Cannot Lose Them", "Potential Loyalist"]


def test_ten_bins_and_separator():
    frame = pd.DataFrame({"recency_days": np.arange(20.0), "n_orders": np.arange(20.0),
                          "total_spend": np.arange(20.0)})
    scored = patronage.rfm_scores(frame, bins=10)
    assert scored["rfm_score"].iloc[-1] == "1-10-10"
    assert scored["segment"].iloc[-1] == "Cannot Lose Them"


def test_segment_summary_adds_up():
    rfm = patronage.rfm_table(patronage.datasets.simulate_transactions(3000, random_state=1))
    scored = patronage.rfm_scores(rfm)
    summary = patronage.segment_summary(scored)
    assert summary["customers"].sum() == len(rfm)
    assert summary["share_of_customers"].sum() == pytest.approx(1.0)
    assert summary["share_of_revenue"].sum() == pytest.approx(1.0)
    champions = scored[scored["segment"] == "Champions"]
    assert summary.loc["Champions", "revenue"] == pytest.approx(champions["total_spend"].sum())
    assert summary.loc["Champions", "mean_n_orders"] == pytest.approx(champions["n_orders"].mean())
    assert set(summary.index) <= set(patronage.SEGMENTS)


# --- date formats: an export's own dates, never guessed ---------------------------------------------------------

_ISO = ["1997-01-31", "1997-02-10", "1997-03-04", "1997-03-12"]
_AS_EXPORTED = {  # the same four days as each format writes them
    "%m/%d/%Y": ["01/31/1997", "02/10/1997", "03/04/1997", "03/12/1997"],
    "%d/%m/%Y": ["31/01/1997", "10/02/1997", "04/03/1997", "12/03/1997"],
    "%d.%m.%Y": ["31.01.1997", "10.02.1997", "04.03.1997", "12.03.1997"],
    "%d/%m/%Y %H:%M": ["31/01/1997 09:15", "10/02/1997 23:59", "04/03/1997 00:00", "12/03/1997 12:30"],
}


def _log(dates):
    return pd.DataFrame({"customer_id": [1, 1, 2, 2], "date": dates, "amount": [10.0, 20.0, 5.0, 7.5]})


@pytest.mark.parametrize("fmt", list(_AS_EXPORTED))
def test_date_format_reads_an_export_as_its_iso_twin(fmt):
    tx = _log(_AS_EXPORTED[fmt])
    before = tx.copy()
    got = patronage.rfm_table(tx, date_format=fmt)
    pd.testing.assert_frame_equal(got, patronage.rfm_table(_log(_ISO)))
    pd.testing.assert_frame_equal(tx, before)  # not modified
    # hand-checked: customer 1 bought on 31 Jan and 10 Feb, 10 days apart
    assert got.loc[1, "mean_days_between_orders"] == 10.0
    assert got.loc[1, "last_purchase"] == pd.Timestamp("1997-02-10")


def test_integer_dates_and_periods():
    ints = _log([19970131, 19970210, 19970304, 19970312])
    pd.testing.assert_frame_equal(patronage.rfm_table(ints, date_format="%Y%m%d"), patronage.rfm_table(_log(_ISO)))
    periods = _log(pd.PeriodIndex(["1997-01", "1997-02", "1997-03", "1997-04"], freq="M"))
    got = patronage.rfm_table(periods)  # a period counts on its first day
    assert list(got["first_purchase"]) == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-03-01")]
    assert list(got["last_purchase"]) == [pd.Timestamp("1997-02-01"), pd.Timestamp("1997-04-01")]


def test_day_first_or_month_first_is_never_guessed():
    # 03/04/1997 could be 3 April or 4 March: without date_format it is refused, naming the formats
    with pytest.raises(DataError, match=r"'03/04/1997'.*row 0.*never guessed.*date_format=.*'%m/%d/%Y'.*'%d/%m/%Y'"):
        patronage.rfm_table(_log(["03/04/1997", "03/05/1997", "03/06/1997", "03/07/1997"]))
    with pytest.raises(DataError, match=r"'31/01/1997' at index label 0 \(row 0\) under date_format='%m/%d/%Y'"):
        patronage.rfm_table(_log(_AS_EXPORTED["%d/%m/%Y"]), date_format="%m/%d/%Y")
    with pytest.raises(ParameterError, match="date_format.*'mixed'.*accepted"):
        patronage.rfm_table(_log(_ISO), date_format="mixed")


@pytest.mark.parametrize("call", [
    lambda tx, **kw: patronage.btyd_summary(tx, **kw),
    lambda tx, **kw: patronage.churn_features(tx, **kw),
    lambda tx, **kw: patronage.churn_dataset(tx, cutoff="1997-02-15", horizon="20D", **kw),
    lambda tx, **kw: patronage.repurchase_rate(tx, **kw),
    lambda tx, **kw: patronage.retention(tx, **kw),
    lambda tx, **kw: patronage.cohort_retention(tx, **kw),
    lambda tx, **kw: patronage.pareto(tx, **kw).top_share,
    lambda tx, **kw: patronage.lifecycle_stages(tx, **kw),
    lambda tx, **kw: patronage.lifecycle_transitions(tx, "1997-02-01", "1997-03-10", **kw),
])
def test_every_function_that_takes_a_log_takes_date_format(call):
    fmt = "%d.%m.%Y"
    got, want = call(_log(_AS_EXPORTED[fmt]), date_format=fmt), call(_log(_ISO))
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want)
    elif isinstance(want, tuple):
        pd.testing.assert_frame_equal(got[0], want[0])
        pd.testing.assert_series_equal(got[1], want[1])
    else:
        assert got == want
    with pytest.raises(DataError, match="never guessed"):
        call(_log(_AS_EXPORTED[fmt]))
