//! The one place where core errors become Python exceptions.
//!
//! The exception classes are defined (and documented) in
//! `python/patronage/exceptions.py`; every class subclasses `ValueError` or
//! `TypeError` so pandas and scikit-learn users catch them as usual. Data
//! errors carry the offending field and row position so that the Python layer
//! can name the user's column and the row's index label.

use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::time::Duration;

use patronage_core::interrupt::{with_stop, Stop};
use patronage_core::{DataError, Error, ParamError};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;

/// The Python exception classes, imported from `patronage.exceptions`.
mod py_exc {
    pyo3::import_exception!(patronage.exceptions, DataError);
    pyo3::import_exception!(patronage.exceptions, ParameterError);
}

/// Converts a core error into the matching Python exception.
pub fn to_py(err: Error) -> PyErr {
    match err {
        Error::Data(e) => data_error(e),
        Error::Param(e) => param_error(e),
        Error::Interrupted => PyKeyboardInterrupt::new_err("interrupted"),
    }
}

/// A `patronage.exceptions.DataError(message, field, row)`.
pub fn data_error(e: DataError) -> PyErr {
    let field = e.field().map(|f| f.to_string());
    py_exc::DataError::new_err((e.to_string(), field, e.row()))
}

/// A `patronage.exceptions.ParameterError(message, parameter)`.
pub fn param_error(e: ParamError) -> PyErr {
    py_exc::ParameterError::new_err((e.to_string(), e.name))
}

/// Runs a core computation with the GIL released and maps its error.
pub fn detached<T, E>(py: Python<'_>, f: impl FnOnce() -> Result<T, E> + Send) -> PyResult<T>
where
    T: Send,
    E: Into<Error> + Send,
{
    py.detach(f).map_err(|e| to_py(e.into()))
}

/// How often a waiting [`interruptible`] call runs Python's signal handlers.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// [`detached`] for computations that can run long: Ctrl-C stops them.
///
/// Python runs its signal handlers (which raise `KeyboardInterrupt`) only on
/// the main thread, so the computation runs on a rayon worker while this
/// thread waits with the GIL released and calls `check_signals` every
/// [`SIGNAL_POLL`]. On `KeyboardInterrupt` it raises the computation's
/// [`Stop`], waits for it to reach its next check (the core checks once per
/// iteration or chunk), and re-raises the `KeyboardInterrupt`.
pub fn interruptible<T, E>(py: Python<'_>, f: impl FnOnce() -> Result<T, E> + Send) -> PyResult<T>
where
    T: Send,
    E: Into<Error> + Send,
{
    let stop = Stop::new();
    let (done, mut result) = sync_channel(1);
    rayon::in_place_scope(|scope| {
        let job_stop = stop.clone();
        scope.spawn(move |_| {
            // the receiver is gone only if this thread already unwound
            let _ = done.send(with_stop(&job_stop, f));
        });
        loop {
            // a Receiver is Send but not Sync: it goes into the detached closure and comes back
            let waited;
            (result, waited) = py.detach(move || {
                // called on a pool's worker (inside `_with_threads`), the job sits in this
                // thread's own queue and a one-thread pool has nobody else to run it: run it here
                while let Some(rayon::Yield::Executed) = rayon::yield_local() {}
                let waited = result.recv_timeout(SIGNAL_POLL);
                (result, waited)
            });
            match waited {
                Ok(out) => return out.map_err(|e| to_py(e.into())),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(interrupt) = py.check_signals() {
                        stop.raise();
                        // the computation's result (most likely `Interrupted`) is dropped
                        let _ = py.detach(move || result.recv());
                        return Err(interrupt);
                    }
                }
                // the job panicked: the scope re-raises its panic when it ends
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err("the computation ended without a result"))
                }
            }
        }
    })
}

/// The sums a fit from sums evaluates per iteration, computed by Python.
pub type SumsAt<'a> = dyn Fn(&[f64], bool) -> Result<Vec<f64>, Error> + 'a;

/// Runs a core fit from sums with the GIL released; its per-iteration sums
/// come from the Python callable `sums(params, hessian) -> float64 array`
/// (an engine job: Spark, Dask), called with the GIL taken back. An exception
/// the callable raises ends the fit and is raised as it is.
pub fn fit_with_sums<T: Send>(
    py: Python<'_>,
    sums: &Bound<'_, PyAny>,
    fit: impl FnOnce(&SumsAt<'_>) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let callable: Py<PyAny> = sums.clone().unbind();
    let raised = std::sync::Mutex::new(None::<PyErr>);
    let call = |params: &[f64], hessian: bool| -> Result<Vec<f64>, Error> {
        Python::attach(|py| -> PyResult<Vec<f64>> {
            let out = callable.bind(py).call1((numpy::PyArray1::from_slice(py, params), hessian))?;
            let values: numpy::PyReadonlyArray1<'_, f64> = out.extract().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err("sums must return a 1-D float64 numpy array")
            })?;
            Ok(values.as_array().to_vec())
        })
        .map_err(|e| {
            *raised.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
            Error::Param(ParamError::new("sums", "raised an exception"))
        })
    };
    let result = py.detach(|| fit(&call));
    if let Some(e) = raised.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        return Err(e);
    }
    result.map_err(to_py)
}
