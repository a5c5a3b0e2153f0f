//! The columnar transaction log every capability starts from.

use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Field, ParamError};

/// What to do with negative amounts (returns, refunds).
///
/// * `Net` (default): a return is a transaction like any other and its negative
///   amount is netted into the customer's spend (and, in BTYD summaries, into
///   the spend of the period it falls in). This is the convention of the
///   customer-base-analysis literature and of `lifetimes`.
/// * `Drop`: rows with a negative amount are ignored entirely.
/// * `Error`: a negative amount is an error naming its row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReturnsPolicy {
    /// Net returns into spend.
    #[default]
    Net,
    /// Ignore rows with negative amounts.
    Drop,
    /// Reject negative amounts.
    Error,
}

impl FromStr for ReturnsPolicy {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "net" => Ok(ReturnsPolicy::Net),
            "drop" => Ok(ReturnsPolicy::Drop),
            "error" => Ok(ReturnsPolicy::Error),
            other => Err(ParamError::new(
                "returns",
                format!("expected 'net', 'drop' or 'error', got {other:?}"),
            )),
        }
    }
}

/// A validated transaction log: one row per transaction, as three columns.
///
/// Customers are dense codes `0..n_customers` (the binding factorizes the
/// user's ids); days are whole days since 1970-01-01 (negative before).
#[derive(Debug, Clone, Copy)]
pub struct Transactions<'a> {
    customer: &'a [i64],
    day: &'a [i64],
    amount: &'a [f64],
    n_customers: usize,
    returns: ReturnsPolicy,
    first_day: i64,
    last_day: i64,
}

impl<'a> Transactions<'a> {
    /// Validates the columns once; every later computation can trust them.
    ///
    /// Errors: empty log, columns of unequal length, a customer code out of
    /// range, a NaN/inf amount, a negative amount under `ReturnsPolicy::Error`,
    /// and no rows left under `ReturnsPolicy::Drop`. Each names its row.
    pub fn new(
        customer: &'a [i64],
        day: &'a [i64],
        amount: &'a [f64],
        n_customers: usize,
        returns: ReturnsPolicy,
    ) -> Result<Self, DataError> {
        let n = customer.len();
        if n == 0 {
            return Err(DataError::Empty);
        }
        for (field, len) in [(Field::Date, day.len()), (Field::Amount, amount.len())] {
            if len != n {
                return Err(DataError::LengthMismatch {
                    field,
                    got: len,
                    expected: n,
                });
            }
        }
        let n_codes = n_customers as i64;
        if let Some(row) = customer
            .par_iter()
            .position_first(|&c| c < 0 || c >= n_codes)
        {
            return Err(DataError::CodeOutOfRange {
                field: Field::Customer,
                row,
                code: customer[row],
                n_customers,
            });
        }
        if let Some(row) = amount.par_iter().position_first(|a| !a.is_finite()) {
            return Err(DataError::NonFinite {
                field: Field::Amount,
                row,
            });
        }
        if returns == ReturnsPolicy::Error {
            if let Some(row) = amount.par_iter().position_first(|&a| a < 0.0) {
                return Err(DataError::NegativeAmount {
                    field: Field::Amount,
                    row,
                });
            }
        }
        let keep = |a: f64| returns != ReturnsPolicy::Drop || a >= 0.0;
        let (first_day, last_day) = day
            .par_iter()
            .zip(amount.par_iter())
            .filter(|(_, &a)| keep(a))
            .map(|(&d, _)| (d, d))
            .reduce(|| (i64::MAX, i64::MIN), |x, y| (x.0.min(y.0), x.1.max(y.1)));
        if first_day > last_day {
            return Err(DataError::NothingLeft {
                reason: "dropping returns (returns='drop')".into(),
            });
        }
        Ok(Transactions {
            customer,
            day,
            amount,
            n_customers,
            returns,
            first_day,
            last_day,
        })
    }

    /// Number of rows (before the returns policy).
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    /// Never true: an empty log is rejected by [`Transactions::new`].
    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    /// Number of distinct customer codes the log was declared with.
    pub fn n_customers(&self) -> usize {
        self.n_customers
    }

    /// The returns policy in force.
    pub fn returns(&self) -> ReturnsPolicy {
        self.returns
    }

    /// First day of a kept transaction.
    pub fn first_day(&self) -> i64 {
        self.first_day
    }

    /// Last day of a kept transaction.
    pub fn last_day(&self) -> i64 {
        self.last_day
    }

    /// Customer code column.
    pub fn customer(&self) -> &'a [i64] {
        self.customer
    }

    /// Day column.
    pub fn day(&self) -> &'a [i64] {
        self.day
    }

    /// Amount column.
    pub fn amount(&self) -> &'a [f64] {
        self.amount
    }

    /// Whether row `i` takes part in computations under the returns policy.
    #[inline]
    pub fn is_kept(&self, i: usize) -> bool {
        self.returns != ReturnsPolicy::Drop || self.amount[i] >= 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_each_rule() {
        let c = [0, 1];
        let d = [1, 2];
        assert!(matches!(
            Transactions::new(&[], &[], &[], 0, ReturnsPolicy::Net),
            Err(DataError::Empty)
        ));
        assert!(matches!(
            Transactions::new(&c, &[1], &[1.0, 2.0], 2, ReturnsPolicy::Net),
            Err(DataError::LengthMismatch {
                field: Field::Date,
                got: 1,
                expected: 2
            })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[1.0, 2.0], 1, ReturnsPolicy::Net),
            Err(DataError::CodeOutOfRange { row: 1, .. })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[1.0, f64::NAN], 2, ReturnsPolicy::Net),
            Err(DataError::NonFinite {
                field: Field::Amount,
                row: 1
            })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[-1.0, 2.0], 2, ReturnsPolicy::Error),
            Err(DataError::NegativeAmount { row: 0, .. })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[-1.0, -2.0], 2, ReturnsPolicy::Drop),
            Err(DataError::NothingLeft { .. })
        ));
    }

    #[test]
    fn span_follows_the_policy() {
        let tx = Transactions::new(
            &[0, 0, 1],
            &[5, 9, 7],
            &[1.0, -1.0, 2.0],
            2,
            ReturnsPolicy::Drop,
        )
        .unwrap();
        assert_eq!((tx.first_day(), tx.last_day()), (5, 7));
        let tx = Transactions::new(
            &[0, 0, 1],
            &[5, 9, 7],
            &[1.0, -1.0, 2.0],
            2,
            ReturnsPolicy::Net,
        )
        .unwrap();
        assert_eq!((tx.first_day(), tx.last_day()), (5, 9));
    }

    #[test]
    fn parses_policy() {
        assert_eq!(
            "drop".parse::<ReturnsPolicy>().unwrap(),
            ReturnsPolicy::Drop
        );
        assert_eq!("nope".parse::<ReturnsPolicy>().unwrap_err().name, "returns");
    }
}
