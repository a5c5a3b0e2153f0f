"""``python -m patronage``: the customer report on a transaction log.

With no file, runs on the bundled CDNOW log.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import pandas as pd

from . import rfm_scores, rfm_table, segment_summary
from .datasets import load_cdnow
from .exceptions import PatronageError


def _read(path: str) -> pd.DataFrame:
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m patronage", description=__doc__)
    parser.add_argument("transactions", nargs="?", help="CSV or Parquet transaction log (default: bundled CDNOW)")
    parser.add_argument("--customer", default="customer_id", help="customer id column (default: customer_id)")
    parser.add_argument("--date", default="date", help="date column (default: date)")
    parser.add_argument("--amount", default="amount", help="amount column (default: amount)")
    args = parser.parse_args(argv)
    try:
        tx = load_cdnow() if args.transactions is None else _read(args.transactions)
        summary = segment_summary(rfm_scores(rfm_table(tx, args.customer, args.date, args.amount)))
    except (OSError, PatronageError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    source = "bundled CDNOW log" if args.transactions is None else args.transactions
    print(f"RFM segments of {len(tx):,} transactions ({source})\n")
    with pd.option_context("display.width", 120, "display.float_format", "{:,.3f}".format):
        print(summary.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
