//! k-means, its quality criteria and k selection.

use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use patronage_core::cluster::{
    metrics, recommend, select_k as core_select_k, Algorithm, Init, KMeans, KMeansParams,
};
use patronage_core::{Error, ParamError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use linfa::ParamGuard;

use crate::error::{detached, interruptible, to_py};

type Labels<'py> = Bound<'py, PyArray1<i32>>;

fn labels_out<'py>(py: Python<'py>, labels: ndarray::Array1<u32>) -> Labels<'py> {
    labels.mapv(|l| l as i32).into_pyarray(py)
}

fn param(name: &'static str, reason: String) -> PyErr {
    to_py(ParamError::new(name, reason).into())
}

fn algorithm(name: &str) -> PyResult<Algorithm> {
    match name {
        "auto" => Ok(Algorithm::Auto),
        "lloyd" => Ok(Algorithm::Lloyd),
        "hamerly" => Ok(Algorithm::Hamerly),
        other => Err(param("algorithm", format!("must be 'auto', 'lloyd' or 'hamerly', got {other:?}"))),
    }
}

/// Builds checked params; `centres` (when given) overrides `init`.
#[allow(clippy::too_many_arguments)]
fn params(
    n_clusters: usize,
    init: &str,
    centres: Option<PyReadonlyArray2<'_, f64>>,
    n_init: Option<usize>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    algo: &str,
) -> PyResult<patronage_core::cluster::KMeansValidParams> {
    let init = match (centres, init) {
        (Some(c), _) => Init::Centres(c.as_array().to_owned()),
        (None, "k-means++") => Init::KMeansPlusPlus,
        (None, "random") => Init::Random,
        (None, other) => {
            return Err(param(
                "init",
                format!("must be 'k-means++', 'random' or an array of centres, got {other:?}"),
            ))
        }
    };
    let mut p = KMeansParams::new(n_clusters)
        .init(init)
        .max_iter(max_iter)
        .tol(tol)
        .seed(seed)
        .algorithm(algorithm(algo)?);
    if let Some(n) = n_init {
        p = p.n_init(n);
    }
    p.check().map_err(|e| to_py(e.into()))
}

/// A fitted k-means model (`patronage_core::cluster::KMeans`).
#[pyclass(module = "patronage._core", name = "KMeansModel", frozen)]
pub struct KMeansModel {
    inner: KMeans,
}

#[pymethods]
impl KMeansModel {
    /// `fit(x, n_clusters, init, centres, n_init, max_iter, tol, seed, algorithm) -> (model, labels)`
    #[staticmethod]
    #[pyo3(signature = (x, n_clusters, init, centres, n_init, max_iter, tol, seed, algorithm))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_clusters: usize,
        init: &str,
        centres: Option<PyReadonlyArray2<'py, f64>>,
        n_init: Option<usize>,
        max_iter: usize,
        tol: f64,
        seed: u64,
        algorithm: &str,
    ) -> PyResult<(KMeansModel, Labels<'py>)> {
        let p = params(n_clusters, init, centres, n_init, max_iter, tol, seed, algorithm)?;
        let x = x.as_array();
        let fit = interruptible(py, || p.fit_array(x))?;
        Ok((KMeansModel { inner: fit.model }, labels_out(py, fit.labels)))
    }

    /// `partial_fit(model_or_none, x, n_clusters, init, centres, seed) -> (model, labels)`:
    /// one mini-batch step; a new model is started from `x` when `model` is None.
    #[staticmethod]
    #[pyo3(signature = (model, x, n_clusters, init, centres, seed))]
    fn partial_fit<'py>(
        py: Python<'py>,
        model: Option<PyRef<'py, KMeansModel>>,
        x: PyReadonlyArray2<'py, f64>,
        n_clusters: usize,
        init: &str,
        centres: Option<PyReadonlyArray2<'py, f64>>,
        seed: u64,
    ) -> PyResult<(KMeansModel, Labels<'py>)> {
        let p = params(n_clusters, init, centres, None, 1, 0.0, seed, "auto")?;
        let start = model.map(|m| m.inner.clone());
        let x = x.as_array();
        let (inner, labels) = detached(py, || p.partial_fit(start, x))?;
        Ok((KMeansModel { inner }, labels_out(py, labels)))
    }

    /// Labels and inertia of `x` against the centres.
    fn predict<'py>(&self, py: Python<'py>, x: PyReadonlyArray2<'py, f64>) -> PyResult<(Labels<'py>, f64)> {
        let x = x.as_array();
        let (labels, inertia) = detached(py, || self.inner.predict_with_inertia(x))?;
        Ok((labels_out(py, labels), inertia))
    }

    /// Distances of every row of `x` to every centre.
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let x = x.as_array();
        Ok(detached(py, || self.inner.transform(x))?.into_pyarray(py))
    }

    /// The centres (a copy).
    #[getter]
    fn centres<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.inner.centres().clone().into_pyarray(py)
    }

    /// Rows per cluster (fit) or rows seen per cluster (partial_fit).
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.counts().clone().into_pyarray(py)
    }

    #[getter]
    fn inertia(&self) -> f64 {
        self.inner.inertia()
    }

    #[getter]
    fn n_iter(&self) -> usize {
        self.inner.n_iter()
    }

    /// The model as JSON (serde).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(|e| param("model", e.to_string()))
    }

    /// A model from [`KMeansModel::to_json`] output.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<KMeansModel> {
        let inner: KMeans =
            serde_json::from_str(text).map_err(|e| param("json", format!("not a KMeans model: {e}")))?;
        if inner.centres().iter().any(|v| !v.is_finite())
            || inner.n_clusters() == 0
            || inner.n_features() == 0
            || inner.counts().len() != inner.n_clusters()
        {
            return Err(param(
                "json",
                "the model's centres are empty or not finite, or its counts do not match them".into(),
            ));
        }
        Ok(KMeansModel { inner })
    }
}

fn labels_in<'a>(labels: &'a PyReadonlyArray1<'_, u32>) -> PyResult<&'a [u32]> {
    labels.as_slice().map_err(|_| param("labels", "the label array is not contiguous".into()))
}

/// Silhouette coefficient of every row (exact).
#[pyfunction]
fn silhouette_samples<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, u32>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (x, l) = (x.as_array(), labels_in(&labels)?);
    Ok(interruptible(py, || metrics::silhouette_samples(x, l))?.into_pyarray(py))
}

/// Mean silhouette, on a seeded sample of `sample_size` rows when given.
#[pyfunction]
#[pyo3(signature = (x, labels, sample_size=None, seed=0))]
fn silhouette_score(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, u32>,
    sample_size: Option<usize>,
    seed: u64,
) -> PyResult<f64> {
    let (x, l) = (x.as_array(), labels_in(&labels)?);
    interruptible(py, || metrics::silhouette_score(x, l, sample_size.map(|s| (s, seed))))
}

/// Calinski-Harabasz index.
#[pyfunction]
fn calinski_harabasz_score(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, u32>,
) -> PyResult<f64> {
    let (x, l) = (x.as_array(), labels_in(&labels)?);
    detached(py, || metrics::calinski_harabasz(x, l))
}

/// Davies-Bouldin index.
#[pyfunction]
fn davies_bouldin_score(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    labels: PyReadonlyArray1<'_, u32>,
) -> PyResult<f64> {
    let (x, l) = (x.as_array(), labels_in(&labels)?);
    detached(py, || metrics::davies_bouldin(x, l))
}

/// Criteria per k: dict of arrays (k, inertia, silhouette, calinski_harabasz,
/// davies_bouldin, n_iter) plus `recommended` (int).
#[pyfunction]
#[pyo3(signature = (x, ks, n_init, max_iter, tol, seed, sample_size=None))]
#[allow(clippy::too_many_arguments)]
fn select_k<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    ks: Vec<usize>,
    n_init: Option<usize>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    sample_size: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let p = params(2, "k-means++", None, n_init, max_iter, tol, seed, "auto")?;
    let x = x.as_array();
    let scores = interruptible(py, || core_select_k(x, &ks, &p, sample_size))?;
    let recommended =
        recommend(&scores).ok_or_else(|| to_py(Error::from(ParamError::new("k_range", "is empty"))))?;
    let d = PyDict::new(py);
    let col = |f: fn(&patronage_core::cluster::KScores) -> f64| scores.iter().map(f).collect::<Vec<f64>>();
    d.set_item("k", scores.iter().map(|s| s.k as i64).collect::<Vec<_>>().into_pyarray(py))?;
    d.set_item("inertia", col(|s| s.inertia).into_pyarray(py))?;
    d.set_item("silhouette", col(|s| s.silhouette).into_pyarray(py))?;
    d.set_item("calinski_harabasz", col(|s| s.calinski_harabasz).into_pyarray(py))?;
    d.set_item("davies_bouldin", col(|s| s.davies_bouldin).into_pyarray(py))?;
    d.set_item("n_iter", scores.iter().map(|s| s.n_iter as i64).collect::<Vec<_>>().into_pyarray(py))?;
    d.set_item("recommended", recommended)?;
    Ok(d)
}

/// The elbow of an inertia curve (None when there is none).
#[pyfunction]
fn elbow(ks: Vec<usize>, inertia: Vec<f64>) -> Option<usize> {
    patronage_core::cluster::elbow(&ks, &inertia)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KMeansModel>()?;
    m.add_function(wrap_pyfunction!(silhouette_samples, m)?)?;
    m.add_function(wrap_pyfunction!(silhouette_score, m)?)?;
    m.add_function(wrap_pyfunction!(calinski_harabasz_score, m)?)?;
    m.add_function(wrap_pyfunction!(davies_bouldin_score, m)?)?;
    m.add_function(wrap_pyfunction!(select_k, m)?)?;
    m.add_function(wrap_pyfunction!(elbow, m)?)?;
    Ok(())
}
