//! RFM tables and scores.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use patronage_core::{rfm, Error};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::detached;
use crate::transactions::TxLog;

/// Column name -> numpy array, for the Python layer to wrap in a DataFrame.
macro_rules! columns_dict {
    ($py:expr, $table:expr; $($name:ident),* $(,)?) => {{
        let d = PyDict::new($py);
        $( d.set_item(stringify!($name), $table.$name.into_pyarray($py))?; )*
        d
    }};
}
pub(crate) use columns_dict;

#[pyfunction]
#[pyo3(signature = (log, as_of=None))]
fn rfm_table<'py>(py: Python<'py>, log: TxLog<'py>, as_of: Option<i64>) -> PyResult<Bound<'py, PyDict>> {
    let tx = log.transactions()?;
    let t = detached(py, || rfm::rfm_table(&tx, as_of))?;
    Ok(columns_dict!(py, t; customer, first_day, last_day, recency_days, tenure_days, n_orders,
        n_transactions, total_spend, avg_order_value, mean_days_between_orders,
        std_days_between_orders, n_returns, returned_amount))
}

/// Quantile scores 1..bins (see `patronage_core::rfm::quantile_scores`).
#[pyfunction]
fn quantile_scores<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, f64>,
    bins: u8,
    higher_is_better: bool,
) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let v = values.as_array().to_vec();
    let s = detached(py, || rfm::quantile_scores(&v, bins, higher_is_better).map_err(Error::from))?;
    Ok(s.into_pyarray(py))
}

/// `fm_score` for arrays of F and M scores.
#[pyfunction]
fn fm_scores<'py>(
    py: Python<'py>,
    f: PyReadonlyArray1<'py, u8>,
    m: PyReadonlyArray1<'py, u8>,
) -> Bound<'py, PyArray1<u8>> {
    let out: Vec<u8> =
        f.as_array().iter().zip(m.as_array().iter()).map(|(&f, &m)| rfm::fm_score(f, m)).collect();
    out.into_pyarray(py)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rfm_table, m)?)?;
    m.add_function(wrap_pyfunction!(quantile_scores, m)?)?;
    m.add_function(wrap_pyfunction!(fm_scores, m)?)?;
    m.add("SEGMENTS", rfm::SEGMENTS.to_vec())?;
    m.add("SEGMENT_GRID", rfm::SEGMENT_GRID.iter().map(|row| row.to_vec()).collect::<Vec<_>>())?;
    Ok(())
}
