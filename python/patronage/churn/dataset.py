"""Leakage-free churn labels and features from a transaction log."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Tuple

import numpy as np
import pandas as pd

from .. import _core
from .._input import follows_input
from .._frame import read_transactions, require_frame, to_day, to_days
from ..exceptions import DataError, ParameterError
from ._encode import is_numeric, one_hot, sorted_categories

#: The feature columns of :func:`churn_dataset`, in order (see its docstring).
CHURN_FEATURES: Tuple[str, ...] = tuple(_core.CHURN_FEATURES)


@follows_input
def churn_dataset(
    tx: pd.DataFrame,
    *,
    cutoff: Any,
    horizon: Any = "90D",
    window: Any = None,
    attributes: Optional[pd.DataFrame] = None,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    returns: str = "net",
    observation_end: Any = None,
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> Tuple[pd.DataFrame, pd.Series]:
    """Churn features at ``cutoff`` and labels over the following ``horizon``.

    Purchases, orders and returns are those of :func:`patronage.rfm_table`.
    Features use only transactions on or before ``cutoff`` (a later return is
    not seen, even of an earlier purchase); the label is 1 (churned) when the
    customer makes no purchase (a row with an amount ``>= 0``; a return is not
    a purchase) in ``(cutoff, cutoff + horizon]``. Only customers with a
    purchase on or before the cutoff are included. Changing or deleting any
    transaction after the cutoff cannot change ``X``. Computed in the
    compiled core in one pass over the log.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (dtypes and ``returns`` as in
        :func:`patronage.rfm_table`). Not modified.
    cutoff : date-like
        The last day whose transactions feed the features (inclusive). Must
        lie within the data.
    horizon : str, int or timedelta, default "90D"
        The label window, in whole days (``"90D"``, ``"13W"``, ``90``); must
        be positive and end on or before ``observation_end``.
    window : same as horizon, optional
        Length of the trend windows (default: ``horizon``).
    attributes : DataFrame, optional
        Customer attributes indexed by customer id (unique). Numeric and
        boolean columns are used as they are; other columns are one-hot
        encoded as ``"column=value"`` (one indicator per value seen among the
        customers of ``X``). Missing values: a customer without a row, or with
        NaN in a numeric column, gets NaN (fit :class:`ChurnClassifier` with
        ``impute=`` or ``model="gbm", impute="native"``); a missing category
        gets all-zero indicators.
    customer, date, amount : str
        Column names of ``tx``.
    returns : {"net", "drop", "error"}
        Negative amounts (see :func:`patronage.rfm_table`).
    observation_end : date-like, optional
        The last day the log covers (default: its last transaction).
    order : str, optional
        The order (invoice) id column: ``frequency``, ``orders_recent``,
        ``orders_previous`` and ``single_order`` then count orders, not
        purchase days.
    date_format : str, optional
        The format of non-ISO date strings (see :func:`patronage.rfm_table`).

    Returns
    -------
    X : DataFrame
        Indexed by customer id, columns :data:`CHURN_FEATURES` then the
        encoded attributes, all float64:

        ``recency_days`` (cutoff - last purchase day), ``frequency`` (orders),
        ``monetary`` (net spend: purchases minus the returns matched to them),
        ``avg_order_value``, ``tenure_days`` (cutoff - first purchase day),
        ``gap_mean_days`` / ``gap_std_days`` (gaps between purchase days; with
        one purchase day the mean is ``tenure_days`` and the std 0), ``recency_to_gap``
        (``recency_days / max(gap_mean_days, 1)``), ``orders_recent`` /
        ``orders_previous`` (orders in ``(cutoff - window, cutoff]`` and the
        window before), ``order_trend`` (``(recent - previous) / (recent +
        previous)``, 0 when both are 0), ``spend_recent`` / ``spend_previous``
        / ``spend_trend`` (the same for the net spend of the purchase days in
        the windows), ``return_share`` (returned / (gross purchases +
        returned)), ``single_order`` (1 with one order).
    y : Series
        ``churned`` (int 0/1), same index.

    See Also
    --------
    churn_features : Today's features, to score.
    ChurnClassifier : A model to fit on them.
    backtest : Several cutoffs.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 1],
    ...                    "date": ["2024-01-01", "2024-01-11", "2024-01-05", "2024-02-01"],
    ...                    "amount": [20.0, 30.0, 15.0, 10.0]})
    >>> X, y = patronage.churn_dataset(tx, cutoff="2024-01-15", horizon="17D")
    >>> X[["recency_days", "frequency", "monetary", "gap_mean_days"]]
                 recency_days  frequency  monetary  gap_mean_days
    customer_id
    1                     4.0        2.0      50.0           10.0
    2                    10.0        1.0      15.0           10.0
    >>> y.tolist()
    [0, 1]
    """
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    cutoff_day = to_day(cutoff, "cutoff")
    horizon_days = to_days(horizon, "horizon")
    window_days = None if window is None else to_days(window, "window")
    end_day = None if observation_end is None else to_day(observation_end, "observation_end")
    with log.labelled_errors():
        out = _core.churn_dataset(log.core_args(returns), cutoff_day, horizon_days, window_days, end_day)
    index = log.customer_index(out["customer"])
    X = pd.DataFrame(out["features"], index=index, columns=list(CHURN_FEATURES))
    y = pd.Series(out["label"], index=index, name="churned")
    if attributes is not None:
        X = pd.concat([X, encode_attributes(attributes, index)], axis=1)
    return X, y


@follows_input
def churn_features(
    tx: pd.DataFrame,
    *,
    as_of: Any = None,
    window: Any = "90D",
    attributes: Optional[pd.DataFrame] = None,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> pd.DataFrame:
    """Today's churn features, to score with a model trained on :func:`churn_dataset`.

    The ``X`` that :func:`churn_dataset` would give at ``cutoff=as_of`` (same
    columns, same definitions, only transactions on or before ``as_of``), for
    the present, when no label can be known yet. ``window`` must equal the
    trend window the model was trained with (``churn_dataset``'s ``window``,
    which defaults to its ``horizon``).

    Parameters
    ----------
    as_of : date-like, optional
        Default: the day of the last transaction.

    See Also
    --------
    churn_dataset : Features with labels, for training.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "date": ["2024-01-01", "2024-01-11", "2024-01-05"],
    ...                    "amount": [20.0, 30.0, 15.0]})
    >>> patronage.churn_features(tx, window="30D")[["recency_days", "frequency", "monetary"]]
                 recency_days  frequency  monetary
    customer_id
    1                     0.0        2.0      50.0
    2                     6.0        1.0      15.0
    """
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    as_of_day = (log.max_day if as_of is None else to_day(as_of, "as_of"))
    window_days = to_days(window, "window")
    with log.labelled_errors(), _cutoff_as("as_of"):
        # a one-day label window past as_of: the labels are not used
        out = _core.churn_dataset(log.core_args(returns), as_of_day, 1, window_days, as_of_day + 1)
    index = log.customer_index(out["customer"])
    X = pd.DataFrame(out["features"], index=index, columns=list(CHURN_FEATURES))
    if attributes is not None:
        X = pd.concat([X, encode_attributes(attributes, index)], axis=1)
    return X


@contextlib.contextmanager
def _cutoff_as(name: str) -> Iterator[None]:
    """The core's errors about its ``cutoff`` re-raised naming ``name``, the parameter the user set."""
    try:
        yield
    except ParameterError as exc:
        if exc.parameter != "cutoff":
            raise
        raise ParameterError(str(exc).replace("`cutoff`", f"`{name}`"), name) from None


def encode_attributes(attributes: Any, index: pd.Index) -> pd.DataFrame:
    """Attributes aligned to ``index``: numeric as is, other columns one-hot."""
    frame = require_frame(attributes, "attributes")
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()][0]
        dup = dup.item() if isinstance(dup, np.generic) else dup
        raise DataError(f"attributes has more than one row for customer {dup!r}; its index must be unique")
    clash = [c for c in frame.columns if c in CHURN_FEATURES]
    if clash:
        raise ParameterError(f"attributes column {clash[0]!r} has the name of a churn feature; rename it",
                             "attributes")
    aligned = frame.reindex(index)
    parts = {}
    for name in aligned.columns:
        series = aligned[name]
        if is_numeric(frame[name]):  # the dtype before alignment added missing rows
            parts[str(name)] = series.astype(np.float64).to_numpy()
        else:
            cats = sorted_categories(series)
            encoded = one_hot(series, cats)
            for j, cat in enumerate(cats):
                parts[f"{name}={cat}"] = encoded[:, j]
    return pd.DataFrame(parts, index=index)


