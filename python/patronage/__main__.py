"""``python -m patronage report [FILE]``: the customer report on a transaction log.

Runs the whole pipeline (RFM and segments, k-means tiers, BG/NBD and CLV, churn
risk, lifecycle stages, the win-back list) and writes one self-contained HTML
page plus a CSV of per-customer results. With no file it runs on the bundled
CDNOW log. ``report`` may be left out.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

import pandas as pd

from .exceptions import PatronageError


def _read(path: str) -> pd.DataFrame:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m patronage report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("transactions", nargs="?", help="CSV or Parquet transaction log (default: bundled CDNOW)")
    parser.add_argument("--customer", default="customer_id", help="customer id column (default: customer_id)")
    parser.add_argument("--date", default="date", help="date column (default: date)")
    parser.add_argument("--amount", default="amount", help="amount column (default: amount)")
    parser.add_argument("--returns", default="net", choices=["net", "drop", "error"],
                        help="negative amounts: net (default), drop or error")
    parser.add_argument("--out", default="patronage_report.html",
                        help="HTML file to write (default: patronage_report.html); the CSV goes beside it")
    parser.add_argument("--top", type=int, default=100, help="length of the win-back list (default: 100)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:
        argv = argv[1:]
    args = _parser().parse_args(argv)
    from .datasets import load_cdnow
    from .report import customer_report

    csv_path = os.path.splitext(args.out)[0] + ".csv"
    try:
        tx = load_cdnow() if args.transactions is None else _read(args.transactions)
        report = customer_report(tx, args.customer, args.date, args.amount, returns=args.returns, top=args.top,
                                 progress=not args.quiet,
                                 title="Customer report: " + (args.transactions or "CDNOW (bundled sample data)"))
        report.save(args.out, csv_path)
    except (OSError, PatronageError, ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())  # one line
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(report.subtitle)
    for section in report.sections:
        if section.paragraphs:
            print(f"- {section.title}: {section.paragraphs[0]}")
    print(f"wrote {args.out} and {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
