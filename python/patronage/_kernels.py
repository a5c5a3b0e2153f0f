"""The kernel contract: per-customer computations and mergeable reduces on batches of whole customers.

A *batch* is any table (see :mod:`patronage._input`) holding **all** the
transactions of its customers. A kernel is the public function itself called
with every global made explicit, so that it never derives a default from its
own batch: the day after the last transaction (``as_of``), the last day
(``observation_end``), the first purchase day (the first cohort period), the
population's median purchase gap (``lifecycle_stages``' ``default_gap``).
:class:`LogGlobals` holds those days; :func:`batch_globals` computes them for
one batch and :meth:`LogGlobals.merge` combines batches (min/max), so an
engine adapter (out-of-core, Spark, Dask) computes them once, runs the
kernels batch by batch and concatenates (per-customer tables) or adds
(partials) the results. Each customer's rows are put in a canonical order
(day, then amount) inside the core, so results do not depend on the input
order, the batching or the thread count.

Contract (stable names; ``g`` is the merged :class:`LogGlobals`):

* globals: ``LogGlobals``, ``batch_globals(batch, customer, date, amount, returns, order)``,
  ``LogGlobals.merge(parts)``, ``day(n)``, ``explicit(name, g, options)``;
  ``needs_median_gap(options)``, ``typical_gaps(batch, options)`` and ``median_gap(gaps)`` for
  ``default_gap``.
* per-customer maps: ``run(name, batch, g, options)`` (None when no customer of
  the batch qualifies) for ``name`` in :data:`PER_CUSTOMER`: ``rfm_table``,
  ``btyd_summary`` (``calibration_end`` too), ``churn_features``,
  ``churn_dataset`` (X with the label as a ``churned`` column; ``cutoff=``
  required), ``lifecycle_stages``.
* mergeable reduces, ``<name>_partial(batch, g, **options) -> Partial`` and
  ``<name>_result(summed_partial, g, **options)`` = the public function's
  return value: ``retention``, ``repurchase_rate``, ``nps``, ``csat``, ``ces``
  (batch = the answers, ``g`` unused), ``lifecycle_transitions``,
  ``segment_summary`` (batch = a scored per-customer table); and
  ``cohort_partial`` / ``cohort_matrix`` (a :class:`CohortPartial`; its flat table is keyed by
  ``(row, col)``, and ``CohortPartial.from_frame(t, g, period)``).
  Partials add with ``+``; ``Partial.to_frame()`` / ``<Class>.from_frame(frame)``
  give a flat table (key column, then numbers) an engine sums with
  ``groupBy(key).sum()``: keys ``period_start`` (retention), ``group``
  (surveys), ``from`` (transitions), ``segment`` (segment summary), none
  (repurchase: one row). ``from_frame`` takes what a flat table cannot carry:
  ``SurveyPartial.from_frame(t, index_name=...)`` (the groups' name) and
  ``SegmentPartial.from_frame(t, order=...)`` (the segments' CategoricalDtype
  or None). ``lifecycle_transitions_partial`` takes ``default_gap`` as one
  number or the pair (gap at ``from_date``, gap at ``to_date``), each the
  :func:`median_gap` of :func:`typical_gaps` at that date over all batches.
* scores: ``rfm_scores_partial(rfm_batch) -> ScoreHistogram`` (value ->
  customers for R, F, M; key ``(column, value)``) summed, then
  ``rfm_scores_map(rfm_batch, histogram, bins=...)`` scores each batch's
  customers exactly as :func:`patronage.rfm_scores` scores the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Optional

import numpy as np
import pandas as pd

from . import _core
from ._frame import read_transactions, to_day
from ._reduces import (  # noqa: F401  (re-exported: the contract above)
    Partial,
    RepurchasePartial,
    RetentionPartial,
    ScoreHistogram,
    SegmentPartial,
    SurveyPartial,
    TransitionsPartial,
    ces_partial,
    ces_result,
    csat_partial,
    csat_result,
    lifecycle_transitions_partial,
    lifecycle_transitions_result,
    nps_partial,
    nps_result,
    repurchase_rate_partial,
    repurchase_rate_result,
    retention_partial,
    retention_result,
    rfm_scores_map,
    rfm_scores_partial,
    segment_summary_partial,
    segment_summary_result,
)
from .btyd import btyd_summary
from .churn import churn_dataset, churn_features
from .exceptions import DataError, ParameterError
from .loyalty import _period, _period_index, lifecycle_stages
from .rfm import rfm_table

def churn_table(batch: Any, **options: Any) -> pd.DataFrame:
    """:func:`patronage.churn_dataset` as one table: ``X``'s columns and the label ``churned``."""
    X, y = churn_dataset(batch, **options)
    return X.assign(churned=y)


#: The per-customer kernels by name (the public functions; see :func:`explicit`).
PER_CUSTOMER: Dict[str, Callable[..., Any]] = {
    "rfm_table": rfm_table,
    "btyd_summary": btyd_summary,
    "churn_features": churn_features,
    "lifecycle_stages": lifecycle_stages,
    "churn_dataset": churn_table,
}


@dataclass(frozen=True)
class LogGlobals:
    """Days (since 1970-01-01) that the public functions default from the whole log.

    ``first_purchase_day``: the first day of a purchase line; ``last_day``: the
    last day of a row the ``returns`` policy keeps; ``max_day``: the last day
    of any row.
    """

    first_purchase_day: int
    last_day: int
    max_day: int

    @staticmethod
    def merge(parts: Iterable["LogGlobals"]) -> "LogGlobals":
        parts = list(parts)
        if not parts:
            raise DataError("the transaction log is empty (no rows)")
        return LogGlobals(min(p.first_purchase_day for p in parts), max(p.last_day for p in parts),
                          max(p.max_day for p in parts))


def batch_globals(batch: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                  returns: str = "net", order: Optional[str] = None) -> LogGlobals:
    """The :class:`LogGlobals` of one batch (merge them over batches)."""
    log = read_transactions(batch, customer, date, amount, returns, order)
    with log.labelled_errors():
        first, last = _core.log_span(log.core_args(returns))
    return LogGlobals(int(first), int(last), log.max_day)


def extreme_globals(first_buy: Any, last_buy: Any, last_any: Any, n_buy: int, amount: Optional[str],
                    returns: str = "net") -> LogGlobals:
    """The whole log's globals from its extreme dates, as an engine aggregates them in one pass.

    ``first_buy``/``last_buy``: the first/last date of a purchase line (an
    amount >= 0); ``last_any``: the last date of any row; ``n_buy``: the number
    of purchase lines (``amount`` None: every row is one). They are run
    through :func:`batch_globals` (the same code as a batch's) as a
    three-row log.
    """
    if amount is not None and n_buy == 0:
        raise DataError("no customer has a purchase in the log (every amount is negative)", field=amount)
    dates = pd.to_datetime(pd.Series([first_buy, last_buy, last_any]).map(
        lambda v: np.datetime64(int(v), "D") if isinstance(v, (int, np.integer)) else v))
    if amount is None:
        extremes = pd.DataFrame({"customer_id": 0, "date": dates[:2]})
        return batch_globals(extremes, "customer_id", "date", None)
    extremes = pd.DataFrame({"customer_id": 0, "date": dates, "amount": [0.0, 0.0, -1.0]})
    return batch_globals(extremes, "customer_id", "date", "amount", "net" if returns == "error" else returns)


def day(value: int) -> np.datetime64:
    """A day number as the date the public functions take."""
    return np.datetime64(int(value), "D")


def explicit(name: str, g: LogGlobals, options: dict) -> dict:
    """``options`` of kernel ``name`` with the globals it would default from its batch filled from ``g``.

    ``lifecycle_stages``' ``default_gap`` is not a day: pass it (see
    :func:`median_gap`) unless fixed thresholds make it unused.
    """
    opts = dict(options)
    if name in ("rfm_table", "lifecycle_stages") and opts.get("as_of") is None:
        opts["as_of"] = day(g.last_day + 1)
    elif name in ("btyd_summary", "churn_dataset") and opts.get("observation_end") is None:
        opts["observation_end"] = day(g.last_day)  # with calibration_end too: the holdout's end
    elif name == "churn_features" and opts.get("as_of") is None:
        opts["as_of"] = day(g.max_day)
    return opts


def typical_gaps(batch: Any, options: dict) -> np.ndarray:
    """The typical purchase gaps (days) of the batch's customers who have one, for :func:`median_gap`."""
    try:
        stages = lifecycle_stages(batch, **{**options, "default_gap": 1.0})  # default_gap does not change gaps
    except DataError as exc:
        if str(exc).startswith("no customer has a purchase on or before as_of"):
            return np.empty(0)
        raise
    gaps = stages["typical_gap_days"].to_numpy(dtype=np.float64)
    return gaps[~np.isnan(gaps)]


def needs_median_gap(options: dict) -> bool:
    """Whether ``lifecycle_stages`` with ``options`` would default ``default_gap`` from the population."""
    fixed = options.get("at_risk_days") is not None and options.get("lapsed_days") is not None
    return options.get("default_gap") is None and not fixed


def median_gap(gaps: Iterable[np.ndarray]) -> Optional[float]:
    """The median of all customers' typical gaps (the core's rule; None when no customer has one)."""
    values = np.concatenate(list(gaps) or [np.empty(0)])
    return median_gap_counted(*np.unique(values, return_counts=True))


def median_gap_counted(values: Any, counts: Any) -> Optional[float]:
    """:func:`median_gap` from the distinct gaps and how many customers have each (an engine's histogram)."""
    values, counts = np.asarray(values, dtype=np.float64), np.asarray(counts, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(counts[order])
    k = int(cumulative[-1]) if len(cumulative) else 0
    if k == 0:
        return None

    def nth(i: int) -> float:  # the i-th smallest gap (from 0)
        return float(values[np.searchsorted(cumulative, i, side="right")])

    return nth(k // 2) if k % 2 else float(0.5 * (nth(k // 2 - 1) + nth(k // 2)))


#: What a kernel raises when none of its batch's customers qualifies: with the whole log's globals
#: explicit (checked on the whole log first), the batch then just has no rows to give.
_NOBODY_IN_BATCH = ("no customer has a purchase on or before as_of",  # lifecycle_stages, as_of before them
                    "the log has no purchase (every amount is negative",  # only customers who return
                    "is before the first purchase (")  # churn_dataset's cutoff before them


def run(name: str, batch: Any, g: LogGlobals, options: dict) -> Optional[pd.DataFrame]:
    """Kernel ``name`` on one batch with explicit globals; None when no customer of the batch qualifies."""
    try:
        return PER_CUSTOMER[name](batch, **explicit(name, g, options))
    except (DataError, ParameterError) as exc:
        if any(reason in str(exc) for reason in _NOBODY_IN_BATCH) and not _before_the_log(name, g, options):
            return None
        raise


def _before_the_log(name: str, g: LogGlobals, options: dict) -> bool:
    """A churn cutoff before the whole log's first purchase: an error for every batch, not an empty one."""
    return (name == "churn_dataset" and options.get("cutoff") is not None
            and to_day(options["cutoff"], "cutoff") < g.first_purchase_day)


@dataclass
class CohortPartial:
    """Un-normalized cohort cells over the whole log's periods: merges by addition."""

    values: np.ndarray  # periods x periods; NaN beyond the last period
    size: np.ndarray  # customers acquired per period

    def __add__(self, other: "CohortPartial") -> "CohortPartial":
        return CohortPartial(self.values + other.values, self.size + other.size)

    def to_frame(self) -> pd.DataFrame:
        """The partial as a flat table keyed by ``(row, col)`` (cohort, age; ``col`` -1: the cohort's size),
        observed cells of acquired cohorts only: an engine sums ``value`` by ``(row, col)``."""
        rows, ages = np.nonzero((self.size[:, None] > 0) & ~np.isnan(self.values))
        sizes = np.flatnonzero(self.size > 0)
        return pd.DataFrame({"row": np.concatenate([rows, sizes]).astype(np.int64),
                             "col": np.concatenate([ages, np.full(len(sizes), -1)]).astype(np.int64),
                             "value": np.concatenate([self.values[rows, ages], self.size[sizes].astype(np.float64)])})

    @staticmethod
    def from_frame(frame: pd.DataFrame, g: LogGlobals, period: str = "M") -> "CohortPartial":
        """The partial of a table like :meth:`to_frame`'s (rows with the same ``(row, col)`` added)."""
        summed = frame.groupby(["row", "col"], sort=False)["value"].sum().reset_index()
        n = _n_periods(g, _period(period))
        values = np.zeros((n, n))
        grid = summed[summed["col"] >= 0]
        values[grid["row"].to_numpy(dtype=np.int64), grid["col"].to_numpy(dtype=np.int64)] = grid["value"].to_numpy()
        values[_unobserved(n)] = np.nan
        size = np.zeros(n, dtype=np.int64)
        sizes = summed[summed["col"] < 0]
        size[sizes["row"].to_numpy(dtype=np.int64)] = sizes["value"].to_numpy().astype(np.int64)
        return CohortPartial(values, size)


def cohort_partial(batch: Any, g: LogGlobals, period: str = "M", metric: str = "customers",
                   customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                   returns: str = "net", order: Optional[str] = None) -> CohortPartial:
    """The cohort cells of one batch on the full ``periods x periods`` grid of the whole log."""
    period = _period(period)
    log = read_transactions(batch, customer, date, amount, returns, order)
    with log.labelled_errors():
        cols = _core.cohort_retention(log.core_args(returns), period, metric, False,
                                      (g.first_purchase_day, g.last_day))
    n = _n_periods(g, period)
    starts = _period_index(np.asarray([g.first_purchase_day]), period, "cohort")[0]
    rows = (_period_index(cols["cohort_start"], period, "cohort") - starts).map(lambda d: d.n)
    values = np.zeros((n, n))
    values[np.asarray(rows, dtype=np.int64), :] = cols["values"]
    values[_unobserved(n)] = np.nan
    size = np.zeros(n, dtype=np.int64)
    size[np.asarray(rows, dtype=np.int64)] = cols["cohort_size"]
    return CohortPartial(values, size)


def _n_periods(g: LogGlobals, period: str) -> int:
    index = _period_index(np.asarray([g.first_purchase_day, g.last_day]), period, "cohort")
    return int((index[1] - index[0]).n) + 1


def _unobserved(n: int) -> np.ndarray:
    """Cells (cohort k, age a) with k + a beyond the last period."""
    k, a = np.indices((n, n))
    return k + a >= n


def cohort_matrix(partial: CohortPartial, g: LogGlobals, period: str = "M", metric: str = "customers",
                  normalize: bool = True) -> pd.DataFrame:
    """The :func:`patronage.cohort_retention` matrix from the merged partial."""
    period = _period(period)
    keep = partial.size > 0
    values = partial.values[keep]
    if normalize:
        denominator = partial.size[keep].astype(np.float64) if metric == "customers" else values[:, 0]
        if np.any(~(denominator > 0)):
            raise DataError("a cohort's first-period revenue is not positive and cannot be normalized; "
                            "use normalize=False", field=None)
        values = values / denominator[:, None]
    first = _period_index(np.asarray([g.first_purchase_day]), period, "cohort")[0]
    index = pd.PeriodIndex([first + int(k) for k in np.flatnonzero(keep)], name="cohort")
    return pd.DataFrame(values, index=index, columns=pd.RangeIndex(values.shape[1], name="age"))
