"""Every bad input gets a clear ValueError/TypeError naming the column and the row's index label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import patronage
from patronage.exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError


def log(**overrides) -> pd.DataFrame:
    base = {"cust": [1, 2, 3], "when": ["2024-01-01", "2024-01-02", "2024-01-03"], "spend": [5.0, 6.0, 7.0]}
    base.update(overrides)
    return pd.DataFrame(base, index=["r0", "r1", "r2"])


def rfm(tx, **kw):
    return patronage.rfm_table(tx, customer="cust", date="when", amount="spend", **kw)


def summary(tx, **kw):
    return patronage.btyd_summary(tx, customer="cust", date="when", amount="spend", **kw)


@pytest.mark.parametrize("fn", [rfm, summary])
@pytest.mark.parametrize(
    "tx, exc, words",
    [
        (log().drop(columns="spend"), MissingColumnError, ["'spend'", "columns found: 'cust', 'when'"]),
        (log(cust=[1, None, 3]), DataError, ["'cust'", "missing customer id", "'r1'"]),
        (log(when=["2024-01-01", "not a date", "2024-01-03"]), DataError, ["'when'", "'not a date'", "'r1'"]),
        (log(when=pd.to_datetime(["2024-01-01", None, "2024-01-03"])), DataError, ["'when'", "NaT", "'r1'"]),
        (log(when=[20240101, 20240102, 20240103]), ColumnTypeError, ["'when'", "int64", "format='%Y%m%d'"]),
        (log(spend=[5.0, np.nan, 7.0]), DataError, ["'spend'", "NaN or infinite", "'r1'"]),
        (log(spend=[5.0, 6.0, np.inf]), DataError, ["'spend'", "NaN or infinite", "'r2'"]),
        (log(spend=["5", "six", "7"]), ColumnTypeError, ["'spend'", "'six'", "'r1'"]),
        (log(spend=[True, False, True]), ColumnTypeError, ["'spend'", "bool"]),
        (log().iloc[:0], DataError, ["empty"]),
    ],
)
def test_bad_transactions(fn, tx, exc, words):
    before = tx.copy(deep=True)
    with pytest.raises(exc) as info:
        fn(tx)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    pd.testing.assert_frame_equal(tx, before)


def test_exceptions_are_value_and_type_errors():
    assert issubclass(DataError, ValueError) and issubclass(MissingColumnError, ValueError)
    assert issubclass(ColumnTypeError, TypeError) and issubclass(ParameterError, ValueError)
    with pytest.raises(ValueError):
        rfm(log(spend=[1.0, np.nan, 2.0]))


def test_error_carries_field_row_and_label():
    with pytest.raises(DataError) as info:
        rfm(log(spend=[5.0, 6.0, np.nan]))
    assert (info.value.field, info.value.row, info.value.label) == ("spend", 2, "r2")


def test_returns_policy():
    tx = log(spend=[5.0, -2.0, 7.0])
    with pytest.raises(DataError, match=r"column 'spend' is negative at index label 'r1' \(row 1\).*returns='error'"):
        rfm(tx, returns="error")
    with pytest.raises(ParameterError, match="returns must be one of"):
        rfm(tx, returns="ignore")
    with pytest.raises(DataError, match="no transactions are left"):
        rfm(log(spend=[-1.0, -2.0, -3.0]), returns="drop")


def test_as_of_before_last_transaction():
    with pytest.raises(DataError, match=r"as_of \(2024-01-02\) is earlier than the last transaction \(2024-01-03\)"):
        rfm(log(), as_of="2024-01-02")
    with pytest.raises(ParameterError, match="as_of='yesterday' is not a date"):
        rfm(log(), as_of="yesterday")


def test_not_a_dataframe():
    with pytest.raises(TypeError, match=r"tx must be a table \(a pandas or polars DataFrame.*\), got dict"):
        patronage.rfm_table({"customer_id": [1]})


def test_summary_parameters():
    with pytest.raises(ParameterError, match="freq"):
        summary(log(), freq="Q")
    with pytest.raises(ParameterError, match="freq_multiplier"):
        summary(log(), freq_multiplier=0)
    with pytest.raises(ParameterError, match="calibration_end"):
        summary(log(), calibration_end="2024-01-05", observation_end="2024-01-04")
    with pytest.raises(ParameterError, match="observation_end.*2023-06-01 is before the first purchase"):
        summary(log(), observation_end="2023-06-01")


def test_score_parameters():
    table = rfm(log())
    for bad in (1, 0, 256, 2.5, True):
        with pytest.raises(ParameterError, match="bins"):
            patronage.rfm_scores(table, bins=bad)
    with pytest.raises(MissingColumnError, match="'total_spend'"):
        patronage.rfm_scores(table.drop(columns="total_spend"))
    with pytest.raises(DataError, match=r"'recency_days' is NaN or infinite at index label 3 \(row 2\)"):
        patronage.rfm_scores(table.assign(recency_days=[1.0, 2.0, np.nan]))
    with pytest.raises(ParameterError, match="segment_map"):
        patronage.rfm_scores(table, segment_map={(6, 1): "x"})


def test_simulator_parameters():
    with pytest.raises(ParameterError, match="n_customers"):
        patronage.datasets.simulate_transactions(0)
    with pytest.raises(ParameterError, match="`r`"):
        patronage.datasets.simulate_transactions(10, r=-1.0, random_state=0)
    with pytest.raises(ParameterError, match="random_state"):
        patronage.datasets.simulate_transactions(10, random_state="seed")
