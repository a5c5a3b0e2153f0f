"""``python -m patronage report [FILE]``: the customer report on a transaction log.

Runs the whole pipeline (RFM and segments, k-means tiers, BG/NBD and CLV, churn
risk, lifecycle stages, the win-back list) and writes one self-contained HTML
page plus a CSV of per-customer results. With no file it runs on the bundled
CDNOW log. ``report`` may be left out.

An invoice-line export such as UCI's Online Retail II (``Invoice``, ``Quantity``,
``InvoiceDate``, ``Price``, ``Customer ID``; cancellations with negative
quantities; guest rows without an id) needs its column names, the amount as a
product, and one flag for the guest rows:

    python -m patronage report online_retail_II.csv --customer "Customer ID" \
        --date InvoiceDate --amount "Quantity*Price" --order Invoice --drop-missing-ids
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

import pandas as pd

from .exceptions import MissingColumnError, PatronageError


def _read(path: str) -> pd.DataFrame:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _with_amount(tx: pd.DataFrame, spec: str) -> pd.DataFrame:
    """``tx`` with the amount column ``spec`` (a column, or ``A*B``: the product of two columns)."""
    if spec in tx.columns or "*" not in spec:
        return tx
    names = [name.strip() for name in spec.split("*")]
    missing = [name for name in names if name not in tx.columns]
    if len(names) != 2 or missing:
        found = ", ".join(map(repr, tx.columns))
        raise MissingColumnError(f"--amount {spec!r} must be a column or the product of two columns (A*B); "
                                 f"{(missing or names)[0]!r} is not a column; columns found: {found}",
                                 field=spec)
    a, b = (pd.to_numeric(tx[name], errors="raise") for name in names)
    return tx.assign(**{spec: a * b})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m patronage report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("transactions", nargs="?", help="CSV or Parquet transaction log (default: bundled CDNOW)")
    parser.add_argument("--customer", default="customer_id", help="customer id column (default: customer_id)")
    parser.add_argument("--date", default="date", help="date column (default: date)")
    parser.add_argument("--amount", default="amount",
                        help="amount column, or the product of two columns as A*B, e.g. Quantity*Price "
                             "(default: amount)")
    parser.add_argument("--order", default=None,
                        help="order (invoice) id column: orders are counted by id instead of by purchase day")
    parser.add_argument("--returns", default="net", choices=["net", "drop", "error"],
                        help="negative amounts (returns): net (default: they reduce the spend of the purchase "
                             "they are matched to, never count as orders), drop or error")
    parser.add_argument("--drop-missing-ids", action="store_true",
                        help="leave out rows without a customer id (guest checkouts) instead of stopping with an "
                             "error; the report says how many")
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
        tx = load_cdnow() if args.transactions is None else _with_amount(_read(args.transactions), args.amount)
        report = customer_report(tx, args.customer, args.date, args.amount, returns=args.returns, order=args.order,
                                 drop_missing_ids=args.drop_missing_ids, top=args.top, progress=not args.quiet,
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
