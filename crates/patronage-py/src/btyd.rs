//! Buy-till-you-die summaries (models come with the BTYD capability).

use numpy::IntoPyArray;
use numpy::PyReadonlyArray1;
use patronage_core::btyd::{btyd_summary as core_summary, SummaryParams};
use patronage_core::calendar::Period;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{detached, param_error};
use crate::rfm::columns_dict;
use crate::transactions::Columns;

#[pyfunction]
#[pyo3(signature = (customer, day, amount, n_customers, encoding, returns, freq, freq_multiplier, observation_end=None, calibration_end=None))]
#[allow(clippy::too_many_arguments)]
fn btyd_summary<'py>(
    py: Python<'py>,
    customer: PyReadonlyArray1<'py, i64>,
    day: PyReadonlyArray1<'py, i64>,
    amount: PyReadonlyArray1<'py, f64>,
    n_customers: usize,
    encoding: (i64, i64),
    returns: &str,
    freq: &str,
    freq_multiplier: f64,
    observation_end: Option<i64>,
    calibration_end: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let period: Period = freq.parse().map_err(param_error)?;
    let cols = Columns::new(customer, day, amount);
    let tx = cols.transactions(n_customers, encoding, returns)?;
    let params = SummaryParams { period, freq_multiplier, observation_end, calibration_end };
    let mut s = detached(py, || core_summary(&tx, &params))?;
    let holdout = s.holdout.take();
    let d = columns_dict!(py, s; customer, frequency, recency, t, monetary_value);
    if let Some(h) = holdout {
        d.set_item("frequency_holdout", h.frequency.into_pyarray(py))?;
        d.set_item("monetary_value_holdout", h.monetary_value.into_pyarray(py))?;
        d.set_item("duration_holdout", h.duration)?;
    }
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(btyd_summary, m)?)
}
