"""RFM scores of a Spark DataFrame, exact, without a global sort or a window.

:func:`patronage.rfm_scores` gives a value the score ``ceil(bins * rank / n)``
(``rank``: its lowest rank). That score is a step function of the value whose
steps sit at ``bins - 1`` **order statistics**: a value scores at most ``s``
exactly when it is at most the ``k_s``-th smallest value (``k_s``: the largest
rank that scores ``s``; R counts from the top). So the scores need those few
order statistics, not a sort of every customer. They are found exactly in two
passes over the table:

1. one aggregate: the row count, the non-finite values (an error, as in
   pandas) and, per threshold, ``percentile_approx`` at ``s / bins`` plus and
   minus ``4 / accuracy`` (Spark's rank error is at most ``n / accuracy``);
2. one ``groupBy`` of a value->count histogram that keeps only the values
   inside those brackets (every other row counts in the gap it falls in).

The driver then walks the brackets' histogram to the exact ``k_s``-th value
and checks that each bracket did contain it (a bracket that did not is
widened 4x and both passes repeated, the eighth try spanning ``[min, max]``:
correctness never rests on the sketch). The
histogram merged by Spark holds about ``8 n / accuracy`` distinct values per
threshold and column (e.g. 3 x 4 x 80 k for 100 M customers at the default
accuracy 10 000) and integer columns (R, F) far fewer: that is all that
reaches the driver. The scores are then column expressions (``R``, ``F``,
``M``, ``FM``, ``rfm_score``, ``segment``): the result stays lazy.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..exceptions import ColumnTypeError, DataError, MissingColumnError, ParameterError
from ..rfm import DEFAULT_SEGMENT_MAP

__all__ = ["rfm_scores"]

#: The default ``accuracy`` of the brackets' sketch (Spark's ``percentile_approx``).
ACCURACY = 10_000
#: Widenings of a bracket before giving up (each 4x; the last spans every value).
_MAX_WIDENINGS = 8


def rfm_scores(sdf: Any, bins: int = 5, *, recency: str = "recency_days", frequency: str = "n_orders",
               monetary: str = "total_spend", segment_map: Optional[Mapping[Tuple[int, int], str]] = None,
               accuracy: int = ACCURACY) -> Any:
    """:func:`patronage.rfm_scores` of a Spark DataFrame: the same scores, exactly.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        One row per customer, e.g. :func:`patronage.spark.rfm_table`'s
        output. It is read twice (cache it when it is expensive to compute).
    bins, recency, frequency, monetary, segment_map
        As in :func:`patronage.rfm_scores`.
    accuracy : int, default 10000
        The sketch's accuracy: it sizes only what reaches the driver (about
        ``8 n / accuracy`` values per score threshold), never the scores,
        which are exact.

    Returns
    -------
    pyspark.sql.DataFrame
        ``sdf`` with ``R``, ``F``, ``M``, ``FM`` (int), ``rfm_score`` and
        ``segment`` (string) added; lazy (the thresholds are computed now).

    Examples
    --------
    >>> import pandas as pd, patronage.spark
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[2]").getOrCreate()
    >>> rfm = pd.DataFrame({"recency_days": [3, 200, 40, 90, 10],
    ...                     "n_orders": [12, 1, 3, 1, 6],
    ...                     "total_spend": [900.0, 20.0, 150.0, 35.0, 400.0]})
    >>> scored = patronage.spark.rfm_scores(spark.createDataFrame(rfm))
    >>> scored.select("R", "F", "M", "rfm_score", "segment").toPandas()
       R  F  M rfm_score         segment
    0  5  5  5       555       Champions
    1  1  1  1       111            Lost
    2  3  3  3       333  Need Attention
    3  2  1  2       212     Hibernating
    4  4  4  4       444           Loyal
    """
    from pyspark.sql import functions as F

    if not isinstance(bins, int) or isinstance(bins, bool) or not 2 <= bins <= 255:
        raise ParameterError(f"bins must be an integer from 2 to 255, got {bins!r}", "bins")
    if not isinstance(accuracy, int) or isinstance(accuracy, bool) or not 100 <= accuracy <= 2**31 - 1:
        raise ParameterError(f"accuracy must be an integer from 100 to 2**31 - 1, got {accuracy!r}", "accuracy")
    names = dict(DEFAULT_SEGMENT_MAP)
    if segment_map is not None:
        unknown = [k for k in segment_map if k not in names]
        if unknown:
            raise ParameterError(f"segment_map keys must be (R, FM) pairs in 1..5, got {unknown[0]!r}",
                                 "segment_map")
        names.update(segment_map)
    columns = [recency, frequency, monetary]
    _require_numeric(sdf, columns)
    n = _count_and_check(sdf, columns)
    ranks = _threshold_ranks(n, bins)
    # R: a recent (low) value scores high, i.e. ranks count from the top
    wanted = {recency: [n - k + 1 if k else 0 for k in ranks], frequency: list(ranks), monetary: list(ranks)}
    stats = _order_statistics(sdf, wanted, n, bins, accuracy)

    def score(column: str, higher_is_better: bool) -> Any:
        terms = []
        for k, value in zip(wanted[column], stats[column]):
            if k == 0:  # no rank scores this low: every value is above the threshold
                terms.append(F.lit(1))
            else:
                beyond = F.col(column) > F.lit(value) if higher_is_better else F.col(column) < F.lit(value)
                terms.append(beyond.cast("int"))
        return sum(terms, F.lit(1))

    r, f, m = score(recency, False), score(frequency, True), score(monetary, True)
    out = sdf.withColumns({"R": r, "F": f, "M": m})
    out = out.withColumn("FM", F.floor((F.col("F") + F.col("M") + 1) / 2).cast("int"))
    sep = "" if bins <= 9 else "-"
    out = out.withColumn("rfm_score", F.concat_ws(sep, F.col("R").cast("string"), F.col("F").cast("string"),
                                                  F.col("M").cast("string")))

    def to5(c: Any) -> Any:  # ceil((score - 1/2) * 5 / bins) in integers, as in rfm_scores
        return F.floor(((2 * c - 1) * 5 + 2 * bins - 1) / (2 * bins)).cast("int")

    grid = F.create_map(*[x for (r5, fm5), name in sorted(names.items()) for x in (F.lit(10 * r5 + fm5), F.lit(name))])
    cell = 10 * F.least(F.greatest(to5(F.col("R")), F.lit(1)), F.lit(5)) + F.least(
        F.greatest(to5(F.col("FM")), F.lit(1)), F.lit(5))
    return out.withColumn("segment", F.element_at(grid, cell))


def _require_numeric(sdf: Any, columns: Sequence[str]) -> None:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import BooleanType, NumericType

    if not isinstance(sdf, DataFrame):
        raise ColumnTypeError(f"sdf must be a Spark DataFrame, got {type(sdf).__name__}", "sdf")
    fields = {f.name: f.dataType for f in sdf.schema.fields}
    for column in columns:
        if column not in fields:
            found = ", ".join(map(repr, fields))
            raise MissingColumnError(f"column {column!r} is not in the RFM table; columns found: {found}",
                                     field=column)
        kind = fields[column]
        if not isinstance(kind, NumericType) or isinstance(kind, BooleanType):
            raise ColumnTypeError(f"column {column!r} must be numeric (real numbers), got {kind.simpleString()}",
                                  field=column)


def _count_and_check(sdf: Any, columns: Sequence[str]) -> int:
    """The row count, refusing null, NaN and infinite values as :func:`patronage.rfm_scores` does."""
    from pyspark.sql import functions as F

    def bad(column: str) -> Any:
        c = F.col(column).cast("double")
        return F.sum((c.isNull() | F.isnan(c) | (F.abs(c) == float("inf"))).cast("long"))

    row = sdf.agg(F.count(F.lit(1)), *[bad(c) for c in columns]).collect()[0]
    n = int(row[0])
    if n == 0:
        raise ParameterError("rfm has no rows to score", "rfm")
    for column, count in zip(columns, row[1:]):
        if count:
            raise DataError(f"column {column!r} is null, NaN or infinite in {count} of {n} rows", field=column)
    return n


def _threshold_ranks(n: int, bins: int) -> List[int]:
    """``k_s`` for s = 1..bins-1: the largest rank whose score (the core's float rule) is at most ``s``."""

    def score(rank: int) -> int:  # quantile_scores' arithmetic: ceil(bins * (rank / n)) in f64
        return min(max(math.ceil(bins * (rank / n)), 1), bins)

    ranks = []
    for s in range(1, bins):
        k = min(n, s * n // bins + 1)
        while k > 0 and score(k) > s:
            k -= 1
        while k < n and score(k + 1) <= s:
            k += 1
        ranks.append(k)
    return ranks


def _order_statistics(sdf: Any, wanted: Dict[str, List[int]], n: int, bins: int,
                      accuracy: int) -> Dict[str, List[Any]]:
    """The exact ``k``-th smallest value of each column for each wanted rank ``k`` (0: none)."""
    from pyspark.sql import functions as F

    sketch_at = {c: [min(max(k / n, 0.0), 1.0) for k in ks] for c, ks in wanted.items()}
    columns = list(wanted)
    half_width = 4.0 / accuracy
    for attempt in range(_MAX_WIDENINGS):
        if attempt == _MAX_WIDENINGS - 1:
            half_width = 1.0  # the last try brackets [min, max]: exact whatever the sketch did
        qs = {c: sorted({_clip(q + d) for q in sketch_at[c] for d in (-half_width, half_width)}) for c in columns}
        row = sdf.agg(*[F.percentile_approx(c, qs[c], accuracy).alias(c) for c in columns],
                      *[F.min(c).alias(f"min {c}") for c in columns],
                      *[F.max(c).alias(f"max {c}") for c in columns]).collect()[0]
        brackets = {}
        for c in columns:
            # the sketch's ends are replaced by the exact extremes
            at = {**dict(zip(qs[c], row[c])), 0.0: row[f"min {c}"], 1.0: row[f"max {c}"]}
            brackets[c] = _merge([(at[_clip(q - half_width)], at[_clip(q + half_width)]) for q in sketch_at[c]])
        counts = _bracket_histogram(sdf, brackets)
        found = {c: [_select(counts[c], brackets[c], k) if k else None for k in wanted[c]] for c in columns}
        missing = [c for c in columns if any(k and v is None for k, v in zip(wanted[c], found[c]))]
        if not missing:
            return found
        half_width *= 4  # the sketch missed (never seen so far): widen
    raise AssertionError("unreachable: the last bracket spans every value")  # pragma: no cover


def _clip(q: float) -> float:
    return min(max(q, 0.0), 1.0)


def _merge(intervals: List[Tuple[Any, Any]]) -> List[Tuple[Any, Any]]:
    """Overlapping [lo, hi] intervals joined, sorted."""
    out: List[Tuple[Any, Any]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _bracket_histogram(sdf: Any, brackets: Dict[str, List[Tuple[Any, Any]]]) -> Dict[str, Dict[Any, Any]]:
    """Per column: the count of each value inside a bracket and of each gap between brackets.

    Keys are ``("gap", j)`` (values below bracket j and above bracket j-1;
    j = len(brackets) above the last) and ``("value", v)``.
    """
    from pyspark.sql import functions as F

    parts = []
    for index, (column, intervals) in enumerate(brackets.items()):
        c = F.col(column)
        inside = F.lit(False)
        gap = F.lit(len(intervals))
        for j in reversed(range(len(intervals))):
            lo, hi = intervals[j]
            inside = inside | c.between(F.lit(lo), F.lit(hi))
            gap = F.when(c < F.lit(lo), F.lit(j)).otherwise(gap)
        parts.append(F.struct(F.lit(index).alias("column"), F.when(inside, F.lit(-1)).otherwise(gap).alias("gap"),
                              F.when(inside, c.cast("double")).alias("value")))
    # doubles are exact for the values compared here (the brackets came back as doubles of the column)
    stacked = sdf.select(F.explode(F.array(*parts)).alias("k")).select("k.*")
    rows = stacked.groupBy("column", "gap", "value").count().collect()
    names = list(brackets)
    out: Dict[str, Dict[Any, Any]] = {c: {} for c in names}
    for row in rows:
        key = ("value", row["value"]) if row["gap"] == -1 else ("gap", row["gap"])
        out[names[row["column"]]][key] = row["count"]
    return out


def _select(counts: Dict[Any, Any], intervals: List[Tuple[Any, Any]], k: int) -> Optional[Any]:
    """The k-th smallest value when it lies inside a bracket (None when a gap holds it)."""
    below = 0
    values = sorted(v for kind, v in counts if kind == "value")
    cursor = 0
    for j, (lo, hi) in enumerate(intervals):
        below += counts.get(("gap", j), 0)
        if k <= below:
            return None
        while cursor < len(values) and values[cursor] <= hi:
            below += counts[("value", values[cursor])]
            if k <= below:
                return values[cursor]
            cursor += 1
    return None
