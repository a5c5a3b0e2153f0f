"""Fits from sums: :class:`~patronage.GammaGamma` and ``ChurnClassifier("logistic")`` on a table
spread over an engine's partitions (Spark, Dask), with the same parameters as the fit in memory.

Both likelihoods are sums over rows. Each partition computes, in the compiled
core, its share of the objective's value, gradient and Hessian at the
current parameters; the driver adds the shares and the core's own optimiser
(the one the in-memory fit runs, called back once per evaluation) takes the
next step. One engine job per evaluation, a few numbers per partition back:
nothing row-sized reaches the driver. First passes (mergeable too) give
what the optimiser needs before it starts: the Gamma-Gamma's weighted means
(its starting point) and frequency-spend correlation; the logistic model's
standardisation (per-column ranges, weighted means, weighted spread) and
label prior.

An engine adapter (:class:`Engine`) only runs a *kernel* (pandas partition
-> 1-D float64 array) on every partition and returns the per-partition
arrays; this module merges them (sums; min/max for the ranges). The in-memory
fits' warm starts on a subsample need the rows in order and are skipped: they
only save time, the tolerance decides the answer.
"""

from __future__ import annotations

import abc
import functools
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from . import _core
from .btyd import _GG_COLUMNS, GammaGamma, _Columns, _spending_frequency
from .churn import ChurnClassifier
from .churn._encode import Column, Design, is_numeric, sorted_categories
from .exceptions import DataError, ParameterError

Kernel = Callable[[pd.DataFrame], np.ndarray]
Merge = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Engine(abc.ABC):
    """What a fit from sums asks of an engine; Spark and Dask implement it."""

    @abc.abstractmethod
    def collect(self, kernel: Kernel, merge: Merge = np.add) -> np.ndarray:
        """``kernel`` run on every non-empty partition (or batch of rows, the batches of a
        partition combined with ``merge``): one row per partition, shape ``(parts, k)``."""

    @abc.abstractmethod
    def meta(self) -> pd.DataFrame:
        """The table's columns and pandas dtypes, without rows."""

    @abc.abstractmethod
    def counts(self, column: str) -> pd.Series:
        """Rows per distinct value of ``column`` (missing values included)."""

    @abc.abstractmethod
    def distinct(self, column: str, limit: int) -> pd.Series:
        """At most ``limit`` distinct values of ``column`` (missing values left out)."""


def _summed(engine: Engine, kernel: Kernel, width: int) -> np.ndarray:
    rows = engine.collect(kernel)
    return rows.sum(axis=0) if len(rows) else np.zeros(width)


# --------------------------------------------------------------------------- Gamma-Gamma

def _spend(part: pd.DataFrame) -> tuple:
    """A partition's usable ``(frequency, monetary_value)`` and its unusable repeat buyers (as the pandas fit)."""
    cols = _Columns(part, _GG_COLUMNS, "summary")
    frequency, unusable = _spending_frequency(cols)
    return frequency, cols["monetary_value"], unusable


def _gg_totals(part: pd.DataFrame) -> np.ndarray:
    frequency, monetary, unusable = _spend(part)
    return np.array([*_core.gamma_gamma_totals(frequency, monetary), unusable], dtype=np.float64)


def _gg_spread(part: pd.DataFrame, mean_frequency: float, mean_spend: float) -> np.ndarray:
    frequency, monetary, _ = _spend(part)
    return np.array(_core.gamma_gamma_spread(frequency, monetary, None, mean_frequency, mean_spend))


def _gg_sums(part: pd.DataFrame, params: tuple, hessian: bool) -> np.ndarray:
    frequency, monetary, _ = _spend(part)
    return _core.gamma_gamma_sums(frequency, monetary, None, params, hessian)


def fit_gamma_gamma(model: GammaGamma, engine: Engine) -> GammaGamma:
    """``model`` fitted on the partitions' repeat buyers (``frequency, monetary_value`` or their
    ``_cal`` columns), as :meth:`GammaGamma.fit` on the whole table."""
    penalizer, max_iter, tol = model._fit_settings()
    totals = _summed(engine, _gg_totals, 5)
    model._warn_unusable(int(totals[4]))
    weight, weighted_frequency, weighted_spend, rows = (float(v) for v in totals[:4])
    if rows == 0:
        raise DataError("no repeat buyers (frequency > 0): the Gamma-Gamma model cannot be fitted",
                        field="frequency")
    spread = _summed(engine, functools.partial(_gg_spread, mean_frequency=weighted_frequency / weight,
                                               mean_spend=weighted_spend / weight), 3)

    def sums(params: np.ndarray, hessian: bool) -> np.ndarray:
        kernel = functools.partial(_gg_sums, params=tuple(float(p) for p in params), hessian=bool(hessian))
        return _summed(engine, kernel, 10)

    fitted = _core.GammaGammaModel.fit_sums((weight, weighted_frequency, weighted_spend, rows),
                                            tuple(float(v) for v in spread), sums, penalizer, max_iter, tol)
    return model._fitted(fitted)


# --------------------------------------------------------------------------- logistic churn model

#: Most distinct values a categorical feature may have (each becomes a design column; the
#: logistic model takes at most 1,000).
MAX_CATEGORIES = 1_000


class _Batch:
    """How a partition becomes the core's ``(X, y, w)``: the design, the positive class and the
    class weights, fixed on the driver before any pass."""

    def __init__(self, design: Design, features: List[str], label: str, positive: Any,
                 factors: Optional[Dict[int, float]]) -> None:
        self.design, self.features, self.label = design, features, label
        self.positive, self.factors = positive, factors

    def arrays(self, part: pd.DataFrame) -> tuple:
        x = self.design.transform(part[self.features])
        y = (part[self.label].to_numpy() == self.positive).astype(np.float64)
        w = None if self.factors is None else np.where(y == 1.0, self.factors[1], self.factors[0])
        return x, y, w


def _ranges(part: pd.DataFrame, batch: _Batch) -> np.ndarray:
    x, y, w = batch.arrays(part)
    lo, hi, max_w, total, positive = _core.logistic_batch_ranges(x, y, w)
    return np.concatenate([lo, hi, [max_w, total, positive]])


def _merge_ranges(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """Two batches' ranges merged: min, max, max, sum, sum."""
    return np.concatenate([np.minimum(a[:p], b[:p]), np.maximum(a[p:2 * p + 1], b[p:2 * p + 1]),
                           a[2 * p + 1:] + b[2 * p + 1:]])


def _ranges_of(engine: Engine, batch: _Batch, p: int) -> tuple:
    """The whole table's ranges as the core takes them: ``(lo, hi, max_w, total, positive)``."""
    merge = functools.partial(_merge_ranges, p=p)
    rows = engine.collect(functools.partial(_ranges, batch=batch), merge)
    if len(rows) == 0:
        raise DataError("the table has no rows to fit on")
    merged = functools.reduce(merge, rows)
    return merged[:p], merged[p:2 * p], float(merged[2 * p]), float(merged[2 * p + 1]), float(merged[2 * p + 2])


def _column_sums(part: pd.DataFrame, batch: _Batch, ranges: tuple) -> np.ndarray:
    x, y, w = batch.arrays(part)
    return _core.logistic_batch_sums(x, y, w, ranges)


def _column_spread(part: pd.DataFrame, batch: _Batch, ranges: tuple, sums: np.ndarray) -> np.ndarray:
    x, y, w = batch.arrays(part)
    return _core.logistic_batch_spread(x, y, w, ranges, sums)


def _loss(part: pd.DataFrame, batch: _Batch, passes: tuple, beta: np.ndarray, hessian: bool) -> np.ndarray:
    x, y, w = batch.arrays(part)
    return _core.logistic_batch_loss(x, y, w, *passes, beta, hessian)


def _design(model: ChurnClassifier, engine: Engine, features: List[str]) -> Design:
    """The design :meth:`ChurnClassifier.fit` would learn: numeric columns as they are, the others
    one-hot with their sorted distinct values."""
    if model.impute not in (None, "zero"):
        raise ParameterError(f"impute={model.impute!r} needs the column's {model.impute} over all rows; a fit from "
                             "sums supports impute=None or 'zero'", "impute")
    meta = engine.meta()
    columns = []
    for name in features:
        if is_numeric(meta[name]):
            columns.append(Column(str(name), "numeric", fill=0.0 if model.impute == "zero" else None))
            continue
        values = engine.distinct(name, MAX_CATEGORIES + 1)
        if len(values) > MAX_CATEGORIES:
            raise DataError(f"feature {name!r} has more than {MAX_CATEGORIES:,} distinct values; the logistic model "
                            "takes at most 1,000 design columns", field=name)
        columns.append(Column(str(name), "categorical", sorted_categories(pd.Series(values, dtype=object))))
    return Design(columns, model.impute)


def fit_logistic(model: ChurnClassifier, engine: Engine, features: Sequence[str], label: str) -> ChurnClassifier:
    """``model`` (``"logistic"``) fitted on the partitions' ``features`` and ``label``, as
    :meth:`ChurnClassifier.fit` on the whole table (without sample weights; ``class_weight`` works)."""
    model._check_params()
    if model.model != "logistic":
        raise ParameterError(f"a fit from sums takes model='logistic', got {model.model!r}", "model")
    if model.calibration is not None:
        raise ParameterError("calibration refits the model on random folds of the rows; a fit from sums supports "
                             "calibration=None", "calibration")
    features = list(features)
    if not features:
        raise DataError("there are no feature columns to fit on")
    counts = engine.counts(label)
    # the labels' checks and classes_ exactly as in fit (missing, one or more than two classes)
    model._labels(pd.DataFrame(index=range(len(counts))), counts.index.to_numpy(), None)
    positive = model.classes_[1]
    n_positive = float(counts[counts.index == positive].sum())
    factors = None if model.class_weight is None else model._class_factors(n_positive, float(counts.sum()))
    design = _design(model, engine, features)
    model.feature_names_in_ = np.asarray(features, dtype=object)
    model.n_features_in_ = len(features)
    model._fit_has_names = True
    model.design_ = design
    model.feature_names_out_ = design.names_out()
    model.calibrator_ = None
    batch = _Batch(design, features, label, positive, factors)
    p = len(model.feature_names_out_)
    with model._feature_names():
        ranges = _ranges_of(engine, batch, p)
        sums = _summed(engine, functools.partial(_column_sums, batch=batch, ranges=ranges), p + 1)
        spread = _summed(engine, functools.partial(_column_spread, batch=batch, ranges=ranges, sums=sums), p)
        passes = (ranges, sums, spread)

        def at(beta: np.ndarray, hessian: bool) -> np.ndarray:
            width = 1 + (p + 1) + ((p + 1) ** 2 if hessian else 0)  # loss, gradient, Hessian
            kernel = functools.partial(_loss, batch=batch, passes=passes, beta=beta, hessian=bool(hessian))
            return _summed(engine, kernel, width)

        fitted = _core.LogisticModel.fit_sums(ranges, sums, spread, float(model.C), int(model.max_iter),
                                              model._logistic_tol(), at)
    model.model_ = model._warn_logistic(fitted)
    return model
