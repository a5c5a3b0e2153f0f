//! The columnar transaction log every capability starts from.
//!
//! # Purchases, returns and orders
//!
//! Every output (RFM, BTYD summaries, churn features, lifecycle, cohorts,
//! retention) is computed from the same purchase occasions, with one rule for
//! returns:
//!
//! * A row with an amount `>= 0` is a **purchase line** (a free item, amount 0,
//!   is still bought); a row with a negative amount is a **return line**.
//! * An **order** is, by default, a customer-day with at least one purchase
//!   line. With an order column ([`Transactions::with_orders`]) it is an order
//!   id (per customer) with at least one purchase line, placed on the day of
//!   its earliest purchase line (its later lines belong to that day). A
//!   **purchase day** is a day with at least one order; a period (BTYD,
//!   retention, cohorts) with a purchase day counts once.
//! * A return is never an order. Under [`ReturnsPolicy::Net`] each return line
//!   is matched to one purchase day of its customer and its amount is netted
//!   into that day's spend: with an order column, to its own order's day when
//!   that order has a purchase line on or before it (a partial cancellation
//!   recorded on the invoice); otherwise to the customer's most recent
//!   purchase day on or before it. A return dated before the customer's first
//!   purchase (a refund of something bought before the log starts) matches
//!   nothing and is ignored, so a customer with only returns has no purchase
//!   and appears in no output.
//! * Net amounts within [`crate::groups::NET_TOLERANCE`] of the amounts
//!   involved are exactly 0 (decimal amounts that cancel).
//!
//! [`crate::groups::visits`] applies these rules to one customer's history.

use std::ops::Range;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Field, ParamError};

/// What to do with negative amounts (returns, refunds).
///
/// * `Net` (default): a return reduces spend but is never a purchase
///   occasion: its negative amount is netted into the spend of the purchase
///   day it is matched to (see the module documentation).
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
            other => {
                Err(ParamError::new("returns", format!("expected 'net', 'drop' or 'error', got {other:?}")))
            }
        }
    }
}

/// How the raw customer and date columns encode codes and days, so that
/// bindings can pass the user's columns without rewriting them.
///
/// The customer code of a row is `customer - customer_offset` (dense integer
/// ids need no factorization: pass the smallest id); its day number is
/// `date.div_euclid(day_divisor)` (pass nanoseconds since the epoch with a
/// divisor of 86 400 000 000 000). `i64::MIN` in the date column is a missing
/// date (numpy's NaT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Subtracted from every customer value to give its code.
    pub customer_offset: i64,
    /// Date values per day (1 when the dates already are day numbers).
    pub day_divisor: i64,
}

impl Default for Encoding {
    fn default() -> Self {
        Encoding { customer_offset: 0, day_divisor: 1 }
    }
}

/// Nanoseconds in a day: the divisor for numpy `datetime64[ns]` values.
pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// Largest sum of the absolute amounts of a log. Every total a computation
/// forms (per customer, period, cohort or segment, and their sums) is then
/// finite, with room to spare for rounding; single amounts of 1e308 (a
/// customer's spend overflowed to inf) are far beyond any currency.
pub const MAX_ABS_TOTAL: f64 = 1e300;

/// A validated transaction log: one row per transaction, as three columns
/// (four with orders), each in one or more contiguous pieces.
///
/// Customers are codes `0..n_customers` and dates are day numbers (days since
/// 1970-01-01), after the [`Encoding`] is applied. A column may arrive in
/// pieces (the chunks of an Arrow column, with boundaries that need not agree
/// between columns); the log is read in place as [`Run`]s, stretches of rows
/// where every column is one slice, so chunked input is never gathered and a
/// single slice per column (numpy, pandas) is the one-run case of the same code.
#[derive(Debug, Clone)]
pub struct Transactions<'a> {
    runs: Vec<Run<'a>>,
    len: usize,
    has_orders: bool,
    n_customers: usize,
    returns: ReturnsPolicy,
    encoding: Encoding,
    inv_divisor: f64,
    first_day: i64,
    last_day: i64,
    first_purchase_day: i64,
}

/// Rows `start..start + len()` of a log, where every column is one slice.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The first row's position in the log.
    pub start: usize,
    /// Raw customer values (see [`Encoding`]).
    pub customer: &'a [i64],
    /// Raw date values (see [`Encoding`]).
    pub date: &'a [i64],
    /// Amounts.
    pub amount: &'a [f64],
    /// Order ids (empty without an order column).
    pub order: &'a [i64],
}

impl<'a> Run<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    /// Whether the run has no rows.
    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    /// Rows `rows` of the run (positions within it).
    fn slice(&self, rows: Range<usize>) -> Run<'a> {
        Run {
            start: self.start + rows.start,
            customer: &self.customer[rows.clone()],
            date: &self.date[rows.clone()],
            amount: &self.amount[rows.clone()],
            order: if self.order.is_empty() { &[] } else { &self.order[rows] },
        }
    }
}

/// Total length of a column's pieces.
fn total<T>(pieces: &[&[T]]) -> usize {
    pieces.iter().map(|p| p.len()).sum()
}

/// Where each piece of a column ends (row positions, empty pieces included).
fn ends<'p, T>(pieces: &'p [&[T]]) -> impl Iterator<Item = usize> + 'p {
    pieces.iter().scan(0, |end, p| {
        *end += p.len();
        Some(*end)
    })
}

/// A column's pieces cut at `bounds` (ascending row positions from 0 to its
/// length that include every end of its pieces): one slice per stretch.
fn cut<'a, T>(pieces: &[&'a [T]], bounds: &[usize]) -> Vec<&'a [T]> {
    let mut out = Vec::with_capacity(bounds.len().saturating_sub(1));
    let (mut k, mut piece_start) = (0, 0);
    for w in bounds.windows(2) {
        while piece_start + pieces[k].len() <= w[0] && k + 1 < pieces.len() {
            piece_start += pieces[k].len();
            k += 1;
        }
        out.push(&pieces[k][w[0] - piece_start..w[1] - piece_start]);
    }
    out
}

impl<'a> Transactions<'a> {
    /// Validates the columns once; every later computation can trust them.
    ///
    /// Errors: empty log, columns of unequal length, a customer code out of
    /// range, a NaN/inf amount, a negative amount under `ReturnsPolicy::Error`,
    /// no rows left under `ReturnsPolicy::Drop`, and no purchase at all (every
    /// amount negative), each naming its row; and absolute amounts summing
    /// beyond [`MAX_ABS_TOTAL`].
    pub fn new(
        customer: &'a [i64],
        day: &'a [i64],
        amount: &'a [f64],
        n_customers: usize,
        returns: ReturnsPolicy,
    ) -> Result<Self, DataError> {
        Self::with_encoding(customer, day, amount, n_customers, returns, Encoding::default())
    }

    /// [`Transactions::new`] for columns in another [`Encoding`]; also
    /// rejects missing dates (`i64::MIN`).
    pub fn with_encoding(
        customer: &'a [i64],
        date: &'a [i64],
        amount: &'a [f64],
        n_customers: usize,
        returns: ReturnsPolicy,
        encoding: Encoding,
    ) -> Result<Self, DataError> {
        Self::from_pieces(&[customer], &[date], &[amount], n_customers, returns, encoding)
    }

    /// [`Transactions::with_encoding`] for columns in pieces (e.g. Arrow
    /// chunks), read in place: row `i` of the log is row `i` of each column's
    /// pieces laid end to end, whatever the pieces' boundaries.
    pub fn from_pieces(
        customer: &[&'a [i64]],
        date: &[&'a [i64]],
        amount: &[&'a [f64]],
        n_customers: usize,
        returns: ReturnsPolicy,
        encoding: Encoding,
    ) -> Result<Self, DataError> {
        if encoding.day_divisor < 1 {
            return Err(DataError::Invalid {
                field: Field::Date,
                row: None,
                reason: format!("day_divisor must be at least 1, got {}", encoding.day_divisor),
            });
        }
        let n = total(customer);
        if n == 0 {
            return Err(DataError::Empty);
        }
        for (field, len) in [(Field::Date, total(date)), (Field::Amount, total(amount))] {
            if len != n {
                return Err(DataError::LengthMismatch { field, got: len, expected: n });
            }
        }
        let mut bounds: Vec<usize> =
            std::iter::once(0).chain(ends(customer)).chain(ends(date)).chain(ends(amount)).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let runs = cut(customer, &bounds)
            .into_iter()
            .zip(cut(date, &bounds))
            .zip(cut(amount, &bounds))
            .zip(bounds.iter())
            .filter(|(((c, _), _), _)| !c.is_empty())
            .map(|(((customer, date), amount), &start)| Run { start, customer, date, amount, order: &[] })
            .collect();
        let mut tx = Transactions {
            runs,
            len: n,
            has_orders: false,
            n_customers,
            returns,
            encoding,
            inv_divisor: 1.0 / encoding.day_divisor as f64,
            first_day: 0,
            last_day: 0,
            first_purchase_day: 0,
        };
        let scan = validate(&tx);
        if let Some(err) = scan.error {
            return Err(err);
        }
        if scan.abs_total > MAX_ABS_TOTAL {
            return Err(DataError::Invalid {
                field: Field::Amount,
                row: None,
                reason: format!(
                    "the absolute amounts sum to {:e}, beyond {MAX_ABS_TOTAL:e}: totals per customer or \
                     period would overflow; rescale the amounts (e.g. to thousands)",
                    scan.abs_total
                ),
            });
        }
        let (first_day, last_day) =
            (scan.first_raw.div_euclid(encoding.day_divisor), scan.last_raw.div_euclid(encoding.day_divisor));
        if first_day > last_day {
            return Err(DataError::NothingLeft { reason: "dropping returns (returns='drop')".into() });
        }
        if scan.first_purchase_raw == i64::MAX {
            return Err(DataError::NoPurchase { field: Field::Amount });
        }
        // Day numbers are kept as i32 in per-customer state (i32::MIN is reserved):
        // +/- 5.8 million years.
        if first_day <= i32::MIN as i64 || last_day > i32::MAX as i64 {
            return Err(DataError::Invalid {
                field: Field::Date,
                row: None,
                reason: "dates must lie within 5.8 million years of 1970".into(),
            });
        }
        tx.first_day = first_day;
        tx.last_day = last_day;
        tx.first_purchase_day = scan.first_purchase_raw.div_euclid(encoding.day_divisor);
        Ok(tx)
    }

    /// The log with an order (invoice) id per row: orders are then counted by
    /// id (per customer) instead of by purchase day, and a return line on an
    /// order with purchase lines is matched to that order (see the module
    /// documentation). Any `i64` is an id; the same id under two customers is
    /// two orders.
    pub fn with_orders(self, order: &'a [i64]) -> Result<Self, DataError> {
        self.with_order_pieces(&[order])
    }

    /// [`Transactions::with_orders`] for an order column in pieces (any boundaries).
    pub fn with_order_pieces(self, order: &[&'a [i64]]) -> Result<Self, DataError> {
        let got = total(order);
        if got != self.len {
            return Err(DataError::LengthMismatch { field: Field::Order, got, expected: self.len });
        }
        // the runs' boundaries plus the order column's own
        let mut bounds: Vec<usize> = std::iter::once(0)
            .chain(self.runs.iter().map(|r| r.start + r.len()))
            .chain(ends(order))
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        let orders = cut(order, &bounds);
        let runs = bounds
            .windows(2)
            .zip(orders)
            .filter(|(w, _)| w[1] > w[0])
            .map(|(w, order)| {
                let run = self.runs[self.runs.partition_point(|r| r.start + r.len() <= w[0])];
                Run { order, ..run.slice(w[0] - run.start..w[1] - run.start) }
            })
            .collect();
        Ok(Transactions { runs, has_orders: true, ..self })
    }

    /// The rows `rows` of the log as runs (each column one slice), in row order.
    pub fn runs(&self, rows: Range<usize>) -> impl Iterator<Item = Run<'a>> + '_ {
        let first = self.runs.partition_point(|r| r.start + r.len() <= rows.start);
        self.runs[first..].iter().take_while(move |r| r.start < rows.end).map(move |r| {
            let lo = rows.start.max(r.start) - r.start;
            let hi = rows.end.min(r.start + r.len()) - r.start;
            r.slice(lo..hi)
        })
    }

    /// Number of rows (before the returns policy).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: an empty log is rejected by [`Transactions::new`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
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

    /// First day of a purchase line (the first day any customer is acquired).
    pub fn first_purchase_day(&self) -> i64 {
        self.first_purchase_day
    }

    /// Whether the log has an order column.
    pub fn has_orders(&self) -> bool {
        self.has_orders
    }

    /// The customer code of a raw customer value (of a [`Run`]).
    #[inline]
    pub fn code(&self, customer: i64) -> usize {
        (customer - self.encoding.customer_offset) as usize
    }

    /// The day number of a raw date value (of a [`Run`]).
    #[inline]
    pub fn day(&self, date: i64) -> i64 {
        let d = self.encoding.day_divisor;
        if d == 1 {
            return date;
        }
        // A 64-bit division costs ~40 cycles on a hot path; estimate the
        // quotient with a float reciprocal and correct it exactly.
        let mut q = (date as f64 * self.inv_divisor).floor() as i64;
        let r = date.wrapping_sub(q.wrapping_mul(d));
        if r < 0 {
            q -= 1;
        } else if r >= d {
            q += 1;
        }
        q
    }

    /// The encoding of the raw columns.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Whether a row with this amount takes part in computations under the returns policy.
    #[inline]
    pub fn keeps(&self, amount: f64) -> bool {
        self.returns != ReturnsPolicy::Drop || amount >= 0.0
    }
}

/// What one validation pass over a chunk of rows found.
struct Scan {
    /// The first error (lowest row) in the chunk.
    error: Option<DataError>,
    first_raw: i64,
    last_raw: i64,
    /// Sum of the absolute amounts (inf once it overflows).
    abs_total: f64,
    /// First date of a purchase line (`i64::MAX`: none).
    first_purchase_raw: i64,
}

impl Scan {
    fn merge(self, later: Scan) -> Scan {
        Scan {
            error: self.error.or(later.error),
            first_raw: self.first_raw.min(later.first_raw),
            last_raw: self.last_raw.max(later.last_raw),
            abs_total: self.abs_total + later.abs_total,
            first_purchase_raw: self.first_purchase_raw.min(later.first_purchase_raw),
        }
    }
}

/// All row rules and the kept date span in one fused, parallel pass over
/// fixed row ranges (the same whatever the runs, so the first error is the
/// lowest row).
fn validate(tx: &Transactions<'_>) -> Scan {
    const CHUNK: usize = 1 << 16;
    let (n_codes, encoding, returns) = (tx.n_customers as u64, tx.encoding, tx.returns);
    let empty = || Scan {
        error: None,
        first_raw: i64::MAX,
        last_raw: i64::MIN,
        abs_total: 0.0,
        first_purchase_raw: i64::MAX,
    };
    (0..tx.len.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let mut scan = empty();
            'rows: for run in tx.runs(k * CHUNK..((k + 1) * CHUNK).min(tx.len)) {
                let (c, d, a) = (run.customer, run.date, run.amount);
                for i in 0..c.len() {
                    let row = run.start + i;
                    let (code, amt) = (c[i].wrapping_sub(encoding.customer_offset), a[i]);
                    // a negative code wraps to a huge u64 and fails the same test
                    if code as u64 >= n_codes {
                        scan.error = Some(DataError::CodeOutOfRange {
                            field: Field::Customer,
                            row,
                            code,
                            n_customers: tx.n_customers,
                        });
                    } else if d[i] == i64::MIN {
                        scan.error = Some(DataError::Invalid {
                            field: Field::Date,
                            row: Some(row),
                            reason: "is missing (NaT)".into(),
                        });
                    } else if !amt.is_finite() {
                        scan.error = Some(DataError::NonFinite { field: Field::Amount, row });
                    } else if amt < 0.0 && returns == ReturnsPolicy::Error {
                        scan.error = Some(DataError::NegativeAmount { field: Field::Amount, row });
                    } else if amt >= 0.0 || returns != ReturnsPolicy::Drop {
                        scan.first_raw = scan.first_raw.min(d[i]);
                        scan.last_raw = scan.last_raw.max(d[i]);
                        scan.abs_total += amt.abs();
                        if amt >= 0.0 {
                            scan.first_purchase_raw = scan.first_purchase_raw.min(d[i]);
                        }
                        continue;
                    } else {
                        continue;
                    }
                    break 'rows;
                }
            }
            scan
        })
        .reduce(empty, Scan::merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_each_rule() {
        let c = [0, 1];
        let d = [1, 2];
        assert!(matches!(Transactions::new(&[], &[], &[], 0, ReturnsPolicy::Net), Err(DataError::Empty)));
        assert!(matches!(
            Transactions::new(&c, &[1], &[1.0, 2.0], 2, ReturnsPolicy::Net),
            Err(DataError::LengthMismatch { field: Field::Date, got: 1, expected: 2 })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[1.0, 2.0], 1, ReturnsPolicy::Net),
            Err(DataError::CodeOutOfRange { row: 1, .. })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[1.0, f64::NAN], 2, ReturnsPolicy::Net),
            Err(DataError::NonFinite { field: Field::Amount, row: 1 })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[-1.0, 2.0], 2, ReturnsPolicy::Error),
            Err(DataError::NegativeAmount { row: 0, .. })
        ));
        assert!(matches!(
            Transactions::new(&c, &d, &[-1.0, -2.0], 2, ReturnsPolicy::Drop),
            Err(DataError::NothingLeft { .. })
        ));
        // two amounts of 1e308 once made a customer's spend inf; returns count by magnitude
        for amounts in [[1e308, 1e308], [-1e300, 1e300]] {
            assert!(matches!(
                Transactions::new(&c, &d, &amounts, 2, ReturnsPolicy::Net),
                Err(DataError::Invalid { field: Field::Amount, row: None, .. })
            ));
        }
        assert!(Transactions::new(&c, &d, &[5e299, 5e299], 2, ReturnsPolicy::Net).is_ok());
        // rows the policy drops are not summed
        assert!(Transactions::new(&c, &d, &[-1e308, 1.0], 2, ReturnsPolicy::Drop).is_ok());
        assert!(matches!(
            Transactions::new(&c, &d, &[-1.0, -2.0], 2, ReturnsPolicy::Net),
            Err(DataError::NoPurchase { field: Field::Amount })
        ));
        let tx = Transactions::new(&c, &d, &[1.0, 2.0], 2, ReturnsPolicy::Net).unwrap();
        assert!(matches!(
            tx.clone().with_orders(&[7]),
            Err(DataError::LengthMismatch { field: Field::Order, got: 1, expected: 2 })
        ));
        assert_eq!(tx.with_orders(&[7, 7]).unwrap().runs(0..2).next().unwrap().order, &[7, 7]);
    }

    #[test]
    fn span_follows_the_policy() {
        let tx =
            Transactions::new(&[0, 0, 1], &[5, 9, 7], &[1.0, -1.0, 2.0], 2, ReturnsPolicy::Drop).unwrap();
        assert_eq!((tx.first_day(), tx.last_day()), (5, 7));
        let tx = Transactions::new(&[0, 0, 1], &[5, 9, 7], &[1.0, -1.0, 2.0], 2, ReturnsPolicy::Net).unwrap();
        assert_eq!((tx.first_day(), tx.last_day()), (5, 9));
        // a return before any purchase widens the log's span, not its first purchase day
        let tx = Transactions::new(&[0, 0], &[3, 6], &[-1.0, 0.0], 1, ReturnsPolicy::Net).unwrap();
        assert_eq!((tx.first_day(), tx.first_purchase_day()), (3, 6));
    }

    #[test]
    fn encodings() {
        let ns = [NANOS_PER_DAY * 3 + 5, -1, NANOS_PER_DAY * 3];
        let tx = Transactions::with_encoding(
            &[100, 101, 100],
            &ns,
            &[1.0, 2.0, 3.0],
            2,
            ReturnsPolicy::Net,
            Encoding { customer_offset: 100, day_divisor: NANOS_PER_DAY },
        )
        .unwrap();
        assert_eq!((tx.code(101), tx.day(ns[0]), tx.day(ns[1])), (1, 3, -1)); // floor, not truncation
                                                                              // the reciprocal shortcut is exact around midnight, far from the epoch too
        let edges: Vec<i64> = [-106_000i64, -1, 0, 1, 20_000, 106_000]
            .iter()
            .flat_map(|&k| [k * NANOS_PER_DAY - 1, k * NANOS_PER_DAY, k * NANOS_PER_DAY + 1])
            .filter(|x| *x > i64::MIN)
            .collect();
        let zeros = vec![0; edges.len()];
        let ones = vec![1.0; edges.len()];
        let enc = Encoding { customer_offset: 0, day_divisor: NANOS_PER_DAY };
        let at_edges =
            Transactions::with_encoding(&zeros, &edges, &ones, 1, ReturnsPolicy::Net, enc).unwrap();
        for &x in &edges {
            assert_eq!(at_edges.day(x), x.div_euclid(NANOS_PER_DAY), "{x}");
        }
        assert_eq!((tx.first_day(), tx.last_day()), (-1, 3));
        let nat = Transactions::with_encoding(
            &[0, 0],
            &[5, i64::MIN],
            &[1.0, 1.0],
            1,
            ReturnsPolicy::Net,
            Encoding::default(),
        );
        assert!(matches!(nat, Err(DataError::Invalid { field: Field::Date, row: Some(1), .. })));
        let out = Transactions::with_encoding(
            &[99],
            &[5],
            &[1.0],
            1,
            ReturnsPolicy::Net,
            Encoding { customer_offset: 100, day_divisor: 1 },
        );
        assert!(matches!(out, Err(DataError::CodeOutOfRange { code: -1, .. })));
    }

    /// Columns in pieces with different boundaries (and empty pieces) read as
    /// the log laid end to end: the runs cover every row once, in order, each
    /// column one slice, and errors name the row of the whole log.
    #[test]
    fn columns_in_pieces() {
        let customer: Vec<i64> = (0..10).map(|i| i % 3).collect();
        let date: Vec<i64> = (0..10).collect();
        let amount: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let order: Vec<i64> = (0..10).map(|i| i / 2).collect();
        let tx = Transactions::from_pieces(
            &[&customer[..4], &customer[4..4], &customer[4..]],
            &[&date[..1], &date[1..7], &date[7..]],
            &[&amount[..], &amount[10..]],
            3,
            ReturnsPolicy::Net,
            Encoding::default(),
        )
        .unwrap()
        .with_order_pieces(&[&order[..5], &order[5..]])
        .unwrap();
        let runs: Vec<Run<'_>> = tx.runs(0..10).collect();
        let starts: Vec<usize> = runs.iter().map(|r| r.start).collect();
        assert_eq!(starts, [0, 1, 4, 5, 7]);
        let flat = |f: fn(&Run<'_>) -> Vec<f64>| runs.iter().flat_map(f).collect::<Vec<f64>>();
        assert_eq!(
            flat(|r| r.customer.iter().map(|&c| c as f64).collect()),
            customer.iter().map(|&c| c as f64).collect::<Vec<_>>()
        );
        assert_eq!(
            flat(|r| r.date.iter().map(|&d| d as f64).collect()),
            date.iter().map(|&d| d as f64).collect::<Vec<_>>()
        );
        assert_eq!(flat(|r| r.amount.to_vec()), amount);
        assert_eq!(
            flat(|r| r.order.iter().map(|&o| o as f64).collect()),
            order.iter().map(|&o| o as f64).collect::<Vec<_>>()
        );
        // a range cuts the runs it crosses
        let part: Vec<(usize, usize)> = tx.runs(3..6).map(|r| (r.start, r.len())).collect();
        assert_eq!(part, [(3, 1), (4, 1), (5, 1)]);
        let mut bad = amount.clone();
        bad[8] = f64::NAN;
        let err = Transactions::from_pieces(
            &[&customer[..9], &customer[9..]],
            &[&date[..2], &date[2..]],
            &[&bad[..7], &bad[7..]],
            3,
            ReturnsPolicy::Net,
            Encoding::default(),
        );
        assert!(matches!(err, Err(DataError::NonFinite { row: 8, .. })));
        let short = Transactions::from_pieces(
            &[&customer[..]],
            &[&date[..4], &date[5..]],
            &[&amount[..]],
            3,
            ReturnsPolicy::Net,
            Encoding::default(),
        );
        assert!(matches!(short, Err(DataError::LengthMismatch { field: Field::Date, got: 9, expected: 10 })));
    }

    #[test]
    fn rejects_days_beyond_i32() {
        let far = Transactions::new(&[0], &[i32::MAX as i64 + 1], &[1.0], 1, ReturnsPolicy::Net);
        assert!(matches!(far, Err(DataError::Invalid { field: Field::Date, row: None, .. })));
        assert!(Transactions::new(&[0], &[i32::MIN as i64], &[1.0], 1, ReturnsPolicy::Net).is_err());
        assert!(Transactions::new(&[0], &[i32::MIN as i64 + 1], &[1.0], 1, ReturnsPolicy::Net).is_ok());
    }

    #[test]
    fn parses_policy() {
        assert_eq!("drop".parse::<ReturnsPolicy>().unwrap(), ReturnsPolicy::Drop);
        assert_eq!("nope".parse::<ReturnsPolicy>().unwrap_err().name, "returns");
    }
}
