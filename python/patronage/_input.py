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
import importlib.util
import json
from typing import Any, Callable, Optional, Tuple, TypeVar

import numpy as np
import pandas as pd

from . import _core

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

    polars DataFrames (LazyFrames are collected), pyarrow Tables and
    RecordBatchReaders, DuckDB relations and any other ``__arrow_c_stream__``
    exporter enter the compiled core through the Arrow PyCapsule interface
    (see :class:`ArrowTable`: integer, float, timestamp and date columns of
    one chunk are not copied). Raises a TypeError naming the argument, the
    library and the type when ``obj`` is not a table.
    """
    table = as_table(obj, name)
    return table.to_pandas() if isinstance(table, ArrowTable) else table


def as_table(obj: Any, name: str = "tx") -> "pd.DataFrame | ArrowTable":
    """``obj`` as a pandas DataFrame (pandas as is) or, for an Arrow exporter, an :class:`ArrowTable`
    whose numeric columns are read chunk by chunk in place (see :func:`as_pandas`)."""
    if isinstance(obj, pd.DataFrame):
        return obj
    library = library_of(obj)
    if library == "polars" and hasattr(obj, "collect") and not hasattr(obj, "to_pandas"):  # a LazyFrame
        obj = obj.collect()
    elif library == "pyarrow" and hasattr(obj, "read_all"):  # a RecordBatchReader
        obj = obj.read_all()
    elif library == "duckdb" and hasattr(obj, "df") and importlib.util.find_spec("pyarrow") is None:
        return obj.df()  # DuckDB's own pandas conversion: its Arrow export needs pyarrow
    elif library == "duckdb" and hasattr(obj, "arrow") and not hasattr(obj, "__arrow_c_stream__"):  # DuckDB < 1.1
        obj = obj.arrow()
    # a polars Series or pyarrow Array also exports a stream: tables only
    tabular = {"polars": "get_column", "pyarrow": "column_names"}.get(library, "__arrow_c_stream__")
    if hasattr(obj, "__arrow_c_stream__") and hasattr(obj, tabular):
        if library not in ("polars", "pyarrow"):
            # read the stream once, into pyarrow (no copy): its other columns convert from there
            pa = require("pyarrow", "arrow")
            try:
                library, obj = "pyarrow", pa.table(obj)
            except (TypeError, ValueError) as exc:  # e.g. a stream of arrays, not of record batches
                raise TypeError(f"{name} exports an Arrow stream that is not a table ({type_name(obj)}): {exc}") \
                    from None
        if library == "pyarrow" and _stores_an_index(obj):  # from pandas: pyarrow restores the index
            return obj.to_pandas(split_blocks=True)
        return ArrowTable(obj, library)
    raise TypeError(f"{name} must be a table (a pandas or polars DataFrame, a polars LazyFrame, a pyarrow Table or "
                    f"RecordBatchReader, a DuckDB relation, or an object exporting __arrow_c_stream__), "
                    f"got {type_name(obj)}")


class ArrowTable:
    """A polars DataFrame or pyarrow Table imported once through ``__arrow_c_stream__``, its buffers
    shared, not copied, wherever numpy can hold them.

    ``_core.arrow_columns`` (the binding's own Arrow C stream import: no
    pyarrow needed) gives back, per column, one object per chunk whose
    ``__array_interface__`` lets numpy view the values in place (integers,
    floats, timestamps at their unit, date64; only a chunk misaligned for its
    type is copied, alone, in Rust), or None. :meth:`chunks` hands those
    views to the transaction log, which the core reads chunk by chunk: a
    table of many chunks (Parquet gives dozens) is never gathered.
    :meth:`to_pandas` builds the pandas frame everything else reads.
    """

    def __init__(self, table: Any, library: str) -> None:
        self._table, self._library = table, library
        if library == "polars" and max(table.n_chunks("all"), default=1) > 1:
            self.names, self._columns = _polars_columns(table)
        else:
            self.names, self._columns = _core.arrow_columns(table)

    def chunks(self, name: str) -> Optional[list]:
        """The chunks of column ``name`` as read-only numpy views, when it is the one column of that name,
        holds a type numpy views in place (integers, floats, timestamps without a time zone, date64) and
        has no nulls; None otherwise (the column then converts through :meth:`to_pandas`)."""
        if self.names.count(name) != 1:
            return None
        column = self._columns[self.names.index(name)]
        if column is None:
            return None
        values, kind, null, zone = column
        if kind == "date32" or null is not None or zone is not None:
            return None
        return [np.asarray(chunk) for chunk in values]

    def to_pandas(self) -> pd.DataFrame:
        """The table as pandas: numpy-viewable columns of one chunk shared (several chunks are joined
        into one array); the others (strings, dictionaries, booleans, decimals, ...) converted as their
        library converts them. Nulls become NaN / NaT, as pyarrow and polars give them to pandas, so a
        missing id, date or amount is the same error, naming the column and row, as from pandas."""
        others = [k for k, column in enumerate(self._columns) if column is None]
        converted = dict(zip(others, _convert_others(self._table, self._library, others)))
        frame = pd.DataFrame({k: converted[k] if column is None else _numpy_column(*column)
                              for k, column in enumerate(self._columns)}, copy=False)
        frame.columns = pd.Index(self.names)
        return frame


def _polars_columns(frame: Any) -> Tuple[list, list]:
    """``_core.arrow_columns`` of a polars DataFrame of several chunks, chunk by chunk: polars joins a
    frame's chunks into one copy of every column when it exports the frame, but exports a frame of one
    chunk as it is."""
    names, columns = list(frame.columns), []
    for name in names:
        parts = [_core.arrow_columns(chunk.to_frame())[1][0] for chunk in frame.get_column(name).get_chunks()]
        if any(part is None for part in parts):
            columns.append(None)
            continue
        masks = [part[2] if part[2] is not None else np.zeros(sum(len(np.asarray(v)) for v in part[0]), bool)
                 for part in parts]
        null = None if all(part[2] is None for part in parts) else np.concatenate(masks)
        columns.append(([values for part in parts for values in part[0]], parts[0][1], null, parts[0][3]))
    return names, columns


def _stores_an_index(table: Any) -> bool:
    """Whether a pyarrow Table made from pandas holds an index other than the default ``RangeIndex``."""
    metadata = getattr(getattr(table, "schema", None), "metadata", None) or {}
    if b"pandas" not in metadata:
        return False
    default = {"kind": "range", "name": None, "start": 0, "step": 1}
    return any(not isinstance(i, dict) or {k: i.get(k) for k in default} != default
               for i in json.loads(metadata[b"pandas"]).get("index_columns", []))


def _numpy_column(chunks: list, kind: str, null: Optional[np.ndarray], zone: Optional[str]) -> Any:
    """One column from its Arrow chunks (see :class:`ArrowTable`); copied only to join chunks, to widen or to
    fill nulls."""
    # a read-only view of the Arrow memory when it is one chunk
    array = np.asarray(chunks[0]) if len(chunks) == 1 else np.concatenate([np.asarray(c) for c in chunks])
    if kind == "date32":  # days
        array = (array.astype(np.int64) * 86_400).view("M8[s]")
    if null is not None:
        array = array.astype(np.float64) if array.dtype.kind in "iuf" else array.copy()
        array[null] = np.nan if array.dtype.kind == "f" else np.datetime64("NaT")
    if zone is not None:  # Arrow holds UTC instants; pandas shows them in their zone
        return pd.Series(array, copy=False).dt.tz_localize("UTC").dt.tz_convert(zone)
    return array


def _convert_others(table: Any, library: str, positions: list) -> list:
    """The columns at ``positions`` (those numpy cannot view), each as its library converts it to pandas."""
    if not positions:
        return []
    if library == "polars":
        require("pyarrow", "polars")  # polars converts these through pyarrow
        return [table.to_series(k).to_pandas() for k in positions]
    converted = table.select(positions).to_pandas(split_blocks=True)
    return [converted.iloc[:, j] for j in range(len(positions))]


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
