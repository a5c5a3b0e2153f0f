//! Campaigns: control assignment, power analysis, treatment effects.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use patronage_core::campaign::{self, EffectParams, Experiment, Outcome, PowerParams};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{detached, interruptible, param_error};

fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| PyValueError::new_err(format!("{name} must be a contiguous array")))
}

/// `True` for the rows drawn into the control group (see `campaign::assign_control`).
#[pyfunction]
fn campaign_assign<'py>(
    py: Python<'py>,
    strata: PyReadonlyArray1<'py, i64>,
    n_control: Vec<u64>,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let s = slice(&strata, "strata")?;
    let control = detached(py, || campaign::assign_control(s, &n_control, seed))?;
    Ok(control.into_pyarray(py))
}

/// Columns of every treated group against the control, per segment.
#[pyfunction]
#[pyo3(signature = (outcome, group, n_groups, control, segment, n_segments, covariate, binary, confidence, n_resamples, seed))]
#[allow(clippy::too_many_arguments)]
fn campaign_effects<'py>(
    py: Python<'py>,
    outcome: PyReadonlyArray1<'py, f64>,
    group: PyReadonlyArray1<'py, i64>,
    n_groups: usize,
    control: usize,
    segment: Option<PyReadonlyArray1<'py, i64>>,
    n_segments: usize,
    covariate: Option<PyReadonlyArray1<'py, f64>>,
    binary: bool,
    confidence: f64,
    n_resamples: Option<usize>,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let params = EffectParams { confidence, n_resamples, seed }.check().map_err(param_error)?;
    let data = Experiment {
        outcome: slice(&outcome, "outcome")?,
        group: slice(&group, "group")?,
        n_groups,
        control,
        segment: segment.as_ref().map(|s| slice(s, "segment")).transpose()?,
        n_segments,
        covariate: covariate.as_ref().map(|c| slice(c, "covariate")).transpose()?,
    };
    let kind = if binary { Outcome::Binary } else { Outcome::Continuous };
    let t = interruptible(py, || campaign::effects(&data, kind, &params))?;
    let d = PyDict::new(py);
    let column = |f: fn(&campaign::Effect) -> f64| t.effects.iter().map(f).collect::<Vec<f64>>();
    d.set_item("segment", t.segment.iter().map(|&s| s as i64).collect::<Vec<_>>().into_pyarray(py))?;
    d.set_item("group", t.group.iter().map(|&g| g as i64).collect::<Vec<_>>().into_pyarray(py))?;
    d.set_item(
        "n_treated",
        t.effects.iter().map(|e| e.n_treated as i64).collect::<Vec<_>>().into_pyarray(py),
    )?;
    d.set_item(
        "n_control",
        t.effects.iter().map(|e| e.n_control as i64).collect::<Vec<_>>().into_pyarray(py),
    )?;
    d.set_item("mean_treated", column(|e| e.mean_treated).into_pyarray(py))?;
    d.set_item("mean_control", column(|e| e.mean_control).into_pyarray(py))?;
    d.set_item("difference", column(|e| e.difference).into_pyarray(py))?;
    d.set_item("ci_low", column(|e| e.ci_low).into_pyarray(py))?;
    d.set_item("ci_high", column(|e| e.ci_high).into_pyarray(py))?;
    d.set_item("p_value", column(|e| e.p_value).into_pyarray(py))?;
    d.set_item("p_adjusted", t.p_adjusted.into_pyarray(py))?;
    d.set_item("lift", column(|e| e.lift).into_pyarray(py))?;
    d.set_item("lift_low", column(|e| e.lift_low).into_pyarray(py))?;
    d.set_item("lift_high", column(|e| e.lift_high).into_pyarray(py))?;
    d.set_item("theta", column(|e| e.theta).into_pyarray(py))?;
    d.set_item("variance_reduction", column(|e| e.variance_reduction).into_pyarray(py))?;
    Ok(d)
}

fn power_params(alpha: f64, power: f64, ratio: f64) -> PyResult<campaign::ValidPowerParams> {
    PowerParams { alpha, power, ratio }.check().map_err(param_error)
}

/// Treated customers needed to detect a standardized effect (not rounded).
#[pyfunction]
fn campaign_sample_size(effect_size: f64, alpha: f64, power: f64, ratio: f64) -> PyResult<f64> {
    let p = power_params(alpha, power, ratio)?;
    campaign::sample_size(effect_size, &p).map_err(crate::error::to_py)
}

/// The smallest standardized effect detectable with `n_treated` treated customers.
#[pyfunction]
fn campaign_detectable_effect(n_treated: f64, alpha: f64, power: f64, ratio: f64) -> PyResult<f64> {
    let p = power_params(alpha, power, ratio)?;
    campaign::detectable_effect_size(n_treated, &p).map_err(crate::error::to_py)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(campaign_assign, m)?)?;
    m.add_function(wrap_pyfunction!(campaign_effects, m)?)?;
    m.add_function(wrap_pyfunction!(campaign_sample_size, m)?)?;
    m.add_function(wrap_pyfunction!(campaign_detectable_effect, m)?)
}
