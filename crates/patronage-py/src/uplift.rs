//! Uplift evaluation: Qini / uplift curves, Qini coefficient, AUUC, uplift at k.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use patronage_core::uplift::{self, Curve, TopK, UpliftAtKParams, UpliftSample, UpliftStrategy};
use patronage_core::ParamError;
use pyo3::prelude::*;

use crate::error::{interruptible, param_error};

type F64Col<'py> = PyReadonlyArray1<'py, f64>;
type Points<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

fn slice<'a>(a: &'a F64Col<'_>, name: &'static str) -> PyResult<&'a [f64]> {
    a.as_slice().map_err(|_| param_error(ParamError::new(name, "the array is not contiguous")))
}

/// Which curve: "qini" or "uplift".
fn is_qini(kind: &str) -> PyResult<bool> {
    match kind {
        "qini" => Ok(true),
        "uplift" => Ok(false),
        other => {
            Err(param_error(ParamError::new("kind", format!("must be 'qini' or 'uplift', got {other:?}"))))
        }
    }
}

/// `uplift_curve(y, score, treatment, kind, perfect, negative_effect) -> (n_targeted, value)`.
#[pyfunction]
#[pyo3(signature = (y, score, treatment, kind, perfect=false, negative_effect=true))]
fn uplift_curve<'py>(
    py: Python<'py>,
    y: F64Col<'py>,
    score: F64Col<'py>,
    treatment: F64Col<'py>,
    kind: &str,
    perfect: bool,
    negative_effect: bool,
) -> PyResult<Points<'py>> {
    let qini = is_qini(kind)?;
    let (y, s, t) = (slice(&y, "y_true")?, slice(&score, "uplift")?, slice(&treatment, "treatment")?);
    let curve: Curve = interruptible(py, || {
        let sample = UpliftSample::new(y, s, t)?;
        match (qini, perfect) {
            (true, false) => uplift::qini_curve(&sample),
            (false, false) => uplift::uplift_curve(&sample),
            (true, true) => uplift::perfect_qini_curve(&sample, negative_effect),
            (false, true) => uplift::perfect_uplift_curve(&sample),
        }
    })?;
    Ok((curve.n_targeted.into_pyarray(py), curve.value.into_pyarray(py)))
}

/// `uplift_score(y, score, treatment, kind, negative_effect)`: the Qini coefficient or AUUC.
#[pyfunction]
#[pyo3(signature = (y, score, treatment, kind, negative_effect=true))]
fn uplift_score(
    py: Python<'_>,
    y: F64Col<'_>,
    score: F64Col<'_>,
    treatment: F64Col<'_>,
    kind: &str,
    negative_effect: bool,
) -> PyResult<f64> {
    let qini = is_qini(kind)?;
    let (y, s, t) = (slice(&y, "y_true")?, slice(&score, "uplift")?, slice(&treatment, "treatment")?);
    interruptible(py, || {
        let sample = UpliftSample::new(y, s, t)?;
        if qini {
            uplift::qini_coefficient(&sample, negative_effect)
        } else {
            uplift::auuc(&sample)
        }
    })
}

/// `uplift_at_k(y, score, treatment, k_fraction, k_count, strategy)`: exactly one of the two k's.
#[pyfunction]
#[pyo3(signature = (y, score, treatment, k_fraction, k_count, strategy))]
fn uplift_at_k(
    py: Python<'_>,
    y: F64Col<'_>,
    score: F64Col<'_>,
    treatment: F64Col<'_>,
    k_fraction: Option<f64>,
    k_count: Option<usize>,
    strategy: &str,
) -> PyResult<f64> {
    let k = match (k_fraction, k_count) {
        (Some(f), None) => TopK::Fraction(f),
        (None, Some(c)) => TopK::Count(c),
        _ => return Err(param_error(ParamError::new("k", "give exactly one of a fraction and a count"))),
    };
    let strategy = match strategy {
        "overall" => UpliftStrategy::Overall,
        "by_group" => UpliftStrategy::ByGroup,
        other => {
            return Err(param_error(ParamError::new(
                "strategy",
                format!("must be 'overall' or 'by_group', got {other:?}"),
            )))
        }
    };
    let params = UpliftAtKParams { k, strategy }.check().map_err(|e| crate::error::to_py(e.into()))?;
    let (y, s, t) = (slice(&y, "y_true")?, slice(&score, "uplift")?, slice(&treatment, "treatment")?);
    interruptible(py, || {
        let sample = UpliftSample::new(y, s, t)?;
        uplift::uplift_at_k(&sample, params)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(uplift_curve, m)?)?;
    m.add_function(wrap_pyfunction!(uplift_score, m)?)?;
    m.add_function(wrap_pyfunction!(uplift_at_k, m)?)?;
    Ok(())
}
