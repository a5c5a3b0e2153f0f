//! The seeded transaction simulator.

use numpy::IntoPyArray;
use patronage_core::simulate::{simulate_transactions as core_simulate, SimulationParams, Spend};
use patronage_core::{Error, ParamError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{detached, param_error};
use crate::rfm::columns_dict;

#[pyfunction]
#[pyo3(signature = (n_customers, start_day, acquisition_days, observation_days, r, alpha, a, b, spend, spend_params, seed))]
#[allow(clippy::too_many_arguments)]
fn simulate_transactions<'py>(
    py: Python<'py>,
    n_customers: usize,
    start_day: i64,
    acquisition_days: f64,
    observation_days: f64,
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    spend: &str,
    spend_params: (f64, f64, f64),
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, y, z) = spend_params;
    let spend = match spend {
        "lognormal" => Spend::Lognormal { mean_log: x, sd_between: y, sd_within: z },
        "gamma-gamma" => Spend::GammaGamma { p: x, q: y, v: z },
        other => {
            return Err(param_error(ParamError::new(
                "spend",
                format!("expected 'lognormal' or 'gamma-gamma', got {other:?}"),
            )))
        }
    };
    let params = SimulationParams {
        n_customers,
        start_day,
        acquisition_days,
        observation_days,
        r,
        alpha,
        a,
        b,
        spend,
        seed,
    };
    let log = detached(py, || core_simulate(&params).map_err(Error::from))?;
    Ok(columns_dict!(py, log; customer, day, amount))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(simulate_transactions, m)?)
}
