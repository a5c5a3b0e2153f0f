//! Arrow tables in through the PyCapsule interface (`__arrow_c_stream__`, `__arrow_c_array__`).
//!
//! [`arrow_columns`] imports a table from any exporter (polars, pyarrow, DuckDB, ...) with the
//! binding's own C Data / C Stream import ([`crate::arrow_ffi`]) and hands each column numpy
//! can hold in place (integers, floats, timestamps, dates) back as an [`ArrowValues`]:
//! `numpy.asarray` views its memory through `__array_interface__`, and the view keeps the
//! imported batches alive (they are released when the last view goes). Each chunk of a
//! column is viewed where the exporter put it (no copy, never gathered: the core reads a
//! column in chunks); only a chunk whose buffer is not aligned for its type is copied, alone,
//! into memory of ours, with the GIL released. Every other column (strings, dictionaries,
//! booleans, decimals, ...) comes back as None, for the Python adapter (`patronage._input`)
//! to convert as the exporting library does.

use std::sync::Arc;

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyTuple};

use crate::arrow_ffi::{Batch, Field, Realigned, Schema, Stream};

// Arrow's C interface is native-endian; the typestrs below are little-endian (x86_64, aarch64).
const _: () = assert!(cfg!(target_endian = "little"));

/// How a column's values sit in memory.
enum Storage {
    /// In the exporter's buffer at `address`, kept alive by the batches.
    Shared { _batches: Arc<Vec<Batch>>, address: usize },
    /// Realigned into memory of ours (a chunk misaligned for its type).
    Realigned(Realigned),
}

/// The values of one primitive Arrow column, for numpy to view in place
/// (`numpy.asarray(values)`, read-only): the object owns the Arrow memory, and a numpy
/// view keeps the object alive.
#[pyclass(module = "patronage._core", frozen)]
pub struct ArrowValues {
    storage: Storage,
    len: usize,
    typestr: &'static str,
}

#[pymethods]
impl ArrowValues {
    /// numpy's array interface (version 3) over the values.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let address = match &self.storage {
            Storage::Shared { address, .. } => *address,
            Storage::Realigned(copy) => copy.address(),
        };
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", (self.len,))?;
        d.set_item("typestr", self.typestr)?;
        d.set_item("data", (address, true))?; // read-only: Arrow memory is immutable
        Ok(d)
    }
}

/// The numpy typestr and value width of a primitive Arrow format string, with the kind the
/// adapter is told ("date32": int32 days, widened there) and the time zone of a timestamp;
/// None for any other type (and for dictionary-encoded columns, whose format is the index's).
fn numpy_type(field: &Field) -> Option<(&'static str, usize, &'static str, Option<String>)> {
    if field.dictionary {
        return None;
    }
    let plain = |typestr: &'static str, width| Some((typestr, width, typestr, None));
    match field.format.as_str() {
        "c" => plain("|i1", 1),
        "s" => plain("<i2", 2),
        "i" => plain("<i4", 4),
        "l" => plain("<i8", 8),
        "C" => plain("|u1", 1),
        "S" => plain("<u2", 2),
        "I" => plain("<u4", 4),
        "L" => plain("<u8", 8),
        "f" => plain("<f4", 4),
        "g" => plain("<f8", 8),
        "tdD" => Some(("<i4", 4, "date32", None)),
        "tdm" => plain("<M8[ms]", 8),
        format => {
            let (unit, zone) = format.strip_prefix("ts")?.split_once(':')?;
            let typestr = match unit {
                "s" => "<M8[s]",
                "m" => "<M8[ms]",
                "u" => "<M8[us]",
                "n" => "<M8[ns]",
                _ => return None,
            };
            Some((typestr, 8, typestr, (!zone.is_empty()).then(|| zone.to_owned())))
        }
    }
}

/// One column numpy can view: `(chunks, kind, null mask or None, time zone or None)`: its
/// values per Arrow chunk with rows, in row order (one empty chunk when it has no rows); the
/// kind is the numpy typestr or "date32". The mask (True where null, over the whole column)
/// exists only when there are nulls.
type NumpyColumn<'py> =
    (Vec<Py<ArrowValues>>, &'static str, Option<Bound<'py, PyArray1<bool>>>, Option<String>);

/// Column `k` of every batch (values of `width` bytes, numpy type `typestr`), one
/// [`ArrowValues`] per chunk with rows, with its null mask.
fn column(
    py: Python<'_>,
    batches: &Arc<Vec<Batch>>,
    (k, n_columns): (usize, usize),
    width: usize,
    typestr: &'static str,
) -> PyResult<(Vec<ArrowValues>, Option<Vec<bool>>)> {
    let pieces = batches.iter().map(|b| b.primitive(k, n_columns)).collect::<PyResult<Vec<_>>>()?;
    let len = pieces.iter().map(|p| p.len).sum();
    let any_null = pieces.iter().any(|p| {
        p.validity.is_some_and(|bits| (p.offset..p.offset + p.len).any(|i| (bits[i / 8] >> (i % 8)) & 1 == 0))
    });
    let mask = any_null.then(|| {
        let mut mask = Vec::with_capacity(len);
        for p in &pieces {
            match p.validity {
                Some(bits) => {
                    mask.extend((p.offset..p.offset + p.len).map(|i| (bits[i / 8] >> (i % 8)) & 1 == 0))
                }
                None => mask.resize(mask.len() + p.len, false),
            }
        }
        mask
    });
    // each chunk with rows is used where it is; only a chunk misaligned for its type is copied
    let mut chunks = Vec::with_capacity(pieces.len());
    for p in pieces.iter().filter(|p| p.len > 0) {
        let address = p.values as usize + p.offset * width;
        let storage = if address % width == 0 {
            Storage::Shared { _batches: Arc::clone(batches), address }
        } else {
            Storage::Realigned(py.detach(|| Realigned::new(Some(p), width)))
        };
        chunks.push(ArrowValues { storage, len: p.len, typestr });
    }
    if chunks.is_empty() {
        chunks.push(ArrowValues {
            storage: Storage::Realigned(Realigned::new(None, width)),
            len: 0,
            typestr,
        });
    }
    Ok((chunks, mask))
}

/// The batches of a `__arrow_c_stream__` or `__arrow_c_array__` exporter, with their schema.
fn import(table: &Bound<'_, PyAny>) -> PyResult<(Schema, Vec<Batch>)> {
    if table.hasattr("__arrow_c_stream__")? {
        let capsule = table.call_method0("__arrow_c_stream__")?;
        let mut stream = Stream::from_capsule(capsule.cast::<PyCapsule>()?)?;
        let schema = stream.schema()?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next_batch()? {
            batches.push(batch);
        }
        return Ok((schema, batches));
    }
    let pair = table.call_method0("__arrow_c_array__")?;
    let pair = pair.cast::<PyTuple>()?;
    let schema = Schema::from_capsule(pair.get_item(0)?.cast::<PyCapsule>()?)?;
    let batch = Batch::from_capsule(pair.get_item(1)?.cast::<PyCapsule>()?)?;
    Ok((schema, vec![batch]))
}

/// `arrow_columns(table) -> (names, columns)`: the column names of an Arrow table (any
/// `__arrow_c_stream__` or `__arrow_c_array__` exporter of record batches) and per column a
/// [`NumpyColumn`] (its chunks), or None for a column numpy cannot hold.
#[pyfunction]
fn arrow_columns<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
) -> PyResult<(Vec<String>, Vec<Option<NumpyColumn<'py>>>)> {
    let (schema, batches) = import(table)?;
    let fields = schema.fields().map_err(|e| PyTypeError::new_err(e.value(py).to_string()))?;
    drop(schema);
    let batches = Arc::new(batches);
    let mut columns = Vec::with_capacity(fields.len());
    for (k, field) in fields.iter().enumerate() {
        let Some((typestr, width, kind, zone)) = numpy_type(field) else {
            columns.push(None);
            continue;
        };
        let (chunks, mask) = column(py, &batches, (k, fields.len()), width, typestr)?;
        let chunks = chunks.into_iter().map(|values| Py::new(py, values)).collect::<PyResult<Vec<_>>>()?;
        columns.push(Some((chunks, kind, mask.map(|m| m.into_pyarray(py)), zone)));
    }
    Ok((fields.into_iter().map(|f| f.name).collect(), columns))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ArrowValues>()?;
    m.add_function(wrap_pyfunction!(arrow_columns, m)?)
}
