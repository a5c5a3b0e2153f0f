"""Mergeable reduces: partials of batches of whole customers that add up to the public result.

Each computation is a pair ``<name>_partial(batch, g, **options)`` and
``<name>_result(partial, g, **options)``: the partials of batches holding
whole customers add with ``+`` (or as a table, see :class:`Partial`) and the
result of their sum is what the public function returns for the whole log.
The public functions call the same private helpers (of :mod:`patronage.loyalty`
and :mod:`patronage.rfm`) on the whole log: there is one implementation.
``g`` is the whole log's :class:`~patronage._kernels.LogGlobals` (``None``
for the surveys and the scored-table reduces, which need none). Re-exported by
:mod:`patronage._kernels`, whose docstring lists the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ._frame import finite_column, read_transactions, require_frame, to_days
from .exceptions import DataError
from .loyalty import (
    LIFECYCLE_STAGES,
    _ces_of_tally,
    _check_confidence,
    _csat_of_tally,
    _nps_of_tally,
    _period,
    _period_index,
    _repurchase_counts,
    _repurchase_series,
    _RETENTION_COUNTS,
    _retention_counts,
    _retention_frame,
    _satisfied,
    _scale,
    _survey_tally,
    _transition_args,
    _transition_counts,
    _transitions_frame,
    _TRANSITION_ROWS,
)
from .rfm import _score_args, _scored, _segment_frame, _segment_order, _segment_sums


@dataclass
class Partial:
    """A table of numbers keyed by ``key`` (none: one row) that adds row-wise by key.

    ``to_frame()`` gives the key as a column and one column per number, so an
    engine can sum the partials of its batches with ``groupBy(key).sum()``
    (``key`` None: a plain column sum); ``from_frame`` reads such a table back
    (rows with the same key are added, so a union of unsummed partials works too).
    """

    table: pd.DataFrame
    key: ClassVar[Optional[str]] = None

    def __add__(self, other: "Partial") -> "Partial":
        if type(other) is not type(self):
            return NotImplemented
        return self._with(_sum_by_key(pd.concat([self.table, other.table]), self.key is not None))

    def _with(self, table: pd.DataFrame) -> "Partial":
        return type(self)(table)

    def to_frame(self) -> pd.DataFrame:
        """The partial as a flat table: the key column (if any), then the numbers."""
        return self.table.reset_index() if self.key is not None else self.table.reset_index(drop=True)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **meta: Any) -> "Partial":
        """The partial of a table like :meth:`to_frame`'s (rows with the same key added)."""
        frame = require_frame(frame, "frame")
        if cls.key is not None:
            frame = frame.set_index(cls.key)
        return cls(_sum_by_key(frame, cls.key is not None), **meta)


def _sum_by_key(table: pd.DataFrame, keyed: bool) -> pd.DataFrame:
    if keyed:
        return table.groupby(level=0, dropna=False, sort=False).sum()
    return table.sum().to_frame().T.astype(table.dtypes.to_dict())


# --------------------------------------------------------------------------- retention, repurchase

class RetentionPartial(Partial):
    """Active / new / retained / returning customers per period (``period_start``, a day number)."""

    key = "period_start"


def retention_partial(batch: Any, g: Any, *, period: str = "M", customer: str = "customer_id",
                      date: str = "date", amount: Optional[str] = "amount", returns: str = "net",
                      order: Optional[str] = None, date_format: Optional[str] = None) -> RetentionPartial:
    """Counts of :func:`patronage.retention` for the batch's customers, by period start."""
    period = _period(period)
    log = read_transactions(batch, customer, date, amount, returns, order, date_format)
    cols = _retention_counts(log, returns, period)
    table = pd.DataFrame({k: cols[k] for k in _RETENTION_COUNTS},
                         index=pd.Index(np.asarray(cols["period_start"], dtype=np.int64), name="period_start"))
    return RetentionPartial(table)


def retention_result(partial: RetentionPartial, g: Any, *, period: str = "M", **_: Any) -> pd.DataFrame:
    """:func:`patronage.retention` of the whole log from the sum of its batches' partials."""
    period = _period(period)
    span = _period_index(np.asarray([g.first_purchase_day, g.last_day]), period, "period")
    starts = pd.period_range(span[0], span[1], freq=span.freq)
    days = ((starts.start_time - pd.Timestamp(0)) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    counts = partial.table.reindex(days, fill_value=0)
    cols = {k: counts[k].to_numpy(dtype=np.int64) for k in _RETENTION_COUNTS}
    cols["period_start"] = days
    return _retention_frame(cols, period)


class RepurchasePartial(Partial):
    """``customers``, ``repeat_customers`` and ``censored`` (one row)."""


def repurchase_rate_partial(batch: Any, g: Any, *, within: Any = None, customer: str = "customer_id",
                            date: str = "date", amount: Optional[str] = "amount", returns: str = "net",
                            order: Optional[str] = None, date_format: Optional[str] = None) -> RepurchasePartial:
    """Counts of :func:`patronage.repurchase_rate`, censored against the whole log's last day ``g.last_day``."""
    window = None if within is None else to_days(within, "within")
    log = read_transactions(batch, customer, date, amount, returns, order, date_format)
    counts = _repurchase_counts(log, returns, window, int(g.last_day))
    return RepurchasePartial(pd.DataFrame([counts], columns=["customers", "repeat_customers", "censored"],
                                          dtype=np.int64))


def repurchase_rate_result(partial: RepurchasePartial, g: Any = None, **_: Any) -> pd.Series:
    """:func:`patronage.repurchase_rate` from the summed partial."""
    row = partial.table.iloc[0]
    return _repurchase_series(int(row["customers"]), int(row["repeat_customers"]), int(row["censored"]))


# --------------------------------------------------------------------------- surveys

@dataclass
class SurveyPartial(Partial):
    """Answers per group (the key ``group``) and level: ``missing`` and ``count_<answer>`` columns.

    ``index_name``: the name of the groups (the result's index name).
    """

    index_name: Any = "group"
    key: ClassVar[Optional[str]] = "group"

    def _with(self, table: pd.DataFrame) -> "SurveyPartial":
        return SurveyPartial(table, self.index_name)

    def tally(self) -> Tuple[np.ndarray, np.ndarray, pd.Index, int]:
        """``(counts, missing, groups, low)``, groups in the public functions' (sorted) order."""
        table = self.table
        try:
            table = table.sort_index()
        except TypeError:  # groups of mixed, unorderable types: kept in merge order
            pass
        levels = [c for c in table.columns if c.startswith("count_")]
        low = int(levels[0][len("count_"):])
        counts = np.ascontiguousarray(table[levels].to_numpy(dtype=np.int64))
        missing = np.ascontiguousarray(table["missing"].to_numpy(dtype=np.int64))
        return counts, missing, pd.Index(table.index, name=self.index_name), low


def _survey_partial(kind: str, scores: Any, by: Any, column: Optional[str], low: int, high: int) -> SurveyPartial:
    counts, missing, index = _survey_tally(kind, scores, by, column, low, high)
    table = pd.DataFrame(counts, columns=[f"count_{low + j}" for j in range(counts.shape[1])],
                         index=pd.Index(index, name="group"))
    table.insert(0, "missing", missing)
    return SurveyPartial(table, index.name)


def nps_partial(batch: Any, g: Any = None, *, by: Any = None, column: Optional[str] = None,
                **_: Any) -> SurveyPartial:
    """Answer counts per group of :func:`patronage.nps` (``batch``: its ``scores``)."""
    return _survey_partial("NPS", batch, by, column, 0, 10)


def nps_result(partial: SurveyPartial, g: Any = None, *, by: Any = None, confidence: float = 0.95,
               **_: Any) -> Any:
    """:func:`patronage.nps` from the summed partial (a Series when ``by`` is None)."""
    counts, missing, index, _low = partial.tally()
    return _nps_of_tally(counts, missing, index, by is None, confidence)


def csat_partial(batch: Any, g: Any = None, *, scale: Any = 5, by: Any = None, column: Optional[str] = None,
                 **_: Any) -> SurveyPartial:
    """Answer counts per group of :func:`patronage.csat`."""
    low, high = _scale(scale)
    return _survey_partial("CSAT", batch, by, column, low, high)


def csat_result(partial: SurveyPartial, g: Any = None, *, satisfied: Sequence[int] = (4, 5), by: Any = None,
                confidence: float = 0.95, **_: Any) -> Any:
    """:func:`patronage.csat` from the summed partial."""
    _check_confidence(confidence)
    _satisfied(satisfied)
    counts, missing, index, low = partial.tally()
    return _csat_of_tally(counts, missing, index, by is None, low, satisfied, confidence)


def ces_partial(batch: Any, g: Any = None, *, scale: Any = 7, by: Any = None, column: Optional[str] = None,
                **_: Any) -> SurveyPartial:
    """Answer counts per group of :func:`patronage.ces`."""
    low, high = _scale(scale)
    return _survey_partial("CES", batch, by, column, low, high)


def ces_result(partial: SurveyPartial, g: Any = None, *, by: Any = None, confidence: float = 0.95,
               **_: Any) -> Any:
    """:func:`patronage.ces` from the summed partial."""
    counts, missing, index, low = partial.tally()
    return _ces_of_tally(counts, missing, index, by is None, low, confidence)


# --------------------------------------------------------------------------- lifecycle transitions

class TransitionsPartial(Partial):
    """Customers per stage at ``from_date`` (the key ``from``) and stage at ``to_date`` (columns)."""

    key = "from"


def lifecycle_transitions_partial(batch: Any, g: Any = None, *, from_date: Any, to_date: Any,
                                  customer: str = "customer_id", date: str = "date",
                                  amount: Optional[str] = "amount", **stage_options: Any) -> TransitionsPartial:
    """The :func:`patronage.lifecycle_transitions` counts of the batch's customers.

    ``default_gap`` defaults, as in :func:`patronage.lifecycle_stages`, to the
    median typical gap of the customers *as of each date*: a global. On a
    batch pass it, or the pair ``(gap at from_date, gap at to_date)`` computed
    once for the whole log (:func:`patronage._kernels.median_gap` of
    :func:`patronage._kernels.typical_gaps` at each date), unless fixed
    thresholds make it unused.
    """
    gaps = stage_options.pop("default_gap", None)
    gap_from, gap_to = gaps if isinstance(gaps, tuple) else (gaps, gaps)
    returns, order, date_format, params, start, end = _transition_args(
        from_date, to_date, {**stage_options, "default_gap": gap_from})
    *_, params_to, _s, _e = _transition_args(from_date, to_date, {**stage_options, "default_gap": gap_to})
    log = read_transactions(batch, customer, date, amount, returns, order, date_format)
    counts = _transition_counts(log, returns, start, end, params, params_to)
    return TransitionsPartial(pd.DataFrame(counts, index=pd.Index(_TRANSITION_ROWS, name="from"),
                                           columns=list(LIFECYCLE_STAGES)))


def lifecycle_transitions_result(partial: TransitionsPartial, g: Any = None, **_: Any) -> pd.DataFrame:
    """:func:`patronage.lifecycle_transitions` from the summed partial."""
    table = partial.table.reindex(_TRANSITION_ROWS, fill_value=0)[list(LIFECYCLE_STAGES)]
    return _transitions_frame(table.to_numpy(dtype=np.int64))


# --------------------------------------------------------------------------- scored RFM tables

@dataclass
class SegmentPartial(Partial):
    """Per segment (the key ``segment``; a missing segment is a row, counted in the totals):
    ``customers``, ``revenue`` and the sums / non-missing counts of recency and frequency.
    ``order``: the segments' categorical dtype (its categories are the result's row order; None: sorted)."""

    order: Optional[pd.CategoricalDtype] = None
    key: ClassVar[Optional[str]] = "segment"

    def _with(self, table: pd.DataFrame) -> "SegmentPartial":
        return SegmentPartial(table, self.order)

    def to_frame(self) -> pd.DataFrame:
        return self.table.rename_axis("segment").reset_index()


def segment_summary_partial(batch: Any, g: Any = None, *, segment: str = "segment",
                            recency: str = "recency_days", frequency: str = "n_orders",
                            monetary: str = "total_spend") -> SegmentPartial:
    """Sums of :func:`patronage.segment_summary` over a batch of a scored table (e.g. :func:`rfm_scores_map`)."""
    frame = require_frame(batch, "scored")
    sums = _segment_sums(frame, segment, recency, frequency, monetary)
    return SegmentPartial(sums.rename_axis("segment"), _segment_order(frame[segment]))


def segment_summary_result(partial: SegmentPartial, g: Any = None, *, segment: str = "segment",
                           recency: str = "recency_days", frequency: str = "n_orders",
                           monetary: str = "total_spend") -> pd.DataFrame:
    """:func:`patronage.segment_summary` from the summed partial.

    Counts are exact; revenue and the means are sums in another order than
    on one table, equal to rounding (1e-12 relative, tested).
    """
    out = _segment_frame(partial.table.rename_axis(segment), recency, frequency, monetary, partial.order)
    return out


class ScoreHistogram(Partial):
    """How many customers have each value (``count``) of the scored columns ``R``, ``F``, ``M``.

    The key is ``(column, value)``: an engine sums it with ``groupBy("column", "value").sum()``.
    """

    key = "column_value"

    def to_frame(self) -> pd.DataFrame:
        return self.table.reset_index()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **meta: Any) -> "ScoreHistogram":
        frame = require_frame(frame, "frame")
        return cls(frame.groupby(["column", "value"], sort=True)[["count"]].sum())

    def __add__(self, other: "Partial") -> "Partial":
        if not isinstance(other, ScoreHistogram):
            return NotImplemented
        return ScoreHistogram.from_frame(pd.concat([self.to_frame(), other.to_frame()]))


_SCORED = (("R", "recency", False), ("F", "frequency", True), ("M", "monetary", True))


def rfm_scores_partial(batch: Any, g: Any = None, *, recency: str = "recency_days", frequency: str = "n_orders",
                       monetary: str = "total_spend", **_: Any) -> ScoreHistogram:
    """Value -> customers histograms of the three scored columns of a batch of an RFM table.

    R and F (days, orders) take few distinct values: their histograms are
    small and the scores exact. M (net spend) is exact too, but its
    histogram holds one row per distinct spend, up to one per customer.
    """
    frame = require_frame(batch, "rfm")
    names = {"recency": recency, "frequency": frequency, "monetary": monetary}
    parts = []
    for label, role, _higher in _SCORED:
        values, counts = np.unique(finite_column(frame, names[role]), return_counts=True)
        parts.append(pd.DataFrame({"column": label, "value": values, "count": counts.astype(np.int64)}))
    return ScoreHistogram.from_frame(pd.concat(parts, ignore_index=True))


def _scores_of(values: np.ndarray, histogram: pd.DataFrame, bins: int, higher_is_better: bool) -> np.ndarray:
    """The rule of ``rfm_scores`` (``ceil(bins * lowest rank / n)``) from the merged histogram."""
    levels = histogram["value"].to_numpy(dtype=np.float64)
    counts = histogram["count"].to_numpy(dtype=np.int64)
    n = int(counts.sum())
    # customers ranked before each level: lower values (higher_is_better) or higher ones (recency)
    before = np.cumsum(counts) - counts if higher_is_better else counts[::-1].cumsum()[::-1] - counts
    where = np.searchsorted(levels, values)
    if np.any(where >= len(levels)) or np.any(levels[np.minimum(where, len(levels) - 1)] != values):
        raise DataError("a value to score is not in the merged histogram: score the batches the histogram "
                        "was built from")
    scores = np.ceil(bins * ((before[where] + 1) / n))
    return np.clip(scores, 1, bins).astype(np.uint8)


def rfm_scores_map(batch: Any, partial: ScoreHistogram, g: Any = None, *, bins: int = 5,
                   recency: str = "recency_days", frequency: str = "n_orders", monetary: str = "total_spend",
                   segment_map: Any = None) -> pd.DataFrame:
    """:func:`patronage.rfm_scores`' rows for the customers of ``batch``, scored against the merged histogram.

    A map (one row per customer), not a reduce: the histogram
    (:func:`rfm_scores_partial` summed over all batches) is the only global.
    R, F and M equal the single-table scores exactly (ranks of values, ties
    shared).
    """
    frame = require_frame(batch, "rfm")
    names = _score_args(frame, bins, segment_map, [recency, frequency, monetary])
    columns = {"recency": recency, "frequency": frequency, "monetary": monetary}
    table = partial.to_frame()
    r, f, m = (_scores_of(finite_column(frame, columns[role]), table[table["column"] == label], int(bins), higher)
               for label, role, higher in _SCORED)
    return _scored(frame, r, f, m, int(bins), names)


__all__ = [
    "Partial", "RetentionPartial", "RepurchasePartial", "SurveyPartial", "TransitionsPartial", "SegmentPartial",
    "ScoreHistogram",
    "retention_partial", "retention_result", "repurchase_rate_partial", "repurchase_rate_result",
    "nps_partial", "nps_result", "csat_partial", "csat_result", "ces_partial", "ces_result",
    "lifecycle_transitions_partial", "lifecycle_transitions_result",
    "segment_summary_partial", "segment_summary_result", "rfm_scores_partial", "rfm_scores_map",
]
