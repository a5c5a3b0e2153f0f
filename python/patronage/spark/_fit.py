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
- :class:`~patronage.GammaGamma`: the distinct ``(frequency,
  monetary_value)`` pairs of the repeat buyers, counted by Spark, fitted with
  the counts as weights (the same parameters as the full fit to rounding).
  Spend is continuous, so this compresses little: the driver holds about one
  pair per repeat buyer, at most :data:`MAX_PATTERNS`.
- :class:`~patronage.KMeans`, :class:`~patronage.CustomerSegmenter`,
  :class:`~patronage.ChurnClassifier` (``"logistic"`` and ``"gbm"``): fitted
  on a sample of ``sample_size`` customers (default :data:`SAMPLE_SIZE`):
  the customers with the smallest ``xxhash64(id, seed)``, so the same seed
  gives the same sample whatever the partitioning (Spark's ``sample()`` does
  not). With ``sample_size=None`` every customer is taken (the pandas fit,
  on the driver's memory). Predict on all customers with
  :func:`patronage.spark.predict`.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

from ..btyd import BetaGeo, GammaGamma, ParetoNBD
from ..churn import ChurnClassifier
from ..cluster import CustomerSegmenter, KMeans
from ..exceptions import DataError, ParameterError
from . import _common

#: Most distinct patterns (rows) brought to the driver for a BTYD or Gamma-Gamma fit.
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
        :func:`patronage.spark.churn_dataset` (features and ``label``).
    customer : str, default "customer_id"
        The id column (the sample is drawn from its hash; it is not a feature).
    label : str, default "churned"
        ChurnClassifier: the label column.
    sample_size : int or None, default :data:`SAMPLE_SIZE`
        Customers the sampled fits (KMeans, CustomerSegmenter, ChurnClassifier) take; None: all.
    seed : int, default 0
        The sample's seed.

    Returns
    -------
    The estimator, fitted (JSON, plots and reports work as after a pandas fit).

    Examples
    --------
    >>> import patronage, patronage.spark
    >>> summary = patronage.spark.btyd_summary(spark_tx)  # doctest: +SKIP
    >>> bg = patronage.spark.fit(patronage.BetaGeo(), summary)  # doctest: +SKIP
    """
    _common.check_frame(sdf, [])
    if isinstance(model, (BetaGeo, ParetoNBD)):  # ModifiedBetaGeo is a BetaGeo
        columns = _columns(sdf, ("frequency", "recency", "T"))
        return model.fit(*_patterns(sdf, columns, customer))
    if isinstance(model, GammaGamma):
        frequency, monetary = _columns(sdf, ("frequency", "monetary_value"))
        F = _common.pyspark().functions
        buyers = sdf.where(F.col(frequency) > 0)
        return model.fit(*_patterns(buyers, [frequency, monetary], None))
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


def _patterns(sdf: Any, columns: list, customer: Optional[str]) -> tuple:
    """The distinct rows of ``columns`` and how many customers have each, as (frame, weights).

    With ``customer``, ordered by the smallest id of each pattern: the order in
    which the id-sorted pandas table first meets them.
    """
    F = _common.pyspark().functions
    aggregates = [F.count(F.lit(1)).alias("__count")]
    if customer is not None:
        _common.check_frame(sdf, [customer])
        aggregates.append(F.min(F.col(customer)).alias("__first"))
    counted = sdf.groupBy(*columns).agg(*aggregates)
    table = counted.limit(MAX_PATTERNS + 1).toPandas()
    if len(table) > MAX_PATTERNS:
        raise DataError(f"the summary has more than {MAX_PATTERNS:,} distinct ({', '.join(columns)}) patterns "
                        f"to bring to the driver; summarise in coarser periods (freq='W')", field=columns[0])
    if len(table) == 0:
        raise DataError("the summary is empty" if customer is not None else
                        "no repeat buyers (frequency > 0): the Gamma-Gamma model cannot be fitted",
                        field=columns[0])
    table = table.sort_values(["__first"] if customer is not None else columns, kind="stable")
    table = table.reset_index(drop=True)
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
