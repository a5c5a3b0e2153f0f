//! `patronage._core`: the compiled half of the `patronage` Python package.
//!
//! Thin glue only. Each function here extracts its arguments, runs one
//! `patronage-core` call with the GIL released ([`error::detached`]) and
//! converts the result (numpy arrays in and out, no copies where the core can
//! borrow). Every core error becomes a `patronage.exceptions` class in
//! [`error`], the one place where that mapping lives.

use pyo3::prelude::*;

mod btyd;
mod churn;
mod cluster;
mod datasets;
mod error;
mod loyalty;
mod rfm;
mod transactions;

/// The native module, imported as `patronage._core`.
#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    transactions::register(m)?;
    rfm::register(m)?;
    btyd::register(m)?;
    churn::register(m)?;
    datasets::register(m)?;
    loyalty::register(m)?;
    cluster::register(m)?;
    Ok(())
}
