"""``patronage report [FILE]`` (or ``python -m patronage report``): the customer report on a transaction log.

Runs the whole pipeline (RFM and segments, k-means tiers, BG/NBD and CLV, churn
risk, lifecycle stages, the win-back list) and writes one self-contained HTML
page plus a CSV of per-customer results. With no file it runs on the bundled
CDNOW log. ``report`` may be left out.

An invoice-line export such as UCI's Online Retail II (``Invoice``, ``Quantity``,
``InvoiceDate``, ``Price``, ``Customer ID``; cancellations with negative
quantities; guest rows without an id) needs its column names, the amount as a
product, and one flag for the guest rows:

    patronage report online_retail_II.csv --customer "Customer ID" \
        --date InvoiceDate --amount "Quantity*Price" --order Invoice --drop-missing-ids --currency GBP

A European export (``;`` between fields, decimal commas, day-first dates)::

    patronage report export.csv --sep ";" --decimal "," --date-format "%d.%m.%Y" --encoding cp1252
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import os
import pathlib
import sys
import warnings
import zlib
from typing import List, Optional, Tuple

import pandas as pd

from .exceptions import DataError, MissingColumnError, ParameterError, PatronageError


def _read(path: str, columns: List[str], required: List[str], sep: str, decimal: str, encoding: str) -> pd.DataFrame:
    """The log's ``columns`` that the file has: a CSV (``.gz`` too) is streamed in
    chunks that keep just those, so a file that inflates to gigabytes of other
    columns is never held whole; a missing ``required`` column stops at the header."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a transaction log file")
    if path.endswith((".parquet", ".pq")):
        try:
            import pyarrow  # noqa: F401  (pandas reads Parquet through it)
        except ImportError:
            raise ParameterError(f"reading the Parquet file {path} needs pyarrow: pip install \"patronage[arrow]\"",
                                 "transactions") from None
        return pd.read_parquet(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ParameterError(f"--encoding {encoding!r} is not a known text encoding (e.g. utf-8, cp1252, "
                             "latin-1)", "encoding") from None
    wanted = set(columns)
    try:
        header = pd.read_csv(path, sep=sep, decimal=decimal, encoding=encoding, nrows=0).columns
        missing = [c for c in required if c not in header]
        if missing:  # named with every column the file has, not just those read
            found = ", ".join(map(repr, header))
            raise MissingColumnError(f"column {missing[0]!r} is not in the transaction log; columns found: {found}",
                                     field=missing[0])
        with pd.read_csv(path, sep=sep, decimal=decimal, encoding=encoding, usecols=lambda c: c in wanted,
                         chunksize=1 << 18) as chunks:
            frames = list(chunks)
        return pd.concat(frames, ignore_index=True) if frames else pd.read_csv(
            path, sep=sep, decimal=decimal, encoding=encoding, nrows=0)
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path} is not {encoding} text (byte {exc.object[exc.start:exc.start + 1]!r} at "
                             f"offset {exc.start}): pass its encoding, e.g. --encoding cp1252 or latin-1",
                             "encoding") from None
    except (EOFError, zlib.error, pd.errors.ParserError, pd.errors.EmptyDataError,
            gzip.BadGzipFile) as exc:  # a damaged, truncated, empty or binary file
        raise DataError(f"cannot read {path} as a CSV transaction log: {exc}") from None


def _needed_columns(args: argparse.Namespace) -> Tuple[List[str], List[str]]:
    """The columns the report reads (customer, date, order, and the amount, ``amount`` when not given, or
    the two columns of ``A*B``) and those the file must have to get that far."""
    spec = args.amount or "amount"
    amount = [spec] if "*" not in spec else [name.strip() for name in spec.split("*")]
    names = [args.customer, args.date, *amount] + ([args.order] if args.order else [])
    # a default amount may be absent (visits only); A*B's columns are checked by _with_amount
    required = [n for n in names if n not in amount or (args.amount is not None and "*" not in spec)]
    return list(dict.fromkeys(names)), list(dict.fromkeys(required))


def _positive(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number >= 1, got {text!r}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints the usage too)
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


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
    parser = _Parser(prog="patronage report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("transactions", nargs="?", help="CSV or Parquet transaction log (default: bundled CDNOW)")
    parser.add_argument("--customer", default="customer_id", help="customer id column (default: customer_id)")
    parser.add_argument("--date", default="date", help="date column (default: date)")
    parser.add_argument("--date-format", default=None,
                        help="strftime format of non-ISO dates, e.g. %%d/%%m/%%Y (31/01/1997), %%m/%%d/%%Y "
                             "(01/31/1997), %%d.%%m.%%Y; day-first vs month-first is never guessed "
                             "(default: ISO dates only)")
    parser.add_argument("--amount", default=None,
                        help="amount column, or the product of two columns as A*B, e.g. Quantity*Price "
                             "(default: amount; a log without it gets the sections that need no money)")
    parser.add_argument("--currency", default=None,
                        help="currency shown with money, e.g. GBP, EUR, $ (default: none; $ for the bundled CDNOW)")
    parser.add_argument("--sep", default=",", help="CSV field separator, e.g. ';' (default: ,)")
    parser.add_argument("--decimal", default=".", help="CSV decimal mark, e.g. ',' (default: .)")
    parser.add_argument("--encoding", default="utf-8", help="CSV text encoding, e.g. cp1252 (default: utf-8)")
    parser.add_argument("--order", default=None,
                        help="order (invoice) id column: orders are counted by id instead of by purchase day")
    parser.add_argument("--returns", default="net", choices=["net", "drop", "error"],
                        help="negative amounts (returns): net (default: they reduce the spend of the purchase "
                             "they are matched to, never count as orders), drop or error")
    parser.add_argument("--drop-missing-ids", action="store_true",
                        help="leave out rows without a customer id (guest checkouts) instead of stopping with an "
                             "error; the report says how many")
    parser.add_argument("--out", default="patronage_report.html",
                        help="HTML file to write (default: patronage_report.html); the CSV goes beside it. Both "
                             "are written or neither; missing folders are made; an existing destination must be a "
                             "regular file (a symlink is followed to the file it names); a directory, device or "
                             "pipe is refused")
    parser.add_argument("--top", type=_positive("--top"), default=100,
                        help="length of the win-back list (default: 100)")
    parser.add_argument("--tiers", type=_positive("--tiers"), default=3,
                        help="number of k-means value tiers (default: 3)")
    parser.add_argument("--churn-days", type=_positive("--churn-days"), default=90,
                        help="churn horizon: no purchase in this many days (default: 90)")
    parser.add_argument("--clv-months", type=_positive("--clv-months"), default=12,
                        help="lifetime value horizon in months (default: 12)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:
        argv = argv[1:]
    args = _parser().parse_args(argv)
    from .datasets import load_cdnow
    from .report import customer_report
    from .report._write import regular_destination

    html_path = os.path.abspath(args.out)
    csv_path = os.path.splitext(html_path)[0] + ".csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # the destination first: a typo in --out should not cost a whole run
            folder = os.path.dirname(html_path)
            if not os.path.isdir(folder):
                try:
                    os.makedirs(folder)
                except OSError as exc:
                    raise ParameterError(f"cannot write {args.out}: cannot create the folder {folder} "
                                         f"({exc.strerror})", "--out") from None
            for path in (html_path, csv_path):  # refuse a device, pipe or directory before the work, not after
                regular_destination(path, "--out")
            currency = args.currency
            if args.transactions is None:
                tx, amount = load_cdnow(), "amount"
                currency = "$" if currency is None else currency  # CDNOW sold CDs in US dollars
            else:
                tx = _read(args.transactions, *_needed_columns(args), args.sep, args.decimal, args.encoding)
                amount = args.amount or "amount"
                if args.amount is None and amount not in tx.columns:
                    amount = None  # visits or orders only: the report leaves out the money sections
                else:
                    tx = _with_amount(tx, amount)
            report = customer_report(
                tx, args.customer, args.date, amount, returns=args.returns, order=args.order,
                date_format=args.date_format, drop_missing_ids=args.drop_missing_ids, n_tiers=args.tiers,
                horizon_days=args.churn_days, clv_months=args.clv_months, top=args.top, currency=currency or "",
                progress=not args.quiet,
                title="Customer report: " + (args.transactions or "CDNOW (bundled sample data)"))
            report.save(html_path, csv_path)
        except (OSError, EOFError, PatronageError, ValueError, TypeError) as exc:
            message = " ".join(str(exc).split())  # one line
            print(f"error: {message}", file=sys.stderr)
            return 2
    print(report.subtitle)
    for section in report.sections:
        if section.paragraphs:
            print(f"- {section.title}: {section.paragraphs[0]}")
    messages = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    for message in messages:  # summarised: one line each, no file paths or tracebacks
        print(f"warning: {message}", file=sys.stderr)
    print(f"wrote {html_path}\n  and {csv_path} (one row per customer)")
    print(f"open it in a web browser: {pathlib.Path(html_path).as_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
