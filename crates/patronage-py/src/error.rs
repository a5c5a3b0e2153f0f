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
