//! The per-customer RFM profile table.

use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::exact::{fsum, Exact};
use crate::groups::CustomerGroups;
use crate::transactions::Transactions;

/// One row per customer that has at least one kept transaction, in code order.
///
/// All counts follow the returns policy of the log: under `Net`, a return is a
/// transaction (it counts in `n_transactions`, its day is an order day) and its
/// amount is netted into `total_spend`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RfmTable {
    /// Customer code of each row.
    pub customer: Vec<i64>,
    /// Day of the first transaction.
    pub first_day: Vec<i64>,
    /// Day of the last transaction.
    pub last_day: Vec<i64>,
    /// `as_of - last_day`, in days.
    pub recency_days: Vec<i64>,
    /// `as_of - first_day`, in days.
    pub tenure_days: Vec<i64>,
    /// Distinct transaction days ("orders").
    pub n_orders: Vec<i64>,
    /// Transaction rows.
    pub n_transactions: Vec<i64>,
    /// Sum of amounts.
    pub total_spend: Vec<f64>,
    /// `total_spend / n_orders`.
    pub avg_order_value: Vec<f64>,
    /// Mean gap between consecutive order days; NaN with a single order.
    pub mean_days_between_orders: Vec<f64>,
    /// Sample standard deviation (ddof = 1) of those gaps; NaN with fewer than two gaps.
    pub std_days_between_orders: Vec<f64>,
    /// Rows with a negative amount.
    pub n_returns: Vec<i64>,
    /// Sum of the absolute values of negative amounts.
    pub returned_amount: Vec<f64>,
}

/// Running profile of one customer, fed transactions in day order.
///
/// 40 bytes in one 64-byte cache line (the streaming pass touches one at
/// random per row); returns, which are rare, live in [`Returns`]. Days fit
/// i32 ([`Transactions`] checks it). The gap statistics need only the sum of
/// squared gaps: the gaps sum to `last - first`. Spend is summed exactly
/// ([`Exact`]), so that neither the order of the rows nor the path (streaming
/// or grouped) changes a bit of it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(align(64))]
struct Acc {
    first_day: i32,
    last_day: i32,
    n_orders: u32,
    n_transactions: u32,
    sum_sq_gaps: u64,
    total_spend: Exact,
}

/// Count and absolute sum of one customer's returns.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Returns {
    n: u32,
    amount: Exact,
}

impl Acc {
    const EMPTY: Acc = Acc {
        first_day: i32::MAX,
        last_day: i32::MIN,
        n_orders: 0,
        n_transactions: 0,
        sum_sq_gaps: 0,
        total_spend: Exact::ZERO,
    };

    /// Adds one transaction; false (and no change) if it is earlier than the last one.
    #[inline]
    fn push(&mut self, day: i64, amount: f64, returns: &mut Returns) -> bool {
        let day = day as i32; // in range: checked by `Transactions`
        if self.n_transactions == 0 {
            self.first_day = day;
            self.last_day = day;
            self.n_orders = 1;
        } else if day != self.last_day {
            if day < self.last_day {
                return false;
            }
            let gap = (day as i64 - self.last_day as i64) as u64;
            self.sum_sq_gaps = self.sum_sq_gaps.saturating_add(gap.saturating_mul(gap));
            self.n_orders += 1;
            self.last_day = day;
        }
        self.n_transactions += 1;
        self.total_spend = self.total_spend.plus(amount);
        if amount < 0.0 {
            returns.n += 1;
            returns.amount = returns.amount.plus(-amount);
        }
        true
    }

    /// Mean and sample standard deviation of the gaps between order days,
    /// from exact integer sums: `var = (k Q - S^2) / (k (k - 1))`.
    fn gap_stats(&self) -> (f64, f64) {
        let k = self.n_orders as i128 - 1;
        if k < 1 {
            return (f64::NAN, f64::NAN);
        }
        let sum = self.last_day as i128 - self.first_day as i128;
        let mean = sum as f64 / k as f64;
        if k < 2 {
            return (mean, f64::NAN);
        }
        let var = (k * self.sum_sq_gaps as i128 - sum * sum) as f64 / (k * (k - 1)) as f64;
        (mean, var.sqrt())
    }
}

impl RfmTable {
    fn with_capacity(n: usize) -> Self {
        RfmTable {
            customer: Vec::with_capacity(n),
            first_day: Vec::with_capacity(n),
            last_day: Vec::with_capacity(n),
            recency_days: Vec::with_capacity(n),
            tenure_days: Vec::with_capacity(n),
            n_orders: Vec::with_capacity(n),
            n_transactions: Vec::with_capacity(n),
            total_spend: Vec::with_capacity(n),
            avg_order_value: Vec::with_capacity(n),
            mean_days_between_orders: Vec::with_capacity(n),
            std_days_between_orders: Vec::with_capacity(n),
            n_returns: Vec::with_capacity(n),
            returned_amount: Vec::with_capacity(n),
        }
    }

    /// Adds one customer's row; `spend` and `returned` are its exact sums.
    fn push(&mut self, customer: i64, p: &Acc, (spend, returned): (f64, f64), r: &Returns, as_of: i64) {
        let (mean_gap, std_gap) = p.gap_stats();
        self.customer.push(customer);
        self.first_day.push(p.first_day as i64);
        self.last_day.push(p.last_day as i64);
        self.recency_days.push(as_of - p.last_day as i64);
        self.tenure_days.push(as_of - p.first_day as i64);
        self.n_orders.push(p.n_orders as i64);
        self.n_transactions.push(p.n_transactions as i64);
        self.total_spend.push(spend);
        self.avg_order_value.push(spend / p.n_orders as f64);
        self.mean_days_between_orders.push(mean_gap);
        self.std_days_between_orders.push(std_gap);
        self.n_returns.push(r.n as i64);
        self.returned_amount.push(returned);
    }

    fn append(&mut self, mut other: RfmTable) {
        self.customer.append(&mut other.customer);
        self.first_day.append(&mut other.first_day);
        self.last_day.append(&mut other.last_day);
        self.recency_days.append(&mut other.recency_days);
        self.tenure_days.append(&mut other.tenure_days);
        self.n_orders.append(&mut other.n_orders);
        self.n_transactions.append(&mut other.n_transactions);
        self.total_spend.append(&mut other.total_spend);
        self.avg_order_value.append(&mut other.avg_order_value);
        self.mean_days_between_orders.append(&mut other.mean_days_between_orders);
        self.std_days_between_orders.append(&mut other.std_days_between_orders);
        self.n_returns.append(&mut other.n_returns);
        self.returned_amount.append(&mut other.returned_amount);
    }
}

/// Builds the RFM table. `as_of` (a day number) defaults to the day after the
/// last kept transaction and must not be earlier than that transaction.
///
/// When every customer's rows are already in day order in the log (a log
/// sorted by time, or by customer and time: the usual exports) the table is
/// built in one streaming pass; otherwise the log is grouped first.
pub fn rfm_table(tx: &Transactions<'_>, as_of: Option<i64>) -> Result<RfmTable> {
    let as_of = as_of.unwrap_or(tx.last_day() + 1);
    if as_of < tx.last_day() {
        return Err(
            DataError::DateBeforeLastTransaction { what: "as_of", day: as_of, last: tx.last_day() }.into()
        );
    }
    if let Some(table) = streaming(tx, as_of) {
        return Ok(table);
    }
    Ok(from_groups(&CustomerGroups::new(tx), as_of))
}

/// One pass over the log, each thread owning a range of customer codes;
/// `None` as soon as a customer's rows turn out not to be in day order, or
/// when a sum was not kept exactly (see [`Exact`]).
fn streaming(tx: &Transactions<'_>, as_of: i64) -> Option<RfmTable> {
    let n_customers = tx.n_customers();
    let n_parts = rayon::current_num_threads().clamp(1, n_customers.max(1));
    let part_size = n_customers.div_ceil(n_parts).max(1);
    let drop_returns = tx.returns() == crate::ReturnsPolicy::Drop;
    let parts: Option<Vec<RfmTable>> = (0..n_parts)
        .into_par_iter()
        .map(|p| {
            let lo = p * part_size;
            let m = ((p + 1) * part_size).min(n_customers).saturating_sub(lo);
            let mut acc = vec![Acc::EMPTY; m];
            let mut returns = vec![Returns::default(); m];
            for i in 0..tx.len() {
                let c = tx.code(i).wrapping_sub(lo);
                if c < m {
                    let amount = tx.amount(i);
                    let kept = !(drop_returns && amount < 0.0);
                    if kept && !acc[c].push(tx.day(i), amount, &mut returns[c]) {
                        return None;
                    }
                }
            }
            let n_rows = acc.iter().filter(|a| a.n_transactions > 0).count();
            let mut t = RfmTable::with_capacity(n_rows);
            for (c, (a, r)) in acc.iter().zip(&returns).enumerate() {
                if a.n_transactions > 0 {
                    // a sum not kept exactly (amounts of wildly different magnitudes,
                    // never seen in real data): the grouped path computes it with fsum
                    let sums = a.total_spend.value().zip(r.amount.value())?;
                    t.push((lo + c) as i64, a, sums, r, as_of);
                }
            }
            Some(t)
        })
        .collect();
    let mut parts = parts?.into_iter();
    let mut table = parts.next().unwrap_or_default();
    for t in parts {
        table.append(t);
    }
    Some(table)
}

pub(crate) fn from_groups(groups: &CustomerGroups, as_of: i64) -> RfmTable {
    let rows: Vec<(i64, Acc, (f64, f64), Returns)> = (0..groups.n_customers())
        .into_par_iter()
        .with_min_len(4096)
        .filter_map(|c| {
            let g = groups.get(c);
            (!g.is_empty()).then(|| {
                let (mut acc, mut returns) = (Acc::EMPTY, Returns::default());
                for e in g {
                    acc.push(e.day, e.amount, &mut returns); // groups are day-sorted: always accepted
                }
                let spend = acc.total_spend.value().unwrap_or_else(|| fsum(g.iter().map(|e| e.amount)));
                let returned = returns
                    .amount
                    .value()
                    .unwrap_or_else(|| fsum(g.iter().filter(|e| e.amount < 0.0).map(|e| -e.amount)));
                (c as i64, acc, (spend, returned), returns)
            })
        })
        .collect();
    let mut t = RfmTable::with_capacity(rows.len());
    for (c, acc, sums, returns) in &rows {
        t.push(*c, acc, *sums, returns, as_of);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReturnsPolicy;
    use approx::assert_relative_eq;

    #[test]
    fn hand_checked_profile() {
        // customer 0: days 0, 0, 4, 10 (gaps 4 and 6); customer 1: one order;
        // customer 2: no rows.
        let c = [0, 1, 0, 0, 0];
        let d = [0, 3, 4, 0, 10];
        let a = [10.0, 7.0, 5.0, 2.0, -3.0];
        let tx = Transactions::new(&c, &d, &a, 3, ReturnsPolicy::Net).unwrap();
        let t = rfm_table(&tx, Some(12)).unwrap();
        assert_eq!(t.customer, vec![0, 1]);
        assert_eq!(t.recency_days, vec![2, 9]);
        assert_eq!(t.tenure_days, vec![12, 9]);
        assert_eq!(t.n_orders, vec![3, 1]);
        assert_eq!(t.n_transactions, vec![4, 1]);
        assert_relative_eq!(t.total_spend[0], 14.0);
        assert_relative_eq!(t.avg_order_value[0], 14.0 / 3.0);
        assert_relative_eq!(t.mean_days_between_orders[0], 5.0);
        assert_relative_eq!(t.std_days_between_orders[0], 2.0f64.sqrt());
        assert!(t.mean_days_between_orders[1].is_nan());
        assert_eq!(t.n_returns, vec![1, 0]);
        assert_relative_eq!(t.returned_amount[0], 3.0);
    }

    /// Spend sums that depend on the order of the terms in plain f64 (1e16 + 1
    /// rounds): every row order, streaming or grouped, gives the same bits,
    /// the exact sum rounded once (Python's `math.fsum`).
    #[test]
    fn row_order_does_not_change_the_sums() {
        let amounts = [1e16, 1.0, -1e16, 1.0, 0.5, -0.25];
        let mut seen = Vec::new();
        for r in 0..amounts.len() {
            let mut a = amounts.to_vec();
            a.rotate_left(r);
            let days = [4, 4, 4, 4, 4, 4]; // one day: every order is a day order (streaming)
            let tx = Transactions::new(&[0; 6], &days, &a, 1, ReturnsPolicy::Net).unwrap();
            let streamed = streaming(&tx, 9).expect("in day order");
            let grouped = from_groups(&CustomerGroups::new(&tx), 9);
            assert_eq!(format!("{streamed:?}"), format!("{grouped:?}"));
            seen.push((streamed.total_spend[0].to_bits(), streamed.returned_amount[0].to_bits()));
        }
        assert!(seen.iter().all(|s| *s == seen[0]));
        assert_eq!(f64::from_bits(seen[0].0), 2.25);
        // beyond what the two-sum pair holds (3.5 and 1e-5 both below 1e299's
        // last bit): the grouped path's fsum, still exact
        let a = [1e299, 3.5, 1e-5, -1e299];
        let tx = Transactions::new(&[0; 4], &[1; 4], &a, 1, ReturnsPolicy::Net).unwrap();
        assert!(streaming(&tx, 2).is_none());
        assert_eq!(rfm_table(&tx, None).unwrap().total_spend, vec![3.5 + 1e-5]);
    }

    #[test]
    fn streaming_and_grouped_paths_agree() {
        // the same rows sorted by day (streaming path) and shuffled (grouped path)
        let c = [0, 1, 0, 2, 1, 0, 2, 2];
        let d = [1, 2, 3, 3, 5, 8, 9, 9];
        let a = [1.0, 2.0, -1.5, 4.0, 5.0, 6.0, 7.0, 8.0];
        let sorted = Transactions::new(&c, &d, &a, 3, ReturnsPolicy::Net).unwrap();
        let fast = streaming(&sorted, 10).expect("in day order");
        let perm = [5, 0, 7, 2, 4, 6, 1, 3];
        let (c2, d2, a2): (Vec<i64>, Vec<i64>, Vec<f64>) = (
            perm.iter().map(|&i| c[i]).collect(),
            perm.iter().map(|&i| d[i]).collect(),
            perm.iter().map(|&i| a[i]).collect(),
        );
        let shuffled = Transactions::new(&c2, &d2, &a2, 3, ReturnsPolicy::Net).unwrap();
        assert!(streaming(&shuffled, 10).is_none());
        // Debug formatting compares NaN (single-order customers) as equal
        let same = |a: &RfmTable, b: &RfmTable| format!("{a:?}") == format!("{b:?}");
        assert!(same(&rfm_table(&shuffled, Some(10)).unwrap(), &fast));
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert!(same(&pool.install(|| streaming(&sorted, 10)).unwrap(), &fast));
        }
    }

    #[test]
    fn streaming_matches_grouping_on_a_large_log() {
        use crate::simulate::{simulate_transactions, SimulationParams};
        let log = simulate_transactions(&SimulationParams {
            n_customers: 40_000,
            r: 2.0,
            alpha: 60.0,
            a: 0.5,
            b: 8.0,
            seed: 3,
            ..Default::default()
        })
        .unwrap();
        let tx = Transactions::new(&log.customer, &log.day, &log.amount, 40_000, ReturnsPolicy::Net).unwrap();
        let fast = streaming(&tx, 20_000).expect("a simulated log is in day order per customer");
        let slow = from_groups(&CustomerGroups::new(&tx), 20_000);
        assert_eq!(format!("{fast:?}"), format!("{slow:?}")); // same rows in the same order: same bits
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(
                format!("{:?}", pool.install(|| streaming(&tx, 20_000)).unwrap()),
                format!("{fast:?}")
            );
        }
    }

    #[test]
    fn drop_policy_ignores_returns() {
        let tx = Transactions::new(&[0, 0], &[1, 5], &[4.0, -1.0], 1, ReturnsPolicy::Drop).unwrap();
        let t = rfm_table(&tx, None).unwrap();
        assert_eq!(t.last_day, vec![1]);
        assert_eq!(t.recency_days, vec![1]);
        assert_relative_eq!(t.total_spend[0], 4.0);
    }

    #[test]
    fn as_of_before_last_is_an_error() {
        let tx = Transactions::new(&[0], &[5], &[1.0], 1, ReturnsPolicy::Net).unwrap();
        assert!(matches!(
            rfm_table(&tx, Some(4)),
            Err(crate::Error::Data(DataError::DateBeforeLastTransaction { what: "as_of", .. }))
        ));
    }
}
