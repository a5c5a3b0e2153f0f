//! Loyalty: survey metrics, retention, cohorts, concentration, lifecycle stages.

use ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use patronage_core::calendar::Period;
use patronage_core::groups::CustomerGroups;
use patronage_core::loyalty::{self, CohortMetric, LifecycleParams, Rhythm, Tally};
use patronage_core::{Error, ParamError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{detached, param_error};
use crate::rfm::columns_dict;
use crate::transactions::TxLog;

type I64Col<'py> = PyReadonlyArray1<'py, i64>;
type F64Col<'py> = PyReadonlyArray1<'py, f64>;
type Array1<'py, T> = Bound<'py, numpy::PyArray1<T>>;

fn matrix<'py, T: numpy::Element>(
    py: Python<'py>,
    rows: usize,
    cols: usize,
    values: Vec<T>,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    Array2::from_shape_vec((rows, cols), values)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

fn period_param(period: &str) -> PyResult<Period> {
    period.parse().map_err(|e: ParamError| param_error(ParamError::new("period", e.reason)))
}

fn tally_of(
    py: Python<'_>,
    scores: &F64Col<'_>,
    group: &I64Col<'_>,
    n_groups: usize,
    low: i64,
    high: i64,
) -> PyResult<Tally> {
    let (s, g) = (scores.as_array(), group.as_array());
    match (s.as_slice(), g.as_slice()) {
        (Some(s), Some(g)) => detached(py, || loyalty::tally(s, g, n_groups, low, high)),
        _ => Err(PyValueError::new_err("scores and groups must be contiguous arrays")),
    }
}

/// `survey_tally(scores, group, n_groups, low, high) -> (counts, missing)`: answers counted per group and
/// level (`counts` is `n_groups x levels`), non-responses (NaN) per group. Tallies of batches add.
#[pyfunction]
fn survey_tally<'py>(
    py: Python<'py>,
    scores: F64Col<'py>,
    group: I64Col<'py>,
    n_groups: usize,
    low: i64,
    high: i64,
) -> PyResult<(Bound<'py, PyArray2<i64>>, Array1<'py, i64>)> {
    let t = tally_of(py, &scores, &group, n_groups, low, high)?;
    let missing = t.missing.clone().into_pyarray(py);
    Ok((matrix(py, t.n_groups(), t.n_levels, t.counts)?, missing))
}

/// The checked tally of merged counts (`n_groups x levels`) and non-responses per group.
fn tally_from(counts: &PyReadonlyArray2<'_, i64>, missing: &I64Col<'_>, low: i64) -> PyResult<Tally> {
    let c = counts.as_array();
    let n_levels = c.ncols();
    let flat: Vec<i64> = c.iter().copied().collect();
    Tally::from_counts(low, n_levels, flat, missing.as_array().to_vec()).map_err(crate::error::to_py)
}

/// NPS per group of a 0..10 tally.
#[pyfunction]
fn nps_stats<'py>(
    py: Python<'py>,
    counts: PyReadonlyArray2<'py, i64>,
    missing: I64Col<'py>,
    confidence: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let t = tally_from(&counts, &missing, 0)?;
    let s = loyalty::nps_stats(&t, confidence).map_err(crate::error::to_py)?;
    Ok(columns_dict!(py, s; n, n_missing, promoters, passives, detractors, share_promoters,
        share_passives, share_detractors, nps, se, ci_low, ci_high))
}

/// Share of answers in `satisfied` per group of a tally from `low`, with Wilson's interval.
#[pyfunction]
fn share_stats<'py>(
    py: Python<'py>,
    counts: PyReadonlyArray2<'py, i64>,
    missing: I64Col<'py>,
    low: i64,
    satisfied: Vec<i64>,
    confidence: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let t = tally_from(&counts, &missing, low)?;
    let s = loyalty::share_stats(&t, &satisfied, confidence).map_err(crate::error::to_py)?;
    Ok(columns_dict!(py, s; n, n_missing, n_yes, share, ci_low, ci_high))
}

/// Mean answer per group of a tally from `low`, with a t interval.
#[pyfunction]
fn mean_stats<'py>(
    py: Python<'py>,
    counts: PyReadonlyArray2<'py, i64>,
    missing: I64Col<'py>,
    low: i64,
    confidence: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let t = tally_from(&counts, &missing, low)?;
    let s = loyalty::mean_stats(&t, confidence).map_err(crate::error::to_py)?;
    Ok(columns_dict!(py, s; n, n_missing, mean, std, se, ci_low, ci_high))
}

/// `(customers, repeat_customers, censored)`. `end_day`: the last day of the whole log when `log` is one
/// batch of it (censoring needs it).
#[pyfunction]
#[pyo3(signature = (log, within=None, end_day=None))]
fn repurchase(
    py: Python<'_>,
    log: TxLog<'_>,
    within: Option<i64>,
    end_day: Option<i64>,
) -> PyResult<(i64, i64, i64)> {
    let tx = log.transactions()?;
    let end_day = end_day.unwrap_or(tx.last_day());
    if end_day < tx.last_day() {
        return Err(param_error(ParamError::new(
            "end_day",
            format!("{end_day} is before the batch's last day {}", tx.last_day()),
        )));
    }
    let r = detached(py, || loyalty::repurchase(&CustomerGroups::new(&tx), within, end_day))?;
    Ok((r.customers, r.repeat_customers, r.censored))
}

/// Active / new / retained / returning customers per period.
#[pyfunction]
fn period_retention<'py>(py: Python<'py>, log: TxLog<'py>, period: &str) -> PyResult<Bound<'py, PyDict>> {
    let period = period_param(period)?;
    let tx = log.transactions()?;
    let r = detached(py, || {
        Ok::<_, Error>(loyalty::period_retention(
            &CustomerGroups::new(&tx),
            period,
            tx.first_purchase_day(),
            tx.last_day(),
        ))
    })?;
    Ok(columns_dict!(py, r; period_start, active, new, retained, returning))
}

/// The cohort x age matrix; `span` = `(first purchase day, last day)` of the
/// whole log when `log` is a batch of its customers (default: `log`'s own).
#[pyfunction]
#[pyo3(signature = (log, period, metric, normalize, span=None))]
fn cohort_retention<'py>(
    py: Python<'py>,
    log: TxLog<'py>,
    period: &str,
    metric: &str,
    normalize: bool,
    span: Option<(i64, i64)>,
) -> PyResult<Bound<'py, PyDict>> {
    let period = period_param(period)?;
    let metric: CohortMetric = metric.parse().map_err(param_error)?;
    let tx = log.transactions()?;
    // explicit (first purchase day, last day) of the whole log when `log` is one batch of it
    let (first_day, last_day) = span.unwrap_or((tx.first_purchase_day(), tx.last_day()));
    if first_day > tx.first_purchase_day() || last_day < tx.last_day() {
        return Err(param_error(ParamError::new(
            "span",
            format!(
                "({first_day}, {last_day}) does not cover the batch's days ({}, {})",
                tx.first_purchase_day(),
                tx.last_day()
            ),
        )));
    }
    let m = detached(py, || {
        let groups = CustomerGroups::new(&tx);
        loyalty::cohort_retention(&groups, period, metric, normalize, first_day, last_day)
    })?;
    let rows = m.cohort_start.len();
    let d = PyDict::new(py);
    d.set_item("values", matrix(py, rows, m.n_ages, m.values)?)?;
    d.set_item("cohort_start", m.cohort_start.into_pyarray(py))?;
    d.set_item("cohort_size", m.cohort_size.into_pyarray(py))?;
    Ok(d)
}

/// `(order, top_share, gini)` of non-negative values.
#[pyfunction]
fn concentration<'py>(
    py: Python<'py>,
    values: F64Col<'py>,
) -> PyResult<(Array1<'py, usize>, Array1<'py, f64>, f64)> {
    let v = values.as_array().to_vec();
    let c = detached(py, || loyalty::concentration(&v))?;
    Ok((c.order.into_pyarray(py), c.top_share.into_pyarray(py), c.gini))
}

/// Lifecycle tables as of each day in `as_of` (one grouping pass for all;
/// `None`: the day after the last transaction).
#[pyfunction]
#[pyo3(signature = (log, as_of, new_days, at_risk_factor,
    lapsed_factor, at_risk_days, lapsed_days, rhythm, default_gap))]
#[allow(clippy::too_many_arguments)]
fn lifecycle_stages<'py>(
    py: Python<'py>,
    log: TxLog<'py>,
    as_of: Option<Vec<i64>>,
    new_days: i64,
    at_risk_factor: f64,
    lapsed_factor: f64,
    at_risk_days: Option<f64>,
    lapsed_days: Option<f64>,
    rhythm: &str,
    default_gap: Option<f64>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let rhythm: Rhythm = rhythm.parse().map_err(param_error)?;
    let params = LifecycleParams {
        new_days,
        at_risk_factor,
        lapsed_factor,
        at_risk_days,
        lapsed_days,
        rhythm,
        default_gap,
    }
    .check()
    .map_err(param_error)?;
    let tx = log.transactions()?;
    let tables = detached(py, || {
        let groups = CustomerGroups::new(&tx);
        // default: the day after the last (kept) transaction, as in rfm_table
        as_of
            .unwrap_or_else(|| vec![tx.last_day() + 1])
            .iter()
            .map(|&d| loyalty::lifecycle_stages(&groups, d, &params))
            .collect::<Result<Vec<_>, Error>>()
    })?;
    tables
        .into_iter()
        .map(|t| {
            Ok(columns_dict!(py, t; stage, n_orders, days_since_last_order, typical_gap_days,
                at_risk_after_days, lapsed_after_days))
        })
        .collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(survey_tally, m)?)?;
    m.add_function(wrap_pyfunction!(nps_stats, m)?)?;
    m.add_function(wrap_pyfunction!(share_stats, m)?)?;
    m.add_function(wrap_pyfunction!(mean_stats, m)?)?;
    m.add_function(wrap_pyfunction!(repurchase, m)?)?;
    m.add_function(wrap_pyfunction!(period_retention, m)?)?;
    m.add_function(wrap_pyfunction!(cohort_retention, m)?)?;
    m.add_function(wrap_pyfunction!(concentration, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle_stages, m)?)?;
    m.add("LIFECYCLE_NOT_ACQUIRED", loyalty::NOT_ACQUIRED)?;
    Ok(())
}
