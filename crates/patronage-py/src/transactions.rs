//! Transaction columns in, validated [`Transactions`] out; id factorization.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use patronage_core::transactions::Encoding;
use patronage_core::{ids, ReturnsPolicy, Transactions};
use pyo3::prelude::*;

use crate::error::{data_error, param_error};

/// One column as the Python layer passes it: its chunks in row order (one for
/// a numpy or pandas column, one per Arrow chunk otherwise), borrowed.
type Chunks<'py, T> = Vec<PyReadonlyArray1<'py, T>>;

/// A transaction log as the Python layer passes it, one tuple:
/// `(customer, date, amount, order, n_customers, (customer_offset, day_divisor), returns)`
/// (`patronage._frame.TransactionLog.core_args(returns)`; each column a list of
/// chunks, `order` None without an order column). Nothing is copied: the core
/// reads the chunks in place.
#[derive(FromPyObject)]
pub struct TxLog<'py>(
    Chunks<'py, i64>,
    Chunks<'py, i64>,
    Chunks<'py, f64>,
    Option<Chunks<'py, i64>>,
    usize,
    (i64, i64),
    String,
);

impl TxLog<'_> {
    /// Validates the columns into core transactions (no copy); see [`Encoding`].
    pub fn transactions(&self) -> PyResult<Transactions<'_>> {
        let TxLog(customer, date, amount, order, n_customers, (customer_offset, day_divisor), returns) = self;
        let returns: ReturnsPolicy = returns.parse().map_err(param_error)?;
        let encoding = Encoding { customer_offset: *customer_offset, day_divisor: *day_divisor };
        let tx = Transactions::from_pieces(
            &slices(customer, "customer")?,
            &slices(date, "date")?,
            &slices(amount, "amount")?,
            *n_customers,
            returns,
            encoding,
        )
        .map_err(data_error)?;
        match order {
            Some(order) => tx.with_order_pieces(&slices(order, "order")?).map_err(data_error),
            None => Ok(tx),
        }
    }
}

/// The chunks of a column as slices, or an error naming the column when one
/// is not C-contiguous and aligned.
fn slices<'a, T: numpy::Element>(chunks: &'a Chunks<'_, T>, name: &str) -> PyResult<Vec<&'a [T]>> {
    chunks
        .iter()
        .map(|c| {
            c.as_slice().map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "{name} array is not C-contiguous and aligned"
                ))
            })
        })
        .collect()
}

/// `log_span(log) -> (first_purchase_day, last_day)`: the first day of a
/// purchase line and the last day of a kept row, the globals that default
/// `as_of`, `observation_end` and the cohort periods. Over batches of one log
/// they merge by (min, max).
#[pyfunction]
fn log_span(log: TxLog<'_>) -> PyResult<(i64, i64)> {
    let tx = log.transactions()?;
    Ok((tx.first_purchase_day(), tx.last_day()))
}

type I64Array<'py> = Bound<'py, PyArray1<i64>>;

/// `factorize_int(ids) -> (codes, uniques)`: dense codes in ascending id order.
#[pyfunction]
fn factorize_int<'py>(
    py: Python<'py>,
    ids: PyReadonlyArray1<'py, i64>,
) -> PyResult<(I64Array<'py>, I64Array<'py>)> {
    let view = ids.as_array();
    let f = match view.as_slice() {
        Some(s) => py.detach(|| ids::factorize_i64(s)),
        None => {
            let owned = view.to_vec();
            py.detach(|| ids::factorize_i64(&owned))
        }
    };
    Ok((f.codes.into_pyarray(py), f.uniques.into_pyarray(py)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(factorize_int, m)?)?;
    m.add_function(wrap_pyfunction!(log_span, m)?)
}
