//! Buy-till-you-die: summaries, the BG/NBD and Gamma-Gamma models, CLV.
//!
//! The models are frozen pyclasses holding the core's fitted model; the
//! Python layer (`patronage/btyd.py`) wraps them in estimators. Arrays
//! arrive as contiguous float64 (coerced once in Python) and are borrowed.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use patronage_core::btyd::integrals::{expected_purchases_if_alive, ln_death_time_integral};
use patronage_core::btyd::{
    btyd_summary as core_summary, customer_lifetime_value as core_clv, gamma_gamma_sums as core_gg_sums,
    spend_spread, spend_totals, value_if_alive as core_if_alive, BetaGeo, BetaGeoParams, ClvParams, FitInfo,
    GammaGamma, GammaGammaParams, ParetoNbd, ParetoNbdParams, Purchases, RfmData, SpendData, SpendTotals,
    SummaryParams, GAMMA_GAMMA_SUMS,
};
use patronage_core::calendar::Period;
use patronage_core::{Error, ParamError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::error::{detached, fit_with_sums, interruptible, param_error, to_py};
use crate::rfm::columns_dict;
use crate::transactions::TxLog;

#[pyfunction]
#[pyo3(signature = (log, freq, freq_multiplier, observation_end=None, calibration_end=None))]
fn btyd_summary<'py>(
    py: Python<'py>,
    log: TxLog<'py>,
    freq: &str,
    freq_multiplier: f64,
    observation_end: Option<i64>,
    calibration_end: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let period: Period = freq.parse().map_err(param_error)?;
    let tx = log.transactions()?;
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

type F64<'py> = PyReadonlyArray1<'py, f64>;
type F64Out<'py> = Bound<'py, PyArray1<f64>>;

fn slice<'a>(a: &'a F64<'_>, name: &str) -> PyResult<&'a [f64]> {
    a.as_slice().map_err(|_| PyValueError::new_err(format!("{name} array is not contiguous")))
}

fn opt_slice<'a>(a: &'a Option<F64<'_>>, name: &str) -> PyResult<Option<&'a [f64]>> {
    a.as_ref().map(|a| slice(a, name)).transpose()
}

/// Borrowed `(frequency, recency, T[, weights])` columns.
struct Rfm<'a> {
    f: &'a [f64],
    r: &'a [f64],
    t: &'a [f64],
    w: Option<&'a [f64]>,
}

impl<'a> Rfm<'a> {
    fn new(f: &'a F64<'_>, r: &'a F64<'_>, t: &'a F64<'_>, w: &'a Option<F64<'_>>) -> PyResult<Self> {
        Ok(Rfm {
            f: slice(f, "frequency")?,
            r: slice(r, "recency")?,
            t: slice(t, "T")?,
            w: opt_slice(w, "weights")?,
        })
    }

    fn data(&self) -> Result<RfmData<'a>, Error> {
        RfmData::new(self.f, self.r, self.t, self.w)
    }
}

/// The serde name of a unit enum variant (`"gradient_tolerance"`).
fn serde_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn fit_info_dict<'py>(py: Python<'py>, info: Option<&FitInfo>) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(info) = info else { return Ok(None) };
    let d = PyDict::new(py);
    d.set_item("log_likelihood", info.log_likelihood)?;
    d.set_item("standard_errors", info.standard_errors.clone())?;
    d.set_item("n_customers", info.n_customers)?;
    d.set_item("n_patterns", info.n_patterns)?;
    d.set_item("penalizer", info.penalizer)?;
    d.set_item("converged", info.converged)?;
    d.set_item("status", serde_name(info.status))?;
    d.set_item("iterations", info.iterations)?;
    d.set_item("evaluations", info.evaluations)?;
    d.set_item("gradient_norm", info.gradient_norm)?;
    d.set_item("starts", info.starts)?;
    let issues = PyList::empty(py);
    for issue in &info.issues {
        let item = PyDict::new(py);
        item.set_item("kind", serde_name(issue.kind))?;
        item.set_item("parameters", issue.parameters.clone())?;
        item.set_item("message", &issue.message)?;
        issues.append(item)?;
    }
    d.set_item("issues", issues)?;
    let determined = PyList::empty(py);
    for q in &info.determined {
        let item = PyDict::new(py);
        item.set_item("name", &q.name)?;
        item.set_item("meaning", &q.meaning)?;
        item.set_item("value", q.value)?;
        item.set_item("lower", q.lower)?;
        item.set_item("upper", q.upper)?;
        determined.append(item)?;
    }
    d.set_item("determined", determined)?;
    Ok(Some(d))
}

fn json_error(e: serde_json::Error) -> PyErr {
    PyValueError::new_err(format!("not a serialised model: {e}"))
}

/// A BG/NBD model (fitted or from known parameters).
#[pyclass(module = "patronage._core", name = "BetaGeoModel", frozen)]
struct PyBetaGeo {
    inner: BetaGeo,
}

#[pymethods]
impl PyBetaGeo {
    #[staticmethod]
    #[pyo3(signature = (frequency, recency, t, weights=None, penalizer=0.0, max_iter=1000, tol=1e-9, modified=false))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        frequency: F64<'_>,
        recency: F64<'_>,
        t: F64<'_>,
        weights: Option<F64<'_>>,
        penalizer: f64,
        max_iter: usize,
        tol: f64,
        modified: bool,
    ) -> PyResult<Self> {
        let rfm = Rfm::new(&frequency, &recency, &t, &weights)?;
        let params = BetaGeoParams { modified, penalizer, max_iter, tol };
        let inner = interruptible(py, || {
            let valid = params.check()?;
            valid.fit(&rfm.data()?)
        })?;
        Ok(PyBetaGeo { inner })
    }

    #[staticmethod]
    #[pyo3(signature = (r, alpha, a, b, modified=false))]
    fn from_params(r: f64, alpha: f64, a: f64, b: f64, modified: bool) -> PyResult<Self> {
        let inner =
            if modified { BetaGeo::new_modified(r, alpha, a, b) } else { BetaGeo::new(r, alpha, a, b) }
                .map_err(param_error)?;
        Ok(PyBetaGeo { inner })
    }

    #[getter]
    fn modified(&self) -> bool {
        self.inner.is_modified()
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let inner: BetaGeo = serde_json::from_str(text).map_err(json_error)?;
        let [r, alpha, a, b] = inner.params();
        BetaGeo::new(r, alpha, a, b).map_err(param_error)?;
        Ok(PyBetaGeo { inner })
    }

    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(json_error)
    }

    #[getter]
    fn params(&self) -> (f64, f64, f64, f64) {
        let [r, alpha, a, b] = self.inner.params();
        (r, alpha, a, b)
    }

    fn fit_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        fit_info_dict(py, self.inner.fit_info())
    }

    #[pyo3(signature = (frequency, recency, t, weights=None))]
    fn log_likelihood(
        &self,
        py: Python<'_>,
        frequency: F64<'_>,
        recency: F64<'_>,
        t: F64<'_>,
        weights: Option<F64<'_>>,
    ) -> PyResult<f64> {
        let rfm = Rfm::new(&frequency, &recency, &t, &weights)?;
        detached(py, || Ok::<_, Error>(self.inner.log_likelihood(&rfm.data()?)))
    }

    fn p_alive<'py>(
        &self,
        py: Python<'py>,
        frequency: F64<'py>,
        recency: F64<'py>,
        t: F64<'py>,
    ) -> PyResult<F64Out<'py>> {
        let rfm = Rfm::new(&frequency, &recency, &t, &None)?;
        let out = interruptible(py, || Ok::<_, Error>(self.inner.p_alive(&rfm.data()?)))?;
        Ok(out.into_pyarray(py))
    }

    fn expected_purchases<'py>(
        &self,
        py: Python<'py>,
        horizon: f64,
        frequency: F64<'py>,
        recency: F64<'py>,
        t: F64<'py>,
    ) -> PyResult<F64Out<'py>> {
        let rfm = Rfm::new(&frequency, &recency, &t, &None)?;
        let out = interruptible(py, || self.inner.expected_purchases(horizon, &rfm.data()?))?;
        Ok(out.into_pyarray(py))
    }

    fn expected_purchases_new_customer<'py>(&self, py: Python<'py>, t: F64<'py>) -> PyResult<F64Out<'py>> {
        let t = slice(&t, "t")?;
        let out = interruptible(py, || self.inner.expected_purchases_new_customer(t))?;
        Ok(out.into_pyarray(py))
    }

    fn probability_of_n_purchases(&self, t: f64, n: u64) -> PyResult<f64> {
        self.inner.probability_of_n_purchases(t, n).map_err(to_py)
    }
}

/// A Gamma-Gamma spend model (fitted or from known parameters).
#[pyclass(module = "patronage._core", name = "GammaGammaModel", frozen)]
struct PyGammaGamma {
    inner: GammaGamma,
}

#[pymethods]
impl PyGammaGamma {
    #[staticmethod]
    #[pyo3(signature = (frequency, monetary_value, weights=None, penalizer=0.0, max_iter=1000, tol=1e-9))]
    fn fit(
        py: Python<'_>,
        frequency: F64<'_>,
        monetary_value: F64<'_>,
        weights: Option<F64<'_>>,
        penalizer: f64,
        max_iter: usize,
        tol: f64,
    ) -> PyResult<Self> {
        let (f, m) = (slice(&frequency, "frequency")?, slice(&monetary_value, "monetary_value")?);
        let w = opt_slice(&weights, "weights")?;
        let params = GammaGammaParams { penalizer, max_iter, tol };
        let inner = interruptible(py, || {
            let valid = params.check()?;
            valid.fit(&SpendData::new(f, m, w)?)
        })?;
        Ok(PyGammaGamma { inner })
    }

    /// The fit from sums over batches of rows (see the core's
    /// `ValidGammaGammaParams::fit_sums`): `totals` and `spread` merged,
    /// `sums(params, hessian)` the batches' `gamma_gamma_sums` added up.
    #[staticmethod]
    #[pyo3(signature = (totals, spread, sums, penalizer=0.0, max_iter=1000, tol=1e-9))]
    fn fit_sums(
        py: Python<'_>,
        totals: (f64, f64, f64, f64),
        spread: (f64, f64, f64),
        sums: &Bound<'_, PyAny>,
        penalizer: f64,
        max_iter: usize,
        tol: f64,
    ) -> PyResult<Self> {
        let (weight, weighted_frequency, weighted_spend, rows) = totals;
        let totals = SpendTotals { weight, weighted_frequency, weighted_spend, rows };
        let spread = [spread.0, spread.1, spread.2];
        let valid = GammaGammaParams { penalizer, max_iter, tol }.check().map_err(param_error)?;
        let inner = fit_with_sums(py, sums, |at| {
            valid.fit_sums(&totals, &spread, |p, h| {
                let values = at(p, h)?;
                <[f64; GAMMA_GAMMA_SUMS]>::try_from(values.as_slice()).map_err(|_| {
                    ParamError::new(
                        "sums",
                        format!("returned {} numbers, expected {GAMMA_GAMMA_SUMS}", values.len()),
                    )
                    .into()
                })
            })
        })?;
        Ok(PyGammaGamma { inner })
    }

    #[staticmethod]
    fn from_params(p: f64, q: f64, v: f64) -> PyResult<Self> {
        let inner = GammaGamma::new(p, q, v).map_err(param_error)?;
        Ok(PyGammaGamma { inner })
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let inner: GammaGamma = serde_json::from_str(text).map_err(json_error)?;
        let [p, q, v] = inner.params();
        GammaGamma::new(p, q, v).map_err(param_error)?;
        Ok(PyGammaGamma { inner })
    }

    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(json_error)
    }

    #[getter]
    fn params(&self) -> (f64, f64, f64) {
        let [p, q, v] = self.inner.params();
        (p, q, v)
    }

    #[getter]
    fn frequency_spend_correlation(&self) -> Option<f64> {
        self.inner.frequency_spend_correlation()
    }

    fn fit_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        fit_info_dict(py, self.inner.fit_info())
    }

    #[pyo3(signature = (frequency, monetary_value, weights=None))]
    fn log_likelihood(
        &self,
        py: Python<'_>,
        frequency: F64<'_>,
        monetary_value: F64<'_>,
        weights: Option<F64<'_>>,
    ) -> PyResult<f64> {
        let (f, m) = (slice(&frequency, "frequency")?, slice(&monetary_value, "monetary_value")?);
        let w = opt_slice(&weights, "weights")?;
        detached(py, || Ok::<_, Error>(self.inner.log_likelihood(&SpendData::new(f, m, w)?)))
    }

    fn expected_average_spend<'py>(
        &self,
        py: Python<'py>,
        frequency: F64<'py>,
        monetary_value: F64<'py>,
    ) -> PyResult<F64Out<'py>> {
        let (f, m) = (slice(&frequency, "frequency")?, slice(&monetary_value, "monetary_value")?);
        let out = detached(py, || self.inner.expected_average_spend(&SpendData::new(f, m, None)?))?;
        Ok(out.into_pyarray(py))
    }
}

/// A Pareto/NBD model (fitted or from known parameters).
#[pyclass(module = "patronage._core", name = "ParetoNbdModel", frozen)]
struct PyParetoNbd {
    inner: ParetoNbd,
}

#[pymethods]
impl PyParetoNbd {
    #[staticmethod]
    #[pyo3(signature = (frequency, recency, t, weights=None, penalizer=0.0, max_iter=1000, tol=1e-9))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        frequency: F64<'_>,
        recency: F64<'_>,
        t: F64<'_>,
        weights: Option<F64<'_>>,
        penalizer: f64,
        max_iter: usize,
        tol: f64,
    ) -> PyResult<Self> {
        let rfm = Rfm::new(&frequency, &recency, &t, &weights)?;
        let params = ParetoNbdParams { penalizer, max_iter, tol };
        let inner = interruptible(py, || {
            let valid = params.check()?;
            valid.fit(&rfm.data()?)
        })?;
        Ok(PyParetoNbd { inner })
    }

    #[staticmethod]
    fn from_params(r: f64, alpha: f64, s: f64, beta: f64) -> PyResult<Self> {
        let inner = ParetoNbd::new(r, alpha, s, beta).map_err(param_error)?;
        Ok(PyParetoNbd { inner })
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let inner: ParetoNbd = serde_json::from_str(text).map_err(json_error)?;
        let [r, alpha, s, beta] = inner.params();
        ParetoNbd::new(r, alpha, s, beta).map_err(param_error)?;
        Ok(PyParetoNbd { inner })
    }

    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(json_error)
    }

    #[getter]
    fn params(&self) -> (f64, f64, f64, f64) {
        let [r, alpha, s, beta] = self.inner.params();
        (r, alpha, s, beta)
    }

    fn fit_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        fit_info_dict(py, self.inner.fit_info())
    }

    #[pyo3(signature = (frequency, recency, t, weights=None))]
    fn log_likelihood(
        &self,
        py: Python<'_>,
        frequency: F64<'_>,
        recency: F64<'_>,
        t: F64<'_>,
        weights: Option<F64<'_>>,
    ) -> PyResult<f64> {
        let rfm = Rfm::new(&frequency, &recency, &t, &weights)?;
        detached(py, || self.inner.log_likelihood(&rfm.data()?))
    }

    fn p_alive<'py>(
        &self,
        py: Python<'py>,
        frequency: F64<'py>,
        recency: F64<'py>,
        t: F64<'py>,
    ) -> PyResult<F64Out<'py>> {
        let rfm = Rfm::new(&frequency, &recency, &t, &None)?;
        let out = interruptible(py, || self.inner.p_alive(&rfm.data()?))?;
        Ok(out.into_pyarray(py))
    }

    fn expected_purchases<'py>(
        &self,
        py: Python<'py>,
        horizon: f64,
        frequency: F64<'py>,
        recency: F64<'py>,
        t: F64<'py>,
    ) -> PyResult<F64Out<'py>> {
        let rfm = Rfm::new(&frequency, &recency, &t, &None)?;
        let out = interruptible(py, || self.inner.expected_purchases(horizon, &rfm.data()?))?;
        Ok(out.into_pyarray(py))
    }

    fn expected_purchases_new_customer<'py>(&self, py: Python<'py>, t: F64<'py>) -> PyResult<F64Out<'py>> {
        let t = slice(&t, "t")?;
        let out = interruptible(py, || self.inner.expected_purchases_new_customer(t))?;
        Ok(out.into_pyarray(py))
    }
}

/// Discounted CLV per customer (see `patronage_core::btyd::customer_lifetime_value`),
/// or with `if_alive` the value if still alive (`patronage_core::btyd::value_if_alive`);
/// `purchases` is a BetaGeoModel or a ParetoNbdModel.
#[pyfunction]
#[pyo3(signature = (purchases, gg, frequency, recency, t, monetary_value, horizon, units_per_month, discount_rate, margin, if_alive=false))]
#[allow(clippy::too_many_arguments)]
fn customer_lifetime_value<'py>(
    py: Python<'py>,
    purchases: &Bound<'py, PyAny>,
    gg: &Bound<'py, PyGammaGamma>,
    frequency: F64<'py>,
    recency: F64<'py>,
    t: F64<'py>,
    monetary_value: F64<'py>,
    horizon: usize,
    units_per_month: f64,
    discount_rate: f64,
    margin: f64,
    if_alive: bool,
) -> PyResult<F64Out<'py>> {
    let rfm = Rfm::new(&frequency, &recency, &t, &None)?;
    let m = slice(&monetary_value, "monetary_value")?;
    let params = ClvParams { horizon, units_per_month, discount_rate, margin };
    let gg = &gg.get().inner;
    let (bg, pnbd) = (purchases.cast::<PyBetaGeo>().ok(), purchases.cast::<PyParetoNbd>().ok());
    let model: Purchases<'_> = match (&bg, &pnbd) {
        (Some(b), _) => (&b.get().inner).into(),
        (None, Some(p)) => (&p.get().inner).into(),
        (None, None) => {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "purchases must be a BetaGeoModel or a ParetoNbdModel",
            ))
        }
    };
    let out = if if_alive {
        interruptible(py, || core_if_alive(model, gg, &rfm.data()?, m, &params))?
    } else {
        interruptible(py, || core_clv(model, gg, &rfm.data()?, m, &params))?
    };
    Ok(out.into_pyarray(py))
}

/// `E_p[(1 - (1+p u)^-k) / p]`, `p ~ Beta(a, b)` (the BG/NBD conditional
/// expectation's closed form), for tests against an independent reference.
#[pyfunction]
fn _btyd_purchases_if_alive(k: f64, a: f64, b: f64, u: f64) -> PyResult<f64> {
    expected_purchases_if_alive(k, a, b, u)
        .ok_or_else(|| PyValueError::new_err("arguments outside k, a, b > 0, u >= 0 (finite)"))
}

/// `ln ∫_{t_x}^{T} (α+τ)^-m (β+τ)^-n dτ` (the Pareto/NBD death-time
/// integral), for tests against an independent reference.
#[pyfunction]
fn _btyd_ln_death_time(alpha: f64, beta: f64, m: f64, n: f64, t_x: f64, t: f64) -> PyResult<f64> {
    ln_death_time_integral(alpha, beta, m, n, t_x, t)
        .ok_or_else(|| PyValueError::new_err("arguments outside alpha, beta, m > 0, n > 1, 0 <= t_x <= T"))
}

/// `(Σ w, Σ w x, Σ w m, rows)` of a batch's repeat buyers.
#[pyfunction]
#[pyo3(signature = (frequency, monetary_value, weights=None))]
fn gamma_gamma_totals(
    py: Python<'_>,
    frequency: F64<'_>,
    monetary_value: F64<'_>,
    weights: Option<F64<'_>>,
) -> PyResult<(f64, f64, f64, f64)> {
    let (f, m) = (slice(&frequency, "frequency")?, slice(&monetary_value, "monetary_value")?);
    let w = opt_slice(&weights, "weights")?;
    let t = detached(py, || Ok::<_, Error>(spend_totals(&SpendData::new(f, m, w)?)))?;
    Ok((t.weight, t.weighted_frequency, t.weighted_spend, t.rows))
}

/// `(Σ w dx dm, Σ w dx², Σ w dm²)` of a batch's repeat buyers about the given means.
#[pyfunction]
#[pyo3(signature = (frequency, monetary_value, weights, mean_frequency, mean_spend))]
fn gamma_gamma_spread(
    py: Python<'_>,
    frequency: F64<'_>,
    monetary_value: F64<'_>,
    weights: Option<F64<'_>>,
    mean_frequency: f64,
    mean_spend: f64,
) -> PyResult<(f64, f64, f64)> {
    let (f, m) = (slice(&frequency, "frequency")?, slice(&monetary_value, "monetary_value")?);
    let w = opt_slice(&weights, "weights")?;
    let s =
        detached(py, || Ok::<_, Error>(spend_spread(&SpendData::new(f, m, w)?, mean_frequency, mean_spend)))?;
    Ok((s[0], s[1], s[2]))
}

/// A batch's Gamma-Gamma log-likelihood sums at `params`: `[ll, grad(3), hess pp pq pv qq qv vv]`.
#[pyfunction]
#[pyo3(signature = (frequency, monetary_value, weights, params, hessian))]
fn gamma_gamma_sums<'py>(
    py: Python<'py>,
    frequency: F64<'py>,
    monetary_value: F64<'py>,
    weights: Option<F64<'py>>,
    params: (f64, f64, f64),
    hessian: bool,
) -> PyResult<F64Out<'py>> {
    let (f, m) = (slice(&frequency, "frequency")?, slice(&monetary_value, "monetary_value")?);
    let w = opt_slice(&weights, "weights")?;
    let p = [params.0, params.1, params.2];
    if let Some((name, v)) = ["p", "q", "v"].into_iter().zip(p).find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
        return Err(param_error(ParamError::new(name, format!("must be a positive number, got {v}"))));
    }
    let out = detached(py, || Ok::<_, Error>(core_gg_sums(&SpendData::new(f, m, w)?, &p, hessian)))?;
    Ok(out.to_vec().into_pyarray(py))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gamma_gamma_totals, m)?)?;
    m.add_function(wrap_pyfunction!(gamma_gamma_spread, m)?)?;
    m.add_function(wrap_pyfunction!(gamma_gamma_sums, m)?)?;
    m.add_function(wrap_pyfunction!(btyd_summary, m)?)?;
    m.add_function(wrap_pyfunction!(customer_lifetime_value, m)?)?;
    m.add_function(wrap_pyfunction!(_btyd_purchases_if_alive, m)?)?;
    m.add_function(wrap_pyfunction!(_btyd_ln_death_time, m)?)?;
    m.add_class::<PyBetaGeo>()?;
    m.add_class::<PyGammaGamma>()?;
    m.add_class::<PyParetoNbd>()?;
    Ok(())
}
