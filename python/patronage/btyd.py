"""Buy-till-you-die: repeat-purchase summaries (and, with the BTYD models, BG/NBD and CLV)."""

from __future__ import annotations

from typing import Any, Optional

import pandas as pd

from . import _core
from ._frame import read_transactions, to_day
from .exceptions import ParameterError

__all__ = ["btyd_summary"]


def btyd_summary(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    *,
    freq: str = "D",
    freq_multiplier: float = 1,
    observation_end: Any = None,
    calibration_end: Any = None,
    returns: str = "net",
) -> pd.DataFrame:
    """The ``frequency, recency, T, monetary_value`` table BTYD models are fitted on.

    The conventions (and parameter meanings) are those of ``lifetimes``'
    ``summary_data_from_transaction_data`` and ``calibration_and_holdout_data``
    and of pymc-marketing's ``rfm_summary``:

    * transactions are bucketed into periods of ``freq`` (``"D"`` days,
      ``"W"`` weeks ending on Sunday, ``"M"`` calendar months) and summed per
      period; transactions in periods after ``observation_end`` are ignored;
    * ``frequency`` is the number of repeat purchase periods;
    * ``recency`` is the time from the first to the last purchase period and
      ``T`` from the first purchase period to the period of ``observation_end``
      (default: the last transaction), in periods divided by
      ``freq_multiplier`` (``freq="D", freq_multiplier=7`` gives weeks counted
      in days; months are whole calendar months between period starts);
    * ``monetary_value`` is the mean spend of the repeat periods (0 without).

    With ``calibration_end`` the table describes the calibration period
    (columns ``frequency_cal``, ``recency_cal``, ``T_cal``,
    ``monetary_value_cal``) and adds the holdout up to ``observation_end``:
    ``frequency_holdout`` (distinct purchase periods), ``monetary_value_holdout``
    (mean amount of the holdout transactions) and ``duration_holdout``.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (see :func:`patronage.rfm_table` for the accepted
        dtypes and the ``returns`` policy). Not modified.
    amount : str or None
        The amount column; ``None`` leaves out the monetary columns.

    Returns
    -------
    DataFrame
        Float columns, indexed by customer id (sorted).

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                    "date": ["2024-01-01", "2024-01-08", "2024-01-22", "2024-01-15"],
    ...                    "amount": [10.0, 20.0, 40.0, 7.0]})
    >>> patronage.btyd_summary(tx, observation_end="2024-01-31")
                 frequency  recency     T  monetary_value
    customer_id
    1                  2.0     21.0  30.0            30.0
    2                  0.0      0.0  16.0             0.0
    """
    log = read_transactions(tx, customer, date, amount, returns)
    if isinstance(freq_multiplier, bool) or not isinstance(freq_multiplier, (int, float)):
        raise ParameterError(f"freq_multiplier must be a positive number, got {freq_multiplier!r}",
                             "freq_multiplier")
    obs = None if observation_end is None else to_day(observation_end, "observation_end")
    cal = None if calibration_end is None else to_day(calibration_end, "calibration_end")
    with log.labelled_errors():
        cols = _core.btyd_summary(*log.core_args(), returns, str(freq), float(freq_multiplier), obs, cal)
    index = log.customer_index(cols.pop("customer"))
    names = ["frequency", "recency", "T"] + (["monetary_value"] if amount is not None else [])
    cols["T"] = cols.pop("t")
    suffix = "_cal" if cal is not None else ""
    out = pd.DataFrame({f"{n}{suffix}": cols[n] for n in names}, index=index, copy=False)
    if cal is not None:
        out["frequency_holdout"] = cols["frequency_holdout"]
        if amount is not None:
            out["monetary_value_holdout"] = cols["monetary_value_holdout"]
        out["duration_holdout"] = float(cols["duration_holdout"])
    return out
