//! Transaction columns in, validated [`Transactions`] out; id factorization.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use patronage_core::transactions::Encoding;
use patronage_core::{ids, ReturnsPolicy, Transactions};
use pyo3::prelude::*;

use crate::error::{data_error, param_error};

/// The three borrowed columns of a transaction log.
pub struct Columns<'py> {
    customer: PyReadonlyArray1<'py, i64>,
    day: PyReadonlyArray1<'py, i64>,
    amount: PyReadonlyArray1<'py, f64>,
}

impl<'py> Columns<'py> {
    pub fn new(
        customer: PyReadonlyArray1<'py, i64>,
        day: PyReadonlyArray1<'py, i64>,
        amount: PyReadonlyArray1<'py, f64>,
    ) -> Self {
        Columns { customer, day, amount }
    }

    /// Validates the columns into core transactions (no copy). `encoding` is
    /// `(customer_offset, day_divisor)`: see [`Encoding`].
    pub fn transactions(
        &self,
        n_customers: usize,
        encoding: (i64, i64),
        returns: &str,
    ) -> PyResult<Transactions<'_>> {
        let returns: ReturnsPolicy = returns.parse().map_err(param_error)?;
        let customer = contiguous(self.customer.as_slice(), "customer")?;
        let day = contiguous(self.day.as_slice(), "day")?;
        let amount = contiguous(self.amount.as_slice(), "amount")?;
        let encoding = Encoding { customer_offset: encoding.0, day_divisor: encoding.1 };
        Transactions::with_encoding(customer, day, amount, n_customers, returns, encoding).map_err(data_error)
    }
}

fn contiguous<'a, T>(r: Result<&'a [T], numpy::AsSliceError>, name: &str) -> PyResult<&'a [T]> {
    r.map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("{name} array is not contiguous")))
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
    m.add_function(wrap_pyfunction!(factorize_int, m)?)
}
