"""Any table in (patronage/_input.py): polars, pyarrow, DuckDB and Arrow C stream exporters give the same
numbers as pandas, in their own library where natural; refusals name the library and type; the core
never refuses a misaligned column; ``import patronage`` imports none of the optional libraries."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import patronage
from conftest import optional
from patronage.datasets import load_cdnow

pl = optional("polars")
pa = optional("pyarrow")
duckdb = optional("duckdb")


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return load_cdnow().iloc[:20_000]


def test_polars_in_polars_out(tx):
    expected = patronage.rfm_table(tx)
    for table in (pl.from_pandas(tx), pl.from_pandas(tx).lazy()):
        got = patronage.rfm_table(table)
        assert isinstance(got, pl.DataFrame)
        assert got.columns[0] == "customer_id"  # the pandas index becomes the first column
        pd.testing.assert_frame_equal(got.to_pandas().set_index("customer_id"), expected, check_exact=True)


def test_arrow_in_arrow_out_and_pandas_for_the_rest(tx):
    expected = patronage.btyd_summary(tx, freq="W")
    table = pa.Table.from_pandas(tx, preserve_index=False)
    got = patronage.btyd_summary(table, freq="W")
    assert isinstance(got, pa.Table)
    pd.testing.assert_frame_equal(got.to_pandas().set_index("customer_id"), expected, check_exact=True)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=1000))
    assert isinstance(patronage.btyd_summary(reader, freq="W"), pa.Table)
    # DuckDB relations and bare Arrow C stream exporters get pandas
    relation = duckdb.from_arrow(table)
    pd.testing.assert_frame_equal(patronage.btyd_summary(relation, freq="W"), expected, check_exact=True)

    class Stream:  # anything exporting the Arrow PyCapsule stream
        def __arrow_c_stream__(self, requested_schema=None):
            return table.__arrow_c_stream__(requested_schema)

    pd.testing.assert_frame_equal(patronage.btyd_summary(Stream(), freq="W"), expected, check_exact=True)


def test_pyarrow_dtype_backend(tx):
    arrow_backed = tx.convert_dtypes(dtype_backend="pyarrow")
    pd.testing.assert_frame_equal(patronage.rfm_table(arrow_backed), patronage.rfm_table(tx), check_exact=True,
                                  check_index_type=False)


def test_churn_dataset_and_features_follow_polars(tx):
    X, y = patronage.churn_dataset(pl.from_pandas(tx), cutoff="1997-09-30", horizon="90D")
    X_pd, y_pd = patronage.churn_dataset(tx, cutoff="1997-09-30", horizon="90D")
    assert isinstance(X, pl.DataFrame) and isinstance(y, pl.Series)
    np.testing.assert_array_equal(y.to_numpy(), y_pd.to_numpy())
    stages = patronage.lifecycle_stages(pl.from_pandas(tx))
    assert isinstance(stages, pl.DataFrame) and stages.height == len(patronage.lifecycle_stages(tx))


def test_churn_classifier_keeps_feature_names_from_polars_and_arrow(tx):
    X, y = patronage.churn_dataset(tx, cutoff="1997-09-30", horizon="90D")
    for table in (pl.from_pandas(X.reset_index(drop=True)), pa.Table.from_pandas(X, preserve_index=False)):
        model = patronage.ChurnClassifier("logistic").fit(table, y.to_numpy())
        assert list(model.feature_names_in_) == list(X.columns)
        np.testing.assert_array_equal(model.predict_proba(table),
                                      patronage.ChurnClassifier("logistic").fit(X, y).predict_proba(X))


def test_refusals_name_the_library_and_type(tx):
    with pytest.raises(TypeError, match=r"tx must be a table .* got numpy\.ndarray"):
        patronage.rfm_table(tx.to_numpy())
    with pytest.raises(TypeError, match=r"got polars\.series\.series\.Series|got polars\.Series"):
        patronage.rfm_table(pl.Series([1, 2]))


def test_misaligned_columns_are_copied_not_refused(tx):
    """An Arrow buffer at an odd offset gives C-contiguous but misaligned numpy columns."""
    raw = np.zeros(len(tx) * 8 + 1, dtype=np.uint8)
    amounts = raw[1:].view(np.float64)
    amounts[:] = tx["amount"].to_numpy()
    assert not amounts.flags.aligned and amounts.flags.c_contiguous
    odd = pd.DataFrame({"customer_id": tx["customer_id"].to_numpy(), "date": tx["date"].to_numpy(),
                        "amount": amounts}, copy=False)
    assert not odd["amount"].to_numpy().flags.aligned
    pd.testing.assert_frame_equal(patronage.rfm_table(odd), patronage.rfm_table(tx), check_exact=True)


def test_import_patronage_imports_no_optional_library():
    code = ("import sys, pandas; before = set(sys.modules); import patronage, patronage.ooc, patronage.spark; "
            "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} & {'polars', 'pyarrow', 'duckdb', "
            "'tqdm', 'pyspark', 'dask', 'distributed'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_missing_extra_says_which_pip_install(monkeypatch):
    from patronage import _input

    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "patronage\[duckdb\]"'):
        _input.require("duckdb", "duckdb")


def test_polars_numbers_are_not_copied_and_other_dtypes_convert_like_pandas(tx):
    from patronage._input import as_pandas

    frame = pl.from_pandas(tx)
    converted = as_pandas(frame)
    for column in ("customer_id", "date", "amount"):
        assert np.shares_memory(converted[column].to_numpy(), frame.get_column(column).to_numpy())
    # string and categorical ids, tz-aware dates and a null amount go through Arrow, as polars' to_pandas
    odd = frame.with_columns(pl.col("customer_id").cast(pl.String).cast(pl.Categorical),
                             pl.col("date").dt.replace_time_zone("Europe/Paris"),
                             pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("amount"))
                             .alias("amount"))
    pd.testing.assert_frame_equal(as_pandas(odd), odd.to_pandas(), check_exact=True)
    with pytest.raises(patronage.exceptions.DataError,
                       match=r"column 'amount' is NaN or infinite at index label 5 \(row 5\)"):
        patronage.rfm_table(odd)
