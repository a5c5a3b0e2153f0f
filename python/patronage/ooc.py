"""Out of core: the per-customer tables of a log larger than memory, on one machine.

``patronage.ooc.rfm_table(path, memory_limit="4GB")`` computes what
``patronage.rfm_table(pd.read_parquet(path))`` would, without ever holding
the log in memory: DuckDB (``pip install "patronage[duckdb]"``) reads the
Parquet file(s) or CSV and writes the needed columns into ``buckets`` hash
buckets of whole customers on disk (spilling within ``memory_limit``), the
globals (``as_of``, ``observation_end``, the first cohort period, the median
purchase gap) are computed once for the whole log, and the same functions run
bucket by bucket (see :mod:`patronage._kernels`), with a tqdm progress bar on
long runs. Results are identical to the in-memory functions' (customers in
the same sorted order); ``output=`` writes them to a Parquet directory (one
file per bucket) instead of returning them.

The functions: :func:`rfm_table`, :func:`btyd_summary`,
:func:`churn_features`, :func:`lifecycle_stages`, :func:`cohort_retention`.
Each takes the public function's keyword arguments.

Examples
--------
>>> import pandas as pd, patronage, patronage.ooc, tempfile, os
>>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05"]),
...                    "amount": [20.0, 30.0, 15.0]})
>>> with tempfile.TemporaryDirectory() as d:
...     tx.to_parquet(os.path.join(d, "log.parquet"))
...     rfm = patronage.ooc.rfm_table(os.path.join(d, "log.parquet"), memory_limit="1GB", buckets=2)
>>> rfm[["recency_days", "n_orders", "total_spend"]]
             recency_days  n_orders  total_spend
customer_id
1                       1         2         50.0
2                       7         1         15.0
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _kernels
from ._input import require
from .exceptions import DataError, ParameterError

__all__ = ["rfm_table", "btyd_summary", "churn_features", "lifecycle_stages", "cohort_retention"]

#: Rows per bucket when ``buckets`` is not given: a bucket's pandas frame and the
#: kernel's working set stay around 1 GB.
ROWS_PER_BUCKET = 5_000_000
#: Most buckets (each is a directory of Parquet files).
MAX_BUCKETS = 4096
#: A progress bar from this many buckets on (``progress=None``).
PROGRESS_FROM = 8

Source = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]


def rfm_table(source: Source, customer: str = "customer_id", date: str = "date", amount: str = "amount", *,
              memory_limit: str = "4GB", buckets: Optional[int] = None, temp_directory: Any = None,
              output: Any = None, progress: Optional[bool] = None, **options: Any) -> Any:
    """:func:`patronage.rfm_table` of a log on disk (see the module docstring for the engine options)."""
    return _per_customer("rfm_table", source, customer, date, amount, memory_limit, buckets, temp_directory,
                         output, progress, options)


def btyd_summary(source: Source, customer: str = "customer_id", date: str = "date", amount: Optional[str] = "amount",
                 *, memory_limit: str = "4GB", buckets: Optional[int] = None, temp_directory: Any = None,
                 output: Any = None, progress: Optional[bool] = None, **options: Any) -> Any:
    """:func:`patronage.btyd_summary` of a log on disk (with ``calibration_end``: the holdout columns too)."""
    return _per_customer("btyd_summary", source, customer, date, amount, memory_limit, buckets, temp_directory,
                         output, progress, options)


def churn_features(source: Source, customer: str = "customer_id", date: str = "date",
                   amount: Optional[str] = "amount", *, memory_limit: str = "4GB", buckets: Optional[int] = None,
                   temp_directory: Any = None, output: Any = None, progress: Optional[bool] = None,
                   **options: Any) -> Any:
    """:func:`patronage.churn_features` of a log on disk (``attributes`` are not taken here: join them after)."""
    if "attributes" in options:
        raise ParameterError("ooc.churn_features does not take attributes: join them to its result", "attributes")
    return _per_customer("churn_features", source, customer, date, amount, memory_limit, buckets, temp_directory,
                         output, progress, options)


def lifecycle_stages(source: Source, customer: str = "customer_id", date: str = "date",
                     amount: Optional[str] = "amount", *, memory_limit: str = "4GB", buckets: Optional[int] = None,
                     temp_directory: Any = None, output: Any = None, progress: Optional[bool] = None,
                     **options: Any) -> Any:
    """:func:`patronage.lifecycle_stages` of a log on disk.

    Without ``default_gap`` (and fixed thresholds) the population's median
    typical gap is computed first, in one more pass over the buckets.
    """
    return _per_customer("lifecycle_stages", source, customer, date, amount, memory_limit, buckets,
                         temp_directory, output, progress, options)


def cohort_retention(source: Source, customer: str = "customer_id", date: str = "date",
                     amount: Optional[str] = "amount", *, period: str = "M", metric: str = "customers",
                     normalize: bool = True, returns: str = "net", order: Optional[str] = None,
                     memory_limit: str = "4GB", buckets: Optional[int] = None, temp_directory: Any = None,
                     progress: Optional[bool] = None) -> pd.DataFrame:
    """:func:`patronage.cohort_retention` of a log on disk: bucket partials added, then normalized.

    Customer counts are exact; revenue cells are sums in another order than
    in memory, equal to rounding.
    """
    if metric not in ("customers", "revenue"):
        raise ParameterError(f"metric must be 'customers' or 'revenue', got {metric!r}", "metric")
    if amount is None and metric == "revenue":
        raise ParameterError("metric='revenue' needs an amount column", "amount")
    cols = dict(customer=customer, date=date, amount=amount, returns=returns, order=order)
    with _Buckets(source, cols, memory_limit, buckets, temp_directory) as bk:
        g = bk.globals()
        total: Optional[_kernels.CohortPartial] = None
        for batch in bk.batches(progress, "cohort_retention"):
            part = _kernels.cohort_partial(batch, g, period, metric, **cols)
            total = part if total is None else total + part
    if total is None:
        raise DataError("the transaction log is empty (no rows)")
    return _kernels.cohort_matrix(total, g, period, metric, normalize)


def _per_customer(name: str, source: Source, customer: str, date: str, amount: Optional[str], memory_limit: str,
                  buckets: Optional[int], temp_directory: Any, output: Any, progress: Optional[bool],
                  options: dict) -> Any:
    cols = dict(customer=customer, date=date, amount=amount, returns=options.get("returns", "net"),
                order=options.get("order"))
    options = {**options, "customer": customer, "date": date, "amount": amount}
    with _Buckets(source, cols, memory_limit, buckets, temp_directory) as bk:
        g = bk.globals()
        if name == "lifecycle_stages" and _kernels.needs_median_gap(options):
            gaps = [_kernels.typical_gaps(b, _kernels.explicit(name, g, options))
                    for b in bk.batches(progress, "typical gaps")]
            options["default_gap"] = _kernels.median_gap(gaps)
        parts: List[pd.DataFrame] = []
        for k, batch in enumerate(bk.batches(progress, name)):
            result = _kernels.run(name, batch, g, options)
            if result is None or len(result) == 0:
                continue
            if output is None:
                parts.append(result)
            else:
                bk.write(result, output, k)
    if output is not None:
        return Path(output)
    if not parts:
        raise DataError("no customer has a purchase in the log" if name != "lifecycle_stages" else
                        f"no customer has a purchase on or before as_of ({options.get('as_of')!r})")
    return pd.concat(parts).sort_index()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scan(source: Source) -> str:
    """The DuckDB table function reading ``source``: Parquet file(s), directories, globs, or CSV."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not items:
        raise ParameterError("source is an empty list of files", "source")
    paths: List[str] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise ParameterError(f"source must be a path (Parquet file or directory, or CSV) or a list of paths, "
                                 f"got {type(item).__name__}", "source")
        path = os.fspath(item)
        if os.path.isdir(path):
            path = os.path.join(path, "**", "*.parquet")
        elif not any(c in path for c in "*?[") and not os.path.exists(path):
            raise ParameterError(f"source {path!r} does not exist", "source")
        paths.append(path)
    listed = "[" + ", ".join(_literal(p) for p in paths) + "]"
    if all(p.lower().endswith((".csv", ".csv.gz", ".tsv", ".txt")) for p in paths):
        return f"read_csv({listed}, union_by_name = true)"
    return f"read_parquet({listed}, union_by_name = true)"


class _Buckets:
    """The log's needed columns in hash buckets of whole customers, in a temporary directory."""

    def __init__(self, source: Source, cols: dict, memory_limit: str, buckets: Optional[int],
                 temp_directory: Any) -> None:
        if buckets is not None and (isinstance(buckets, bool) or not isinstance(buckets, (int, np.integer))
                                    or not 1 <= buckets <= MAX_BUCKETS):
            raise ParameterError(f"buckets must be an integer in 1..{MAX_BUCKETS}, got {buckets!r}", "buckets")
        if not isinstance(memory_limit, str):
            raise ParameterError(f"memory_limit must be a size like '4GB', got {memory_limit!r}", "memory_limit")
        self.scan = _scan(source)
        self.cols = cols
        self.n_buckets = buckets
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory

    def __enter__(self) -> "_Buckets":
        duckdb = require("duckdb", "duckdb")
        if self.temp_directory is not None:
            os.makedirs(self.temp_directory, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="patronage-ooc-", dir=self.temp_directory)
        try:
            config = {"memory_limit": self.memory_limit, "temp_directory": os.path.join(self.dir, "spill"),
                      "preserve_insertion_order": False}
            try:
                self.con = duckdb.connect(config=config)
            except duckdb.Error as exc:
                raise ParameterError(f"DuckDB refused the settings (memory_limit={self.memory_limit!r}): {exc}",
                                     "memory_limit") from None
            self._bucket(duckdb)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _bucket(self, duckdb: Any) -> None:
        names = [self.cols["customer"], self.cols["date"]] + [self.cols[c] for c in ("amount", "order")
                                                               if self.cols[c] is not None]
        try:
            found = [row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {self.scan}").fetchall()]
        except duckdb.Error as exc:
            raise DataError(f"DuckDB could not read the source: {exc}") from None
        missing = [n for n in names if n not in found]
        if missing:
            raise DataError(f"column {missing[0]!r} is not in the transaction log; columns found: "
                            f"{', '.join(map(repr, found))}", field=missing[0])
        self.select = ", ".join(_quote(n) for n in dict.fromkeys(names))
        if self.n_buckets is None:
            rows = self.con.execute(f"SELECT count(*) FROM {self.scan}").fetchone()[0]
            self.n_buckets = min(MAX_BUCKETS, max(1, math.ceil(rows / ROWS_PER_BUCKET)))
        self.out = os.path.join(self.dir, "buckets")
        customer = _quote(self.cols["customer"])
        self.con.execute(
            f"COPY (SELECT {self.select}, CAST(hash({customer}) % {int(self.n_buckets)} AS INTEGER) AS __bucket "
            f"FROM {self.scan}) TO {_literal(self.out)} (FORMAT parquet, PARTITION_BY (__bucket))")

    def _files(self, k: int) -> Optional[str]:
        path = os.path.join(self.out, f"__bucket={k}")
        return os.path.join(path, "*.parquet") if os.path.isdir(path) else None

    def _read(self, files: str) -> pd.DataFrame:
        return self.con.execute(
            f"SELECT {self.select} FROM read_parquet({_literal(files)}, hive_partitioning = false)").df()

    def globals(self) -> _kernels.LogGlobals:
        """The whole log's globals, from its extreme rows (computed by the same code as a batch's)."""
        date, amount = _quote(self.cols["date"]), self.cols["amount"]
        everything = os.path.join(self.out, "*", "*.parquet")
        scan = f"read_parquet({_literal(everything)}, hive_partitioning = false)"
        if amount is None:
            first, last = self.con.execute(f"SELECT min({date}), max({date}) FROM {scan}").fetchone()
            return _kernels.extreme_globals(first, last, last, 1, None)
        buy = f"FILTER (WHERE {_quote(amount)} >= 0)"
        rows = self.con.execute(f"SELECT min({date}) {buy}, max({date}) {buy}, max({date}), "
                                f"count(*) FILTER (WHERE {_quote(amount)} >= 0) FROM {scan}").fetchone()
        return _kernels.extreme_globals(*rows, amount, self.cols["returns"])

    def batches(self, progress: Optional[bool], what: str) -> Iterator[pd.DataFrame]:
        """Each non-empty bucket as a pandas frame, with a progress bar when asked (or on long runs)."""
        keys = [k for k in range(int(self.n_buckets)) if self._files(k) is not None]
        if progress or (progress is None and len(keys) >= PROGRESS_FROM):
            keys = require("tqdm", "duckdb").tqdm(keys, desc=f"patronage {what}", unit="bucket")
        for k in keys:
            yield self._read(self._files(k))  # type: ignore[arg-type]

    def write(self, result: pd.DataFrame, output: Any, k: int) -> int:
        """Writes one bucket's result as ``output/part-k.parquet``; the number of rows."""
        os.makedirs(output, exist_ok=True)
        flat = result.reset_index()
        self.con.register("__result", flat)
        try:
            target = os.path.join(os.fspath(output), f"part-{k:05d}.parquet")
            self.con.execute(f"COPY __result TO {_literal(target)} (FORMAT parquet)")
        finally:
            self.con.unregister("__result")
        return len(flat)

