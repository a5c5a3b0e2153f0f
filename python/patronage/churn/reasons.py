"""Plain-language churn reasons: the features that raise a customer's risk most, in words.

:meth:`ChurnClassifier.reasons` ranks each customer's features by their
contribution to the log-odds (:meth:`ChurnClassifier.explain`), keeps the
positive ones (those that raise the risk above the base value) and describes
each with the customer's own values. The sentences of the churn features
(:data:`patronage.churn.CHURN_FEATURES`; "the period" is the trend window of
:func:`patronage.churn_dataset`, its ``window``, by default the horizon):

=================  ====================================================================
feature            sentence
=================  ====================================================================
recency_days       "last order 120 days ago"
frequency          "only 1 order so far" / "12 orders so far"
monetary           "spent 45.20 in total"
avg_order_value    "average order 22.60"
tenure_days        "customer for 400 days"
gap_mean_days      "usually orders every 35 days"
gap_std_days       "irregular rhythm: gaps vary by 20 days"
recency_to_gap     "no order for 3.1x their usual gap"
orders_recent      "1 order in the latest period" / "no order in the latest period"
orders_previous    "4 orders in the period before"
order_trend        "orders down 75% vs the previous period" (from ``orders_recent`` and
                   ``orders_previous`` when present, else from the trend itself);
                   "no orders in the latest period or the one before"
spend_recent       "spent 12.00 in the latest period"
spend_previous     "spent 80.00 in the period before"
spend_trend        "spend down 60% vs the previous period" (likewise)
return_share       "returned 30% of what they bought"
single_order       "only one order so far" / "more than one order"
=================  ====================================================================

Other numeric columns read ``"<column> = <value>"``; a one-hot category reads
``"<column> is <category>"`` (its indicators' contributions added up), and a
missing value ``"<column> is missing"``.

>>> import numpy as np
>>> from patronage.churn.reasons import describe
>>> describe("recency_to_gap", 0, {"recency_to_gap": np.array([3.14])})
'no order for 3.1x their usual gap'
>>> describe("spend_trend", 0, {"spend_trend": np.array([-0.43]), "spend_recent": np.array([40.0]),
...                             "spend_previous": np.array([100.0])})
'spend down 60% vs the previous period'
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pandas as pd

from ._encode import Design

Columns = Dict[str, np.ndarray]


def _count(v: float, unit: str) -> str:
    n = int(round(v))
    return f"{n} {unit}" + ("" if n == 1 else "s")


def _money(v: float) -> str:
    return f"{v:,.2f}"


def _change(recent: float, previous: float, what: str) -> str:
    if previous > 0:
        pct = (recent - previous) / previous
        if pct == 0:
            return f"{what} unchanged vs the previous period"
        return f"{what} {'down' if pct < 0 else 'up'} {abs(pct):.0%} vs the previous period"
    if recent > 0:
        return f"{what} in the latest period after none in the one before"
    return f"no {'orders' if what == 'orders' else 'spend'} in the latest period or the one before"


def _trend(name: str, recent: str, previous: str, what: str) -> Callable[[int, Columns], str]:
    def sentence(i: int, cols: Columns) -> str:
        if recent in cols and previous in cols:
            return _change(float(cols[recent][i]), float(cols[previous][i]), what)
        t = float(cols[name][i])
        if t <= -1.0:
            return f"{what} down 100% vs the previous period"
        if t >= 1.0:
            return f"{what} in the latest period after none in the one before"
        # t = (r - p) / (r + p) for non-negative r, p: r / p = (1 + t) / (1 - t)
        return _change((1.0 + t) / (1.0 - t), 1.0, what) if t != 0 else f"{what} unchanged vs the previous period"

    return sentence


def _value(name: str, fmt: Callable[[float], str]) -> Callable[[int, Columns], str]:
    return lambda i, cols: fmt(float(cols[name][i]))


TEMPLATES: Dict[str, Callable[[int, Columns], str]] = {
    "recency_days": _value("recency_days", lambda v: f"last order {_count(v, 'day')} ago"),
    "frequency": _value("frequency", lambda v: f"only {_count(v, 'order')} so far" if v <= 1
                        else f"{_count(v, 'order')} so far"),
    "monetary": _value("monetary", lambda v: f"spent {_money(v)} in total"),
    "avg_order_value": _value("avg_order_value", lambda v: f"average order {_money(v)}"),
    "tenure_days": _value("tenure_days", lambda v: f"customer for {_count(v, 'day')}"),
    "gap_mean_days": _value("gap_mean_days", lambda v: f"usually orders every {_count(v, 'day')}"),
    "gap_std_days": _value("gap_std_days", lambda v: f"irregular rhythm: gaps vary by {_count(v, 'day')}"),
    "recency_to_gap": _value("recency_to_gap", lambda v: f"no order for {v:.1f}x their usual gap"),
    "orders_recent": _value("orders_recent", lambda v: f"{_count(v, 'order')} in the latest period" if v >= 0.5
                            else "no order in the latest period"),
    "orders_previous": _value("orders_previous", lambda v: f"{_count(v, 'order')} in the period before"),
    "order_trend": _trend("order_trend", "orders_recent", "orders_previous", "orders"),
    "spend_recent": _value("spend_recent", lambda v: f"spent {_money(v)} in the latest period"),
    "spend_previous": _value("spend_previous", lambda v: f"spent {_money(v)} in the period before"),
    "spend_trend": _trend("spend_trend", "spend_recent", "spend_previous", "spend"),
    "return_share": _value("return_share", lambda v: f"returned {v:.0%} of what they bought"),
    "single_order": _value("single_order", lambda v: "only one order so far" if v >= 0.5 else "more than one order"),
}


def describe(feature: str, i: int, cols: Columns) -> str:
    """The sentence of numeric ``feature`` for row ``i`` of ``cols`` (column name -> values)."""
    v = cols[feature][i]
    if pd.isna(v):
        return f"{feature} is missing"
    template = TEMPLATES.get(feature)
    if template is None:
        return f"{feature} = {float(v):g}"
    return template(i, cols)


def top_reasons(frame: pd.DataFrame, contributions: pd.DataFrame, design: Design, top: int) -> pd.DataFrame:
    """``reason_1..reason_top`` per row: the largest positive contributions, grouped per input column."""
    groups: List[np.ndarray] = []
    j = 0
    for col in design.columns:
        width = len(col.names_out())
        groups.append(contributions.iloc[:, j:j + width].to_numpy().sum(axis=1))
        j += width
    grouped = np.column_stack(groups) if groups else np.zeros((len(frame), 0))
    order = np.argsort(-grouped, axis=1, kind="stable")[:, :top]
    numeric: Columns = {c.name: frame[c.name].to_numpy(dtype=np.float64, na_value=np.nan)
                        for c, name in zip(design.columns, frame.columns) if c.kind == "numeric"}
    raw = {c.name: frame[name].to_numpy() for c, name in zip(design.columns, frame.columns) if c.kind != "numeric"}
    out: Dict[str, List[Optional[str]]] = {f"reason_{k + 1}": [] for k in range(top)}
    for i in range(len(frame)):
        for k in range(top):
            g = order[i, k] if k < order.shape[1] else -1
            if g < 0 or not grouped[i, g] > 0:
                out[f"reason_{k + 1}"].append(None)
                continue
            col = design.columns[g]
            if col.kind == "numeric":
                out[f"reason_{k + 1}"].append(describe(col.name, i, numeric))
            else:
                value: Any = raw[col.name][i]
                out[f"reason_{k + 1}"].append(f"{col.name} is missing" if pd.isna(value)
                                              else f"{col.name} is {value}")
    return pd.DataFrame(out, index=contributions.index)
