//! The one place where core errors become Python exceptions.
//!
//! The exception classes are defined (and documented) in
//! `python/patronage/exceptions.py`; every class subclasses `ValueError` or
//! `TypeError` so pandas and scikit-learn users catch them as usual. Data
//! errors carry the offending field and row position so that the Python layer
//! can name the user's column and the row's index label.

use patronage_core::{DataError, Error, ParamError};
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
