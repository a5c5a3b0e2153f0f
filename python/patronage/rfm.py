"""RFM: per-customer recency, frequency and monetary profiles, scores and segments."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

import numpy as np
import pandas as pd

from . import _core
from ._input import follows_input
from ._frame import finite_column, is_real_dtype, read_transactions, require_columns, require_frame, to_day
from .exceptions import ColumnTypeError, ParameterError

__all__ = ["rfm_table", "rfm_scores", "segment_summary", "SEGMENTS", "DEFAULT_SEGMENT_MAP"]

#: The named segments, best first.
SEGMENTS: Tuple[str, ...] = tuple(_core.SEGMENTS)

_GRID = _core.SEGMENT_GRID  # rows R = 5..1, columns FM = 1..5

#: The default segment of each (R, FM) cell of the 5 x 5 grid.
DEFAULT_SEGMENT_MAP: Mapping[Tuple[int, int], str] = {
    (5 - i, j + 1): name for i, row in enumerate(_GRID) for j, name in enumerate(row)
}

_COLUMNS = [
    "first_purchase", "last_purchase", "recency_days", "tenure_days", "n_orders", "n_transactions",
    "total_spend", "avg_order_value", "mean_days_between_orders", "std_days_between_orders",
    "n_returns", "returned_amount",
]


@follows_input
def rfm_table(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    *,
    as_of: Any = None,
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> pd.DataFrame:
    """One RFM profile per customer from a transaction log.

    Purchases, orders and returns (the same rules in every function that
    takes a log):

    * a row with an amount ``>= 0`` is a purchase line (a free item, amount 0,
      is still bought; without an amount column every row is one); a negative
      amount is a return line;
    * an **order** is a customer-day with a purchase line, or, with
      ``order=`` (an invoice id column), an order id with a purchase line
      (orders are per customer); a **purchase day** is a day with an order;
    * a return is never an order. Under ``returns="net"`` it is matched to a
      purchase day of its customer and reduces that day's spend: to its own
      order's day when its order id has a purchase line on or before it (a
      partial cancellation recorded on the invoice), otherwise to the most
      recent purchase day on or before it (exports such as Online Retail give
      a cancellation its own invoice number, so it is matched by date). A
      return before the customer's first purchase (of something bought before
      the log starts) is left out; a customer with only such returns has no
      purchase and no row. ``returns="drop"`` ignores negative rows;
      ``returns="error"`` rejects them naming the column and row;
    * a net amount (purchases minus returns) within 1e-9 of the amounts
      involved is exactly 0: decimal amounts that cancel (3 x 1.10 bought,
      3.30 returned) leave no binary rounding noise.

    Parameters
    ----------
    tx : DataFrame
        One row per transaction (invoice line or invoice). Not modified.
    customer, date, amount : str
        Column names. Ids may be int, str or categorical (float ids that are
        all whole numbers, as pandas reads integer ids with gaps, come back as
        int64); dates datetime64 (naive or tz-aware: the local calendar day
        counts), ``Period``, ``datetime.date``, ISO strings or strings in
        ``date_format``; amounts numeric.
    as_of : date-like, optional
        The reference day for recency and tenure. Defaults to the day after the
        last transaction; must not be earlier than the last transaction.
    returns : {"net", "drop", "error"}
        Negative amounts (returns), see above.
    order : str, optional
        The order (invoice) id column: ``n_orders`` then counts orders, not
        purchase days.
    date_format : str, optional
        The strftime format of date strings that are not ISO, e.g.
        ``"%d/%m/%Y"`` (31/01/1997), ``"%m/%d/%Y"`` (01/31/1997) or
        ``"%d.%m.%Y"``; also for integer dates (``"%Y%m%d"``). Day-first and
        month-first are never guessed: other strings are an error that lists
        these formats. ``Period`` columns need none (a period counts on its
        first day). Every function that takes a log accepts it.

    Returns
    -------
    DataFrame
        Indexed by customer id (sorted), one row per customer with a purchase:
        ``first_purchase``, ``last_purchase`` (datetime64 at the date column's resolution, purchase days: a
        later return does not move them), ``recency_days`` (as_of - last
        purchase), ``tenure_days`` (as_of - first purchase), ``n_orders``,
        ``n_transactions`` (purchase lines and the return lines matched to
        them), ``total_spend`` (net: purchases minus returns; zero or negative
        when a customer returned as much as they bought), ``avg_order_value``
        (total_spend / n_orders), ``mean_days_between_orders`` and
        ``std_days_between_orders`` (gaps between consecutive purchase days;
        several orders on one day are one visit; NaN with one purchase day, the
        std with fewer than two gaps), ``n_returns`` and ``returned_amount``
        (matched return lines, absolute amount).

    See Also
    --------
    rfm_scores : R, F, M scores and named segments.
    btyd_summary : The summary of the BTYD models.
    CustomerSegmenter : Value tiers from the RFM table.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...                    "date": ["2024-01-01", "2024-01-11", "2024-01-05"],
    ...                    "amount": [20.0, 30.0, 15.0]})
    >>> rfm = patronage.rfm_table(tx)
    >>> rfm[["recency_days", "n_orders", "total_spend", "mean_days_between_orders"]]
                 recency_days  n_orders  total_spend  mean_days_between_orders
    customer_id
    1                       1         2         50.0                      10.0
    2                       7         1         15.0                       NaN
    """
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    as_of_day = None if as_of is None else to_day(as_of, "as_of")
    with log.labelled_errors():
        cols = _core.rfm_table(log.core_args(returns), as_of_day)
    index = log.customer_index(cols.pop("customer"))
    cols["first_purchase"] = log.as_dates(cols.pop("first_day"))
    cols["last_purchase"] = log.as_dates(cols.pop("last_day"))
    # the arrays are fresh and ours: no consolidation copy
    return pd.DataFrame({name: cols[name] for name in _COLUMNS}, index=index, copy=False)


@follows_input
def rfm_scores(
    rfm: pd.DataFrame,
    bins: int = 5,
    *,
    recency: str = "recency_days",
    frequency: str = "n_orders",
    monetary: str = "total_spend",
    segment_map: Optional[Mapping[Tuple[int, int], str]] = None,
) -> pd.DataFrame:
    """RFM scores 1..bins and named segments.

    Each of R, F and M is ``ceil(bins * rank / n)``, where ``rank`` is the
    lowest rank of the customer's value among the ``n`` customers (pandas'
    ``rank(method="min")``). Distinct values fall into equal-frequency bins and
    ties always share a score: when most customers have one order they all get
    F = 1 instead of being split at random, and the bins never collapse or
    fail. R is reversed (a recent last order scores high).

    M ranks any values: customers whose net spend (``total_spend``) is zero
    or negative after returns score lowest.

    ``rfm_score`` is the three scores as a string (``"545"``; joined with
    ``"-"`` when ``bins > 9``). ``FM`` is the mean of F and M rounded half up,
    and ``segment`` comes from the (R, FM) cell of a 5 x 5 grid (scores on
    other ``bins`` are rescaled by their bin's midpoint,
    ``ceil((score - 1/2) * 5 / bins)``, so the lowest and highest bins map to
    1 and 5):

    ====  ==============  ==================  ==================  ================  ================
    R     FM = 1          FM = 2              FM = 3              FM = 4            FM = 5
    ====  ==============  ==================  ==================  ================  ================
    5     New Customers   Potential Loyalist  Potential Loyalist  Champions         Champions
    4     Promising       Potential Loyalist  Potential Loyalist  Loyal             Champions
    3     About to Sleep  About to Sleep      Need Attention      Loyal             Loyal
    2     Hibernating     Hibernating         At Risk             At Risk           Cannot Lose Them
    1     Lost            Lost                At Risk             Cannot Lose Them  Cannot Lose Them
    ====  ==============  ==================  ==================  ================  ================

    Parameters
    ----------
    rfm : DataFrame
        Usually the output of :func:`rfm_table`; not modified.
    bins : int, default 5
        Number of score levels (2..255).
    recency, frequency, monetary : str
        The columns scored.
    segment_map : mapping of (R, FM) -> name, optional
        Cells of the grid to rename; the others keep their default names.

    Returns
    -------
    DataFrame
        A copy of ``rfm`` with ``R``, ``F``, ``M``, ``FM``, ``rfm_score`` and
        ``segment`` (categorical) added.

    See Also
    --------
    rfm_table : The table it scores.
    segment_summary : Customers and revenue per segment.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> rfm = pd.DataFrame({"recency_days": [3, 200, 40, 90, 10],
    ...                     "n_orders": [12, 1, 3, 1, 6],
    ...                     "total_spend": [900.0, 20.0, 150.0, 35.0, 400.0]})
    >>> patronage.rfm_scores(rfm)[["R", "F", "M", "rfm_score", "segment"]]
       R  F  M rfm_score         segment
    0  5  5  5       555       Champions
    1  1  1  1       111            Lost
    2  3  3  3       333  Need Attention
    3  2  1  2       212     Hibernating
    4  4  4  4       444           Loyal
    """
    frame = require_frame(rfm, "rfm")
    names = _score_args(frame, bins, segment_map, [recency, frequency, monetary])
    if len(frame) == 0:
        raise ParameterError("rfm has no rows to score", "rfm")
    r = _core.quantile_scores(finite_column(frame, recency), int(bins), False)
    f = _core.quantile_scores(finite_column(frame, frequency), int(bins), True)
    m = _core.quantile_scores(finite_column(frame, monetary), int(bins), True)
    return _scored(frame, r, f, m, int(bins), names)


def _score_args(frame: pd.DataFrame, bins: Any, segment_map: Optional[Mapping[Tuple[int, int], str]],
                columns: list) -> dict:
    """Checks :func:`rfm_scores`' arguments; the segment name of each (R, FM) cell."""
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or not 2 <= bins <= 255:
        raise ParameterError(f"bins must be an integer from 2 to 255, got {bins!r}", "bins")
    require_columns(frame, columns, "RFM table")
    names = dict(DEFAULT_SEGMENT_MAP)
    if segment_map is not None:
        unknown = [k for k in segment_map if k not in names]
        if unknown:
            raise ParameterError(f"segment_map keys must be (R, FM) pairs in 1..5, got {unknown[0]!r}",
                                 "segment_map")
        names.update(segment_map)
    return names


def _scored(frame: pd.DataFrame, r: np.ndarray, f: np.ndarray, m: np.ndarray, bins: int,
            names: dict) -> pd.DataFrame:
    """A copy of ``frame`` with the R, F, M scores (uint8), FM, ``rfm_score`` and ``segment``."""
    fm = _core.fm_scores(f, m)
    sep = "" if bins <= 9 else "-"
    out = frame.copy()
    out["R"], out["F"], out["M"], out["FM"] = r, f, m, fm
    out["rfm_score"] = [f"{a}{sep}{b}{sep}{c}" for a, b, c in zip(r.tolist(), f.tolist(), m.tolist())]
    grid = np.array([[names[(5 - i, j + 1)] for j in range(5)] for i in range(5)], dtype=object)
    to5 = lambda s: np.clip(-(-(2 * s.astype(np.int64) - 1) * 5 // (2 * bins)), 1, 5)  # noqa: E731
    cells = grid[5 - to5(r), to5(fm) - 1]
    categories = list(dict.fromkeys(list(SEGMENTS) + list(names.values())))
    out["segment"] = pd.Categorical(cells, categories=categories)
    return out


def segment_summary(scored: pd.DataFrame, *, segment: str = "segment", recency: str = "recency_days",
                    frequency: str = "n_orders", monetary: str = "total_spend") -> pd.DataFrame:
    """Per segment: customers, revenue, their shares, and mean R, F and M.

    Parameters
    ----------
    scored : DataFrame
        The output of :func:`rfm_scores` (any frame with the named columns).

    Returns
    -------
    DataFrame
        Indexed by segment (in the order of the segment categories, empty
        segments left out): ``customers``, ``share_of_customers``, ``revenue``,
        ``share_of_revenue`` (NaN when the total revenue is 0),
        ``mean_recency_days``, ``mean_n_orders``, ``mean_total_spend`` (the
        means are named after the columns used).

    See Also
    --------
    rfm_scores : The segments it summarises.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> scored = pd.DataFrame({"segment": ["Champions", "Lost", "Champions"],
    ...                        "recency_days": [2, 300, 4], "n_orders": [9, 1, 7],
    ...                        "total_spend": [500.0, 20.0, 300.0]})
    >>> patronage.segment_summary(scored)[["customers", "share_of_revenue"]]
               customers  share_of_revenue
    segment
    Champions          2          0.97561
    Lost               1          0.02439
    """
    frame = require_frame(scored, "scored")
    return _segment_frame(_segment_sums(frame, segment, recency, frequency, monetary), recency, frequency,
                          monetary, _segment_order(frame[segment]))


def _segment_order(keys: pd.Series) -> Optional[pd.CategoricalDtype]:
    """The dtype of a categorical segment column (its categories are the summary's row order), else None
    (sorted)."""
    return keys.dtype if isinstance(keys.dtype, pd.CategoricalDtype) else None


def _segment_sums(frame: pd.DataFrame, segment: str, recency: str, frequency: str, monetary: str) -> pd.DataFrame:
    """Per segment (a missing segment is a row too: it counts in the totals): ``customers``, ``revenue``,
    and the sum and non-missing count of recency and frequency. Adds over batches of customers."""
    require_columns(frame, [segment, recency, frequency, monetary], "scored RFM table")
    columns = {"customers": np.ones(len(frame), dtype=np.int64), "revenue": finite_column(frame, monetary)}
    for name in (recency, frequency):
        series = frame[name]
        if not (is_real_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)):
            raise ColumnTypeError(f"column {name!r} must be numeric, got dtype {series.dtype}", field=name)
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        columns[f"sum_{name}"] = np.nan_to_num(values, nan=0.0)
        columns[f"n_{name}"] = (~np.isnan(values)).astype(np.int64)
    keys = frame[segment]
    if isinstance(keys.dtype, pd.CategoricalDtype):
        keys = keys.astype(object)
    table = pd.DataFrame(columns, index=pd.Index(keys.to_numpy(), name=segment))
    return table.groupby(level=0, dropna=False, sort=False).sum()


def _segment_frame(sums: pd.DataFrame, recency: str, frequency: str, monetary: str,
                   order: Optional[pd.CategoricalDtype]) -> pd.DataFrame:
    """The :func:`segment_summary` of (merged) :func:`_segment_sums`; ``order``: the segments' categorical dtype."""
    n_customers = int(sums["customers"].sum())
    total = sums["revenue"].sum()
    sums = sums[sums.index.notna()]
    if order is not None:
        sums = sums.reindex([c for c in order.categories if c in sums.index])
    else:
        sums = sums.sort_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "customers": sums["customers"].astype(np.int64),
            "share_of_customers": sums["customers"] / n_customers,
            "revenue": sums["revenue"],
            "share_of_revenue": sums["revenue"] / total if total != 0 else np.nan,
            f"mean_{recency}": sums[f"sum_{recency}"] / sums[f"n_{recency}"].where(sums[f"n_{recency}"] > 0),
            f"mean_{frequency}": sums[f"sum_{frequency}"] / sums[f"n_{frequency}"].where(sums[f"n_{frequency}"] > 0),
            f"mean_{monetary}": sums["revenue"] / sums["customers"],
        })
    if order is not None:
        out.index = pd.CategoricalIndex(out.index, dtype=order, name=sums.index.name)
    return out
