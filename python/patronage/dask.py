"""Patronage on Dask: the same functions on a dask DataFrame, through the same kernels.

``pip install "patronage[dask]"``. An adapter, not a second implementation:
the whole log's globals (``as_of``, ``observation_end``, ...) are computed
once, with one aggregate over the partitions; the log is shuffled so that each
customer's rows share a partition (``shuffle(on=customer)``); then

* per-customer tables (:func:`rfm_table`, :func:`btyd_summary`,
  :func:`churn_features`, :func:`churn_dataset`, :func:`lifecycle_stages`)
  run the kernel of :mod:`patronage._kernels` on every partition
  (``map_partitions``) and come back as **lazy** dask DataFrames, one row per
  customer, indexed by customer id (partitions in hash order:
  ``.compute().sort_index()`` is the pandas function's table);
* reduces (:func:`retention`, :func:`repurchase_rate`,
  :func:`lifecycle_transitions`, :func:`segment_summary`, :func:`nps`,
  :func:`csat`, :func:`ces`) compute a partial per partition, let dask sum
  them (``groupby(key).sum()``) and return the same pandas object as the
  single-machine function, so the plots work unchanged;
* :func:`rfm_scores` sums value histograms, then scores each partition
  against them (R, F and M exact);
* :func:`fit` fits BG/NBD-type models on the distinct ``(frequency, recency,
  T)`` patterns counted by dask, with the counts as ``weights`` (the same
  likelihood as the full fit, hence the same parameters); :func:`predict`
  maps a fitted model, carried as its JSON, over a summary's partitions.

Every function takes the pandas function's keyword arguments.

Examples
--------
>>> import dask.dataframe as dd, pandas as pd, patronage.dask
>>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3], "amount": [20.0, 30.0, 15.0, 5.0],
...                    "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05", "2024-01-09"])})
>>> rfm = patronage.dask.rfm_table(dd.from_pandas(tx, npartitions=2))
>>> rfm.compute().sort_index()[["recency_days", "n_orders", "total_spend"]]
             recency_days  n_orders  total_spend
customer_id
1                       1         2         50.0
2                       7         1         15.0
3                       3         1          5.0
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Type

import numpy as np
import pandas as pd

from . import _fit_sums, _kernels
from ._input import require, type_name
from .btyd import BetaGeo, GammaGamma, ParetoNBD, _Model
from .churn import ChurnClassifier
from .cluster import CustomerSegmenter, KMeans
from .exceptions import DataError, ParameterError

dd = require("dask.dataframe", "dask")

__all__ = ["rfm_table", "btyd_summary", "churn_features", "churn_dataset", "lifecycle_stages", "retention",
           "repurchase_rate", "cohort_retention", "lifecycle_transitions", "segment_summary", "rfm_scores", "nps", "csat", "ces",
           "fit", "predict", "pareto"]

def _frame(ddf: Any, name: str = "ddf") -> Any:
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"{name} must be a dask DataFrame, got {type_name(ddf)}")
    return ddf


def _columns(customer: str, date: str, amount: Optional[str], options: dict) -> dict:
    return dict(customer=customer, date=date, amount=amount, returns=options.get("returns", "net"),
                order=options.get("order"))


def _globals(ddf: Any, cols: dict) -> _kernels.LogGlobals:
    """The whole log's globals: one aggregate (each partition's, merged)."""
    none = np.iinfo(np.int64)

    def one(part: pd.DataFrame) -> pd.DataFrame:
        if len(part) == 0:
            return pd.DataFrame({"first": [], "last": [], "max": []}, dtype=np.int64)
        try:
            g = _kernels.batch_globals(part, **cols)
        except DataError as exc:  # a partition of returns only: its last row still counts
            if cols["amount"] is None or exc.field != cols["amount"] or "no purchase" not in str(exc):
                raise
            g = _kernels.batch_globals(part.assign(**{cols["amount"]: 0.0}), **cols)
            # "net" keeps return rows (they end the log too); "drop" does not
            g = _kernels.LogGlobals(int(none.max), g.last_day if cols["returns"] == "net" else int(none.min), g.max_day)
        return pd.DataFrame({"first": [g.first_purchase_day], "last": [g.last_day], "max": [g.max_day]})

    meta = pd.DataFrame({"first": [], "last": [], "max": []}, dtype=np.int64)
    rows = ddf.map_partitions(one, meta=meta).compute()
    g = _kernels.LogGlobals.merge(_kernels.LogGlobals(int(r["first"]), int(r["last"]), int(r["max"]))
                                  for _, r in rows.iterrows())
    if g.first_purchase_day == none.max:
        raise DataError("the log has no purchase (every amount is negative: returns only)", field=cols["amount"])
    return g


def _by_customer(ddf: Any, customer: str, npartitions: Optional[int]) -> Any:
    """``ddf`` with every customer's rows in one partition."""
    if customer not in ddf.columns:
        raise DataError(f"the transaction log has no column {customer!r}; columns: {', '.join(map(str, ddf.columns))}",
                        field=customer)
    return ddf.shuffle(on=customer, npartitions=npartitions or ddf.npartitions)


def _on_sample(func: Callable[[pd.DataFrame], Any], ddf: Any) -> Any:
    """``func`` of a few rows like ``ddf``'s (to learn its output's columns and dtypes): dask's made-up
    rows, or the log's first rows when the function refuses those (e.g. dates held as text)."""
    try:
        return func(ddf._meta_nonempty)
    except (ValueError, TypeError):
        return func(ddf.head(1_000, npartitions=-1))


def _meta_of(kernel: Callable[[pd.DataFrame], Optional[pd.DataFrame]], ddf: Any) -> pd.DataFrame:
    """The empty frame the kernel returns (its columns and dtypes)."""
    out = _on_sample(kernel, ddf)
    if out is None:
        raise DataError("no customer of the log qualifies")
    return out.iloc[:0]


def _per_customer(name: str, ddf: Any, customer: str, date: str, amount: Optional[str], npartitions: Optional[int],
                  options: dict) -> Any:
    ddf = _frame(ddf)
    cols = _columns(customer, date, amount, options)
    options = {**options, "customer": customer, "date": date, "amount": amount}
    g = _globals(ddf, cols)
    shuffled = _by_customer(ddf, customer, npartitions)
    if name == "lifecycle_stages" and _kernels.needs_median_gap(options):
        explicit = _kernels.explicit(name, g, options)
        gaps = shuffled.map_partitions(lambda b: pd.Series(_kernels.typical_gaps(b, explicit) if len(b) else []),
                                       meta=pd.Series([], dtype=np.float64)).compute()
        options["default_gap"] = _kernels.median_gap([gaps.to_numpy(dtype=np.float64)])

    def kernel(batch: pd.DataFrame) -> Optional[pd.DataFrame]:
        return None if len(batch) == 0 else _kernels.run(name, batch, g, options)

    meta = _meta_of(kernel, ddf)

    def run(batch: pd.DataFrame) -> pd.DataFrame:
        out = kernel(batch)
        return meta if out is None else out

    return shuffled.map_partitions(run, meta=meta)


def rfm_table(ddf: Any, customer: str = "customer_id", date: str = "date", amount: str = "amount", *,
              npartitions: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.rfm_table` of a dask log.

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log, one row per transaction (columns as in the pandas function).
    customer, date, amount : str
        Column names.
    npartitions : int, optional
        Partitions of the shuffle by customer (default: those of ``ddf``).
    **options
        The pandas function's keyword arguments.

    Returns
    -------
    dask DataFrame
        Lazy, one row per customer, indexed by customer id (partitions in hash order).

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> patronage.dask.rfm_table(log).compute().sort_index()[["n_orders", "total_spend"]].head(2)
                 n_orders  total_spend
    customer_id
    1                   1        11.77
    2                   1        89.00
    """
    return _per_customer("rfm_table", ddf, customer, date, amount, npartitions, options)


def btyd_summary(ddf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount", *,
                 npartitions: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.btyd_summary` of a dask log (with ``calibration_end``: the holdout columns too).

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log, one row per transaction (columns as in the pandas function).
    customer, date, amount : str
        Column names.
    npartitions : int, optional
        Partitions of the shuffle by customer (default: those of ``ddf``).
    **options
        The pandas function's keyword arguments.

    Returns
    -------
    dask DataFrame
        Lazy, one row per customer, indexed by customer id (partitions in hash order).

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> patronage.dask.btyd_summary(log, freq="W").compute().sort_index().head(2)
                 frequency  recency     T  monetary_value
    customer_id
    1                  0.0      0.0  78.0             0.0
    2                  0.0      0.0  77.0             0.0
    """
    return _per_customer("btyd_summary", ddf, customer, date, amount, npartitions, options)


def churn_features(ddf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                   *, npartitions: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.churn_features` of a dask log (``attributes`` are not taken: join them to the result).

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log, one row per transaction (columns as in the pandas function).
    customer, date, amount : str
        Column names.
    npartitions : int, optional
        Partitions of the shuffle by customer (default: those of ``ddf``).
    **options
        The pandas function's keyword arguments.

    Returns
    -------
    dask DataFrame
        Lazy, one row per customer, indexed by customer id (partitions in hash order).

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> patronage.dask.churn_features(log).compute().shape
    (586, 16)
    """
    if "attributes" in options:
        raise ParameterError("patronage.dask.churn_features does not take attributes: join them to its result",
                             "attributes")
    return _per_customer("churn_features", ddf, customer, date, amount, npartitions, options)


def churn_dataset(ddf: Any, *, cutoff: Any, customer: str = "customer_id", date: str = "date",
                  amount: Optional[str] = "amount", npartitions: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.churn_dataset` of a dask log.

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log, one row per transaction (columns as in the pandas function).
    customer, date, amount : str
        Column names.
    npartitions : int, optional
        Partitions of the shuffle by customer (default: those of ``ddf``).
    **options
        The pandas function's keyword arguments.

    Returns
    -------
    X : dask DataFrame
        Lazy features, one row per customer with a purchase by ``cutoff``.
    y : dask Series
        ``churned``, with the same partitions.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> X, y = patronage.dask.churn_dataset(log, cutoff="1997-12-31", horizon="90D")
    >>> len(X.compute()), int(y.sum().compute())
    (586, 489)
    """
    if "attributes" in options:
        raise ParameterError("patronage.dask.churn_dataset does not take attributes: join them to X",
                             "attributes")
    table = _per_customer("churn_dataset", ddf, customer, date, amount, npartitions, {**options, "cutoff": cutoff})
    return table.drop(columns="churned"), table["churned"]


def lifecycle_stages(ddf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                     *, npartitions: Optional[int] = None, **options: Any) -> Any:
    """:func:`patronage.lifecycle_stages` of a dask log.

    Without ``default_gap`` (and fixed thresholds) the population's median
    typical gap is computed first, from every customer's gap (one more pass).

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log, one row per transaction (columns as in the pandas function).
    customer, date, amount : str
        Column names.
    npartitions : int, optional
        Partitions of the shuffle by customer (default: those of ``ddf``).
    **options
        The pandas function's keyword arguments.

    Returns
    -------
    dask DataFrame
        Lazy, one row per customer, indexed by customer id (partitions in hash order).

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> int(patronage.dask.lifecycle_stages(log).compute()["stage"].value_counts()["lapsed"])
    400
    """
    return _per_customer("lifecycle_stages", ddf, customer, date, amount, npartitions, options)


# --------------------------------------------------------------------------- reduces

def _summed(parts: Any, partial_type: Type[_kernels.Partial], meta: pd.DataFrame, **extra: Any) -> Any:
    """The partial tables of the partitions, summed by dask, as one partial."""
    if partial_type.key is None:
        table = parts.sum().compute().to_frame().T
    else:
        table = parts.groupby(partial_type.key, dropna=False).sum().compute().reset_index()
    return partial_type.from_frame(table.astype({c: meta[c].dtype for c in table.columns if c in meta}), **extra)


def _reduce(name: str, ddf: Any, customer: str, date: str, amount: Optional[str], partial_options: dict,
            result_options: dict, needs_customers: bool = True) -> Any:
    ddf = _frame(ddf)
    cols = _columns(customer, date, amount, partial_options)
    g = _globals(ddf, cols)
    if needs_customers:
        ddf = _by_customer(ddf, customer, None)
    partial = getattr(_kernels, f"{name}_partial")
    options = {**partial_options, "customer": customer, "date": date, "amount": amount}
    return _reduce_partials(name, ddf, g, lambda b: partial(b, g, **options), result_options)


def _reduce_partials(name: str, ddf: Any, g: Any, partial: Callable[[pd.DataFrame], Any],
                     result_options: dict) -> Any:
    sample = _on_sample(partial, ddf)
    meta = sample.to_frame().iloc[:0]

    def one(batch: pd.DataFrame) -> pd.DataFrame:
        return meta if len(batch) == 0 else partial(batch).to_frame()

    parts = ddf.map_partitions(one, meta=meta)
    extra = {f: getattr(sample, f) for f in ("index_name", "order") if hasattr(sample, f)}
    total = _summed(parts, type(sample), meta, **extra)
    return getattr(_kernels, f"{name}_result")(total, g, **result_options)


def retention(ddf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount", *,
              period: str = "M", **options: Any) -> pd.DataFrame:
    """:func:`patronage.retention` of a dask log.

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log, one row per transaction (columns as in the pandas function).
    customer, date, amount : str
        Column names.
    **options
        The pandas function's keyword arguments.

    Returns
    -------
    DataFrame
        The pandas function's table.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> patronage.dask.retention(log)[["active", "new", "retained"]].head(2)
             active  new  retained
    period
    1997-01     566  566         0
    1997-02      89   12        77
    """
    return _reduce("retention", ddf, customer, date, amount, {**options, "period": period}, {"period": period})


def repurchase_rate(ddf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                    *, within: Any = None, **options: Any) -> pd.Series:
    """:func:`patronage.repurchase_rate` of a dask log (censored against the whole log's last day).

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log, one row per transaction (columns as in the pandas function).
    customer, date, amount : str
        Column names.
    **options
        The pandas function's keyword arguments.

    Returns
    -------
    Series
        The pandas function's Series.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> int(patronage.dask.repurchase_rate(log, within=90)["repeat_customers"])
    175
    """
    return _reduce("repurchase_rate", ddf, customer, date, amount, {**options, "within": within}, {})


def cohort_retention(ddf: Any, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                     *, period: str = "M", metric: str = "customers", normalize: bool = True, returns: str = "net",
                     order: Optional[str] = None) -> pd.DataFrame:
    """:func:`patronage.cohort_retention` of a dask log: each partition's cohort cells, summed by dask.

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log.
    customer, date, amount, period, metric, normalize, returns, order
        As in the pandas function.

    Returns
    -------
    DataFrame
        The pandas function's matrix (customer counts exact; revenue cells to rounding).

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> patronage.dask.cohort_retention(log).iloc[:2, :3].round(3)
    age        0      1      2
    cohort
    1997-01  1.0  0.136  0.104
    1997-02  1.0  0.167  0.083
    """
    if metric not in ("customers", "revenue"):
        raise ParameterError(f"metric must be 'customers' or 'revenue', got {metric!r}", "metric")
    if amount is None and metric == "revenue":
        raise ParameterError("metric='revenue' needs an amount column", "amount")
    ddf = _frame(ddf)
    cols = dict(customer=customer, date=date, amount=amount, returns=returns, order=order)
    g = _globals(ddf, cols)
    meta = pd.DataFrame({"row": pd.Series([], dtype=np.int64), "col": pd.Series([], dtype=np.int64),
                         "value": pd.Series([], dtype=np.float64)})

    def cells(batch: pd.DataFrame) -> pd.DataFrame:
        return meta if len(batch) == 0 else _kernels.cohort_partial(batch, g, period, metric, **cols).to_frame()

    summed = (_by_customer(ddf, customer, None).map_partitions(cells, meta=meta)
              .groupby(["row", "col"]).sum().compute().reset_index())
    partial = _kernels.CohortPartial.from_frame(summed, g, period)
    return _kernels.cohort_matrix(partial, g, period, metric, normalize)


def lifecycle_transitions(ddf: Any, from_date: Any, to_date: Any, customer: str = "customer_id",
                          date: str = "date", amount: Optional[str] = "amount", **stage_options: Any) -> pd.DataFrame:
    """:func:`patronage.lifecycle_transitions` of a dask log.

    Without ``default_gap`` (and fixed thresholds) each date's median typical
    gap is computed first, over all customers (two more passes).

    Parameters
    ----------
    ddf : dask DataFrame
        The transaction log.
    from_date, to_date, customer, date, amount, **stage_options
        As in the pandas function.
    Returns
    -------
    DataFrame
        The pandas function's counts.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> int(patronage.dask.lifecycle_transitions(log, "1997-06-30", "1997-12-31").to_numpy().sum())
    586
    """
    shuffled = _by_customer(_frame(ddf), customer, None)
    options = {**stage_options, "customer": customer, "date": date, "amount": amount}
    if _kernels.needs_median_gap(options):
        lifecycle = {k: v for k, v in options.items() if k != "default_gap"}
        gaps = []
        for when in (from_date, to_date):
            at = {**lifecycle, "as_of": when}
            values = shuffled.map_partitions(lambda b: pd.Series(_kernels.typical_gaps(b, at) if len(b) else []),
                                             meta=pd.Series([], dtype=np.float64)).compute()
            gaps.append(_kernels.median_gap([values.to_numpy(dtype=np.float64)]))
        options["default_gap"] = tuple(gaps)
    return _reduce_partials("lifecycle_transitions", shuffled, None,
                            lambda b: _kernels.lifecycle_transitions_partial(b, None, from_date=from_date,
                                                                             to_date=to_date, **options), {})


def segment_summary(scored: Any, **options: Any) -> pd.DataFrame:
    """:func:`patronage.segment_summary` of a scored dask table (e.g. :func:`rfm_scores`' result).

    Parameters
    ----------
    scored : dask DataFrame
        One row per customer with the segment, recency, frequency and monetary columns.
    **options
        The pandas function's keyword arguments (column names).
    Returns
    -------
    DataFrame
        The pandas function's table; revenue and means equal it to rounding.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> scored = patronage.dask.rfm_scores(patronage.dask.rfm_table(log))
    >>> patronage.dask.segment_summary(scored)["customers"].head(2)
    segment
    Champions    153
    Loyal         79
    Name: customers, dtype: int64
    """
    scored = _frame(scored, "scored")
    return _reduce_partials("segment_summary", scored, None,
                            lambda b: _kernels.segment_summary_partial(b, None, **options), options)


def rfm_scores(rfm: Any, bins: int = 5, **options: Any) -> Any:
    """:func:`patronage.rfm_scores` of a dask RFM table (e.g. :func:`rfm_table`'s): lazy.

    The value histograms of R, F and M are summed by dask, then every
    partition is scored against them: the scores equal the single-table ones
    exactly. The M histogram has one row per distinct spend (up to one per
    customer) and travels to every partition; ``rfm`` is computed twice
    (histograms, then scores): persist it first.

    Parameters
    ----------
    rfm : dask DataFrame
        One row per customer (e.g. :func:`rfm_table`'s result).
    bins, **options
        As in the pandas function.

    Returns
    -------
    dask DataFrame
        Lazy, ``rfm`` with the score columns.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> scored = patronage.dask.rfm_scores(patronage.dask.rfm_table(log))
    >>> scored.compute().sort_index()[["R", "F", "M", "segment"]].head(2)
                 R  F  M         segment
    customer_id
    1            1  1  1            Lost
    2            3  1  4  Need Attention
    """
    rfm = _frame(rfm, "rfm")
    columns = {k: v for k, v in options.items() if k in ("recency", "frequency", "monetary")}
    sample = _on_sample(lambda b: _kernels.rfm_scores_partial(b, **columns), rfm)
    meta = sample.to_frame().iloc[:0]
    parts = rfm.map_partitions(lambda b: meta if len(b) == 0 else _kernels.rfm_scores_partial(b, **columns).to_frame(),
                               meta=meta)
    table = parts.groupby(["column", "value"]).sum().compute().reset_index()
    histogram = _kernels.ScoreHistogram.from_frame(table)
    scored_meta = _on_sample(lambda b: _kernels.rfm_scores_map(b, _kernels.rfm_scores_partial(b, **columns),
                                                               bins=bins, **options), rfm).iloc[:0]
    return rfm.map_partitions(lambda b: scored_meta if len(b) == 0 else
                              _kernels.rfm_scores_map(b, histogram, bins=bins, **options), meta=scored_meta)


def _survey(kind: str, answers: Any, partial_options: dict, result_options: dict) -> Any:
    answers = _frame(answers, "scores")
    by = partial_options.get("by")
    if by is not None and not isinstance(by, str):
        raise ParameterError("by must name a column of the dask DataFrame", "by")
    return _reduce_partials(kind, answers, None,
                            lambda b: getattr(_kernels, f"{kind}_partial")(b, None, **partial_options),
                            {**result_options, "by": by})


def nps(scores: Any, *, by: Optional[str] = None, column: Optional[str] = None, confidence: float = 0.95) -> Any:
    """:func:`patronage.nps` of the answers in a dask DataFrame.

    Parameters
    ----------
    scores : dask DataFrame
        The answers (``column``), and the groups (``by``, a column name).
    by, column, confidence
        As in the pandas function.
    Returns
    -------
    Series or DataFrame
        The pandas function's result.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd, patronage.dask
    >>> answers = dd.from_pandas(pd.DataFrame({"score": [10, 9, 9, 8, 6, 0, 7, 10]}), npartitions=2)
    >>> patronage.dask.nps(answers)[["n", "nps"]]
    n       8.0
    nps    25.0
    Name: nps, dtype: float64
    """
    return _survey("nps", scores, {"by": by, "column": column}, {"confidence": confidence})


def csat(scores: Any, *, scale: Any = 5, satisfied: Any = (4, 5), by: Optional[str] = None,
         column: Optional[str] = None, confidence: float = 0.95) -> Any:
    """:func:`patronage.csat` of the answers in a dask DataFrame.

    Parameters
    ----------
    scores : dask DataFrame
        The answers (``column``), and the groups (``by``, a column name).
    scale, satisfied, by, column, confidence
        As in the pandas function.
    Returns
    -------
    Series or DataFrame
        The pandas function's result.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd, patronage.dask
    >>> answers = dd.from_pandas(pd.DataFrame({"score": [5, 4, 4, 5, 2, 3]}), npartitions=2)
    >>> round(float(patronage.dask.csat(answers)["csat"]), 4)
    0.6667
    """
    return _survey("csat", scores, {"by": by, "column": column, "scale": scale},
                   {"satisfied": satisfied, "confidence": confidence})


def ces(scores: Any, *, scale: Any = 7, by: Optional[str] = None, column: Optional[str] = None,
        confidence: float = 0.95) -> Any:
    """:func:`patronage.ces` of the answers in a dask DataFrame.

    Parameters
    ----------
    scores : dask DataFrame
        The answers (``column``), and the groups (``by``, a column name).
    scale, by, column, confidence
        As in the pandas function.
    Returns
    -------
    Series or DataFrame
        The pandas function's result.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd, patronage.dask
    >>> answers = dd.from_pandas(pd.DataFrame({"score": [5, 4, 4, 5, 2, 3]}), npartitions=2)
    >>> round(float(patronage.dask.ces(answers, scale=5)["ces"]), 4)
    3.8333
    """
    return _survey("ces", scores, {"by": by, "column": column, "scale": scale}, {"confidence": confidence})


# --------------------------------------------------------------------------- models

_PATTERN = ["frequency", "recency", "T"]


def fit(model: Any, summary: Any, y: Any = None, *, customer: str = "customer_id", label: str = "churned",
        sample_size: Optional[int] = None, seed: int = 0) -> Any:
    """Fits a model on a dask DataFrame; returns ``model``, fitted, with the parameters of the
    pandas fit on the whole table.

    * :class:`~patronage.BetaGeo`, :class:`~patronage.ModifiedBetaGeo`,
      :class:`~patronage.ParetoNBD` (on a :func:`btyd_summary` table): dask
      counts the distinct ``(frequency, recency, T)`` patterns (or their
      ``_cal`` columns); the model is fitted on them with the counts as
      ``weights``: the likelihood is the full one, so are the parameters.
      (Fitting the distinct patterns without their counts would be wrong.)
    * :class:`~patronage.GammaGamma` (on a :func:`btyd_summary` table) and
      ``ChurnClassifier("logistic")`` (on a :func:`churn_dataset` table:
      every column but ``customer`` and ``label`` is a feature): fitted from
      sums; every partition computes its share of the likelihood, gradient
      and Hessian at the current parameters, dask adds them and the
      in-memory fit's optimiser takes the next step (one dask computation
      per step; see :mod:`patronage._fit_sums`). Parameters equal the pandas
      fit's to about 1e-10 relative.
    * :class:`~patronage.KMeans`, :class:`~patronage.CustomerSegmenter` and
      ``ChurnClassifier("gbm")``: fitted on a seeded sample of
      ``sample_size`` customers (the ``sample_size`` smallest
      ``hash(customer, seed)``, so the same seed gives the same sample
      whatever the partitioning), all of them when ``sample_size`` is None.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma, ChurnClassifier, KMeans or CustomerSegmenter
        Fitted in place.
    summary : dask DataFrame
        The table: see above. The customer id may be the index or a column.
    y : dask Series, optional
        ChurnClassifier: the labels (as :func:`churn_dataset` returns them),
        when ``summary`` has no ``label`` column.
    customer : str, default "customer_id"
        The id column (not a feature; hashed for the sample).
    label : str, default "churned"
        ChurnClassifier: the label column.
    sample_size : int or None, default None
        Customers the sampled fits take; None: all (on the driver's memory).
    seed : int, default 0
        The sample's seed.

    Returns
    -------
    model
        Fitted.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> model = patronage.dask.fit(patronage.BetaGeo(), patronage.dask.btyd_summary(log, freq="W"))
    >>> model.params_.round(3).to_dict()
    {'r': 0.275, 'alpha': 6.598, 'a': 0.181, 'b': 0.637}
    """
    summary = _frame(summary, "summary")
    if y is not None:
        summary = summary.assign(**{label: y})
    if isinstance(model, GammaGamma):
        names = [c if c in summary.columns else f"{c}_cal" for c in ("frequency", "monetary_value")]
        _require(summary, names)
        return _fit_sums.fit_gamma_gamma(model, _Engine(summary[names]))
    if isinstance(model, ChurnClassifier) and model.model == "logistic":
        table = _with_column(summary, customer)
        _require(table, [label])
        features = [c for c in table.columns if c not in (customer, label)]
        return _fit_sums.fit_logistic(model, _Engine(table[features + [label]]), features, label)
    if isinstance(model, (KMeans, CustomerSegmenter, ChurnClassifier)):
        sample = _sample(_with_column(summary, customer), customer, sample_size, seed)
        if isinstance(model, ChurnClassifier):
            _require(sample, [label])
            return model.fit(sample.drop(columns=[label]), sample[label])
        return model.fit(sample)
    if not isinstance(model, (BetaGeo, ParetoNBD)):
        raise TypeError(f"patronage.dask.fit takes a BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma, ChurnClassifier, "
                        f"KMeans or CustomerSegmenter, got {type_name(model)}")
    names = [c if c in summary.columns else f"{c}_cal" for c in _PATTERN]
    missing = [n for n in names if n not in summary.columns]
    if missing:
        raise DataError(f"summary has no column {missing[0]!r} (a btyd_summary table)", field=missing[0])
    patterns = summary[names].groupby(names).size().compute()
    table = patterns.rename("weight").reset_index()
    return model.fit(table[names], weights=table["weight"].to_numpy(dtype=np.float64))


def predict(model: Any, summary: Any, *, t: Optional[float] = None) -> Any:
    """Adds a fitted model's per-customer predictions to a dask summary table, lazily.

    Purchase models (BG/NBD, MBG/NBD, Pareto/NBD) add ``p_alive`` and, with
    ``t``, ``expected_purchases``; :class:`~patronage.GammaGamma` adds
    ``expected_average_spend``. The model travels to the workers as its JSON.

    Parameters
    ----------
    model : fitted BTYD model
    summary : dask DataFrame
        A :func:`btyd_summary` table (repeat buyers' spend for GammaGamma).
    t : float, optional
        The horizon of ``expected_purchases``, in the summary's time units.

    Returns
    -------
    dask DataFrame
        Lazy, ``summary`` with the prediction columns.

    Examples
    --------
    >>> import dask.dataframe as dd, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = dd.from_pandas(load_cdnow().head(2000), npartitions=2)
    >>> summary = patronage.dask.btyd_summary(log, freq="W")
    >>> model = patronage.dask.fit(patronage.BetaGeo(), summary)
    >>> patronage.dask.predict(model, summary, t=52).compute().sort_index()["expected_purchases"].round(3).head(2)
    customer_id
    1    0.157
    2    0.159
    Name: expected_purchases, dtype: float64
    """
    if not isinstance(model, _Model):
        raise TypeError(f"patronage.dask.predict takes a fitted BTYD model, got {type_name(model)}")
    model._require_fitted()
    summary = _frame(summary, "summary")
    kind, text = type(model), model.to_json()

    def one(part: pd.DataFrame) -> pd.DataFrame:
        if len(part) == 0:
            return part.assign(**{c: pd.Series([], dtype=np.float64) for c in _outputs(kind, t)})
        fitted = kind.from_json(text)
        if isinstance(fitted, (BetaGeo, ParetoNBD)):
            out = part.assign(p_alive=fitted.p_alive(part))
            if t is not None:
                out["expected_purchases"] = fitted.expected_purchases(part, t)
            return out
        return part.assign(expected_average_spend=fitted.expected_average_spend(part))

    meta = summary._meta.assign(**{c: pd.Series([], dtype=np.float64) for c in _outputs(kind, t)})
    return summary.map_partitions(one, meta=meta)


def _outputs(kind: type, t: Optional[float]) -> list:
    if issubclass(kind, (BetaGeo, ParetoNBD)):
        return ["p_alive"] + (["expected_purchases"] if t is not None else [])
    return ["expected_average_spend"]


def _require(frame: Any, columns: list) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"the dask DataFrame has no column {missing[0]!r}; columns found: "
                        f"{', '.join(map(repr, frame.columns))}", field=missing[0])


def _with_column(ddf: Any, customer: str) -> Any:
    """``ddf`` with the customer id as a column (tables from this module have it as the index)."""
    if customer in ddf.columns:
        return ddf
    if ddf.index.name == customer:
        return ddf.reset_index()
    raise DataError(f"the dask DataFrame has no column or index {customer!r}", field=customer)


def _sample(ddf: Any, customer: str, sample_size: Optional[int], seed: int) -> pd.DataFrame:
    """The ``sample_size`` customers with the smallest seeded hash of their id (all with None), as
    pandas indexed by id and sorted: the same sample whatever the partitioning."""
    if sample_size is not None and (isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer))
                                    or sample_size < 1):
        raise ParameterError(f"sample_size must be a positive integer or None, got {sample_size!r}", "sample_size")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed must be an integer, got {seed!r}", "seed")
    if sample_size is None:
        frame = ddf.compute()
    else:  # the smallest keys of each partition, then of those: no shuffle
        meta = ddf._meta.assign(**{_KEY: np.array([], dtype=np.uint64)})
        smallest = ddf.map_partitions(_smallest_keys, customer, int(sample_size), int(seed), meta=meta).compute()
        frame = _smallest_keys(smallest, customer, int(sample_size), int(seed)).drop(columns=_KEY)
    frame = frame.set_index(customer).sort_index()
    if len(frame) == 0:
        raise DataError("the dask DataFrame has no rows to fit on")
    return frame


#: The sample's key column (dropped before the fit).
_KEY = "__patronage_key"


def _smallest_keys(part: pd.DataFrame, customer: str, n: int, seed: int) -> pd.DataFrame:
    """The ``n`` rows of ``part`` with the smallest key: pandas' hash of the id, hashed again with the
    seed mixed in (a different order per seed); ties (none in practice) by id."""
    mixed = pd.util.hash_pandas_object(part[customer], index=False).to_numpy() ^ np.uint64(
        (seed * 0x9E3779B97F4A7C15) % 2**64)
    keyed = part.assign(**{_KEY: pd.util.hash_array(mixed)})
    return keyed.sort_values([_KEY, customer], kind="stable").head(n)


class _Engine(_fit_sums.Engine):
    """A fit from sums on dask: the needed columns persisted, each pass one computation of the kernel
    per partition (``to_delayed``), the one-row results merged on the driver."""

    def __init__(self, ddf: Any) -> None:
        self.ddf = ddf.persist()

    def collect(self, kernel: _fit_sums.Kernel, merge: _fit_sums.Merge = np.add) -> np.ndarray:
        import dask

        parts = [dask.delayed(_partition_sums)(part, kernel) for part in self.ddf.to_delayed()]
        rows = [r for r in dask.compute(*parts) if r is not None]
        return np.array(rows, dtype=np.float64).reshape(len(rows), -1)

    def meta(self) -> pd.DataFrame:
        return self.ddf._meta

    def counts(self, column: str) -> pd.Series:
        return self.ddf[column].value_counts(dropna=False).compute()

    def distinct(self, column: str, limit: int) -> pd.Series:
        return self.ddf[column].dropna().drop_duplicates().head(limit, npartitions=-1)


def _partition_sums(part: pd.DataFrame, kernel: _fit_sums.Kernel) -> Optional[np.ndarray]:
    return None if len(part) == 0 else np.asarray(kernel(part), dtype=np.float64)


def pareto(ddf: Any, customer: str = "customer_id", date: str = "date", amount: str = "amount", *,
           spend: str = "total_spend", top: float = 0.2, npartitions: Optional[int] = None,
           **options: Any) -> Any:
    """:func:`patronage.pareto` of a dask DataFrame: the same :class:`~patronage.ParetoResult`, exactly.

    Each customer's net spend is computed by dask (from a log: the
    ``total_spend`` of :func:`rfm_table`; or a per-customer table's ``spend``
    column, the id as index or column); then one number per customer comes to
    the driver, where :func:`patronage.pareto` ranks them (its result has a row
    per customer). Ties in spend are ranked by customer id.

    Parameters
    ----------
    ddf : dask DataFrame
        A transaction log (it has the ``date`` column) or one row per customer.
    customer, date, amount, spend, top
        As in :func:`patronage.pareto`.
    npartitions : int, optional
        As in :func:`rfm_table` (a log only).
    **options
        :func:`patronage.pareto`'s ``returns`` and ``order`` (a log only).

    Returns
    -------
    ParetoResult

    Examples
    --------
    >>> import dask.dataframe as dd, patronage, patronage.dask
    >>> from patronage.datasets import load_cdnow
    >>> log = load_cdnow().head(3000)
    >>> result = patronage.dask.pareto(dd.from_pandas(log, npartitions=3))
    >>> result.top_share == patronage.pareto(log).top_share
    True
    """
    from .loyalty import pareto as pandas_pareto

    ddf = _frame(ddf)
    if date in ddf.columns:
        column = "total_spend"
        table = rfm_table(ddf, customer, date, amount, npartitions=npartitions, **options)[column]
    else:
        table = _with_column(ddf, customer)
        if spend not in table.columns:
            raise DataError(f"the dask DataFrame has neither a {date!r} column (a transaction log) nor a {spend!r} "
                            f"column (a per-customer table)", field=spend)
        table = table[[customer, spend]].set_index(customer, sort=False)[spend]
    spend_per_customer = table.compute().sort_index(kind="stable")
    return pandas_pareto(spend_per_customer, top=top)
