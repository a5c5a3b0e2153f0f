"""Whom to contact: a churn-probability threshold chosen by an explicit rule."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..exceptions import DataError, ParameterError
from .classifier import _float_param


def choose_threshold(
    proba: Any,
    rule: str = "top_share",
    *,
    share: float = 0.1,
    contact_cost: Optional[float] = None,
    customer_value: Optional[float] = None,
    success_rate: float = 1.0,
) -> float:
    """A churn-probability threshold chosen by an explicit business rule.

    * ``rule="top_share"``: contact the ``share`` of customers most at risk:
      the threshold lies halfway between the ``ceil(share * n)``-th highest
      probability and the next lower distinct one (customers tied with the
      k-th are contacted too).
    * ``rule="max_profit"``: contact a customer when the expected gain of the
      contact exceeds its cost, ``p * success_rate * customer_value >
      contact_cost``, which maximises the expected profit of the campaign:
      the threshold is ``contact_cost / (success_rate * customer_value)``
      (above 1: contact no one). Needs calibrated probabilities.

    Parameters
    ----------
    proba : array-like
        Churn probabilities (e.g. ``clf.predict_proba(X)[:, 1]``).

    Returns
    -------
    float
        Contact the customers with ``proba > t`` (what ``predict`` does after
        ``clf.set_params(threshold=t)``).

    See Also
    --------
    ChurnClassifier : The probabilities.
    churn_report : Their quality.

    Examples
    --------
    >>> import patronage
    >>> p = [0.9, 0.1, 0.4, 0.7, 0.2, 0.3, 0.05, 0.6, 0.15, 0.35]
    >>> patronage.choose_threshold(p, "top_share", share=0.2)
    0.65
    >>> patronage.choose_threshold(p, "max_profit", contact_cost=10, customer_value=200, success_rate=0.25)
    0.2
    """
    values = np.asarray(proba, dtype=np.float64).ravel()
    if values.size == 0:
        raise DataError("proba is empty")
    if not np.all((values >= 0) & (values <= 1)):
        raise DataError("proba must hold probabilities in [0, 1] (no NaN)", field="proba")
    if rule == "top_share":
        share_f = _float_param("share", share)
        if not 0.0 < share_f <= 1.0:
            raise ParameterError(f"share must be in (0, 1], got {share!r}", "share")
        k = max(int(np.ceil(share_f * values.size - 1e-9)), 1)
        desc = np.sort(values)[::-1]
        lower = desc[k:][desc[k:] < desc[k - 1]]
        if lower.size == 0:  # everyone is at least as risky as the k-th: contact all
            return float(np.nextafter(desc[-1], -np.inf))
        return float((desc[k - 1] + lower[0]) / 2)
    if rule == "max_profit":
        if contact_cost is None or customer_value is None:
            raise ParameterError("rule='max_profit' needs contact_cost and customer_value", "contact_cost")
        cost = _float_param("contact_cost", contact_cost)
        value = _float_param("customer_value", customer_value)
        rate = _float_param("success_rate", success_rate)
        if cost < 0:
            raise ParameterError(f"contact_cost must be >= 0, got {contact_cost!r}", "contact_cost")
        if value <= 0:
            raise ParameterError(f"customer_value must be > 0, got {customer_value!r}", "customer_value")
        if not 0 < rate <= 1:
            raise ParameterError(f"success_rate must be in (0, 1], got {success_rate!r}", "success_rate")
        return cost / (rate * value)  # contact when p * rate * value > cost
    raise ParameterError(f"rule must be 'top_share' or 'max_profit', got {rule!r}", "rule")
