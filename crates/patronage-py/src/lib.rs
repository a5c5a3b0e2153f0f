//! `patronage._core`: the compiled half of the `patronage` Python package.
//!
//! Thin glue only. Each function here extracts its arguments, runs one
//! `patronage-core` call with the GIL released ([`error::detached`]) and
//! converts the result (numpy arrays in and out, no copies where the core can
//! borrow). Every core error becomes a `patronage.exceptions` class in
//! [`error`], the one place where that mapping lives.

use pyo3::prelude::*;

mod arrow;
mod arrow_ffi;
mod btyd;
mod campaign;
mod churn;
mod cluster;
mod datasets;
mod error;
mod loyalty;
mod rfm;
mod transactions;
mod uplift;

/// `_with_threads(n, fn)`: calls `fn()` with every parallel computation it
/// starts running on a private pool of `n` threads; the tests use it to show
/// that results do not depend on the thread count.
#[pyfunction]
fn _with_threads(py: Python<'_>, n_threads: usize, f: Py<PyAny>) -> PyResult<Py<PyAny>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n_threads.max(1))
        .build()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    // the caller releases the GIL; the pool thread takes it to run `f`
    py.detach(|| pool.install(|| Python::attach(|py| f.call0(py))))
}

/// The native module, imported as `patronage._core`.
#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_with_threads, m)?)?;
    transactions::register(m)?;
    rfm::register(m)?;
    btyd::register(m)?;
    churn::register(m)?;
    datasets::register(m)?;
    loyalty::register(m)?;
    cluster::register(m)?;
    campaign::register(m)?;
    uplift::register(m)?;
    arrow::register(m)?;
    Ok(())
}
