"""Arrow in through the PyCapsule interface (patronage/_input.py + _core.arrow_columns, the binding's own
Arrow C stream import): the core reads Arrow's own buffers chunk by chunk (no copy, no gather); chunked
(boundaries differing between columns, empty chunks), misaligned, null,
dictionary, string and temporal columns of every kind give the pandas results exactly; nulls are the same
errors, naming the column and row; the imported batches live as long as a view of them, then are
released."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

import patronage
from conftest import optional
from patronage import _core, _frame
from patronage._input import as_pandas
from patronage.datasets import load_cdnow

pl = optional("polars")
pa = optional("pyarrow")


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return load_cdnow().iloc[:20_000].reset_index(drop=True)


def _plain_arrow(tx: pd.DataFrame, chunks: int = 1) -> "pa.Table":
    """``tx`` as a pyarrow Table without pandas metadata, in ``chunks`` record batches."""
    table = pa.table({c: pa.array(tx[c].to_numpy()) for c in tx.columns})
    if chunks == 1:
        return table
    bounds = np.linspace(0, len(tx), chunks + 1).astype(int)
    return pa.Table.from_batches([b for lo, hi in zip(bounds[:-1], bounds[1:])
                                  for b in table.slice(lo, hi - lo).to_batches()])


def _indexed(result: "pa.Table") -> pd.DataFrame:
    """A per-customer pyarrow result (the customer id as its first column) as the indexed pandas frame."""
    return result.to_pandas().set_index("customer_id")


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_the_core_reads_arrow_buffers_without_a_copy(tx):
    """The arrays handed to _core start at the Arrow buffers' addresses, for pyarrow and polars alike."""
    table = _plain_arrow(tx)
    log = _frame.read_transactions(table)
    customers, dates, amounts = (only for [only] in log.core_args("net")[:3])
    assert _address(customers) == table.column("customer_id").chunk(0).buffers()[1].address
    assert _address(dates) == table.column("date").chunk(0).buffers()[1].address
    assert _address(amounts) == table.column("amount").chunk(0).buffers()[1].address
    frame = pl.from_arrow(table)
    log = _frame.read_transactions(frame)
    for column, [array] in zip(("customer_id", "date", "amount"), log.core_args("net")[:3]):
        assert np.shares_memory(array, frame.get_column(column).to_numpy())


def test_chunked_tables_give_the_pandas_result(tx):
    expected = patronage.rfm_table(tx)
    for chunks in (2, 7):
        table = _plain_arrow(tx, chunks)
        assert table.column("amount").num_chunks == chunks
        pd.testing.assert_frame_equal(_indexed(patronage.rfm_table(table)), expected,
                                      check_exact=True)
        frame = pl.from_arrow(table, rechunk=False)
        assert frame.n_chunks() == chunks
        pd.testing.assert_frame_equal(patronage.rfm_table(frame).to_pandas().set_index("customer_id"), expected,
                                      check_exact=True)


@pytest.mark.parametrize("kind", ["dictionary", "large_string", "string_view", "uint32"])
def test_id_types_give_the_pandas_result(tx, kind):
    if kind == "string_view" and not hasattr(pa, "string_view"):
        pytest.skip("pyarrow < 16 has no string_view")
    ids = tx["customer_id"].to_numpy()
    column = {"dictionary": lambda: pa.array(ids).dictionary_encode(),
              "large_string": lambda: pa.array(list(ids.astype(str)), pa.large_string()),
              "string_view": lambda: pa.array(ids.astype(str), pa.string_view()),
              "uint32": lambda: pa.array(ids.astype(np.uint32))}[kind]()
    table = _plain_arrow(tx).set_column(0, "customer_id", column)
    reference = tx.assign(customer_id=ids.astype(str)) if "string" in kind else tx
    expected = patronage.rfm_table(reference)
    got = _indexed(patronage.rfm_table(table))
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_index_type=False)
    assert list(got.index[:3]) == list(expected.index[:3])


@pytest.mark.parametrize("arrow_type", ["timestamp[s]", "timestamp[ms]", "timestamp[us]", "timestamp[ns]",
                                        "timestamp[ns, tz=UTC]", "timestamp[us, tz=Asia/Tokyo]",
                                        "timestamp[s, tz=America/New_York]", "timestamp[ms, tz=+05:30]",
                                        "date32", "date64"])
def test_date_types_give_the_pandas_result(tx, arrow_type):
    """The same local calendar days as pandas: tz-aware instants count on their zone's day."""
    wall = tx["date"] + pd.to_timedelta(np.arange(len(tx)) % 86_400, unit="s")  # times of day
    if "tz=" in arrow_type:
        unit, zone = arrow_type[len("timestamp["):-1].split(", tz=")
        dates = wall.dt.tz_localize(zone, ambiguous=False, nonexistent="shift_forward").astype(
            f"datetime64[{unit}, {zone}]")
        column = pa.array(dates)
    elif arrow_type.startswith("timestamp"):
        dates = wall.astype(f"datetime64[{arrow_type[len('timestamp['):-1]}]")
        column = pa.array(dates)
    else:
        dates = tx["date"]  # whole days
        column = pa.array(dates.dt.date, pa.date32()).cast(getattr(pa, arrow_type)())
    table = _plain_arrow(tx).set_column(1, "date", column)
    assert str(table.schema.field("date").type).startswith(arrow_type.split("[")[0])
    for name in ("rfm_table", "btyd_summary", "lifecycle_stages"):
        reference = getattr(patronage, name)(tx.assign(date=dates))
        pd.testing.assert_frame_equal(_indexed(getattr(patronage, name)(table)), reference, check_exact=True,
                                      check_dtype=False)


@pytest.mark.parametrize("column, message", [
    ("customer_id", r"column 'customer_id' has a missing customer id at index label 3 \(row 3\)"),
    ("date", r"column 'date': is missing \(NaT\) at index label 3 \(row 3\)"),
    ("amount", r"column 'amount' is NaN or infinite at index label 3 \(row 3\)"),
])
def test_a_null_is_the_pandas_error_naming_the_column(tx, column, message):
    table = _plain_arrow(tx, chunks=2)
    values = table.column(column).to_pylist()
    values[3] = None
    table = table.set_column(table.column_names.index(column), column,
                             pa.array(values, table.schema.field(column).type))
    for source in (table, pl.from_arrow(table)):
        with pytest.raises(patronage.exceptions.DataError, match=message):
            patronage.rfm_table(source)
    with pytest.raises(patronage.exceptions.DataError, match=message):
        patronage.rfm_table(table.to_pandas())


def test_any_arrow_c_stream_exporter_and_an_empty_table(tx):
    class Exporter:
        def __init__(self, table):
            self.table = table

        def __arrow_c_stream__(self, requested_schema=None):
            return self.table.__arrow_c_stream__(requested_schema)

    table = _plain_arrow(tx, chunks=3)
    pd.testing.assert_frame_equal(patronage.rfm_table(Exporter(table)), patronage.rfm_table(tx), check_exact=True)
    empty = as_pandas(Exporter(table.slice(0, 0)))
    assert list(empty.columns) == list(tx.columns) and len(empty) == 0
    with pytest.raises(patronage.exceptions.DataError, match="empty"):
        patronage.rfm_table(Exporter(table.slice(0, 0)))
    with pytest.raises(TypeError, match=r"not a table \(.*Exporter"):
        patronage.rfm_table(Exporter(pl.Series([1, 2])))  # a stream of int64 arrays


def test_a_misaligned_buffer_is_copied_not_refused(tx):
    """An Arrow buffer at an odd address (e.g. sliced out of an IPC message) is copied once, aligned."""
    n = len(tx)
    raw = pa.py_buffer(b"\0" + tx["amount"].to_numpy().tobytes())
    amounts = pa.Array.from_buffers(pa.float64(), n, [None, raw.slice(1)])
    assert amounts.buffers()[1].address % 8 == 1
    table = _plain_arrow(tx).set_column(2, "amount", amounts)
    log = _frame.read_transactions(table)
    [copied] = log.core_args("net")[2]
    assert copied.flags.aligned and _address(copied) != amounts.buffers()[1].address
    np.testing.assert_array_equal(copied, tx["amount"].to_numpy())
    pd.testing.assert_frame_equal(_indexed(patronage.rfm_table(table)), patronage.rfm_table(tx), check_exact=True)


def test_imported_batches_live_as_long_as_a_view_then_are_released(tx):
    """The binding owns what it imports: a column view outlives the exporter's table, and the Arrow
    memory is released (once: a second release would crash) when the last view goes."""
    gc.collect()
    before = pa.total_allocated_bytes()
    # built from Python lists, the buffers come from pyarrow's pool (from numpy they would be numpy's)
    table = pa.table({"customer_id": pa.array([i % 977 for i in range(100_000)], pa.int64()),
                      "amount": pa.array([1.0] * 100_000, pa.float64())})
    held = pa.total_allocated_bytes() - before
    assert held >= 100_000 * 16
    frame = as_pandas(table)
    amounts = frame["amount"].to_numpy()
    assert _address(amounts) == table.column("amount").chunk(0).buffers()[1].address
    del table
    gc.collect()
    assert pa.total_allocated_bytes() - before >= held  # still held: the frame views it
    assert amounts.sum() == 100_000.0
    del frame, amounts
    gc.collect()
    assert pa.total_allocated_bytes() == before


def test_arrow_c_array_exporters_and_non_tables_in_the_core(tx):
    """``_core.arrow_columns`` also takes one record batch through ``__arrow_c_array__``; a stream
    or array that is not a struct of columns is a TypeError."""
    batch = _plain_arrow(tx).to_batches()[0]

    class ArrayExporter:
        def __arrow_c_array__(self, requested_schema=None):
            return batch.__arrow_c_array__(requested_schema)

    names, columns = _core.arrow_columns(ArrayExporter())
    assert names == list(tx.columns)
    [amounts] = [np.asarray(chunk) for chunk in columns[names.index("amount")][0]]
    np.testing.assert_array_equal(amounts, tx["amount"].to_numpy())
    assert _address(amounts) == batch.column("amount").buffers()[1].address
    with pytest.raises(TypeError, match="not a struct of columns"):
        _core.arrow_columns(pa.array([1, 2]))  # __arrow_c_array__ of an int64 array


def test_a_sliced_table_reads_its_rows(tx):
    """Offsets of batches and columns (a slice shares its parent's buffers) are honoured."""
    table = _plain_arrow(tx, chunks=3).slice(1234, 9000)
    expected = patronage.rfm_table(tx.iloc[1234:10234].reset_index(drop=True))
    pd.testing.assert_frame_equal(_indexed(patronage.rfm_table(table)), expected, check_exact=True)
    one = _plain_arrow(tx).slice(1234, 9000)
    log = _frame.read_transactions(one)
    assert _address(log.core_args("net")[2][0]) == one.column("amount").chunk(0).buffers()[1].address + 1234 * 8
    pd.testing.assert_frame_equal(_indexed(patronage.rfm_table(one)), expected, check_exact=True)



def test_empty_batches_beside_one_chunk_are_no_reason_to_copy(tx):
    table = _plain_arrow(tx)
    batch = table.to_batches()[0]
    padded = pa.Table.from_batches([batch.slice(0, 0), batch, batch.slice(0, 0)])
    assert padded.column("amount").num_chunks == 3
    log = _frame.read_transactions(padded)
    assert [_address(a) for a in log.core_args("net")[2]] == [batch.column(2).buffers()[1].address]


def _chunk_addresses(column: "pa.ChunkedArray") -> list:
    """The values buffer address of each non-empty chunk of a pyarrow column (offsets included)."""
    return [c.buffers()[1].address + c.offset * c.type.bit_width // 8 for c in column.chunks if len(c)]


def test_chunked_columns_are_read_in_place_not_gathered(tx):
    """Every chunk the core reads is the exporter's own buffer (pyarrow 7 chunks with empty ones between;
    polars 5 chunks), so nothing is gathered: the only memory of ours would be a copy at another address."""
    batches = _plain_arrow(tx, 7).to_batches()
    table = pa.Table.from_batches(batches[:3] + [batches[0].slice(0, 0)] + batches[3:], batches[0].schema)
    log = _frame.read_transactions(table)
    for column, chunks in zip(("customer_id", "date", "amount"), log.core_args("net")[:3]):
        assert [_address(c) for c in chunks] == _chunk_addresses(table.column(column))
    assert log.max_day == tx["date"].max().to_datetime64().astype("datetime64[D]").astype(np.int64)
    frame = pl.from_arrow(_plain_arrow(tx, 5), rechunk=False)
    assert frame.n_chunks() == 5
    log = _frame.read_transactions(frame)
    # polars' own chunks (polars joins them into a new copy when it exports the whole frame)
    for column, chunks in zip(("customer_id", "date", "amount"), log.core_args("net")[:3]):
        own = [_address(chunk.to_numpy()) for chunk in frame.get_column(column).get_chunks()]
        assert len(own) == 5 and [_address(c) for c in chunks] == own
    assert set(frame.n_chunks("all")) == {5}  # and the user's frame is left in its chunks


def test_uneven_chunk_boundaries_between_columns_give_the_same_bits(tx):
    """The core reads each column in its own chunks: boundaries that differ between columns, empty chunks and
    one row chunks give the bits of the one-chunk log (rfm_table, btyd_summary, churn and lifecycle kernels)."""
    log = _frame.read_transactions(tx)
    [ids], [dates], [amounts] = log.core_args("net")[:3]
    n = len(ids)
    rest = log.core_args("net")[4:]

    def split(values: np.ndarray, cuts: list) -> list:
        return [values[lo:hi] for lo, hi in zip([0] + cuts, cuts + [n])]

    whole = _core.rfm_table(log.core_args("net"), None)
    uneven = ([ids[:0]] + split(ids, [1, 2, 5000, 5000, 12_345]), split(dates, [7, 19_999]),
              split(amounts, list(range(1000, n, 1000))), None) + rest
    for threads in (1, 2):
        got = _core._with_threads(threads, lambda: _core.rfm_table(uneven, None))
        assert got.keys() == whole.keys()
        for key in whole:
            assert got[key].dtype == whole[key].dtype, key
            np.testing.assert_array_equal(got[key], whole[key])
    with pytest.raises(patronage.exceptions.DataError, match="date"):
        _core.rfm_table((split(ids, [10]), split(dates[:-1], [10]), [amounts], None) + rest, None)


def test_a_shuffled_log_in_uneven_chunks_on_two_threads_gives_the_pandas_bits(shared_data):
    """The retail log (400k rows) as a pyarrow table of 41 record batches of random sizes (empty ones too),
    its rows shuffled, on 2 threads, against the pandas frame in log order on 1 thread: the same bits."""
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz",
                      usecols=["Quantity", "Price", "InvoiceDate", "Customer ID"])
    retail = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
                 .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    retail = pd.DataFrame({"customer_id": retail["customer_id"].astype(np.int64),
                           "date": pd.to_datetime(retail["date"]), "amount": retail["amount"]}).reset_index(drop=True)
    rng = np.random.default_rng(11)
    shuffled = retail.iloc[rng.permutation(len(retail))].reset_index(drop=True)
    cuts = np.sort(np.concatenate([rng.integers(0, len(retail), 38), [0, 0, len(retail)]]))
    whole = pa.table({c: pa.array(shuffled[c].to_numpy()) for c in shuffled.columns})
    empty = pa.record_batch([pa.array([], f.type) for f in whole.schema], schema=whole.schema)
    table = pa.Table.from_batches([whole.slice(lo, hi - lo).to_batches()[0] if hi > lo else empty
                                   for lo, hi in zip(cuts[:-1], cuts[1:])], whole.schema)
    assert table.column("amount").num_chunks >= 30
    for name in ("rfm_table", "btyd_summary", "lifecycle_stages"):
        expected = _core._with_threads(1, lambda: getattr(patronage, name)(retail))
        got = _core._with_threads(2, lambda: _indexed(getattr(patronage, name)(table)))
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
