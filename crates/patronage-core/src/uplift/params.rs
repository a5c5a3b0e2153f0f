//! The rules on uplift-metric inputs, one [`UpliftError`] variant per rule,
//! and the checked parameters of [`super::uplift_at_k`].

use crate::error::{Error, ParamError};

/// Everything that can be wrong with the inputs of an uplift metric. Each
/// message names the parameter (`y_true`, `uplift`, `treatment`, `k`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpliftError {
    /// No rows.
    #[error("y_true is empty: an uplift metric needs customers")]
    Empty,
    /// `uplift` or `treatment` has another length than `y_true`.
    #[error("{name} has {got} rows, y_true has {expected}")]
    LengthMismatch {
        /// The parameter whose length differs.
        name: &'static str,
        /// Its length.
        got: usize,
        /// The length of `y_true`.
        expected: usize,
    },
    /// A value other than 0 or 1 in `y_true` or `treatment`.
    #[error("{name} must be 0 or 1, got {value} at row {row}")]
    NotBinary {
        /// `y_true` or `treatment`.
        name: &'static str,
        /// Row position (0-based).
        row: usize,
        /// The value found.
        value: f64,
    },
    /// `y_true` or `treatment` holds one value only (scikit-uplift's rule:
    /// the normalisation by the perfect curve needs both).
    #[error("{name} holds only {value}: both 0 and 1 must occur")]
    OneValue {
        /// `y_true` or `treatment`.
        name: &'static str,
        /// The one value present.
        value: f64,
    },
    /// NaN or +/-inf in the predicted uplift.
    #[error("uplift is NaN or infinite at row {row}")]
    NonFiniteScore {
        /// Row position (0-based).
        row: usize,
    },
    /// A fraction `k` outside (0, 1).
    #[error("k must be a fraction in (0, 1) or a count, got {k}")]
    FractionOutOfRange {
        /// The value given.
        k: f64,
    },
    /// A count `k` outside 1..n (or, by group, larger than a group).
    #[error("k = {k} customers must be at least 1 and below {limit} ({what})")]
    CountOutOfRange {
        /// The value given.
        k: usize,
        /// The exclusive upper bound.
        limit: usize,
        /// Which size bounds it.
        what: &'static str,
    },
    /// The top k holds no customer of one group, so its response rate is undefined.
    #[error("the top {n_top} customers ranked by uplift include no {group} customer: choose a larger k")]
    EmptyGroupAtK {
        /// "treated" or "control".
        group: &'static str,
        /// How many customers the top k held.
        n_top: usize,
    },
    /// The perfect curve's area equals the random line's: the coefficient is 0/0.
    #[error("the perfect {curve} curve has no area above the random line: the coefficient is undefined")]
    DegeneratePerfectCurve {
        /// "Qini" or "uplift".
        curve: &'static str,
    },
    /// With `negative_effect = false`, a negative overall effect makes
    /// scikit-uplift's perfect curve run backwards.
    #[error("the overall effect is negative ({effect} responders): the perfect Qini curve without negative effects is undefined; use negative_effect=True")]
    NegativeOverallEffect {
        /// The incremental responders of treating everybody.
        effect: f64,
    },
}

impl UpliftError {
    /// The parameter the error is about.
    pub fn parameter(&self) -> &'static str {
        match self {
            UpliftError::Empty => "y_true",
            UpliftError::LengthMismatch { name, .. }
            | UpliftError::NotBinary { name, .. }
            | UpliftError::OneValue { name, .. } => name,
            UpliftError::NonFiniteScore { .. } => "uplift",
            UpliftError::FractionOutOfRange { .. }
            | UpliftError::CountOutOfRange { .. }
            | UpliftError::EmptyGroupAtK { .. } => "k",
            UpliftError::DegeneratePerfectCurve { .. } => "y_true",
            UpliftError::NegativeOverallEffect { .. } => "negative_effect",
        }
    }
}

impl From<UpliftError> for Error {
    fn from(e: UpliftError) -> Self {
        Error::Param(ParamError::new(e.parameter(), e.to_string()))
    }
}

/// How many top-ranked customers [`super::uplift_at_k`] takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TopK {
    /// A share of the customers (of each group with [`UpliftStrategy::ByGroup`]), in (0, 1).
    Fraction(f64),
    /// A number of customers (in each group with [`UpliftStrategy::ByGroup`]).
    Count(usize),
}

/// Where the top k is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpliftStrategy {
    /// The first k customers of the whole ranking; then the response rates
    /// of the treated and the control customers among them.
    Overall,
    /// The first k treated and the first k control customers, each group
    /// ranked on its own.
    ByGroup,
}

/// Parameters of [`super::uplift_at_k`]. Defaults: `k = TopK::Fraction(0.3)`,
/// `strategy = Overall` (scikit-uplift's example value and strategy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpliftAtKParams {
    /// How many customers to take.
    pub k: TopK,
    /// Where to take them.
    pub strategy: UpliftStrategy,
}

impl Default for UpliftAtKParams {
    fn default() -> Self {
        UpliftAtKParams { k: TopK::Fraction(0.3), strategy: UpliftStrategy::Overall }
    }
}

/// [`UpliftAtKParams`] whose `k` passed the rules that do not need the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidUpliftAtK(pub(crate) UpliftAtKParams);

impl UpliftAtKParams {
    /// Checks `k` (a fraction strictly between 0 and 1, or a positive count).
    pub fn check(self) -> Result<ValidUpliftAtK, UpliftError> {
        match self.k {
            TopK::Fraction(k) if !(k > 0.0 && k < 1.0) => Err(UpliftError::FractionOutOfRange { k }),
            TopK::Count(0) => Err(UpliftError::CountOutOfRange { k: 0, limit: usize::MAX, what: "a count" }),
            _ => Ok(ValidUpliftAtK(self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_outside_the_open_unit_interval_is_rejected() {
        for k in [0.0, 1.0, -0.5, f64::NAN, f64::INFINITY] {
            let p = UpliftAtKParams { k: TopK::Fraction(k), ..Default::default() };
            assert!(matches!(p.check(), Err(UpliftError::FractionOutOfRange { .. })));
        }
    }

    #[test]
    fn zero_count_is_rejected() {
        let p = UpliftAtKParams { k: TopK::Count(0), ..Default::default() };
        assert!(matches!(p.check(), Err(UpliftError::CountOutOfRange { k: 0, .. })));
    }

    #[test]
    fn errors_name_their_parameter() {
        let e: Error = UpliftError::NonFiniteScore { row: 3 }.into();
        assert_eq!(e.to_string(), "invalid parameter `uplift`: uplift is NaN or infinite at row 3");
        assert_eq!(UpliftError::FractionOutOfRange { k: 2.0 }.parameter(), "k");
    }
}
