//! Grouping a transaction log by customer, in time order.
//!
//! The customers are split into as many contiguous code ranges as there are
//! worker threads. Each thread scans the whole log (sequential reads), keeps
//! the rows of its own range and builds their compressed layout with a
//! counting sort: one count pass, one scatter pass, then a per-customer sort
//! by day (and amount within a day) that is skipped when the log was already
//! in that order. All safe code, no shared writes, and the result depends
//! neither on the number of threads nor on the order of the rows: sums over a
//! group add the same amounts in the same order however the log was sorted.
//!
//! Every per-customer computation (RFM, BTYD summaries, churn features,
//! lifecycle) reads these groups instead of re-sorting the log.

use rayon::prelude::*;

use crate::transactions::Transactions;

/// One transaction as seen inside its customer's group.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Entry {
    /// Day number (days since 1970-01-01).
    pub day: i64,
    /// Amount (negative for a return).
    pub amount: f64,
}

/// The order of a customer's entries: by day, then by amount (IEEE total
/// order). Floating-point sums depend on the order of their terms, so a fixed
/// order makes every per-customer sum independent of how the log was sorted.
#[inline]
pub fn canonical(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    a.day.cmp(&b.day).then(a.amount.total_cmp(&b.amount))
}

/// The groups of one contiguous range of customer codes.
#[derive(Debug, Clone)]
struct Part {
    offsets: Vec<usize>,
    entries: Vec<Entry>,
}

/// The kept transactions of every customer, contiguous and sorted by day.
#[derive(Debug, Clone)]
pub struct CustomerGroups {
    n_customers: usize,
    part_size: usize,
    parts: Vec<Part>,
}

impl CustomerGroups {
    /// Groups the kept rows of `tx` by customer code, each group sorted by day
    /// and, within a day, by amount ([`canonical`]).
    pub fn new(tx: &Transactions<'_>) -> Self {
        let n_customers = tx.n_customers();
        let n_parts = rayon::current_num_threads().clamp(1, n_customers.max(1));
        let part_size = n_customers.div_ceil(n_parts).max(1);
        let parts = (0..n_parts)
            .into_par_iter()
            .map(|p| {
                let lo = p * part_size;
                build_part(tx, lo, ((p + 1) * part_size).min(n_customers))
            })
            .collect();
        CustomerGroups { n_customers, part_size, parts }
    }

    /// Number of customer codes (including customers with no kept rows).
    pub fn n_customers(&self) -> usize {
        self.n_customers
    }

    /// The transactions of customer `c`, sorted by day.
    #[inline]
    pub fn get(&self, c: usize) -> &[Entry] {
        let part = &self.parts[c / self.part_size];
        let local = c % self.part_size;
        &part.entries[part.offsets[local]..part.offsets[local + 1]]
    }
}

/// Rows of one bucket of customers, staged between the two scatter passes.
#[derive(Clone, Copy, Default)]
struct Staged {
    local: u32,
    day: i32,
    amount: f64,
}

/// Customers per first-level bucket: a bucket's groups (a few hundred KiB)
/// stay in cache while they are scattered.
const BUCKET_SHIFT: u32 = 10;

/// A two-level counting sort (MSD radix on the customer code): rows are first
/// spread over buckets of 1,024 customers through a few hundred sequential
/// write streams, then each bucket is scattered to its customers while it is
/// in cache. A one-level scatter would miss the cache on almost every row.
fn build_part(tx: &Transactions<'_>, lo: usize, hi: usize) -> Part {
    let m = hi.saturating_sub(lo);
    let drop_returns = tx.returns() == crate::ReturnsPolicy::Drop;
    // The local code of row i, if the row is kept and belongs to this range.
    let local = |i: usize| -> Option<usize> {
        let c = tx.code(i).wrapping_sub(lo);
        (c < m && !(drop_returns && tx.amount(i) < 0.0)).then_some(c)
    };
    let n_buckets = (m >> BUCKET_SHIFT) + 1;
    let mut bucket_start = vec![0usize; n_buckets + 1];
    for i in 0..tx.len() {
        if let Some(c) = local(i) {
            bucket_start[(c >> BUCKET_SHIFT) + 1] += 1;
        }
    }
    for b in 0..n_buckets {
        bucket_start[b + 1] += bucket_start[b];
    }
    let total = bucket_start[n_buckets];
    let mut staged = vec![Staged::default(); total];
    let mut cursor = bucket_start[..n_buckets].to_vec();
    for i in 0..tx.len() {
        if let Some(c) = local(i) {
            let slot = &mut cursor[c >> BUCKET_SHIFT];
            // days fit i32 for +/- 5.8 million years; checked where they enter
            staged[*slot] = Staged { local: c as u32, day: tx.day(i) as i32, amount: tx.amount(i) };
            *slot += 1;
        }
    }
    let mut offsets = vec![0usize; m + 1];
    for st in &staged {
        offsets[st.local as usize + 1] += 1;
    }
    for c in 0..m {
        offsets[c + 1] += offsets[c];
    }
    let mut entries = vec![Entry::default(); total];
    let mut next = offsets[..m].to_vec();
    for st in &staged {
        let slot = &mut next[st.local as usize];
        entries[*slot] = Entry { day: st.day as i64, amount: st.amount };
        *slot += 1;
    }
    drop(staged);
    for w in offsets.windows(2) {
        let g = &mut entries[w[0]..w[1]];
        if g.is_sorted_by(|a, b| canonical(a, b).is_le()) {
            continue;
        }
        if g.is_sorted_by_key(|e| e.day) {
            // the usual export, in time order: only same-day amounts to order
            for run in g.chunk_by_mut(|a, b| a.day == b.day).filter(|run| run.len() > 1) {
                run.sort_unstable_by(|a, b| a.amount.total_cmp(&b.amount));
            }
        } else {
            g.sort_unstable_by(canonical);
        }
    }
    Part { offsets, entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReturnsPolicy;

    /// Same-day amounts whose float sum depends on their order: any row order
    /// gives the same group, so the same sum.
    #[test]
    fn row_order_does_not_change_a_group() {
        let amounts = [1e16, 1.0, -1e16, 1.0, 0.5];
        let mut sums = Vec::new();
        for rotation in 0..amounts.len() {
            let mut a = amounts.to_vec();
            a.rotate_left(rotation);
            let tx = Transactions::new(&[0; 5], &[3; 5], &a, 1, ReturnsPolicy::Net).unwrap();
            let g = CustomerGroups::new(&tx);
            sums.push(g.get(0).iter().map(|e| e.amount).sum::<f64>().to_bits());
        }
        assert!(sums.iter().all(|&s| s == sums[0]));
    }

    #[test]
    fn groups_and_sorts() {
        let tx = Transactions::new(
            &[1, 0, 1, 1, 2, 1],
            &[9, 3, 2, 5, 1, 2],
            &[1.0, 2.0, 3.0, -4.0, 5.0, 6.0],
            4,
            ReturnsPolicy::Drop,
        )
        .unwrap();
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let g = pool.install(|| CustomerGroups::new(&tx));
            assert_eq!(g.n_customers(), 4);
            assert_eq!(g.get(0), &[Entry { day: 3, amount: 2.0 }]);
            // by day, then by amount
            let got: Vec<(i64, f64)> = g.get(1).iter().map(|e| (e.day, e.amount)).collect();
            assert_eq!(got, vec![(2, 3.0), (2, 6.0), (9, 1.0)]);
            assert_eq!(g.get(2), &[Entry { day: 1, amount: 5.0 }]);
            assert_eq!(g.get(3), &[]);
        }
    }
}
