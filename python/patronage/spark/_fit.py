"""Fitting Patronage's estimators on Spark DataFrames; the ordinary fitted estimator comes back.

- :class:`~patronage.BetaGeo`, :class:`~patronage.ModifiedBetaGeo`,
  :class:`~patronage.ParetoNBD`: the distinct ``(frequency, recency, T)``
  patterns of a BTYD summary are counted by Spark and the model is fitted on
  the driver with the counts as weights. The likelihood only depends on the
  patterns, so this is the full fit (the core merges equal rows into the same
  weighted patterns); the patterns are handed over in the order of their
  first customer id, as the sorted pandas summary has them, so the
  parameters are the very same numbers. Weekly patterns compress customers
  ~100x; at most :data:`MAX_PATTERNS` patterns are taken.
- :class:`~patronage.GammaGamma` and ``ChurnClassifier("logistic")``: fitted
  from sums on every row (see :mod:`patronage._fit_sums`): each partition
  computes its share of the likelihood, gradient and Hessian at the current
  parameters (one ``mapInArrow`` job per evaluation, one row of sums per
  partition), the driver adds them and the pandas fit's own optimiser takes
  the next step: the pandas fit's parameters within 1e-8 relative, a few
  numbers per partition to the driver.
- :class:`~patronage.KMeans`, :class:`~patronage.CustomerSegmenter`,
  ``ChurnClassifier("gbm")``: fitted
  on a sample of ``sample_size`` customers (default :data:`SAMPLE_SIZE`):
  the customers with the smallest ``xxhash64(id, seed)``, so the same seed
  gives the same sample whatever the partitioning (Spark's ``sample()`` does
  not). With ``sample_size=None`` every customer is taken (the pandas fit,
  on the driver's memory). Histogram gradient boosting grows each tree from
  all rows' gradient histograms; done over an engine that would be one job
  per tree level, hence the sample. Predict on all customers with
  :func:`patronage.spark.predict`.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, List, Optional

import numpy as np
import pandas as pd

from ..btyd import BetaGeo, GammaGamma, ParetoNBD
from ..churn import ChurnClassifier
from ..cluster import CustomerSegmenter, KMeans
from ..exceptions import DataError, ParameterError
from .. import _fit_sums
from . import _common

#: Most distinct patterns (rows) brought to the driver for a BTYD fit.
MAX_PATTERNS = 20_000_000
#: Customers the sampled fits take by default: on 2 M customers a 100 k sample reached the
#: full-data k-means inertia (SCALE.md).
SAMPLE_SIZE = 100_000


def fit(model: Any, sdf: Any, *, customer: str = "customer_id", label: str = "churned",
        sample_size: Optional[int] = SAMPLE_SIZE, seed: int = 0) -> Any:
    """Fits ``model`` on a Spark DataFrame and returns it, fitted, as ``model.fit`` on pandas would.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma, KMeans, CustomerSegmenter or ChurnClassifier
        An unfitted (or fitted: it is refitted) estimator with its parameters set.
    sdf : pyspark.sql.DataFrame
        BTYD and Gamma-Gamma models: a :func:`patronage.spark.btyd_summary`
        (``_cal`` columns are taken when present). KMeans: the id column and
        the numeric feature columns. CustomerSegmenter: a
        :func:`patronage.spark.rfm_table`. ChurnClassifier: a
        :func:`patronage.spark.churn_dataset` (every column but ``customer``
        and ``label`` is a feature).
    customer : str, default "customer_id"
        The id column (the sample is drawn from its hash; it is not a feature).
    label : str, default "churned"
        ChurnClassifier: the label column.
    sample_size : int or None, default :data:`SAMPLE_SIZE`
        Customers the sampled fits (KMeans, CustomerSegmenter, ChurnClassifier("gbm")) take; None: all.
    seed : int, default 0
        The sample's seed.

    Returns
    -------
    The estimator, fitted (JSON, plots and reports work as after a pandas fit).

    Examples
    --------
    >>> import patronage, patronage.spark
    >>> from patronage.datasets import load_cdnow
    >>> tx = spark.createDataFrame(load_cdnow())  # spark: a SparkSession
    >>> bg = patronage.spark.fit(patronage.BetaGeo(), patronage.spark.btyd_summary(tx, freq="W"))
    >>> bg.params_.equals(patronage.BetaGeo().fit(patronage.btyd_summary(load_cdnow(), freq="W")).params_)
    True
    """
    _common.check_frame(sdf, [])
    if isinstance(model, (BetaGeo, ParetoNBD)):  # ModifiedBetaGeo is a BetaGeo
        columns = _columns(sdf, ("frequency", "recency", "T"))
        return model.fit(*_patterns(sdf, columns, customer))
    if isinstance(model, GammaGamma):
        with _Engine(sdf, _columns(sdf, ("frequency", "monetary_value"))) as engine:
            return _fit_sums.fit_gamma_gamma(model, engine)
    if isinstance(model, ChurnClassifier) and model.model == "logistic":
        _common.check_frame(sdf, [customer, label])
        features = [c for c in sdf.columns if c not in (customer, label)]
        with _Engine(sdf, features + [label]) as engine:
            return _fit_sums.fit_logistic(model, engine, features, label)
    if isinstance(model, (KMeans, CustomerSegmenter, ChurnClassifier)):
        sample = _sample(sdf, customer, sample_size, seed)
        if isinstance(model, ChurnClassifier):
            _common.check_frame(sdf, [label])
            return model.fit(sample.drop(columns=[label]), sample[label])
        return model.fit(sample)
    raise TypeError(f"patronage.spark.fit takes a BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma, KMeans, "
                    f"CustomerSegmenter or ChurnClassifier, got {type(model).__name__}")


def _columns(sdf: Any, names: Any) -> list:
    """The summary's model columns: ``name`` or ``name_cal`` (as the pandas models look them up)."""
    found = []
    for name in names:
        for candidate in (name, f"{name}_cal"):
            if candidate in sdf.columns:
                found.append(candidate)
                break
        else:
            _common.check_frame(sdf, [name])
    return found


def _patterns(sdf: Any, columns: list, customer: str) -> tuple:
    """The distinct rows of ``columns`` and how many customers have each, as (frame, weights),
    ordered by the smallest id of each pattern: the order in which the id-sorted pandas table first
    meets them."""
    F = _common.pyspark().functions
    _common.check_frame(sdf, [customer])
    counted = sdf.groupBy(*columns).agg(F.count(F.lit(1)).alias("__count"), F.min(F.col(customer)).alias("__first"))
    table = counted.limit(MAX_PATTERNS + 1).toPandas()
    if len(table) > MAX_PATTERNS:
        raise DataError(f"the summary has more than {MAX_PATTERNS:,} distinct ({', '.join(columns)}) patterns "
                        f"to bring to the driver; summarise in coarser periods (freq='W')", field=columns[0])
    if len(table) == 0:
        raise DataError("the summary is empty", field=columns[0])
    table = table.sort_values(["__first"], kind="stable").reset_index(drop=True)
    return table[columns], table["__count"].to_numpy(dtype=np.float64)


def _sample(sdf: Any, customer: str, sample_size: Optional[int], seed: int) -> pd.DataFrame:
    """The ``sample_size`` customers with the smallest ``xxhash64(id, seed)`` (all with None), as pandas
    indexed by id and sorted."""
    _common.check_frame(sdf, [customer])
    if sample_size is not None and (isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer))
                                    or sample_size < 1):
        raise ParameterError(f"sample_size must be a positive integer or None, got {sample_size!r}", "sample_size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed must be an integer, got {seed!r}", "seed")
    F = _common.pyspark().functions
    rows = sdf
    if sample_size is not None:  # a top-k per partition, then merged: no global sort
        key = F.xxhash64(F.col(customer), F.lit(int(seed)))
        rows = sdf.withColumn("__key", key).orderBy("__key", customer).limit(int(sample_size)).drop("__key")
    frame = rows.toPandas().set_index(customer).sort_index()
    if len(frame) == 0:
        raise DataError("the Spark DataFrame has no rows to fit on")
    return frame


class _Engine(_fit_sums.Engine):
    """A fit from sums on Spark: the needed columns persisted, each pass one ``mapInArrow`` job
    yielding one row of sums per partition, collected and merged on the driver."""

    def __init__(self, sdf: Any, columns: List[str]) -> None:
        self.sdf = sdf.select(*columns).persist()

    def __enter__(self) -> "_Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.sdf.unpersist()

    def collect(self, kernel: _fit_sums.Kernel, merge: _fit_sums.Merge = np.add) -> np.ndarray:
        schema = "sums array<double>"
        rows = self.sdf.mapInArrow(functools.partial(_partition_sums, kernel=kernel, merge=merge), schema).collect()
        return np.array([row[0] for row in rows], dtype=np.float64).reshape(len(rows), -1)

    def meta(self) -> pd.DataFrame:
        return self.sdf.limit(0).toPandas()

    def counts(self, column: str) -> pd.Series:
        table = self.sdf.groupBy(column).count().toPandas()
        return pd.Series(table["count"].to_numpy(), index=pd.Index(table[column].to_numpy()))

    def distinct(self, column: str, limit: int) -> pd.Series:
        F = _common.pyspark().functions
        values = self.sdf.select(column).where(F.col(column).isNotNull()).distinct().limit(limit).toPandas()
        return values[column]


def _partition_sums(batches: Iterator[Any], kernel: _fit_sums.Kernel, merge: _fit_sums.Merge) -> Iterator[Any]:
    """One partition's Arrow batches -> one row: ``kernel`` per non-empty batch, merged."""
    import pyarrow as pa

    total = None
    for batch in batches:
        if batch.num_rows:
            part = _common.arrow_input(pa.Table.from_batches([batch]), drop=())
            values = np.asarray(kernel(part), dtype=np.float64)
            total = values if total is None else merge(total, values)
    if total is not None:
        yield pa.RecordBatch.from_pydict({"sums": [total.tolist()]},
                                         schema=pa.schema([("sums", pa.list_(pa.float64()))]))
