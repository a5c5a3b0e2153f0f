//! Churn: the leakage-free data set, the two models, calibration and metrics.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use patronage_core::churn::{
    self, logistic_design_spread, logistic_design_sums, logistic_ranges, logistic_sums, metrics, Calibrator,
    ChurnDatasetParams, DesignRanges, GbmModel, GbmParams, LogisticModel, LogisticParams,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{detached, fit_with_sums, interruptible};
use crate::transactions::TxLog;

type F64Array<'py> = Bound<'py, PyArray1<f64>>;
type Explained<'py> = (f64, Bound<'py, numpy::PyArray2<f64>>);

fn explained(py: Python<'_>, e: churn::Explanation) -> Explained<'_> {
    (e.base_value, numpy::PyArray2::from_owned_array(py, e.contributions))
}

fn weights(w: &Option<PyReadonlyArray1<'_, f64>>) -> PyResult<Option<Vec<f64>>> {
    Ok(w.as_ref().map(|w| w.as_array().to_vec()))
}

/// A model deserialised and checked (so a hand-edited document cannot make prediction panic).
trait Checked: serde::de::DeserializeOwned {
    fn check(&self) -> Result<(), String>;
}

impl Checked for LogisticModel {
    fn check(&self) -> Result<(), String> {
        self.check_structure()
    }
}

impl Checked for GbmModel {
    fn check(&self) -> Result<(), String> {
        self.check_structure()
    }
}

impl Checked for Calibrator {
    fn check(&self) -> Result<(), String> {
        self.check_structure()
    }
}

fn from_json<T: Checked>(s: &str, what: &str) -> PyResult<T> {
    let v: T = serde_json::from_str(s)
        .map_err(|e| PyValueError::new_err(format!("not a valid {what} JSON: {e}")))?;
    v.check().map_err(|e| PyValueError::new_err(format!("inconsistent {what} JSON: {e}")))?;
    Ok(v)
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pyfunction]
#[pyo3(signature = (log, cutoff, horizon_days, window_days=None, observation_end=None))]
fn churn_dataset<'py>(
    py: Python<'py>,
    log: TxLog<'py>,
    cutoff: i64,
    horizon_days: i64,
    window_days: Option<i64>,
    observation_end: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let tx = log.transactions()?;
    let params = ChurnDatasetParams { cutoff, horizon_days, window_days, observation_end };
    let ds = detached(py, || churn::churn_dataset(&tx, &params))?;
    let d = PyDict::new(py);
    d.set_item("customer", ds.customer.into_pyarray(py))?;
    d.set_item("features", numpy::PyArray2::from_owned_array(py, ds.features))?;
    d.set_item("label", ds.label.into_pyarray(py))?;
    Ok(d)
}

/// A fitted logistic regression (see `patronage_core::churn::LogisticModel`).
#[pyclass(module = "patronage._core", name = "LogisticModel", frozen)]
struct PyLogistic(LogisticModel);

#[pymethods]
impl PyLogistic {
    #[staticmethod]
    #[pyo3(signature = (x, y, sample_weight, c, max_iter, tol))]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        sample_weight: Option<PyReadonlyArray1<'_, f64>>,
        c: f64,
        max_iter: usize,
        tol: f64,
    ) -> PyResult<Self> {
        let params = LogisticParams { c, max_iter, tol };
        let (x, y) = (x.as_array(), y.as_array().to_vec());
        let w = weights(&sample_weight)?;
        let model = interruptible(py, || LogisticModel::fit(&params, x, &y, w.as_deref()))?;
        Ok(PyLogistic(model))
    }

    /// The fit from sums over batches of rows (see the core's
    /// `LogisticModel::fit_sums`): the merged passes, and `sums(beta,
    /// hessian)` returning the batches' `logistic_sums` added up.
    #[staticmethod]
    #[pyo3(signature = (ranges, sums, spread, c, max_iter, tol, sums_at))]
    #[allow(clippy::too_many_arguments)]
    fn fit_sums(
        py: Python<'_>,
        ranges: Ranges,
        sums: Vec<f64>,
        spread: Vec<f64>,
        c: f64,
        max_iter: usize,
        tol: f64,
        sums_at: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let params = LogisticParams { c, max_iter, tol };
        let ranges = design_ranges(ranges);
        let model =
            fit_with_sums(py, sums_at, |at| LogisticModel::fit_sums(&params, &ranges, &sums, &spread, at))?;
        Ok(PyLogistic(model))
    }

    fn decision_function<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<F64Array<'py>> {
        let x = x.as_array();
        Ok(interruptible(py, || self.0.decision_function(x))?.into_pyarray(py))
    }

    /// `(base_value, contributions)`: the exact linear terms of each row.
    fn explain<'py>(&self, py: Python<'py>, x: PyReadonlyArray2<'py, f64>) -> PyResult<Explained<'py>> {
        let x = x.as_array();
        Ok(explained(py, interruptible(py, || self.0.explain(x))?))
    }

    #[getter]
    fn coef<'py>(&self, py: Python<'py>) -> F64Array<'py> {
        self.0.coef.clone().into_pyarray(py)
    }
    #[getter]
    fn coef_unscaled<'py>(&self, py: Python<'py>) -> F64Array<'py> {
        self.0.coef_unscaled().into_pyarray(py)
    }
    #[getter]
    fn intercept(&self) -> f64 {
        self.0.intercept
    }
    #[getter]
    fn intercept_unscaled(&self) -> f64 {
        self.0.intercept_unscaled()
    }
    #[getter]
    fn mean<'py>(&self, py: Python<'py>) -> F64Array<'py> {
        self.0.mean.clone().into_pyarray(py)
    }
    #[getter]
    fn scale<'py>(&self, py: Python<'py>) -> F64Array<'py> {
        self.0.scale.clone().into_pyarray(py)
    }
    #[getter]
    fn n_iter(&self) -> usize {
        self.0.n_iter
    }
    #[getter]
    fn converged(&self) -> bool {
        self.0.converged
    }
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }
    #[staticmethod]
    fn from_json(s: &str) -> PyResult<Self> {
        Ok(PyLogistic(from_json(s, "logistic model")?))
    }
}

/// A fitted histogram gradient-boosting model.
#[pyclass(module = "patronage._core", name = "GbmModel", frozen)]
struct PyGbm(GbmModel);

#[pymethods]
impl PyGbm {
    #[staticmethod]
    #[pyo3(signature = (x, y, sample_weight, max_iter, learning_rate, max_leaf_nodes, max_depth, min_samples_leaf, l2_regularization, max_bins, seed, early_stopping=false, validation_fraction=0.1, n_iter_no_change=10, tol=1e-7, monotonic_cst=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        sample_weight: Option<PyReadonlyArray1<'_, f64>>,
        max_iter: usize,
        learning_rate: f64,
        max_leaf_nodes: usize,
        max_depth: Option<usize>,
        min_samples_leaf: usize,
        l2_regularization: f64,
        max_bins: usize,
        seed: u64,
        early_stopping: bool,
        validation_fraction: f64,
        n_iter_no_change: usize,
        tol: f64,
        monotonic_cst: Vec<i8>,
    ) -> PyResult<Self> {
        let params = GbmParams {
            max_iter,
            learning_rate,
            max_leaf_nodes,
            max_depth,
            min_samples_leaf,
            l2_regularization,
            max_bins,
            seed,
            early_stopping,
            validation_fraction,
            n_iter_no_change,
            tol,
            monotonic_cst,
        };
        let (x, y) = (x.as_array(), y.as_array().to_vec());
        let w = weights(&sample_weight)?;
        let model = interruptible(py, || GbmModel::fit(&params, x, &y, w.as_deref()))?;
        Ok(PyGbm(model))
    }

    fn decision_function<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<F64Array<'py>> {
        let x = x.as_array();
        Ok(interruptible(py, || self.0.decision_function(x))?.into_pyarray(py))
    }

    /// `(base_value, contributions)`: path-dependent TreeSHAP of each row.
    fn explain<'py>(&self, py: Python<'py>, x: PyReadonlyArray2<'py, f64>) -> PyResult<Explained<'py>> {
        let x = x.as_array();
        Ok(explained(py, interruptible(py, || self.0.explain(x))?))
    }

    #[getter]
    fn feature_importances<'py>(&self, py: Python<'py>) -> F64Array<'py> {
        self.0.feature_importances.clone().into_pyarray(py)
    }
    #[getter]
    fn n_trees(&self) -> usize {
        self.0.trees.len()
    }
    #[getter]
    fn validation_loss<'py>(&self, py: Python<'py>) -> F64Array<'py> {
        self.0.validation_loss.clone().into_pyarray(py)
    }
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }
    #[staticmethod]
    fn from_json(s: &str) -> PyResult<Self> {
        Ok(PyGbm(from_json(s, "gbm model")?))
    }
}

/// A fitted probability calibrator.
#[pyclass(module = "patronage._core", name = "Calibrator", frozen)]
struct PyCalibrator(Calibrator);

#[pymethods]
impl PyCalibrator {
    #[staticmethod]
    fn fit(
        py: Python<'_>,
        method: &str,
        score: PyReadonlyArray1<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        sample_weight: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Self> {
        let (s, y) = (score.as_array().to_vec(), y.as_array().to_vec());
        let w = weights(&sample_weight)?;
        let cal = match method {
            "isotonic" => detached(py, || Calibrator::isotonic(&s, &y, w.as_deref()))?,
            "platt" => detached(py, || Calibrator::platt(&s, &y, w.as_deref()))?,
            other => {
                return Err(PyValueError::new_err(format!(
                    "calibration must be 'isotonic' or 'platt', got {other:?}"
                )))
            }
        };
        Ok(PyCalibrator(cal))
    }

    fn transform<'py>(&self, py: Python<'py>, score: PyReadonlyArray1<'py, f64>) -> F64Array<'py> {
        let s = score.as_array().to_vec();
        py.detach(|| self.0.transform(&s)).into_pyarray(py)
    }
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }
    #[staticmethod]
    fn from_json(s: &str) -> PyResult<Self> {
        Ok(PyCalibrator(from_json(s, "calibrator")?))
    }
}

/// `binary_metrics(y, proba) -> (roc_auc, average_precision, log_loss, brier)`.
#[pyfunction]
fn binary_metrics(
    py: Python<'_>,
    y: PyReadonlyArray1<'_, f64>,
    proba: PyReadonlyArray1<'_, f64>,
) -> PyResult<(f64, f64, f64, f64)> {
    let (y, p) = (y.as_array().to_vec(), proba.as_array().to_vec());
    detached(py, || {
        Ok::<_, patronage_core::Error>((
            metrics::roc_auc(&y, &p)?,
            metrics::average_precision(&y, &p)?,
            metrics::log_loss(&y, &p)?,
            metrics::brier(&y, &p)?,
        ))
    })
}

/// A batch's standardisation ranges as Python sees them: `(lo, hi, max_weight, total_weight, positive_weight)`.
type Ranges = (Vec<f64>, Vec<f64>, f64, f64, f64);

fn design_ranges((lo, hi, max_weight, total_weight, positive_weight): Ranges) -> DesignRanges {
    DesignRanges { lo, hi, max_weight, total_weight, positive_weight }
}

/// The first standardisation pass of a fit from sums over a batch (`LogisticModel.fit_sums`).
#[pyfunction]
#[pyo3(signature = (x, y, sample_weight=None))]
fn logistic_batch_ranges(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: PyReadonlyArray1<'_, f64>,
    sample_weight: Option<PyReadonlyArray1<'_, f64>>,
) -> PyResult<Ranges> {
    let (x, y, w) = (x.as_array(), y.as_array().to_vec(), weights(&sample_weight)?);
    let r = detached(py, || logistic_ranges(x, &y, w.as_deref()))?;
    Ok((r.lo, r.hi, r.max_weight, r.total_weight, r.positive_weight))
}

/// The second pass over a batch: weighted column sums (merged `ranges`).
#[pyfunction]
#[pyo3(signature = (x, y, sample_weight, ranges))]
fn logistic_batch_sums<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    ranges: Ranges,
) -> PyResult<F64Array<'py>> {
    let (x, y, w) = (x.as_array(), y.as_array().to_vec(), weights(&sample_weight)?);
    let ranges = design_ranges(ranges);
    Ok(detached(py, || logistic_design_sums(x, &y, w.as_deref(), &ranges))?.into_pyarray(py))
}

/// The third pass over a batch: squared deviations about the merged `sums`' means.
#[pyfunction]
#[pyo3(signature = (x, y, sample_weight, ranges, sums))]
fn logistic_batch_spread<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    ranges: Ranges,
    sums: Vec<f64>,
) -> PyResult<F64Array<'py>> {
    let (x, y, w) = (x.as_array(), y.as_array().to_vec(), weights(&sample_weight)?);
    let ranges = design_ranges(ranges);
    Ok(detached(py, || logistic_design_spread(x, &y, w.as_deref(), &ranges, &sums))?.into_pyarray(py))
}

/// A batch's unpenalised log-loss sums at `beta`: `[loss, grad.., upper hessian..]`.
#[pyfunction]
#[pyo3(signature = (x, y, sample_weight, ranges, sums, spread, beta, hessian))]
#[allow(clippy::too_many_arguments)]
fn logistic_batch_loss<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    ranges: Ranges,
    sums: Vec<f64>,
    spread: Vec<f64>,
    beta: Vec<f64>,
    hessian: bool,
) -> PyResult<F64Array<'py>> {
    let (x, y, w) = (x.as_array(), y.as_array().to_vec(), weights(&sample_weight)?);
    let ranges = design_ranges(ranges);
    let out =
        interruptible(py, || logistic_sums(x, &y, w.as_deref(), (&ranges, &sums, &spread), &beta, hessian))?;
    Ok(out.into_pyarray(py))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(logistic_batch_ranges, m)?)?;
    m.add_function(wrap_pyfunction!(logistic_batch_sums, m)?)?;
    m.add_function(wrap_pyfunction!(logistic_batch_spread, m)?)?;
    m.add_function(wrap_pyfunction!(logistic_batch_loss, m)?)?;
    m.add_function(wrap_pyfunction!(churn_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(binary_metrics, m)?)?;
    m.add_class::<PyLogistic>()?;
    m.add_class::<PyGbm>()?;
    m.add_class::<PyCalibrator>()?;
    m.add("CHURN_FEATURES", churn::FEATURE_NAMES.to_vec())?;
    Ok(())
}
