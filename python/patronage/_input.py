"""Any table in: the one adapter between other libraries' tables and pandas.

A transaction log or a feature table may be a pandas DataFrame (any dtype
backend), a polars DataFrame or LazyFrame, a pyarrow Table or
RecordBatchReader, a DuckDB relation, or anything exporting the Arrow C
stream (``__arrow_c_stream__``). :func:`as_pandas` turns it into the pandas
frame the rest of Patronage reads; :func:`follows_input` gives a function's
table result back in the input's library (polars in, polars out; pyarrow in,
pyarrow out; pandas, DuckDB and other Arrow exporters get pandas).

None of polars, pyarrow or duckdb is imported before a table of theirs
arrives: ``import patronage`` needs only numpy and pandas.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Callable, TypeVar

import pandas as pd

#: The extra that installs what converting each library's tables needs.
EXTRAS = {"polars": "polars", "pyarrow": "arrow", "duckdb": "duckdb"}

_F = TypeVar("_F", bound=Callable[..., Any])


def library_of(obj: Any) -> str:
    """The top-level package that defines ``type(obj)`` (``"polars"``, ``"pyarrow"``, ...)."""
    return type(obj).__module__.split(".")[0]


def type_name(obj: Any) -> str:
    """``library.Type`` of ``obj`` (``Type`` for built-ins), as refusals name it."""
    library = library_of(obj)
    return type(obj).__name__ if library == "builtins" else f"{library}.{type(obj).__name__}"


def require(module: str, extra: str) -> Any:
    """``import module``, or an ImportError saying which ``pip install`` provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{module} is needed here but is not installed; "
                          f'install it with pip install "patronage[{extra}]"') from None


def is_table(obj: Any) -> bool:
    """Whether :func:`as_pandas` converts ``obj`` (a table of a supported library)."""
    if isinstance(obj, pd.DataFrame):
        return True
    return library_of(obj) in EXTRAS or hasattr(obj, "__arrow_c_stream__")


def as_pandas(obj: Any, name: str = "tx") -> pd.DataFrame:
    """``obj`` as a pandas DataFrame: pandas as is (no copy), other tables converted once.

    Raises a TypeError naming the argument, the library and the type when
    ``obj`` is not a table.
    """
    if isinstance(obj, pd.DataFrame):
        return obj
    library = library_of(obj)
    if library == "polars":
        if hasattr(obj, "collect") and not hasattr(obj, "to_pandas"):  # a LazyFrame
            obj = obj.collect()
        if hasattr(obj, "get_column") and hasattr(obj, "columns"):
            return pd.DataFrame({c: _polars_column(obj.get_column(c)) for c in obj.columns}, copy=False)
    elif library == "duckdb" and hasattr(obj, "df"):
        return obj.df()
    elif library == "pyarrow" and hasattr(obj, "read_all"):  # a RecordBatchReader
        return _arrow_to_pandas(obj.read_all())
    elif library == "pyarrow" and hasattr(obj, "to_pandas") and hasattr(obj, "column_names"):
        return _arrow_to_pandas(obj)
    elif hasattr(obj, "__arrow_c_stream__"):
        pa = require("pyarrow", "arrow")
        return _arrow_to_pandas(pa.table(obj))
    raise TypeError(f"{name} must be a table (a pandas or polars DataFrame, a polars LazyFrame, a pyarrow Table or "
                    f"RecordBatchReader, a DuckDB relation, or an object exporting __arrow_c_stream__), "
                    f"got {type_name(obj)}")


def _polars_column(series: Any) -> Any:
    """A polars column as numpy without a copy when it is numeric or naive datetime without nulls, else
    as a pandas Series (through Arrow: categoricals, strings, nulls and time zones as pandas has them)."""
    dtype = series.dtype
    plain = dtype.is_numeric() or (dtype.is_temporal() and getattr(dtype, "time_zone", None) is None
                                   and str(dtype).startswith("Datetime"))
    if plain and series.null_count() == 0:
        return series.to_numpy()
    require("pyarrow", "polars")
    return series.to_pandas()


def _arrow_to_pandas(table: Any) -> pd.DataFrame:
    """A pyarrow Table as pandas, one block per column (numeric columns without nulls are not copied)."""
    return table.to_pandas(split_blocks=True)


def as_pandas_if_table(obj: Any, name: str = "X") -> Any:
    """A table as pandas (see :func:`as_pandas`); arrays, lists and the like unchanged."""
    return as_pandas(obj, name) if is_table(obj) and not isinstance(obj, pd.DataFrame) else obj


def like_input(result: Any, source: Any) -> Any:
    """``result`` (a pandas DataFrame or Series, or a tuple of them) in ``source``'s library.

    polars and pyarrow inputs get their own tables back, with the pandas index
    as the first column(s); everything else gets pandas.
    """
    library = library_of(source)
    if library not in ("polars", "pyarrow") or isinstance(source, pd.DataFrame):
        return result
    if isinstance(result, tuple):
        return tuple(like_input(r, source) for r in result)
    if isinstance(result, pd.Series):
        if library == "polars":
            return require("polars", "polars").from_pandas(result)
        return require("pyarrow", "arrow").Array.from_pandas(result)
    if isinstance(result, pd.DataFrame):
        flat = result.reset_index() if _named_index(result.index) else result
        if library == "polars":
            return require("polars", "polars").from_pandas(flat)
        return require("pyarrow", "arrow").Table.from_pandas(flat, preserve_index=False)
    return result


def _named_index(index: pd.Index) -> bool:
    return any(n is not None for n in index.names)


def follows_input(func: _F) -> _F:
    """Decorates a function whose first argument is a table: its result comes back in that table's library."""

    @functools.wraps(func)
    def wrapper(table: Any, *args: Any, **kwargs: Any) -> Any:
        return like_input(func(table, *args, **kwargs), table)

    return wrapper  # type: ignore[return-value]
