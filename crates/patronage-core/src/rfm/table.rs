//! The per-customer RFM profile table.

use rayon::prelude::*;

use crate::buckets::Buckets;
use crate::error::{DataError, Result};
use crate::exact::{fsum, Exact};
#[cfg(test)]
use crate::groups::CustomerGroups;
use crate::groups::{build_part, net, visits, Entry, Visit};
use crate::transactions::Transactions;

/// One row per customer with at least one purchase, in code order.
///
/// Purchases, orders and returns follow [`crate::transactions`]: returns are
/// netted into spend but are never orders, and returns before a customer's
/// first purchase are left out (they count in no column).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RfmTable {
    /// Customer code of each row.
    pub customer: Vec<i64>,
    /// Day of the first purchase.
    pub first_day: Vec<i64>,
    /// Day of the last purchase.
    pub last_day: Vec<i64>,
    /// `as_of - last_day`, in days.
    pub recency_days: Vec<i64>,
    /// `as_of - first_day`, in days.
    pub tenure_days: Vec<i64>,
    /// Orders: purchase days, or order ids with an order column.
    pub n_orders: Vec<i64>,
    /// Rows counted: purchase lines and the return lines matched to them.
    pub n_transactions: Vec<i64>,
    /// Net spend: purchases minus matched returns (can be zero or negative).
    /// Summed exactly and rounded once ([`crate::exact`]), so neither the row
    /// order nor the path (streaming or grouped) changes a bit of it; then
    /// exactly 0 when the amounts cancel in decimal ([`crate::groups::net`]:
    /// the exact sum of the doubles 1.1, 1.1, 1.1 and -3.3 is 4.4e-16, the
    /// error of their binary representation, not of the summation).
    pub total_spend: Vec<f64>,
    /// `total_spend / n_orders`.
    pub avg_order_value: Vec<f64>,
    /// Mean gap between consecutive purchase days; NaN with a single one.
    pub mean_days_between_orders: Vec<f64>,
    /// Sample standard deviation (ddof = 1) of those gaps; NaN with fewer than two gaps.
    pub std_days_between_orders: Vec<f64>,
    /// Return lines matched to a purchase.
    pub n_returns: Vec<i64>,
    /// Sum of the absolute amounts of those return lines (summed exactly).
    pub returned_amount: Vec<f64>,
}

/// What the table needs of one customer: first and last purchase day,
/// orders, purchase days, the sum of squared gaps between purchase days (the
/// gaps sum to `last - first`), rows, net spend and returns (the two sums
/// exact, rounded once).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Profile {
    first_day: i64,
    last_day: i64,
    n_orders: u64,
    n_days: u64,
    sum_sq_gaps: u64,
    n_transactions: u64,
    total_spend: f64,
    n_returns: u64,
    returned: f64,
}

impl Profile {
    /// Mean and sample standard deviation of the gaps between purchase days,
    /// from exact integer sums: `var = (k Q - S^2) / (k (k - 1))`.
    fn gap_stats(&self) -> (f64, f64) {
        let k = self.n_days as i128 - 1;
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

/// Running profile of one customer in the streaming pass, fed rows in day order.
///
/// 40 bytes in one 64-byte cache line (the streaming pass touches one at
/// random per row); what is needed once per customer or per return (rare)
/// lives in [`Cold`]. Days fit i32 ([`Transactions`] checks it).
/// `n_orders == 0` until the first purchase. Spend is summed exactly
/// ([`Exact`]), so that the streaming pass (rows in input order) and the
/// grouped one (canonical order) give the same bits.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(align(64))]
struct Acc {
    /// Day of the latest row of any kind (to detect rows out of day order).
    last_seen: i32,
    /// Day of the latest purchase.
    last_day: i32,
    n_orders: u32,
    n_transactions: u32,
    sum_sq_gaps: u64,
    total_spend: Exact,
}

/// The rarely touched part of a customer's streaming profile.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Cold {
    first_day: i32,
    n_returns: u32,
    returned: Exact,
    /// Returns on `pending_day` seen before any purchase: they count if a
    /// purchase follows on the same day (it is then the first purchase).
    pending_day: i32,
    pending_n: u32,
    /// Their sum (negative).
    pending_amount: Exact,
}

impl Acc {
    const EMPTY: Acc = Acc {
        last_seen: i32::MIN,
        last_day: i32::MIN,
        n_orders: 0,
        n_transactions: 0,
        sum_sq_gaps: 0,
        total_spend: Exact::ZERO,
    };

    /// Adds one row; false (and no change) if it is earlier than the last row.
    #[inline]
    fn push(&mut self, day: i32, amount: f64, cold: &mut Cold) -> bool {
        if day < self.last_seen {
            return false;
        }
        self.last_seen = day;
        if amount >= 0.0 {
            if self.n_orders == 0 {
                self.first_purchase(day, cold);
            } else if day != self.last_day {
                let gap = (day as i64 - self.last_day as i64) as u64;
                self.sum_sq_gaps = self.sum_sq_gaps.saturating_add(gap.saturating_mul(gap));
                self.n_orders += 1;
                self.last_day = day;
            }
        } else if self.n_orders == 0 {
            if cold.pending_day != day || cold.pending_n == 0 {
                *cold = Cold { pending_day: day, ..Cold::default() };
            }
            cold.pending_n += 1;
            cold.pending_amount = cold.pending_amount.plus(amount);
            return true;
        } else {
            cold.n_returns += 1;
            cold.returned = cold.returned.plus(-amount);
        }
        self.n_transactions += 1;
        self.total_spend = self.total_spend.plus(amount);
        true
    }

    #[cold]
    fn first_purchase(&mut self, day: i32, cold: &mut Cold) {
        self.last_day = day;
        self.n_orders = 1;
        cold.first_day = day;
        if cold.pending_n > 0 && cold.pending_day == day {
            // the day's earlier returns are matched to this purchase
            self.n_transactions = cold.pending_n;
            self.total_spend = cold.pending_amount;
            cold.n_returns = cold.pending_n;
            cold.returned = cold.pending_amount.negated();
        }
    }

    /// `None` when a sum was not kept exactly (see [`Exact`]).
    fn profile(&self, cold: &Cold) -> Option<Profile> {
        Some(Profile {
            first_day: cold.first_day as i64,
            last_day: self.last_day as i64,
            n_orders: self.n_orders as u64,
            n_days: self.n_orders as u64,
            sum_sq_gaps: self.sum_sq_gaps,
            n_transactions: self.n_transactions as u64,
            total_spend: self.total_spend.value()?,
            n_returns: cold.n_returns as u64,
            returned: cold.returned.value()?,
        })
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

    fn push(&mut self, customer: i64, p: &Profile, as_of: i64) {
        let (mean_gap, std_gap) = p.gap_stats();
        // purchases plus returns = (purchases - returns) + 2 returns
        let total_spend = net(p.total_spend, p.total_spend + 2.0 * p.returned);
        self.customer.push(customer);
        self.first_day.push(p.first_day);
        self.last_day.push(p.last_day);
        self.recency_days.push(as_of - p.last_day);
        self.tenure_days.push(as_of - p.first_day);
        self.n_orders.push(p.n_orders as i64);
        self.n_transactions.push(p.n_transactions as i64);
        self.total_spend.push(total_spend);
        self.avg_order_value.push(total_spend / p.n_orders as f64);
        self.mean_days_between_orders.push(mean_gap);
        self.std_days_between_orders.push(std_gap);
        self.n_returns.push(p.n_returns as i64);
        self.returned_amount.push(p.returned);
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
/// The rows are partitioned by customer bucket ([`crate::buckets`]) once.
/// When every customer's rows are already in day order in the log (a log
/// sorted by time, or by customer and time: the usual exports) and orders
/// are purchase days, the table is built in one streaming pass over each
/// bucket; otherwise the buckets are grouped first. Both give the same bits.
pub fn rfm_table(tx: &Transactions<'_>, as_of: Option<i64>) -> Result<RfmTable> {
    let as_of = as_of.unwrap_or(tx.last_day() + 1);
    if as_of < tx.last_day() {
        return Err(
            DataError::DateBeforeLastTransaction { what: "as_of", day: as_of, last: tx.last_day() }.into()
        );
    }
    let buckets = Buckets::new(tx);
    if !tx.has_orders() {
        if let Some(table) = streaming(&buckets, as_of) {
            return Ok(table);
        }
    }
    Ok(grouped(&buckets, tx.has_orders(), as_of))
}

/// Each bucket grouped ([`build_part`]) and profiled while its groups are in cache.
fn grouped(buckets: &Buckets, has_orders: bool, as_of: i64) -> RfmTable {
    let parts: Vec<RfmTable> = (0..buckets.len())
        .into_par_iter()
        .map_init(Vec::new, |buf, b| {
            let part = build_part(buckets, b, has_orders);
            let lo = buckets.customers(b).start;
            let mut t = RfmTable::with_capacity(part.len());
            for local in 0..part.len() {
                if let Some(p) = grouped_profile(part.get(local), buf) {
                    t.push((lo + local) as i64, &p, as_of);
                }
            }
            t
        })
        .collect();
    concat(parts)
}

/// The tables of consecutive buckets as one.
fn concat(parts: Vec<RfmTable>) -> RfmTable {
    let mut parts = parts.into_iter();
    let mut table = parts.next().unwrap_or_default();
    for t in parts {
        table.append(t);
    }
    table
}

/// One pass over each bucket's rows (in log order), the bucket's customers'
/// state in cache; `None` as soon as a customer's rows turn out not to be in
/// day order, or when a sum was not kept exactly (see [`Exact`]).
fn streaming(buckets: &Buckets, as_of: i64) -> Option<RfmTable> {
    let parts: Option<Vec<RfmTable>> = (0..buckets.len())
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(acc, cold), b| {
                let customers = buckets.customers(b);
                acc.clear();
                acc.resize(customers.len(), Acc::EMPTY);
                cold.clear();
                cold.resize(customers.len(), Cold::default());
                for (rows, _) in buckets.segments(b) {
                    for r in rows {
                        let c = r.local as usize;
                        if !acc[c].push(r.day, r.amount, &mut cold[c]) {
                            return None;
                        }
                    }
                }
                let n_rows = acc.iter().filter(|a| a.n_orders > 0).count();
                let mut t = RfmTable::with_capacity(n_rows);
                for (c, (a, cold)) in acc.iter().zip(cold.iter()).enumerate() {
                    if a.n_orders > 0 {
                        // a sum not kept exactly (amounts of wildly different magnitudes,
                        // never seen in real data): the grouped path computes it with fsum
                        t.push((customers.start + c) as i64, &a.profile(cold)?, as_of);
                    }
                }
                Some(t)
            },
        )
        .collect();
    Some(concat(parts?))
}

/// The profile of one customer's day-sorted group; `None` without a purchase.
fn grouped_profile(g: &[Entry], buf: &mut Vec<Visit>) -> Option<Profile> {
    visits(g, buf);
    let (first, last) = (buf.first()?.day, buf.last()?.day);
    let mut p = Profile {
        first_day: first,
        last_day: last,
        n_orders: buf.iter().map(|v| v.orders as u64).sum(),
        n_days: buf.len() as u64,
        sum_sq_gaps: 0,
        n_transactions: 0,
        total_spend: 0.0,
        n_returns: 0,
        returned: 0.0,
    };
    for w in buf.windows(2) {
        let gap = (w[1].day - w[0].day) as u64;
        p.sum_sq_gaps = p.sum_sq_gaps.saturating_add(gap.saturating_mul(gap));
    }
    // Every row from the first purchase day on is matched to a purchase day;
    // summed exactly, as the streaming pass does.
    let counted = &g[g.partition_point(|e| e.day() < first)..];
    let (mut spend, mut returned) = (Exact::ZERO, Exact::ZERO);
    for e in counted {
        p.n_transactions += 1;
        spend = spend.plus(e.amount());
        if !e.is_purchase() {
            p.n_returns += 1;
            returned = returned.plus(-e.amount());
        }
    }
    p.total_spend = spend.value().unwrap_or_else(|| fsum(counted.iter().map(Entry::amount)));
    p.returned = returned
        .value()
        .unwrap_or_else(|| fsum(counted.iter().filter(|e| !e.is_purchase()).map(|e| -e.amount())));
    Some(p)
}

/// The table of already grouped customers (the reference the faster paths are tested against).
#[cfg(test)]
fn from_groups(groups: &CustomerGroups, as_of: i64) -> RfmTable {
    let rows: Vec<(i64, Profile)> = (0..groups.n_customers())
        .into_par_iter()
        .with_min_len(4096)
        .map_init(Vec::new, |buf, c| grouped_profile(groups.get(c), buf).map(|p| (c as i64, p)))
        .flatten()
        .collect();
    let mut t = RfmTable::with_capacity(rows.len());
    for (c, p) in &rows {
        t.push(*c, p, as_of);
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
        // customer 0: purchases on days 0 (two lines) and 4, a return-only day 10 (not an
        // order: it nets into day 4); customer 1: one order; customer 2: no rows;
        // customer 3: a return only (no purchase: no row).
        let c = [0, 1, 0, 0, 0, 3];
        let d = [0, 3, 4, 0, 10, 5];
        let a = [10.0, 7.0, 5.0, 2.0, -3.0, -8.0];
        let tx = Transactions::new(&c, &d, &a, 4, ReturnsPolicy::Net).unwrap();
        let t = rfm_table(&tx, Some(12)).unwrap();
        assert_eq!(t.customer, vec![0, 1]);
        assert_eq!(t.last_day, vec![4, 3]);
        assert_eq!(t.recency_days, vec![8, 9]);
        assert_eq!(t.tenure_days, vec![12, 9]);
        assert_eq!(t.n_orders, vec![2, 1]);
        assert_eq!(t.n_transactions, vec![4, 1]);
        assert_relative_eq!(t.total_spend[0], 14.0);
        assert_relative_eq!(t.avg_order_value[0], 7.0);
        assert_relative_eq!(t.mean_days_between_orders[0], 4.0);
        assert!(t.std_days_between_orders[0].is_nan());
        assert!(t.mean_days_between_orders[1].is_nan());
        assert_eq!(t.n_returns, vec![1, 0]);
        assert_relative_eq!(t.returned_amount[0], 3.0);
    }

    #[test]
    fn returns_before_the_first_purchase_are_left_out_unless_the_same_day() {
        // customer 0: a return on day 1 (before any purchase: ignored), then on day 2 a
        // return listed before the day's purchase (matched to it), a purchase on day 6.
        let c = [0, 0, 0, 0];
        let d = [1, 2, 2, 6];
        let a = [-5.0, -1.0, 10.0, 7.0];
        let tx = Transactions::new(&c, &d, &a, 1, ReturnsPolicy::Net).unwrap();
        let t = rfm_table(&tx, None).unwrap();
        assert_eq!((t.first_day[0], t.n_orders[0], t.n_transactions[0], t.n_returns[0]), (2, 2, 3, 1));
        assert_eq!((t.total_spend[0], t.returned_amount[0]), (16.0, 1.0));
    }

    fn same(a: &RfmTable, b: &RfmTable) -> bool {
        format!("{a:?}") == format!("{b:?}") // Debug formatting compares NaN as equal
    }

    /// Spend sums that depend on the order of the terms in plain f64: every
    /// row order, streaming or grouped, gives the same bits, the exact sum
    /// rounded once (Python's `math.fsum`). With 1e16 among the amounts the
    /// net 2.25 is within [`net`]'s tolerance of the 2e16 involved, so it is 0.
    #[test]
    fn row_order_does_not_change_the_sums() {
        // (amounts, fsum of all, fsum of the returns' absolute values)
        let cases: [(&[f64], f64, f64); 2] = [
            (&[0.1, 0.7, 0.2, 0.3, -0.4, 1000.0 / 3.0], 334.2333333333333, 0.4),
            (&[1e16, 1.0, -1e16, 1.0, 0.5, -0.25], 0.0, 1e16 + 0.25),
        ];
        for (amounts, total, returned) in cases {
            for r in 0..amounts.len() {
                let mut a = amounts.to_vec();
                a.rotate_left(r);
                let days = [4, 4, 4, 4, 4, 4]; // one day: every order is a day order (streaming)
                let tx = Transactions::new(&[0; 6], &days, &a, 1, ReturnsPolicy::Net).unwrap();
                let streamed = streaming(&Buckets::new(&tx), 9).expect("in day order");
                let grouped = from_groups(&CustomerGroups::new(&tx), 9);
                assert!(same(&streamed, &grouped));
                assert_eq!(streamed.total_spend[0].to_bits(), total.to_bits());
                assert_eq!(streamed.returned_amount[0].to_bits(), returned.to_bits());
            }
        }
        // beyond what the two-sum pair holds (0.5 + 1e-20 rounds): the grouped
        // path's fsum, still exact: 2^53 + 1 + 1e-20 rounds up (plain sums give 2^53)
        let a = [9007199254740992.0, 0.5, 1e-20, 0.5];
        let tx = Transactions::new(&[0; 4], &[1; 4], &a, 1, ReturnsPolicy::Net).unwrap();
        assert!(streaming(&Buckets::new(&tx), 2).is_none());
        assert_eq!(rfm_table(&tx, None).unwrap().total_spend, vec![9007199254740994.0]);
    }

    /// The exact sum and the netting tolerance do different jobs: the sum of
    /// 1.1 x 3 - 3.3 is the same bits in every row order (4.4e-16 exactly
    /// rounded: the doubles do not cancel), and `net` makes it 0; a real
    /// remainder of 1e-6 on 10 is kept.
    #[test]
    fn decimal_cancellation_nets_to_zero_in_every_row_order() {
        // customer 0 buys 3 x 1.10 on day 0 and returns 3.30 on day 1; customer 1 keeps 1e-6
        let rows = [(0, 0, 1.1), (0, 1, -3.3), (0, 0, 1.1), (0, 0, 1.1), (1, 5, 2.0), (1, 5, -2.0 + 1e-6)];
        let mut seen = Vec::new();
        for r in 0..rows.len() {
            let mut rs = rows.to_vec();
            rs.rotate_left(r);
            let c: Vec<i64> = rs.iter().map(|x| x.0).collect();
            let d: Vec<i64> = rs.iter().map(|x| x.1).collect();
            let a: Vec<f64> = rs.iter().map(|x| x.2).collect();
            let t = rfm_table(&Transactions::new(&c, &d, &a, 2, ReturnsPolicy::Net).unwrap(), None).unwrap();
            assert_eq!(t.total_spend[0].to_bits(), 0.0f64.to_bits());
            assert!((t.total_spend[1] - 1e-6).abs() < 1e-15);
            seen.push(t.total_spend[1].to_bits());
        }
        assert!(seen.iter().all(|s| *s == seen[0]));
        assert_ne!(fsum([1.1, 1.1, 1.1, -3.3]), 0.0); // the doubles do not cancel
    }

    #[test]
    fn streaming_and_grouped_paths_agree() {
        // the same rows sorted by day (streaming path) and shuffled (grouped path): returns
        // before a purchase, on a purchase day before and after it, return-only days and a
        // return-only customer (3)
        let c = [0, 1, 0, 2, 3, 1, 0, 2, 2, 0, 2];
        let d = [1, 2, 3, 3, 3, 5, 8, 9, 9, 9, 11];
        let a = [1.0, -2.0, -1.5, -4.0, -1.0, 5.0, 6.0, -7.0, 8.0, -0.5, -1.0];
        let sorted = Transactions::new(&c, &d, &a, 4, ReturnsPolicy::Net).unwrap();
        let fast = streaming(&Buckets::new(&sorted), 12).expect("in day order");
        assert_eq!(fast.customer, vec![0, 1, 2]);
        let perm = [5, 0, 10, 7, 2, 4, 6, 1, 3, 9, 8];
        let (c2, d2, a2): (Vec<i64>, Vec<i64>, Vec<f64>) = (
            perm.iter().map(|&i| c[i]).collect(),
            perm.iter().map(|&i| d[i]).collect(),
            perm.iter().map(|&i| a[i]).collect(),
        );
        let shuffled = Transactions::new(&c2, &d2, &a2, 4, ReturnsPolicy::Net).unwrap();
        assert!(streaming(&Buckets::new(&shuffled), 12).is_none());
        assert!(same(&from_groups(&CustomerGroups::new(&sorted), 12), &fast));
        assert!(same(&rfm_table(&shuffled, Some(12)).unwrap(), &fast));
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert!(same(&pool.install(|| streaming(&Buckets::new(&sorted), 12)).unwrap(), &fast));
        }
    }

    #[test]
    fn streaming_matches_grouping_on_a_large_log() {
        use crate::simulate::{simulate_transactions, SimulationParams};
        let mut log = simulate_transactions(&SimulationParams {
            n_customers: 40_000,
            r: 2.0,
            alpha: 60.0,
            a: 0.5,
            b: 8.0,
            seed: 3,
            ..Default::default()
        })
        .unwrap();
        // every 7th row a return
        log.amount.iter_mut().step_by(7).for_each(|a| *a = -*a);
        let tx = Transactions::new(&log.customer, &log.day, &log.amount, 40_000, ReturnsPolicy::Net).unwrap();
        let fast =
            streaming(&Buckets::new(&tx), 20_000).expect("a simulated log is in day order per customer");
        let slow = from_groups(&CustomerGroups::new(&tx), 20_000);
        assert!(same(&fast, &slow)); // same rows in the same order: same bits
                                     // the grouped path, bucket by bucket (40 buckets), gives the same bits
        assert!(same(&grouped(&Buckets::new(&tx), false, 20_000), &slow));
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert!(same(&pool.install(|| streaming(&Buckets::new(&tx), 20_000)).unwrap(), &fast));
        }
    }

    #[test]
    fn order_ids_count_orders_and_gaps_stay_between_days() {
        // orders 1 and 2 on day 0, order 3 (two lines) on day 6, order 4 a cancellation
        let c = [0, 0, 0, 0, 0];
        let d = [0, 0, 6, 6, 7];
        let a = [5.0, 3.0, 2.0, 2.0, -4.0];
        let o = [1, 2, 3, 3, 4];
        let tx = Transactions::new(&c, &d, &a, 1, ReturnsPolicy::Net).unwrap().with_orders(&o).unwrap();
        let t = rfm_table(&tx, None).unwrap();
        assert_eq!((t.n_orders[0], t.n_transactions[0], t.n_returns[0]), (3, 5, 1));
        assert_relative_eq!(t.avg_order_value[0], 8.0 / 3.0);
        assert_relative_eq!(t.mean_days_between_orders[0], 6.0); // one gap: days 0 -> 6
        assert_eq!(t.last_day[0], 6);
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
