"""Numbers as a manager reads them: money with its currency, percentages, whole counts, human headers.

The report's tables are built from these strings; the CSV keeps the raw numbers.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import pandas as pd


class Formats:
    """Formatting for one report: ``currency`` is a code (``GBP``, written ``GBP 1,234``) or a symbol
    (``£``, written ``£1,234``); empty for none."""

    def __init__(self, currency: str = "") -> None:
        currency = currency.strip()
        self.prefix = f"{currency} " if currency[-1:].isalpha() else currency

    def money(self, value: Any, decimals: int = 0) -> str:
        if value is None or not np.isfinite(value):
            return ""
        sign = "-" if value < 0 else ""
        return f"{sign}{self.prefix}{abs(value):,.{decimals}f}"

    @staticmethod
    def percent(value: Any, decimals: int = 0) -> str:
        return "" if value is None or not np.isfinite(value) else f"{value:.{decimals}%}"

    @staticmethod
    def count(value: Any) -> str:
        return "" if value is None or not np.isfinite(value) else f"{int(round(value)):,}"

    @staticmethod
    def number(value: Any, decimals: int = 1) -> str:
        return "" if value is None or not np.isfinite(value) else f"{value:,.{decimals}f}"


def display(frame: pd.DataFrame, columns: Dict[str, Any], index_name: str = "") -> pd.DataFrame:
    """``frame``'s columns formatted for reading: ``columns`` maps a column to ``(header, formatter)``."""
    out = pd.DataFrame({header: [fmt(v) for v in frame[column]] for column, (header, fmt) in columns.items()},
                       index=pd.Index([str(i) for i in frame.index], name=index_name or None))
    return out
