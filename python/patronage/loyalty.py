"""Loyalty: survey metrics, retention, cohorts, revenue concentration, lifecycle
stages, the satisfaction x loyalty matrix and the win-back list.

Survey metrics (:func:`nps`, :func:`csat`, :func:`ces`) take the answers of a
survey, with NaN marking a non-response (excluded from every statistic and
counted in ``n_missing``). Everything computed from a transaction log runs in
the compiled core in one pass over the customers, with the GIL released.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _core
from ._input import follows_input
from ._frame import (
    days_to_datetime,
    first_label,
    is_real_dtype,
    plain,
    read_transactions,
    require_columns,
    require_frame,
    to_day,
    to_days,
)
from .exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError
from .rfm import rfm_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = [
    "nps",
    "csat",
    "ces",
    "repurchase_rate",
    "retention",
    "cohort_retention",
    "pareto",
    "ParetoResult",
    "lifecycle_stages",
    "lifecycle_transitions",
    "LIFECYCLE_STAGES",
    "loyalty_matrix",
    "QUADRANTS",
    "winback_list",
    "DEFAULT_ACTIONS",
    "plot_cohort_retention",
    "plot_pareto",
    "plot_loyalty_matrix",
]

#: Lifecycle stages, in the order of the codes the core returns.
LIFECYCLE_STAGES: Tuple[str, ...] = ("new", "active", "reactivated", "at_risk", "lapsed")

#: The four cells of the satisfaction x loyalty matrix.
QUADRANTS: Tuple[str, ...] = ("loyal", "vulnerable", "hostage", "defector")

#: Suggested win-back action per customer tier (tier names compared case-insensitively).
DEFAULT_ACTIONS: Mapping[str, str] = {
    "core": "personal call",
    "potential": "tailored offer",
    "ordinary": "automated reminder",
}

_NOT_ACQUIRED = "not_acquired"
_PERIODS = ("D", "W", "M")


# --------------------------------------------------------------------------- survey metrics

def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)) or not (
        0 < float(confidence) < 1
    ):
        raise ParameterError(f"confidence must be a number strictly between 0 and 1, got {confidence!r}",
                             "confidence")
    return float(confidence)


def _answers(scores: Any, column: Optional[str], what: str) -> Tuple[pd.Series, Optional[pd.DataFrame]]:
    """The answers as a Series (and the frame they came from, for ``by=<column>``)."""
    frame = None
    if isinstance(scores, pd.DataFrame):
        frame = scores
        if column is None:
            if scores.shape[1] != 1:
                raise ParameterError(f"scores is a DataFrame with {scores.shape[1]} columns: name the answer "
                                     "column with column=...", "column")
            column = scores.columns[0]
        require_columns(scores, [column], "scores DataFrame")
        series = scores[column]
    elif isinstance(scores, pd.Series):
        series = scores
    elif isinstance(scores, (str, bytes)) or np.ndim(scores) != 1:
        raise TypeError(f"scores must be a Series, a DataFrame or a 1-D array of {what} answers, "
                        f"got {type(scores).__name__}")
    else:
        series = pd.Series(np.asarray(scores))
    if len(series) == 0:
        raise DataError(f"there are no {what} answers (the input is empty)")
    return series, frame


def _answer_values(series: pd.Series, what: str) -> np.ndarray:
    name = series.name if series.name is not None else "scores"
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ColumnTypeError(f"{name!r} must hold numeric {what} answers, got booleans", field=str(name))
    if not pd.api.types.is_numeric_dtype(dtype):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = (coerced.isna() & series.notna()).to_numpy()
        if bad.any():
            pos, label = first_label(series.index, bad)
            raise ColumnTypeError(f"{name!r} must hold numeric {what} answers, found {series.iloc[pos]!r} at "
                                  f"index label {label!r} (row {pos})", field=str(name))
        series = coerced
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))


def _groups(series: pd.Series, by: Any, frame: Optional[pd.DataFrame]) -> Tuple[np.ndarray, pd.Index]:
    n = len(series)
    if by is None:
        return np.zeros(n, dtype=np.int64), pd.Index(["all"])
    if isinstance(by, str):
        if frame is None:
            raise ParameterError(f"by={by!r} names a column, but scores is not a DataFrame; pass the grouping "
                                 "as a Series", "by")
        require_columns(frame, [by], "scores DataFrame")
        keys = frame[by]
    elif isinstance(by, pd.Series):
        if not by.index.equals(series.index):
            if by.index.has_duplicates or series.index.has_duplicates:
                raise DataError("by and scores have different, non-unique indexes: cannot align them")
            missing = ~series.index.isin(by.index)
            if missing.any():
                pos, label = first_label(series.index, missing)
                raise DataError(f"by has no group for the answer at index label {label!r} (row {pos})",
                                field="by", row=pos, label=label)
            by = by.reindex(series.index)
        keys = by
    else:
        values = np.asarray(by)
        if values.ndim != 1 or len(values) != n:
            raise ParameterError(f"by must have one group per answer ({n}), got shape {values.shape}", "by")
        keys = pd.Series(values, index=series.index)
    try:
        codes, uniques = pd.factorize(keys, sort=True)
    except TypeError:  # groups of mixed, unorderable types: first-seen order
        codes, uniques = pd.factorize(keys, sort=False)
    if (codes < 0).any():
        pos, label = first_label(series.index, codes < 0)
        raise DataError(f"by has a missing group at index label {label!r} (row {pos}); fill it (e.g. "
                        "by.fillna('unknown')) to keep those answers", field="by", row=pos, label=label)
    index = pd.Index(uniques, name=keys.name if keys.name is not None else "group")
    return np.ascontiguousarray(codes, dtype=np.int64), index


def _survey_tally(kind: str, scores: Any, by: Any, column: Optional[str], low: int,
                  high: int) -> Tuple[np.ndarray, np.ndarray, pd.Index]:
    """Answers counted per group and level (``groups x levels``), non-responses per group, the groups."""
    series, frame = _answers(scores, column, kind)
    values = _answer_values(series, kind)
    codes, index = _groups(series, by, frame)
    try:
        counts, missing = _core.survey_tally(values, codes, len(index), low, high)
    except DataError as exc:
        if exc.row is None:
            raise
        pos = exc.row
        label = plain(series.index[pos])
        name = series.name if series.name is not None else "scores"
        raise DataError(f"{kind} answer {values[pos]:g} in {name!r} at index label {label!r} (row {pos}) is not "
                        f"an integer from {low} to {high}", field=str(name), row=pos, label=label) from None
    return counts, missing, index


def _survey_frame(out: dict, columns: Sequence[str], index: pd.Index, single: bool, name: str):
    frame = pd.DataFrame({c: out[c] for c in columns}, index=index)
    return frame.iloc[0].rename(name) if single else frame


_NPS_COLUMNS = ["n", "n_missing", "promoters", "passives", "detractors", "share_promoters", "share_passives",
                "share_detractors", "nps", "se", "ci_low", "ci_high"]


def _nps_of_tally(counts: np.ndarray, missing: np.ndarray, index: pd.Index, single: bool,
                  confidence: Any) -> Union[pd.Series, pd.DataFrame]:
    out = _core.nps_stats(counts, missing, _check_confidence(confidence))
    return _survey_frame(out, _NPS_COLUMNS, index, single, "nps")


def _satisfied(satisfied: Any) -> List[int]:
    items = [] if isinstance(satisfied, (str, bytes)) or not np.iterable(satisfied) else list(satisfied)
    if not items or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise ParameterError(f"satisfied must be a non-empty collection of integer answers, got {satisfied!r}",
                             "satisfied")
    return sorted({_int64(v, "satisfied", satisfied) for v in items})


def _csat_of_tally(counts: np.ndarray, missing: np.ndarray, index: pd.Index, single: bool, low: int,
                   satisfied: Any, confidence: Any) -> Union[pd.Series, pd.DataFrame]:
    out = _core.share_stats(counts, missing, low, _satisfied(satisfied), _check_confidence(confidence))
    out["n_satisfied"], out["csat"] = out["n_yes"], out["share"]
    return _survey_frame(out, ["n", "n_missing", "n_satisfied", "csat", "ci_low", "ci_high"], index, single, "csat")


def _ces_of_tally(counts: np.ndarray, missing: np.ndarray, index: pd.Index, single: bool, low: int,
                  confidence: Any) -> Union[pd.Series, pd.DataFrame]:
    out = _core.mean_stats(counts, missing, low, _check_confidence(confidence))
    out["ces"] = out["mean"]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts.astype(np.float64) / out["n"][:, None]
    columns = ["n", "n_missing", "ces", "std", "se", "ci_low", "ci_high"]
    for j in range(counts.shape[1]):
        out[f"share_{low + j}"] = shares[:, j]
        columns.append(f"share_{low + j}")
    return _survey_frame(out, columns, index, single, "ces")


def nps(
    scores: Any,
    *,
    by: Any = None,
    column: Optional[str] = None,
    confidence: float = 0.95,
) -> Union[pd.Series, pd.DataFrame]:
    """Net Promoter Score of 0-10 "would you recommend us" answers.

    Promoters answer 9-10, passives 7-8, detractors 0-6;
    ``NPS = 100 * (share of promoters - share of detractors)`` on a -100..100
    scale. The confidence interval is Wald's for a difference of two shares
    of one multinomial sample: ``var(p_pro - p_det) = (p_pro + p_det -
    (p_pro - p_det)**2) / n`` (times 100 for the NPS scale), clipped to
    -100..100. It is only trustworthy with a few dozen answers per group: with
    one answer, or identical answers, its width is zero.

    Parameters
    ----------
    scores : Series, 1-D array or DataFrame
        One answer per respondent. NaN (or ``pd.NA``) is a non-response:
        excluded from every statistic and counted in ``n_missing``. Any other
        value that is not an integer from 0 to 10 raises a
        :class:`~patronage.exceptions.DataError` (a ``ValueError``) naming the
        value and its index label. Not modified.
    by : Series, array or str, optional
        Groups (segment, tier, ...). A Series is aligned on the index of
        ``scores``; an array must have one entry per answer; a string names a
        column when ``scores`` is a DataFrame. Missing groups are an error.
    column : str, optional
        The answer column when ``scores`` is a DataFrame (optional if it has
        a single column).
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    Series or DataFrame
        Without ``by``, a Series; with ``by``, one row per group (sorted):
        ``n`` (respondents), ``n_missing``, ``promoters``, ``passives``,
        ``detractors``, their shares ``share_promoters``, ``share_passives``,
        ``share_detractors`` (of respondents), ``nps``, ``se`` and
        ``ci_low``/``ci_high``. A group with no respondents has NaN statistics.

    See Also
    --------
    csat : Customer satisfaction.
    ces : Customer effort.

    Examples
    --------
    >>> import numpy as np, patronage
    >>> result = patronage.nps([10, 9, 9, 8, 6, 0, np.nan])
    >>> result[["n", "n_missing", "promoters", "detractors", "nps"]].round(2)
    n              6.00
    n_missing      1.00
    promoters      3.00
    detractors     2.00
    nps           16.67
    Name: nps, dtype: float64
    >>> patronage.nps([10, 9, 3, 7], by=["a", "a", "b", "b"])[["n", "nps"]]
           n    nps
    group
    a      2  100.0
    b      2  -50.0
    """
    _check_confidence(confidence)
    counts, missing, index = _survey_tally("NPS", scores, by, column, 0, 10)
    return _nps_of_tally(counts, missing, index, by is None, confidence)


def _int64(value: int, name: str, what: Any) -> int:
    """``value`` as a Python int the compiled core can take (a signed 64-bit integer)."""
    if not -(1 << 63) <= int(value) < (1 << 63):
        raise ParameterError(f"{name} {what!r} holds {value}, outside the 64-bit integer range", name)
    return int(value)


def _scale(scale: Any) -> Tuple[int, int]:
    """``(low, high)`` of a scale; the compiled core checks its width (at most
    101 answer levels, ``MAX_SCALE_LEVELS`` in ``loyalty/survey.rs``)."""
    if isinstance(scale, (int, np.integer)) and not isinstance(scale, bool):
        if scale < 2:
            raise ParameterError(f"scale must be at least 2 (answers 1..scale), got {scale}", "scale")
        return 1, _int64(scale, "scale", scale)
    if isinstance(scale, tuple) and len(scale) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in scale
    ) and scale[0] < scale[1]:
        return _int64(scale[0], "scale", scale), _int64(scale[1], "scale", scale)
    raise ParameterError(f"scale must be an integer n (answers 1..n) or a (low, high) pair, got {scale!r}", "scale")


def csat(
    scores: Any,
    *,
    scale: Any = 5,
    satisfied: Sequence[int] = (4, 5),
    by: Any = None,
    column: Optional[str] = None,
    confidence: float = 0.95,
) -> Union[pd.Series, pd.DataFrame]:
    """Customer satisfaction (CSAT): the share of satisfied answers.

    The interval is Wilson's score interval, which keeps close to its nominal
    coverage near 0 and 1, where CSAT usually lives (the Wald interval does not).

    Parameters
    ----------
    scores, by, column, confidence
        As in :func:`nps` (NaN is a non-response; non-integer or out-of-scale
        answers are an error naming the value and its index label).
    scale : int or (int, int), default 5
        ``n`` for answers ``1..n``, or the ``(low, high)`` pair; at most 101
        answer levels (``0..100``), else a ParameterError.
    satisfied : sequence of int, default (4, 5)
        The answers that count as satisfied.

    Returns
    -------
    Series or DataFrame
        ``n``, ``n_missing``, ``n_satisfied``, ``csat`` (share of respondents)
        and ``ci_low``/``ci_high``; a Series without ``by``, one row per group
        with it.

    See Also
    --------
    nps : Net promoter score.
    ces : Customer effort.
    loyalty_matrix : Satisfaction against repeat buying.

    Examples
    --------
    >>> import patronage
    >>> patronage.csat([5, 4, 4, 5, 2])[["n", "n_satisfied", "csat", "ci_low", "ci_high"]].round(4)
    n              5.0000
    n_satisfied    4.0000
    csat           0.8000
    ci_low         0.3755
    ci_high        0.9638
    Name: csat, dtype: float64
    """
    _check_confidence(confidence)
    low, high = _scale(scale)
    _satisfied(satisfied)
    counts, missing, index = _survey_tally("CSAT", scores, by, column, low, high)
    return _csat_of_tally(counts, missing, index, by is None, low, satisfied, confidence)


def ces(
    scores: Any,
    *,
    scale: Any = 7,
    by: Any = None,
    column: Optional[str] = None,
    confidence: float = 0.95,
) -> Union[pd.Series, pd.DataFrame]:
    """Customer effort score (CES): mean answer with a t interval, and the distribution.

    Parameters
    ----------
    scores, by, column, confidence
        As in :func:`nps`.
    scale : int or (int, int), default 7
        ``n`` for answers ``1..n``, or the ``(low, high)`` pair; at most 101
        answer levels (``0..100``), else a ParameterError.

    Returns
    -------
    Series or DataFrame
        ``n``, ``n_missing``, ``ces`` (mean answer), ``std`` (ddof = 1),
        ``se``, ``ci_low``/``ci_high`` (Student's t on ``n - 1`` degrees of
        freedom; NaN with a single respondent, where no spread can be
        estimated) and ``share_<answer>`` for every answer of the scale (the
        distribution among respondents).

    See Also
    --------
    nps : Net promoter score.
    csat : Customer satisfaction.

    Examples
    --------
    >>> import patronage
    >>> result = patronage.ces([1, 2, 3], scale=3)
    >>> result[["n", "ces", "std", "ci_low", "ci_high", "share_1"]].round(3)
    n          3.000
    ces        2.000
    std        1.000
    ci_low    -0.484
    ci_high    4.484
    share_1    0.333
    Name: ces, dtype: float64
    """
    _check_confidence(confidence)
    low, high = _scale(scale)
    counts, missing, index = _survey_tally("CES", scores, by, column, low, high)
    return _ces_of_tally(counts, missing, index, by is None, low, confidence)


# --------------------------------------------------------------------------- transaction-based

def _period(period: Any) -> str:
    if period not in _PERIODS:
        raise ParameterError(f"period must be one of {_PERIODS}, got {period!r}", "period")
    return period


def _period_index(start_days: np.ndarray, period: str, name: str) -> pd.PeriodIndex:
    return pd.PeriodIndex(pd.DatetimeIndex(days_to_datetime(start_days, "s")).to_period(period), name=name)


def repurchase_rate(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    *,
    within: Any = None,
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> pd.Series:
    """Share of customers who came back for a second purchase.

    A customer came back when they have a second purchase day (a return is
    not a purchase, and a second order on the first day is not a return
    visit; see :func:`patronage.rfm_table`). With ``within`` (days or a
    ``pd.Timedelta``) it must come at most that long after the first, and
    customers whose first purchase is less than ``within`` before the last day
    of the log are left out (``censored``): they have not had the whole window
    yet, and counting them would bias the rate down.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (see :func:`patronage.rfm_table` for dtypes,
        ``returns``, ``order`` and ``date_format``). ``amount=None`` if it has no amount column.
    within : int or Timedelta, optional
        The repurchase window.

    Returns
    -------
    Series
        ``customers``, ``repeat_customers``, ``repurchase_rate`` (NaN when
        every customer is censored) and ``censored``.

    See Also
    --------
    retention : Active, new and retained customers per period.
    cohort_retention : The cohort matrix.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05",
    ...                                            "2024-01-03", "2024-03-01"])})
    >>> patronage.repurchase_rate(tx, amount=None)
    customers           3.000000
    repeat_customers    2.000000
    repurchase_rate     0.666667
    censored            0.000000
    Name: repurchase, dtype: float64
    >>> float(patronage.repurchase_rate(tx, amount=None, within=30)["repurchase_rate"])
    0.3333333333333333
    """
    window = None if within is None else to_days(within, "within")
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    return _repurchase_series(*_repurchase_counts(log, returns, window))


def _repurchase_counts(log: Any, returns: str, window: Optional[int], end_day: Optional[int] = None) -> Tuple[int, int, int]:
    """``(customers, repeat_customers, censored)``; ``end_day``: the whole log's last day (default: this log's)."""
    with log.labelled_errors():
        return _core.repurchase(log.core_args(returns), window, end_day)


def _repurchase_series(customers: int, repeat: int, censored: int) -> pd.Series:
    rate = repeat / customers if customers else math.nan
    return pd.Series({"customers": customers, "repeat_customers": repeat, "repurchase_rate": rate,
                      "censored": censored}, name="repurchase", dtype=np.float64)


def retention(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    *,
    period: str = "M",
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> pd.DataFrame:
    """Period-over-period retention and churn.

    A customer is *active* in a period when they buy in it (a return is not
    activity; see :func:`patronage.rfm_table`). For each period
    from the first to the last of the log: ``active``, ``new`` (first order in
    the period), ``retained`` (active in the previous period too), ``returning``
    (active now, not in the previous period, not new),
    ``retention_rate = retained / active in the previous period`` and
    ``churn_rate = 1 - retention_rate``. The first period has no previous one
    and a period after one without active customers has nothing to retain:
    their rates are NaN. The last period may be partial.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (see :func:`patronage.rfm_table`, also for
        ``returns``, ``order`` and ``date_format``).
    period : {"D", "W", "M"}, default "M"
        Days, weeks (Monday to Sunday) or calendar months.

    Returns
    -------
    DataFrame
        Indexed by period (``pd.PeriodIndex``).

    See Also
    --------
    cohort_retention : Retention per acquisition cohort.
    repurchase_rate : Coming back within a window.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3],
    ...                    "date": ["2024-01-05", "2024-02-07", "2024-01-09", "2024-03-01", "2024-02-11"],
    ...                    "amount": 10.0})
    >>> patronage.retention(tx)[["active", "new", "retained", "returning", "retention_rate"]]
             active  new  retained  returning  retention_rate
    period
    2024-01       2    2         0          0             NaN
    2024-02       2    1         1          0             0.5
    2024-03       1    0         0          1             0.0
    """
    period = _period(period)
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    return _retention_frame(_retention_counts(log, returns, period), period)


_RETENTION_COUNTS = ("active", "new", "retained", "returning")


def _retention_counts(log: Any, returns: str, period: str) -> dict:
    """``period_start`` (days) and the counts of :data:`_RETENTION_COUNTS`, from the log's first to last period."""
    with log.labelled_errors():
        return _core.period_retention(log.core_args(returns), period)


def _retention_frame(cols: dict, period: str) -> pd.DataFrame:
    out = pd.DataFrame({k: cols[k] for k in _RETENTION_COUNTS},
                       index=_period_index(cols["period_start"], period, "period"))
    previous = np.concatenate([[np.nan], out["active"].to_numpy(dtype=np.float64)[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(previous > 0, out["retained"].to_numpy() / previous, np.nan)
    out["retention_rate"] = rate
    out["churn_rate"] = 1.0 - rate
    return out


def cohort_retention(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    *,
    period: str = "M",
    metric: str = "customers",
    normalize: bool = True,
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> pd.DataFrame:
    """The cohort x age retention matrix.

    A customer's cohort is the period of their first purchase; their age in a
    later period is the number of periods since. ``metric="customers"``
    counts the cohort's customers with a purchase at each age;
    ``metric="revenue"`` sums the cohort's net revenue at each age: its
    purchases minus the returns matched to them (a return counts at the age
    of the purchase it is matched to, see :func:`patronage.rfm_table`). With
    ``normalize`` (default) customer counts are divided by the cohort size
    (age 0 is 1.0) and revenue by the cohort's age-0 revenue (net revenue
    retention; a cohort whose age-0 revenue is not positive is an error).

    Cells beyond the last period of the log have not been observed yet and
    are NaN, not 0; observed cells without activity are 0. The last period
    may be partial. Cohorts without customers are left out.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (see :func:`patronage.rfm_table`, also for
        ``returns``, ``order`` and ``date_format``).
    period : {"D", "W", "M"}, default "M"
    metric : {"customers", "revenue"}, default "customers"
    normalize : bool, default True

    Returns
    -------
    DataFrame
        Indexed by cohort (``pd.PeriodIndex`` named ``cohort``), one column
        per age ``0, 1, ...`` (named ``age``). Plot it with
        :func:`plot_cohort_retention`.

    See Also
    --------
    plot_cohort_retention : Its heatmap.
    retention : Retention per period.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3],
    ...                    "date": ["2024-01-05", "2024-02-07", "2024-01-09", "2024-02-11", "2024-03-02"],
    ...                    "amount": [10.0, 20.0, 30.0, 5.0, 5.0]})
    >>> patronage.cohort_retention(tx)
    age        0    1    2
    cohort
    2024-01  1.0  0.5  0.0
    2024-02  1.0  1.0  NaN
    """
    period = _period(period)
    if metric not in ("customers", "revenue"):
        raise ParameterError(f"metric must be 'customers' or 'revenue', got {metric!r}", "metric")
    if amount is None and metric == "revenue":
        raise ParameterError("metric='revenue' needs an amount column", "amount")
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    with log.labelled_errors():
        cols = _core.cohort_retention(log.core_args(returns), period, metric, bool(normalize))
    values = cols["values"]
    return pd.DataFrame(values, index=_period_index(cols["cohort_start"], period, "cohort"),
                        columns=pd.RangeIndex(values.shape[1], name="age"))


# --------------------------------------------------------------------------- pareto

@dataclass(frozen=True)
class ParetoResult:
    """Revenue concentration over customers (see :func:`pareto`).

    Parameters
    ----------
    top : float
        The headline fraction of customers.
    top_share : float
        Share of revenue of the top ``top`` fraction.
    gini : float
        Gini coefficient of spend.
    n_customers : int
        Customers ranked.
    ranking : DataFrame
        ``spend``, ``rank`` and ``cumulative_share`` per customer, by decreasing spend.
    n_negative : int, default 0
        Customers with a negative net spend (ranked with a spend of 0).

    Built by :func:`pareto`; there is no need to construct one by hand.

    Attributes
    ----------
    top : float
        The headline fraction of customers (default 0.2).
    top_share : float
        Share of revenue brought by the top ``top`` fraction of customers.
    gini : float
        Gini coefficient of spend (0: everyone spends the same).
    n_customers : int
    ranking : DataFrame
        Indexed by customer, by decreasing spend: ``spend``, ``rank`` (1 =
        largest) and ``cumulative_share`` of revenue.
    n_negative : int
        Customers whose net spend was negative (they returned more than they
        bought in the log), ranked with a spend of 0.

    See Also
    --------
    pareto : Computes it.
    plot_pareto : The Lorenz curve.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> result = patronage.pareto(pd.Series([50.0, 30.0, 10.0, 5.0, 5.0]))
    >>> round(result.top_share, 2), result.share_of_top(0.4)
    (0.5, 0.8)
    """

    top: float
    top_share: float
    gini: float
    n_customers: int
    ranking: pd.DataFrame
    n_negative: int = 0

    def share_of_top(self, fraction: float) -> float:
        """Share of revenue of the top ``fraction`` of customers: ``ceil(fraction * n)`` customers."""
        return float(self.ranking["cumulative_share"].iloc[_top_count(fraction, self.n_customers) - 1])

    @property
    def shares(self) -> pd.Series:
        """Revenue share of the top 1%, 5%, 10%, 20% and 50% of customers."""
        fractions = [0.01, 0.05, 0.1, 0.2, 0.5]
        return pd.Series([self.share_of_top(f) for f in fractions], name="share_of_revenue",
                         index=pd.Index([f"top {f:.0%}" for f in fractions], name="customers"))

    @property
    def lorenz(self) -> pd.DataFrame:
        """The Lorenz curve: ``share_of_customers`` (poorest first) vs ``share_of_revenue``, n + 1 points."""
        top = self.ranking["cumulative_share"].to_numpy()
        n = len(top)
        revenue = np.concatenate([[0.0], 1.0 - top[::-1][1:], [1.0]])
        return pd.DataFrame({"share_of_customers": np.arange(n + 1) / n, "share_of_revenue": revenue})

    def plot(self, ax: Any = None) -> Axes:
        """The Lorenz curve with the headline marked (see :func:`plot_pareto`)."""
        return plot_pareto(self, ax=ax)

    def __repr__(self) -> str:
        negative = f", {self.n_negative} with negative net spend counted as 0" if self.n_negative else ""
        return (f"ParetoResult(top {self.top:.0%} of {self.n_customers} customers bring "
                f"{self.top_share:.1%} of revenue, gini={self.gini:.3f}{negative})")

    def _repr_html_(self) -> str:
        table = self.shares.map("{:.1%}".format).to_frame().to_html()
        negative = (f" {self.n_negative:,} customers returned more than they bought and count as spending 0."
                    if self.n_negative else "")
        return (f"<p><b>Revenue concentration</b>: the top {self.top:.0%} of {self.n_customers:,} customers "
                f"bring <b>{self.top_share:.1%}</b> of revenue; Gini coefficient {self.gini:.3f}.{negative}</p>"
                f"{table}")


def _top_count(fraction: Any, n: int) -> int:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)) or not (
        0 < float(fraction) <= 1
    ):
        raise ParameterError(f"top must be a fraction in (0, 1], got {fraction!r}", "top")
    # a small tolerance so that 0.2 * 23570 = 4714.000000000001 stays 4714
    return max(1, math.ceil(float(fraction) * n - 1e-9))


def pareto(
    data: Any,
    customer: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    *,
    spend: str = "total_spend",
    top: float = 0.2,
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> ParetoResult:
    """How concentrated revenue is: the top customers' share, Lorenz curve and Gini.

    The top ``top`` fraction of customers is the ``ceil(top * n)`` customers
    with the largest spend (ties broken by customer order). A customer whose
    net spend is negative (returns exceed purchases within the log) brought no
    revenue: they are ranked with a spend of 0 and counted in ``n_negative``,
    so the shares are shares of the revenue of the customers who spent.

    Parameters
    ----------
    data : DataFrame or Series
        A transaction log (when it has the ``date`` column: spend is each
        customer's net spend, the ``total_spend`` of :func:`patronage.rfm_table`
        under the same ``returns``, ``order`` and ``date_format``), a per-customer table with a
        ``spend`` column (e.g. :func:`patronage.rfm_table`), or a Series of
        spend per customer. NaN or infinite spend is an error. Not modified.
    spend : str, default "total_spend"
        The spend column of a per-customer table.
    top : float, default 0.2
        The headline fraction of customers.

    Returns
    -------
    ParetoResult
        ``top_share``, ``gini``, ``ranking``, ``lorenz``, ``shares`` (top 1%
        to 50%), ``share_of_top(x)``, ``n_negative`` and ``plot()``.

    See Also
    --------
    ParetoResult : What it returns.
    plot_pareto : The Lorenz curve.

    Examples
    --------
    >>> import patronage
    >>> from patronage.datasets import load_cdnow
    >>> result = patronage.pareto(load_cdnow())
    >>> round(result.top_share, 4), round(result.gini, 3)
    (0.6778, 0.635)
    >>> result
    ParetoResult(top 20% of 23570 customers bring 67.8% of revenue, gini=0.635)
    >>> result.shares.round(3)
    customers
    top 1%     0.159
    top 5%     0.367
    top 10%    0.509
    top 20%    0.678
    top 50%    0.896
    Name: share_of_revenue, dtype: float64
    """
    if isinstance(data, pd.Series):
        values, share_index = _spend_values(data.to_frame("spend"), "spend"), data.index
    else:
        frame = require_frame(data, "data")
        if date in frame.columns:
            net = rfm_table(frame, customer, date, amount, returns=returns, order=order,
                            date_format=date_format)["total_spend"]
            values, share_index = net.to_numpy(), net.index
        elif spend in frame.columns:
            values, share_index = _spend_values(frame, spend), frame.index
        else:
            raise MissingColumnError(f"data has neither a {date!r} column (a transaction log) nor a {spend!r} "
                                     f"column (a per-customer table); columns found: "
                                     f"{', '.join(map(repr, frame.columns))}", field=spend)
    if len(values) == 0:
        raise DataError("there are no customers to rank (the input is empty)")
    k = _top_count(top, len(values))
    negative = values < 0
    values = np.ascontiguousarray(np.where(negative, 0.0, values))
    try:
        order_, top_share, gini = _core.concentration(values)
    except DataError as exc:
        if exc.row is None:
            raise DataError("total spend is zero: there is no revenue to share") from None
        raise  # pragma: no cover (values are finite and non-negative here)
    ranking = pd.DataFrame({"spend": values[order_], "rank": np.arange(1, len(values) + 1),
                            "cumulative_share": top_share}, index=share_index.take(order_))
    return ParetoResult(top=float(top), top_share=float(top_share[k - 1]), gini=float(gini),
                        n_customers=len(values), ranking=ranking, n_negative=int(negative.sum()))


def _spend_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise ColumnTypeError(f"column {column!r} must be numeric spend, got dtype {series.dtype}", field=column)
    values = np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    bad = ~np.isfinite(values)
    if bad.any():
        pos, label = first_label(frame.index, bad)
        raise DataError(f"column {column!r} must be finite, got {values[pos]:g} at index label {label!r} "
                        f"(row {pos})", field=column, row=pos, label=label)
    return values


# --------------------------------------------------------------------------- lifecycle

def _lifecycle_args(new_days: Any, at_risk_factor: Any, lapsed_factor: Any, at_risk_days: Any, lapsed_days: Any,
                    rhythm: Any, default_gap: Any) -> tuple:
    def number(value: Any, name: str, optional: bool) -> Optional[float]:
        if value is None and optional:
            return None
        if isinstance(value, pd.Timedelta):
            return value / pd.Timedelta(days=1)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ParameterError(f"{name} must be a number of days, got {value!r}", name)
        return float(value)

    if isinstance(new_days, (float, np.floating)) or new_days is None:
        raise ParameterError(f"new_days must be an integer number of days, got {new_days!r}", "new_days")
    new_days = to_days(new_days, "new_days")
    if rhythm not in ("median", "mean"):
        raise ParameterError(f"rhythm must be 'median' or 'mean', got {rhythm!r}", "rhythm")
    return (new_days, number(at_risk_factor, "at_risk_factor", False),
            number(lapsed_factor, "lapsed_factor", False), number(at_risk_days, "at_risk_days", True),
            number(lapsed_days, "lapsed_days", True), rhythm, number(default_gap, "default_gap", True))


def _lifecycle_tables(log: Any, returns: str, as_of_days: Optional[List[int]], params: tuple) -> list:
    new_days, at_risk_factor, lapsed_factor, at_risk_days, lapsed_days, rhythm, default_gap = params
    with log.labelled_errors():
        return _core.lifecycle_stages(log.core_args(returns), as_of_days, new_days,
                                      at_risk_factor, lapsed_factor, at_risk_days, lapsed_days, rhythm, default_gap)


def _stage_categorical(codes: np.ndarray) -> pd.Categorical:
    dtype = pd.CategoricalDtype(list(LIFECYCLE_STAGES), ordered=True)
    return pd.Categorical.from_codes(codes.astype(np.int8), dtype=dtype)


@follows_input
def lifecycle_stages(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    *,
    as_of: Any = None,
    new_days: int = 30,
    at_risk_factor: float = 2.0,
    lapsed_factor: float = 4.0,
    at_risk_days: Optional[float] = None,
    lapsed_days: Optional[float] = None,
    rhythm: str = "median",
    default_gap: Optional[float] = None,
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> pd.DataFrame:
    """One lifecycle stage per customer, relative to their own purchase rhythm.

    Stages are read off the purchase days on or before ``as_of`` (later rows
    are ignored, so past dates give past stages; a return is not a purchase,
    see :func:`patronage.rfm_table`). A customer's *typical gap* is the median
    (``rhythm="mean"``: the mean) of the gaps between their consecutive
    purchase days; a customer with one purchase day has none and is measured
    against ``default_gap`` (default: the median typical gap of the customers
    who have one). The rules, first match wins:

    1. ``new``: the first order is fewer than ``new_days`` days before ``as_of``;
    2. ``lapsed``: days since the last order > ``lapsed_factor`` x typical gap
       (or > ``lapsed_days`` if given);
    3. ``at_risk``: days since the last order > ``at_risk_factor`` x typical
       gap (or > ``at_risk_days``);
    4. ``reactivated``: the last order ended a gap that had made the customer
       lapsed (longer than ``lapsed_factor`` x the typical gap of the gaps
       before it, or ``lapsed_days``); the next order in rhythm makes them active;
    5. ``active``: everyone else.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (see :func:`patronage.rfm_table` for dtypes,
        ``returns``, ``order`` and ``date_format``).
    as_of : date-like, optional
        Default: the day after the last transaction.
    new_days : int, default 30
    at_risk_factor, lapsed_factor : float, default 2 and 4
        Multiples of the typical gap (``lapsed_factor > at_risk_factor``).
    at_risk_days, lapsed_days : float, optional
        Fixed thresholds in days replacing the relative ones.
    rhythm : {"median", "mean"}, default "median"
    default_gap : float, optional
        Typical gap (days) for one-order customers.

    Returns
    -------
    DataFrame
        Indexed by customer (those with a purchase on or before ``as_of``):
        ``stage`` (ordered categorical of :data:`LIFECYCLE_STAGES`),
        ``n_orders``, ``days_since_last_order`` (since the last purchase
        day), ``typical_gap_days`` (NaN with one purchase day), and the
        thresholds applied, ``at_risk_after_days`` and ``lapsed_after_days``
        (NaN for a new customer with one purchase day when no customer has
        two and neither ``default_gap`` nor fixed thresholds are given: there
        is no rhythm to measure against yet).

    See Also
    --------
    lifecycle_transitions : Moves between two dates.
    winback_list : Whom to win back.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> days = {1: [0, 10, 20, 30, 175], 2: [0, 10, 20, 30, 40], 3: [100, 110, 130], 4: [170]}
    >>> tx = pd.DataFrame([(c, pd.Timestamp("2024-01-01") + pd.Timedelta(days=d))
    ...                    for c, ds in days.items() for d in ds], columns=["customer_id", "date"])
    >>> patronage.lifecycle_stages(tx, amount=None, as_of="2024-06-24")[["stage", "days_since_last_order"]]
                       stage  days_since_last_order
    customer_id
    1            reactivated                      0
    2                 lapsed                    135
    3                at_risk                     45
    4                    new                      5
    """
    params = _lifecycle_args(new_days, at_risk_factor, lapsed_factor, at_risk_days, lapsed_days, rhythm,
                             default_gap)
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    as_of_days = None if as_of is None else [to_day(as_of, "as_of")]
    (table,) = _lifecycle_tables(log, returns, as_of_days, params)
    stage = table.pop("stage")
    acquired = stage != _core.LIFECYCLE_NOT_ACQUIRED
    if not acquired.any():
        raise DataError(f"no customer has a purchase on or before as_of ({as_of!r})", field=date)
    pick: Any = slice(None)
    if acquired.all():  # the usual case (default as_of): no gather needed
        index = log.customers.copy()
        index.name = log.columns["customer"]
    else:
        pick = np.flatnonzero(acquired)
        index = log.customer_index(pick)
    columns = {"stage": _stage_categorical(stage[pick])}
    for name in ("n_orders", "days_since_last_order", "typical_gap_days", "at_risk_after_days",
                 "lapsed_after_days"):
        columns[name] = table[name][pick]
    return pd.DataFrame(columns, index=index)


def lifecycle_transitions(
    tx: pd.DataFrame,
    from_date: Any,
    to_date: Any,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    **stage_options: Any,
) -> pd.DataFrame:
    """How many customers moved between lifecycle stages from one date to another.

    Stages are those of :func:`lifecycle_stages` as of each date (same options,
    including ``returns``, ``order`` and ``date_format``, passed as keywords). Customers
    acquired between the two dates come from ``"not_acquired"``.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (not modified).
    from_date, to_date : date-like
        The two dates the stages are taken at (``from_date`` before ``to_date``).
    customer, date, amount : str
        Column names; ``amount=None`` when the log has no amounts (every row a purchase).
    **stage_options
        Passed to :func:`lifecycle_stages` for both dates (``default_gap``,
        ``returns``, ``order``, ...).

    Returns
    -------
    DataFrame
        Counts, rows ``from`` stage (``not_acquired`` first), columns ``to``
        stage; every stage appears even when empty.

    See Also
    --------
    lifecycle_stages : The stage of every customer at a date.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...                    "date": ["2024-01-01", "2024-03-01", "2024-01-10", "2024-03-20"]})
    >>> moves = patronage.lifecycle_transitions(tx, "2024-02-01", "2024-04-01", amount=None, default_gap=10)
    >>> moves.loc[["not_acquired", "new", "at_risk"], ["new", "reactivated", "lapsed"]]
    to            new  reactivated  lapsed
    from
    not_acquired    1            0       0
    new             0            0       1
    at_risk         0            1       0
    """
    returns, order, date_format, params, start, end = _transition_args(from_date, to_date, stage_options)
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    return _transitions_frame(_transition_counts(log, returns, start, end, params, params))


def _transition_args(from_date: Any, to_date: Any, stage_options: dict) -> tuple:
    """``(returns, order, date_format, params, from_day, to_day)`` of :func:`lifecycle_transitions`."""
    stage_options = dict(stage_options)
    returns = stage_options.pop("returns", "net")
    order = stage_options.pop("order", None)
    date_format = stage_options.pop("date_format", None)
    defaults = dict(new_days=30, at_risk_factor=2.0, lapsed_factor=4.0, at_risk_days=None, lapsed_days=None,
                    rhythm="median", default_gap=None)
    unknown = set(stage_options) - set(defaults)
    if unknown:
        name = sorted(unknown)[0]
        raise ParameterError(f"unknown lifecycle option {name!r}; options: {', '.join(defaults)}", name)
    defaults.update(stage_options)
    params = _lifecycle_args(**defaults)
    start, end = to_day(from_date, "from_date"), to_day(to_date, "to_date")
    if end <= start:
        raise ParameterError(f"to_date ({to_date!r}) must be later than from_date ({from_date!r})", "to_date")
    return returns, order, date_format, params, start, end


_TRANSITION_ROWS = [_NOT_ACQUIRED] + list(LIFECYCLE_STAGES)


def _transition_counts(log: Any, returns: str, start: int, end: int, params_from: tuple,
                       params_to: tuple) -> np.ndarray:
    """Customers per (stage at ``start``, stage at ``end``): ``not_acquired`` + stages x stages (int64).

    ``params_from`` / ``params_to`` differ only in ``default_gap`` when an engine fixes each date's own.
    """
    if params_from == params_to:
        before, after = _lifecycle_tables(log, returns, [start, end], params_from)
    else:
        (before,), (after,) = (_lifecycle_tables(log, returns, [start], params_from),
                               _lifecycle_tables(log, returns, [end], params_to))
    n = len(_TRANSITION_ROWS)
    # core codes 0..4 are the stages; NOT_ACQUIRED becomes row 0
    to_row = lambda s: np.where(s == _core.LIFECYCLE_NOT_ACQUIRED, 0, s.astype(np.int64) + 1)  # noqa: E731
    row, col = to_row(before["stage"]), to_row(after["stage"])
    keep = col > 0
    counts = np.bincount(row[keep] * n + col[keep], minlength=n * n)
    return counts.reshape(n, n)[:, 1:].astype(np.int64)


def _transitions_frame(counts: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(counts, index=pd.Index(_TRANSITION_ROWS, name="from"),
                        columns=pd.Index(list(LIFECYCLE_STAGES), name="to"))


# --------------------------------------------------------------------------- loyalty matrix

def _aligned_series(value: Any, name: str) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    if isinstance(value, (str, bytes, pd.DataFrame)) or np.ndim(value) != 1:
        raise TypeError(f"{name} must be a Series or a 1-D array, got {type(value).__name__}")
    return pd.Series(np.asarray(value))


def _numeric(series: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise ColumnTypeError(f"{name} must be numeric or boolean, got dtype {series.dtype}", field=name)
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        pos, label = first_label(series.index, np.isinf(values))
        raise DataError(f"{name} is infinite at index label {label!r} (row {pos})", field=name, row=pos, label=label)
    return values


def loyalty_matrix(
    satisfaction: Any,
    loyalty: Any,
    *,
    satisfied_at: float = 4,
    loyal_at: float = 1,
) -> pd.DataFrame:
    """The satisfaction x loyalty matrix of the CRM literature.

    ================  ==============  ======================================================
    satisfied         loyal           quadrant
    ================  ==============  ======================================================
    yes               yes             ``loyal``
    yes               no              ``vulnerable`` (easily taken by competitors)
    no                yes             ``hostage`` (still buying, e.g. locked in by a contract)
    no                no              ``defector`` (gone, may spread bad word of mouth)
    ================  ==============  ======================================================

    Default cut points: satisfied when ``satisfaction >= 4`` (CSAT on 1-5);
    loyal when ``loyalty >= 1`` (e.g. the number of repeat purchases, or a
    boolean "repurchased"). For an NPS answer as the loyalty measure use
    ``loyal_at=9`` (promoters); for CSAT on 1-7, ``satisfied_at=6``.

    Parameters
    ----------
    satisfaction, loyalty : Series or 1-D array
        Per customer. Series are aligned on their index (outer join; labels
        must be unique); arrays must have the same length. Booleans are taken
        as they are. A customer missing either measure (absent or NaN: a
        non-response) keeps a NaN quadrant and is left out of the counts.
    satisfied_at, loyal_at : float
        The cut points (inclusive).

    Returns
    -------
    DataFrame
        ``satisfaction``, ``loyalty``, ``satisfied``, ``loyal`` and
        ``quadrant`` (categorical of :data:`QUADRANTS`). Plot it with
        :func:`plot_loyalty_matrix`.

    See Also
    --------
    plot_loyalty_matrix : Its quadrant plot.
    csat : Satisfaction scores.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> csat = pd.Series([5, 4, 2, 1], index=["a", "b", "c", "d"])
    >>> repeat = pd.Series([3, 0, 2, 0], index=["a", "b", "c", "d"])
    >>> patronage.loyalty_matrix(csat, repeat)["quadrant"].tolist()
    ['loyal', 'vulnerable', 'hostage', 'defector']
    """
    for name, cut in (("satisfied_at", satisfied_at), ("loyal_at", loyal_at)):
        if isinstance(cut, bool) or not isinstance(cut, (int, float, np.integer, np.floating)) or not np.isfinite(cut):
            raise ParameterError(f"{name} must be a finite number, got {cut!r}", name)
    sat, loy = _aligned_series(satisfaction, "satisfaction"), _aligned_series(loyalty, "loyalty")
    both_arrays = not isinstance(satisfaction, pd.Series) and not isinstance(loyalty, pd.Series)
    if both_arrays or (isinstance(satisfaction, pd.Series) != isinstance(loyalty, pd.Series)):
        if len(sat) != len(loy):
            raise DataError(f"satisfaction has {len(sat)} values but loyalty has {len(loy)}")
        if not isinstance(satisfaction, pd.Series):
            sat = pd.Series(sat.to_numpy(), index=loy.index)
        else:
            loy = pd.Series(loy.to_numpy(), index=sat.index)
    for name, s in (("satisfaction", sat), ("loyalty", loy)):
        if s.index.has_duplicates:
            raise DataError(f"{name} has duplicate index labels (e.g. {plain(s.index[s.index.duplicated()][0])!r}); "
                            "one value per customer is needed", field=name)
    if len(sat) == 0 or len(loy) == 0:
        raise DataError("satisfaction and loyalty must not be empty")
    index = sat.index.union(loy.index, sort=False) if not sat.index.equals(loy.index) else sat.index
    sat_values = _numeric(sat.reindex(index), "satisfaction")
    loy_values = _numeric(loy.reindex(index), "loyalty")
    known = ~np.isnan(sat_values) & ~np.isnan(loy_values)
    satisfied = sat_values >= satisfied_at
    loyal = loy_values >= loyal_at
    codes = np.where(known, np.where(satisfied, np.where(loyal, 0, 1), np.where(loyal, 2, 3)), -1)
    return pd.DataFrame({
        "satisfaction": sat_values,
        "loyalty": loy_values,
        "satisfied": _flag(satisfied, sat_values),
        "loyal": _flag(loyal, loy_values),
        "quadrant": pd.Categorical.from_codes(codes, categories=list(QUADRANTS)),
    }, index=index)


def _flag(mask: np.ndarray, values: np.ndarray) -> Any:
    """A nullable boolean column: ``mask``, missing where ``values`` is NaN."""
    out = pd.array(mask, dtype="boolean")
    out[np.isnan(values)] = pd.NA
    return out


# --------------------------------------------------------------------------- win-back list

_REASONS = (
    ("tier", ("tier",)),
    ("segment", ("segment",)),
    ("stage", ("stage", "lifecycle_stage")),
    ("days_since_last_order", ("days_since_last_order", "recency_days")),
    ("usual_gap_days", ("usual_gap_days", "typical_gap_days", "mean_days_between_orders")),
)


def _reason_texts(reasons: Any, customers: pd.DataFrame) -> np.ndarray:
    """One "; "-joined text per customer from reason columns (or strings) aligned on its index."""
    if isinstance(reasons, pd.Series):
        reasons = reasons.to_frame()
    if not isinstance(reasons, pd.DataFrame):
        raise ParameterError("reasons must be a DataFrame (ChurnClassifier.reasons) or a Series of texts, got "
                             f"{type(reasons).__name__}", "reasons")
    missing = customers.index.difference(reasons.index)
    if len(missing):
        raise DataError(f"reasons has no row for customer {plain(missing[0])!r}; every customer needs one",
                        field="reasons")
    if reasons.index.has_duplicates:
        raise DataError("reasons has duplicate index labels", field="reasons")
    rows = reasons.reindex(customers.index).to_numpy(dtype=object)
    return np.array(["; ".join(str(v) for v in row if v is not None and not pd.isna(v)) for row in rows],
                    dtype=object)


def _rhythm_reasons(out: pd.DataFrame) -> np.ndarray:
    """Reasons without a model: how overdue the customer is, and their lifecycle stage."""
    n = len(out)
    days = (pd.to_numeric(out["days_since_last_order"], errors="coerce").to_numpy(dtype=np.float64)
            if "days_since_last_order" in out else np.full(n, np.nan))
    ratio = out["overdue_ratio"].to_numpy(dtype=np.float64) if "overdue_ratio" in out else np.full(n, np.nan)
    stage = out["stage"].to_numpy(dtype=object) if "stage" in out else np.full(n, None, dtype=object)
    texts = []
    for d, r, st in zip(days, ratio, stage):
        parts = []
        if np.isfinite(r):
            parts.append(f"no order for {r:.1f}x their usual gap")
        elif np.isfinite(d):
            parts.append(f"last order {int(round(d))} days ago")
        if st is not None and not pd.isna(st):
            parts.append(f"lifecycle stage: {str(st).replace('_', ' ')}")
        texts.append("; ".join(parts))
    return np.array(texts, dtype=object)


def _per_customer(value: Any, customers: pd.DataFrame, name: str) -> np.ndarray:
    """A per-customer number from a column name, an aligned Series, an array or a scalar."""
    if isinstance(value, str):
        require_columns(customers, [value], "customers table")
        series = customers[value]
    elif isinstance(value, pd.Series):
        if value.index.has_duplicates:
            raise DataError(f"{name} has duplicate index labels", field=name)
        missing = ~customers.index.isin(value.index)
        if missing.any():
            pos, label = first_label(customers.index, missing)
            raise DataError(f"{name} has no value for customer {label!r} (row {pos} of customers)",
                            field=name, row=pos, label=label)
        series = value.reindex(customers.index)
    elif np.ndim(value) == 0:
        series = pd.Series(value, index=customers.index)
    else:
        array = np.asarray(value)
        if array.ndim != 1 or len(array) != len(customers):
            raise DataError(f"{name} must have one value per customer ({len(customers)}), got shape {array.shape}",
                            field=name)
        series = pd.Series(array, index=customers.index)
    if not is_real_dtype(series.dtype):
        raise ColumnTypeError(f"{name} must be numeric (real numbers), got dtype {series.dtype}", field=name)
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        pos, label = first_label(customers.index, bad)
        raise DataError(f"{name} is NaN or infinite for customer {label!r} (row {pos})", field=name, row=pos,
                        label=label)
    with np.errstate(over="ignore"):
        total = float(np.abs(values).sum())
    if total > _MAX_ABS_TOTAL:
        raise DataError(f"{name} sums to {total:g} over the customers, beyond {_MAX_ABS_TOTAL:g}: its cumulative "
                        "totals would overflow; rescale it (e.g. to thousands)", field=name)
    return values


# Largest sum of absolute per-customer values (the core's transactions::MAX_ABS_TOTAL):
# cumulative columns and their sums then stay finite.
_MAX_ABS_TOTAL = 1e300


def winback_list(
    customers: pd.DataFrame,
    *,
    p_churn: Any = None,
    p_alive: Any = None,
    value: Any,
    budget: Optional[float] = None,
    cost_per_contact: Any = None,
    top: Optional[int] = None,
    action_map: Optional[Mapping[str, str]] = None,
    default_action: str = "automated reminder",
    reasons: Any = None,
    rank_by: str = "value_at_risk",
    uplift: Any = None,
) -> pd.DataFrame:
    """Customers worth winning back, ranked by expected value at risk.

    ``value_at_risk = p_lost * value``: the probability that the customer is
    lost (``p_churn``, or ``1 - p_alive`` from a BG/NBD model) times the value
    they would bring if they stay. With ``p_alive`` pass
    ``value_if_alive`` from :func:`patronage.value_at_risk` as ``value``,
    not the CLV, which already includes P(alive): the result is then that
    function's ``value_at_risk``, the one definition used across Patronage.
    Ties keep the order of ``customers``.

    ``rank_by="incremental_value"`` ranks instead by what the contact is
    expected to add: ``incremental_value = uplift * value``, with ``uplift``
    the predicted rise in the chance that the customer comes back *because*
    they are contacted (e.g. :meth:`patronage.UpliftClassifier.predict_uplift`
    on a win-back outcome). It skips customers who would come back anyway
    (high risk x value, no uplift) and ranks last those the contact puts off
    (negative uplift). ``p_churn``/``p_alive`` are then optional (shown when
    given).

    Why each customer is on the list, in the ``reasons`` column: with
    ``reasons`` (the output of :meth:`patronage.ChurnClassifier.reasons`:
    the features that raise this customer's churn risk most, in words), those
    sentences, joined by "; ". Without a model, the fallback describes the
    customer's rhythm from columns of ``customers`` when present ("no order
    for 4.0x their usual gap", else "last order 120 days ago", and the
    lifecycle stage), and these columns are copied as well: ``tier``,
    ``segment``, ``stage`` (or ``lifecycle_stage``), ``days_since_last_order``
    (or ``recency_days``), ``usual_gap_days`` (from ``usual_gap_days``, ``typical_gap_days`` or
    ``mean_days_between_orders``) and, with both of the last two,
    ``overdue_ratio`` (days since the last order / usual gap). Join
    :func:`patronage.rfm_table`, :func:`patronage.rfm_scores` or
    :func:`lifecycle_stages` into ``customers`` to get them. With model
    reasons only ``tier``, ``segment`` and ``stage`` are copied.

    The suggested ``action`` comes from the customer's ``tier`` (compared
    case-insensitively) through :data:`DEFAULT_ACTIONS` (core: personal call,
    potential: tailored offer, ordinary: automated reminder) updated with
    ``action_map``; other or missing tiers get ``default_action``.

    Parameters
    ----------
    customers : DataFrame
        One row per customer, indexed by customer id. Not modified.
    p_churn, p_alive : str, Series or array
        Exactly one of them: a column of ``customers``, a Series aligned on
        its index (every customer needs a value; extra labels are ignored) or
        an array in its row order. Probabilities in [0, 1].
    value : str, Series, array or number
        Value per customer if they stay (non-negative, e.g. ``value_if_alive``),
        same forms.
    budget : float, optional
        Money to spend on contacts: customers are taken in rank order until
        the next contact would exceed the budget (needs ``cost_per_contact``).
    cost_per_contact : float, str, Series or array, optional
        Cost of contacting each customer (a number, or per customer, e.g. a
        call costs more than an e-mail).
    top : int, optional
        Keep at most this many customers (applies with or without ``budget``).
    action_map : mapping of tier -> action, optional
    default_action : str, default "automated reminder"
    reasons : DataFrame or Series, optional
        Per customer (aligned on the index; every customer needs a row): the
        reason columns of :meth:`patronage.ChurnClassifier.reasons`, or one
        string per customer. Missing entries are skipped.
    rank_by : {"value_at_risk", "incremental_value"}, default "value_at_risk"
        The ranking (see above).
    uplift : str, Series or array, optional
        Needed by ``rank_by="incremental_value"`` (and only used then):
        predicted uplift per customer, in [-1, 1], same forms as ``value``.

    Returns
    -------
    DataFrame
        Indexed like ``customers``, best first: ``rank``, ``p_lost``,
        ``value``, ``value_at_risk``, ``cumulative_value_at_risk``,
        ``reasons``, the copied columns present, ``action`` and, with a cost,
        ``contact_cost`` and ``cumulative_cost``. With
        ``rank_by="incremental_value"``: ``rank``, ``p_lost`` and
        ``value_at_risk`` (when a probability is given), ``value``,
        ``uplift``, ``incremental_value``, ``cumulative_incremental_value``,
        then the same columns from ``reasons`` on.

    See Also
    --------
    value_at_risk : P(alive) and value if alive.
    lifecycle_stages : Stages by each customer's rhythm.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> customers = pd.DataFrame({"tier": ["core", "ordinary", "potential"]}, index=["a", "b", "c"])
    >>> ranked = patronage.winback_list(customers, p_alive=[0.9, 0.2, 0.5], value=[1000.0, 50.0, 400.0])
    >>> ranked[["rank", "p_lost", "value_at_risk", "tier", "action"]]
       rank  p_lost  value_at_risk       tier              action
    c     1     0.5          200.0  potential      tailored offer
    a     2     0.1          100.0       core       personal call
    b     3     0.8           40.0   ordinary  automated reminder
    >>> why = pd.DataFrame({"reason_1": ["spend down 60% vs the previous period", None, "last order 90 days ago"],
    ...                     "reason_2": ["no order for 3.1x their usual gap", None, None]}, index=["a", "b", "c"])
    >>> patronage.winback_list(customers, p_alive=[0.9, 0.2, 0.5], value=[1000.0, 50.0, 400.0],
    ...                        reasons=why)["reasons"].tolist()
    ['last order 90 days ago', 'spend down 60% vs the previous period; no order for 3.1x their usual gap', '']

    By expected incremental value: ``a`` is worth most but a contact barely
    changes what they do.

    >>> patronage.winback_list(customers, value=[1000.0, 50.0, 400.0], uplift=[0.005, 0.2, 0.1],
    ...                        rank_by="incremental_value")[["rank", "uplift", "incremental_value"]]
       rank  uplift  incremental_value
    c     1   0.100               40.0
    b     2   0.200               10.0
    a     3   0.005                5.0
    """
    frame = require_frame(customers, "customers")
    if len(frame) == 0:
        raise DataError("customers is empty: there is nobody to rank")
    if frame.index.has_duplicates:
        raise DataError(f"customers has duplicate index labels (e.g. {plain(frame.index[frame.index.duplicated()][0])!r}); "
                        "index it by customer id", field="customers")
    if rank_by not in ("value_at_risk", "incremental_value"):
        raise ParameterError(f"rank_by must be 'value_at_risk' or 'incremental_value', got {rank_by!r}", "rank_by")
    by_uplift = rank_by == "incremental_value"
    if by_uplift and uplift is None:
        raise ParameterError("rank_by='incremental_value' needs uplift (per customer)", "uplift")
    if not by_uplift and uplift is not None:
        raise ParameterError("uplift is only used with rank_by='incremental_value'", "uplift")
    if p_churn is not None and p_alive is not None or (not by_uplift and p_churn is None and p_alive is None):
        raise ParameterError("pass exactly one of p_churn and p_alive", "p_churn")
    p_lost = None
    if p_churn is not None or p_alive is not None:
        name = "p_churn" if p_churn is not None else "p_alive"
        prob = _per_customer(p_churn if p_churn is not None else p_alive, frame, name)
        if ((prob < 0) | (prob > 1)).any():
            pos, label = first_label(frame.index, (prob < 0) | (prob > 1))
            raise DataError(f"{name} must be a probability in [0, 1], got {prob[pos]:g} for customer {label!r}",
                            field=name, row=pos, label=label)
        p_lost = prob if p_churn is not None else 1.0 - prob
    lift = None
    if by_uplift:
        lift = _per_customer(uplift, frame, "uplift")
        if ((lift < -1) | (lift > 1)).any():
            pos, label = first_label(frame.index, (lift < -1) | (lift > 1))
            raise DataError(f"uplift must be a difference of probabilities in [-1, 1], got {lift[pos]:g} for "
                            f"customer {label!r}", field="uplift", row=pos, label=label)
    worth = _per_customer(value, frame, "value")
    if (worth < 0).any():
        pos, label = first_label(frame.index, worth < 0)
        raise DataError(f"value must be non-negative, got {worth[pos]:g} for customer {label!r}", field="value",
                        row=pos, label=label)
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
        raise ParameterError(f"top must be a positive integer, got {top!r}", "top")
    cost = None
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)) or not (
            np.isfinite(budget) and budget >= 0
        ):
            raise ParameterError(f"budget must be a non-negative amount, got {budget!r}", "budget")
        if cost_per_contact is None:
            raise ParameterError("budget needs cost_per_contact (use top=... for a simple count cap)",
                                 "cost_per_contact")
    if cost_per_contact is not None:
        cost = _per_customer(cost_per_contact, frame, "cost_per_contact")
        if (cost < 0).any():
            raise ParameterError("cost_per_contact must be non-negative", "cost_per_contact")
    actions = {str(k).strip().lower(): v for k, v in DEFAULT_ACTIONS.items()}
    if action_map is not None:
        if not isinstance(action_map, Mapping):
            raise ParameterError(f"action_map must be a mapping of tier -> action, got {action_map!r}", "action_map")
        actions.update({str(k).strip().lower(): v for k, v in action_map.items()})

    model_reasons = None if reasons is None else _reason_texts(reasons, frame)
    at_risk = None if p_lost is None else p_lost * worth
    if lift is None:
        order = np.argsort(-at_risk, kind="stable")
        columns = {"p_lost": p_lost[order], "value": worth[order], "value_at_risk": at_risk[order],
                   "cumulative_value_at_risk": np.cumsum(at_risk[order])}
    else:
        incremental = lift * worth
        order = np.argsort(-incremental, kind="stable")
        columns = {} if p_lost is None else {"p_lost": p_lost[order], "value_at_risk": at_risk[order]}
        columns.update({"value": worth[order], "uplift": lift[order], "incremental_value": incremental[order],
                        "cumulative_incremental_value": np.cumsum(incremental[order])})
    out = pd.DataFrame({"rank": np.arange(1, len(order) + 1), **columns}, index=frame.index.take(order))
    copied = _REASONS if model_reasons is None else _REASONS[:3]
    for column, sources in copied:
        source = next((s for s in sources if s in frame.columns), None)
        if source is not None:
            out[column] = frame[source].to_numpy()[order]
    if "days_since_last_order" in out and "usual_gap_days" in out:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["overdue_ratio"] = (pd.to_numeric(out["days_since_last_order"], errors="coerce")
                                    / pd.to_numeric(out["usual_gap_days"], errors="coerce"))
    out.insert(1 + len(columns), "reasons", model_reasons[order] if model_reasons is not None else _rhythm_reasons(out))
    if "tier" in out:
        tiers = out["tier"].astype(object)
        out["action"] = [actions.get(str(t).strip().lower(), default_action) if pd.notna(t) else default_action
                         for t in tiers]
    else:
        out["action"] = default_action
    keep = len(out)
    if cost is not None:
        out["contact_cost"] = cost[order]
        out["cumulative_cost"] = np.cumsum(out["contact_cost"].to_numpy())
        if budget is not None:
            over = out["cumulative_cost"].to_numpy() > budget
            keep = int(np.argmax(over)) if over.any() else len(out)
    if top is not None:
        keep = min(keep, int(top))
    return out.iloc[:keep]


# --------------------------------------------------------------------------- plots

def plot_cohort_retention(matrix: pd.DataFrame, *, ax: Any = None, annotate: Optional[bool] = None,
                          cmap: str = "Blues", mark_last: bool = True, **kwargs: Any) -> Axes:
    """Heatmap of a :func:`cohort_retention` matrix (unobserved cells blank).

    Returns the matplotlib Axes. ``annotate`` writes the values in the cells
    (default: when the matrix has at most 24 x 24 cells). The colour scale
    runs to the largest value after the first column (which is 100% by
    definition), so differences between cohorts show, as percentages when
    the matrix is normalized. Cohorts are labelled by their first day
    (weeks) or month, at most 24 labels, and the age axis names the period.
    ``mark_last`` hatches the log's last period, which may be partial, so
    its lower values are not read as a drop. Other keyword arguments go to
    ``Axes.imshow``.

    Parameters
    ----------
    matrix : DataFrame
        A :func:`cohort_retention` matrix.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    annotate : bool, optional
        Write the values in the cells (default: when the matrix has at most 24 x 24 cells).
    cmap : str, default "Blues"
        A matplotlib colormap name.
    mark_last : bool, default True
        Hatch each cohort's cell in the log's last period (it may be partial).
    **kwargs
        Passed to matplotlib (see above).

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    cohort_retention : The matrix it draws.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import patronage
    >>> tx = patronage.datasets.simulate_transactions(300, random_state=0)
    >>> ax = patronage.plot_cohort_retention(patronage.cohort_retention(tx))
    >>> ax.get_xlabel() != "" or ax.get_ylabel() != ""
    True
    """
    from ._loyalty_plot import cohort_heatmap

    return cohort_heatmap(require_frame(matrix, "matrix"), ax=ax, annotate=annotate, cmap=cmap,
                          mark_last=bool(mark_last), **kwargs)


def plot_pareto(result: ParetoResult, *, ax: Any = None, **kwargs: Any) -> Axes:
    """The Lorenz curve of a :func:`pareto` result, the equality line and the headline point.

    Other keyword arguments go to the Lorenz curve (``Axes.plot``).

    Parameters
    ----------
    result : ParetoResult
        A :func:`pareto` result.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    **kwargs
        Passed to matplotlib (see above).

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    pareto : The result it draws.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd, patronage
    >>> ax = patronage.plot_pareto(patronage.pareto(pd.Series([50.0, 30.0, 10.0, 5.0, 5.0])))
    >>> len(ax.lines) >= 2
    True
    """
    if not isinstance(result, ParetoResult):
        raise TypeError(f"result must be a ParetoResult (from patronage.pareto), got {type(result).__name__}")
    from ._loyalty_plot import lorenz_plot

    return lorenz_plot(result, ax=ax, **kwargs)


def plot_loyalty_matrix(matrix: pd.DataFrame, *, ax: Any = None, satisfied_at: Optional[float] = None,
                        loyal_at: Optional[float] = None, random_state: int = 0, **kwargs: Any) -> Axes:
    """Quadrant plot of a :func:`loyalty_matrix` result: jittered customers and the share in each quadrant.

    Loyalty above 20 (e.g. repeat counts up to 170) is drawn on a symmetric-log axis. Other keyword
    arguments go to ``Axes.scatter``.

    ``satisfied_at``/``loyal_at`` draw the cut lines (default: between the
    groups in the data). ``random_state`` seeds the jitter.

    Parameters
    ----------
    matrix : DataFrame
        A :func:`loyalty_matrix` result.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    satisfied_at, loyal_at : float, optional
        Where to draw the cut lines (default: between the groups in the data).
    random_state : int, default 0
        Seeds the jitter of the points.
    **kwargs
        Passed to matplotlib (see above).

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    loyalty_matrix : The matrix it draws.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import patronage
    >>> m = patronage.loyalty_matrix([5, 2, 4, 1], [3, 0, 0, 2])
    >>> ax = patronage.plot_loyalty_matrix(m)
    >>> list(m["quadrant"].astype(str))
    ['loyal', 'defector', 'vulnerable', 'hostage']
    """
    frame = require_frame(matrix, "matrix")
    require_columns(frame, ["satisfaction", "loyalty", "quadrant"], "loyalty matrix")
    from ._loyalty_plot import quadrant_plot

    return quadrant_plot(frame, ax=ax, satisfied_at=satisfied_at, loyal_at=loyal_at, random_state=random_state,
                         **kwargs)
