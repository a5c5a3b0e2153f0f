//! Errors. One enum per area, one variant per rule; every message names the
//! offending field or parameter so the Python layer can pass it on unchanged.

use std::fmt;

use crate::calendar::iso_date;

/// The result type of every fallible function in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A column of the user's data, named so that bindings can map it to the
/// user's own column name (`Field::Amount` -> `"amount"` or whatever they passed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The customer identifier column.
    Customer,
    /// The transaction date column.
    Date,
    /// The transaction amount column.
    Amount,
    /// The order (invoice) id column.
    Order,
    /// A feature column, by position.
    Feature(usize),
    /// The label / target column.
    Label,
    /// The per-row sample weights.
    SampleWeight,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Customer => write!(f, "customer"),
            Field::Date => write!(f, "date"),
            Field::Amount => write!(f, "amount"),
            Field::Order => write!(f, "order"),
            Field::Feature(j) => write!(f, "feature {j}"),
            Field::Label => write!(f, "label"),
            Field::SampleWeight => write!(f, "sample_weight"),
        }
    }
}

/// Something wrong with the data itself (a row, a column, or the whole table).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// No rows at all.
    #[error("the transaction log is empty")]
    Empty,
    /// Columns of different lengths.
    #[error("columns have different lengths: {field} has {got} rows, expected {expected}")]
    LengthMismatch {
        /// The column whose length differs.
        field: Field,
        /// Its length.
        got: usize,
        /// The length of the first column.
        expected: usize,
    },
    /// NaN or +/-inf in a numeric column.
    #[error("{field} is NaN or infinite at row {row}")]
    NonFinite {
        /// The column.
        field: Field,
        /// Row position (0-based).
        row: usize,
    },
    /// A negative amount while the returns policy is `error`.
    #[error("{field} is negative at row {row} (a return) and returns='error'")]
    NegativeAmount {
        /// The column.
        field: Field,
        /// Row position (0-based).
        row: usize,
    },
    /// A customer code outside `0..n_customers` (a binding bug or a bad caller).
    #[error("{field} code {code} at row {row} is outside 0..{n_customers}")]
    CodeOutOfRange {
        /// The column.
        field: Field,
        /// Row position (0-based).
        row: usize,
        /// The code found.
        code: i64,
        /// The number of customers declared.
        n_customers: usize,
    },
    /// Every row was removed (by the returns policy or a date filter).
    #[error("no transactions are left after {reason}")]
    NothingLeft {
        /// What removed them.
        reason: String,
    },
    /// Rows are left but none is a purchase (every amount is negative): no
    /// customer has a purchase occasion to profile.
    #[error("{field}: the log has no purchase (every amount is negative: returns only)")]
    NoPurchase {
        /// The amount column.
        field: Field,
    },
    /// A reference date earlier than the data it must follow.
    #[error("{what} ({}) is earlier than the last transaction ({})", iso_date(*day), iso_date(*last))]
    DateBeforeLastTransaction {
        /// Which parameter (`as_of`, `observation_end`, ...).
        what: &'static str,
        /// Its value in days since 1970-01-01.
        day: i64,
        /// The last transaction day.
        last: i64,
    },
    /// Any other rule about a column, with the offending row where there is one.
    #[error("{field}: {reason}{}", row.map(|r| format!(" at row {r}")).unwrap_or_default())]
    Invalid {
        /// The column.
        field: Field,
        /// The row, if one row is to blame.
        row: Option<usize>,
        /// What is wrong.
        reason: String,
    },
}

impl DataError {
    /// The column the error is about, if any.
    pub fn field(&self) -> Option<Field> {
        match self {
            DataError::Empty | DataError::NothingLeft { .. } => None,
            DataError::DateBeforeLastTransaction { .. } => Some(Field::Date),
            DataError::LengthMismatch { field, .. }
            | DataError::NonFinite { field, .. }
            | DataError::NegativeAmount { field, .. }
            | DataError::CodeOutOfRange { field, .. }
            | DataError::NoPurchase { field }
            | DataError::Invalid { field, .. } => Some(*field),
        }
    }

    /// The 0-based row position the error is about, if one row is to blame.
    pub fn row(&self) -> Option<usize> {
        match self {
            DataError::NonFinite { row, .. }
            | DataError::NegativeAmount { row, .. }
            | DataError::CodeOutOfRange { row, .. } => Some(*row),
            DataError::Invalid { row, .. } => *row,
            _ => None,
        }
    }
}

/// An invalid parameter (checked once, before any work is done).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid parameter `{name}`: {reason}")]
pub struct ParamError {
    /// The parameter's name as the user spells it (`n_clusters`, `bins`, ...).
    pub name: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl ParamError {
    /// A parameter error for `name`.
    pub fn new(name: &'static str, reason: impl Into<String>) -> Self {
        ParamError { name, reason: reason.into() }
    }
}

/// Every error this crate returns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Bad data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A bad parameter.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// Stopped from outside before it finished (see [`crate::interrupt`]).
    #[error("interrupted")]
    Interrupted,
}

/// linfa's traits (`Fit`, `FitWith`) require `From<linfa::Error>`; linfa
/// errors can only come from parameters or sample counts.
impl From<linfa::Error> for Error {
    fn from(e: linfa::Error) -> Self {
        Error::Param(ParamError::new("linfa", e.to_string()))
    }
}
