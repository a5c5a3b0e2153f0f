"""Qini and uplift curves, the Qini coefficient, AUUC and uplift at k.

The definitions are scikit-uplift's (``sklift.metrics`` 0.5.1), ties
included; the sorting and cumulative sums run in the compiled core.
"""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np
import pandas as pd

from .. import _core
from .._frame import is_real_dtype
from ..exceptions import ColumnTypeError, DataError, ParameterError


def _aligned(values: Any, index: Any, name: str) -> np.ndarray:
    """A 1-d float array; a Series is aligned on ``index`` (the first Series' index) when it differs."""
    if isinstance(values, pd.DataFrame):
        raise ColumnTypeError(f"{name} must be one column (a Series or 1-d array), got a DataFrame", field=name)
    if isinstance(values, pd.Series) and index is not None and not values.index.equals(index):
        if values.index.has_duplicates:
            raise DataError(f"{name} has duplicate index labels and cannot be aligned", field=name)
        missing = ~index.isin(values.index)
        if missing.any():
            raise DataError(f"{name} has no value for index label {index[np.argmax(missing)]!r}", field=name)
        values = values.reindex(index)
    if isinstance(values, pd.Series):
        series = values
    else:
        array = np.asarray(values)
        if array.ndim != 1:
            raise DataError(f"{name} must be 1-dimensional, got shape {array.shape}", field=name)
        series = pd.Series(array)
    if not (is_real_dtype(series.dtype) or series.dtype == bool):
        raise ColumnTypeError(f"{name} must be numeric or boolean, got dtype {series.dtype}", field=name)
    out = np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{name} is NaN or infinite at row {row}", field=name, row=row)
    return out


def _binary(values: np.ndarray, name: str, hint: str) -> None:
    bad = (values != 0.0) & (values != 1.0)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{name} must be 0 or 1{hint}, got {values[row]:g} at row {row}", field=name, row=row)
    if len(values) and (values.min() == values.max()):
        raise DataError(f"{name} holds only {values[0]:g}: both 0 and 1 must occur", field=name)


def _inputs(y_true: Any, uplift: Any, treatment: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = next((v.index for v in (y_true, uplift, treatment) if isinstance(v, pd.Series)), None)
    y = _aligned(y_true, index, "y_true")
    score = _aligned(uplift, index, "uplift")
    t = _aligned(treatment, index, "treatment")
    if len(y) == 0:
        raise DataError("y_true is empty: an uplift metric needs customers", field="y_true")
    for name, arr in (("uplift", score), ("treatment", t)):
        if len(arr) != len(y):
            raise DataError(f"{name} has {len(arr)} rows, y_true has {len(y)}", field=name)
    _binary(y, "y_true", " (a binary outcome: responded or not)")
    _binary(t, "treatment", " (1 = treated, 0 = control; map your labels, e.g. segment != 'No E-Mail')")
    return y, score, t


def _curve(y_true: Any, uplift: Any, treatment: Any, kind: str, column: str) -> pd.DataFrame:
    y, score, t = _inputs(y_true, uplift, treatment)
    n, value = _core.uplift_curve(y, score, t, kind)
    return pd.DataFrame({"n_targeted": n.astype(np.int64), column: value})


def qini_curve(y_true: Any, uplift: Any, treatment: Any) -> pd.DataFrame:
    """The Qini curve: incremental responders as more customers are targeted.

    Customers are taken by decreasing predicted ``uplift``; after the first
    ``n`` of them, ``qini(n) = y_t(n) - y_c(n) * n_t(n) / n_c(n)``: treated
    responders minus control responders scaled to the treated count
    (Radcliffe 2007). One point per distinct score (ties enter together),
    starting at ``(0, 0)``; scikit-uplift's ``qini_curve`` exactly.

    Parameters
    ----------
    y_true : Series or array of 0/1 (or bool)
        The observed binary outcome (visited, bought).
    uplift : Series or array of float
        Predicted uplift (any score that ranks customers), finite.
    treatment : Series or array of 0/1 (or bool)
        1 = treated (contacted), 0 = control. Series are aligned on the
        index of the first Series given.

    Returns
    -------
    DataFrame
        Columns ``n_targeted`` (int) and ``qini`` (float).

    See Also
    --------
    qini_coefficient : The normalised area under this curve.
    plot_qini : The curve with the random and the perfect ones.

    Examples
    --------
    >>> import patronage
    >>> patronage.qini_curve([1, 0, 1, 0], [0.9, 0.5, 0.3, 0.1], [1, 0, 0, 1])
       n_targeted  qini
    0           0   0.0
    1           1   1.0
    2           2   1.0
    3           3   0.5
    4           4   0.0
    """
    return _curve(y_true, uplift, treatment, "qini", "qini")


def uplift_curve(y_true: Any, uplift: Any, treatment: Any) -> pd.DataFrame:
    """The uplift curve: ``(y_t(n) / n_t(n) - y_c(n) / n_c(n)) * n``.

    Like :func:`qini_curve` but the difference of the two response rates
    among the first ``n`` customers, times ``n`` (a rate is 0 while its group
    is empty); scikit-uplift's ``uplift_curve`` exactly.

    Parameters
    ----------
    y_true, uplift, treatment
        As in :func:`qini_curve`.

    Returns
    -------
    DataFrame
        Columns ``n_targeted`` (int) and ``uplift`` (float).

    Examples
    --------
    >>> import patronage
    >>> patronage.uplift_curve([1, 0, 1, 0], [0.9, 0.5, 0.3, 0.1], [1, 0, 0, 1])["uplift"].tolist()
    [0.0, 1.0, 2.0, 1.5, 0.0]
    """
    return _curve(y_true, uplift, treatment, "uplift", "uplift")


def qini_coefficient(y_true: Any, uplift: Any, treatment: Any, *, negative_effect: bool = True) -> float:
    """The Qini coefficient: area between the Qini curve and the random line, over the perfect curve's.

    ``(A(model) - A(random)) / (A(perfect) - A(random))`` with trapezoidal
    areas; the random line joins ``(0, 0)`` to the curve's end (treating
    everybody). 1 = perfect ranking, 0 = no better than random, negative =
    worse. scikit-uplift's ``qini_auc_score`` exactly.

    Parameters
    ----------
    y_true, uplift, treatment
        As in :func:`qini_curve`.
    negative_effect : bool, default True
        The perfect curve ranks control responders last (customers the
        contact puts off); False: scikit-uplift's perfect curve without
        negative effects (undefined when the overall effect is negative).

    Returns
    -------
    float

    Examples
    --------
    >>> import patronage
    >>> y, t = [1, 0, 1, 0, 1, 0], [1, 1, 0, 0, 1, 0]
    >>> patronage.qini_coefficient(y, [3, 2, -1, 0, 3, 1], t)  # treated responders first
    1.0
    """
    if not isinstance(negative_effect, (bool, np.bool_)):
        raise ParameterError(f"negative_effect must be True or False, got {negative_effect!r}", "negative_effect")
    y, score, t = _inputs(y_true, uplift, treatment)
    return float(_core.uplift_score(y, score, t, "qini", bool(negative_effect)))


def auuc(y_true: Any, uplift: Any, treatment: Any) -> float:
    """Area under the uplift curve, normalised like the Qini coefficient.

    ``(A(model) - A(random)) / (A(perfect) - A(random))`` on
    :func:`uplift_curve`; scikit-uplift's ``uplift_auc_score`` exactly.

    Parameters
    ----------
    y_true, uplift, treatment
        As in :func:`qini_curve`.

    Returns
    -------
    float

    Examples
    --------
    >>> import patronage
    >>> round(patronage.auuc([1, 0, 1, 0, 1, 0], [3, 2, -1, 0, 2.5, 1], [1, 1, 0, 0, 1, 0]), 4)
    0.72
    """
    y, score, t = _inputs(y_true, uplift, treatment)
    return float(_core.uplift_score(y, score, t, "uplift"))


def uplift_at_k(y_true: Any, uplift: Any, treatment: Any, *, k: Any = 0.3, strategy: str = "overall") -> float:
    """Response rate of treated minus control customers among the top k by predicted uplift.

    scikit-uplift's ``uplift_at_k`` exactly (ties at the cut taken in
    decreasing row order), except that a top k without a treated or a
    control customer raises instead of returning NaN.

    Parameters
    ----------
    y_true, uplift, treatment
        As in :func:`qini_curve`.
    k : float or int, default 0.3
        A share in (0, 1) (``int(n * k)`` customers) or a number of customers.
    strategy : {"overall", "by_group"}
        ``"overall"``: the top k of the whole ranking, then each group's
        response rate among them. ``"by_group"``: the top k (share or count)
        of the treated and of the control customers, each ranked on its own.

    Returns
    -------
    float

    Examples
    --------
    >>> import patronage
    >>> y, t = [1, 0, 1, 0, 1, 0], [1, 1, 0, 0, 1, 0]
    >>> patronage.uplift_at_k(y, [3, 2, -1, 0, 2.5, 1], t, k=4)  # 2 of 3 treated, 0 of 1 control
    0.6666666666666666
    """
    if strategy not in ("overall", "by_group"):
        raise ParameterError(f"strategy must be 'overall' or 'by_group', got {strategy!r}", "strategy")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, float, np.integer, np.floating)):
        raise ParameterError(f"k must be a fraction in (0, 1) or a number of customers, got {k!r}", "k")
    y, score, t = _inputs(y_true, uplift, treatment)
    if isinstance(k, (int, np.integer)):
        if k < 1:
            raise ParameterError(f"k must be at least 1 customer, got {k}", "k")
        return float(_core.uplift_at_k(y, score, t, None, int(k), strategy))
    return float(_core.uplift_at_k(y, score, t, float(k), None, strategy))


def perfect_curve(y_true: Any, treatment: Any, kind: str = "qini", negative_effect: bool = True) -> pd.DataFrame:
    """The best possible curve (scikit-uplift's ``perfect_qini_curve`` / ``perfect_uplift_curve``)."""
    y, _, t = _inputs(y_true, np.zeros(len(y_true)), treatment)
    n, value = _core.uplift_curve(y, np.zeros_like(y), t, kind, True, bool(negative_effect))
    return pd.DataFrame({"n_targeted": n, kind: value})
