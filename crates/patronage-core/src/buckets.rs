//! The kept rows of a log spread over buckets of consecutive customer codes,
//! each bucket's rows in log order: the first step of every per-customer
//! computation.
//!
//! Reading a large log row by row and updating each row's customer misses
//! the cache on almost every row once the customers' state outgrows it (1 M
//! customers: 64 MB of state, ~100 ns a miss). A radix partition on the high
//! bits of the customer code turns that into sequential reads and a few
//! hundred sequential write streams; each bucket's state (a few thousand
//! customers) then stays in cache while its rows are read.
//!
//! The log is cut into contiguous row chunks, partitioned in parallel, each
//! chunk into its own buffer (safe code, no shared writes). A bucket's rows
//! are its segments of the chunks, in chunk order: the stable partition of the
//! log, whatever the number of chunks, so a bucket's rows are always in log
//! order and nothing downstream depends on the number of threads. Row
//! chunks are cut by row count alone and read the log's runs in place
//! ([`Transactions::runs`]): a log in pieces (Arrow chunks) partitions exactly
//! as the same log in one slice, and is never gathered.

use std::ops::Range;

use rayon::prelude::*;

use crate::transactions::Transactions;

/// One kept row, as a bucket holds it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Row {
    /// Customer code minus the bucket's first code.
    pub local: u32,
    /// Day number (fits i32: checked by [`Transactions`]).
    pub day: i32,
    pub amount: f64,
}

/// The rows of one chunk of the log, ordered by bucket.
struct Chunk {
    /// `starts[b]..starts[b + 1]` are bucket `b`'s rows.
    starts: Vec<usize>,
    rows: Vec<Row>,
    /// Order ids of `rows` (empty without an order column).
    orders: Vec<i64>,
}

/// Smallest number of customers per bucket: 2^10, whose streaming state
/// (~100 KiB) stays in a core's L2 cache.
const MIN_SHIFT: u32 = 10;

/// Most buckets: each is a write stream of the partition pass, and a few
/// thousand streams still fit the cache and the TLB.
const MAX_BUCKETS: usize = 2048;

/// Rows per chunk below which a log is not cut further (the counts of a
/// chunk cost `n_buckets` words).
const MIN_CHUNK: usize = 1 << 16;

/// The kept rows of a log, partitioned by customer bucket.
pub(crate) struct Buckets {
    shift: u32,
    n_customers: usize,
    chunks: Vec<Chunk>,
}

impl Buckets {
    /// Partitions the kept rows of `tx` (with their order ids when it has them).
    pub fn new(tx: &Transactions<'_>) -> Self {
        let n_customers = tx.n_customers();
        let mut shift = MIN_SHIFT;
        while n_customers.div_ceil(1 << shift) > MAX_BUCKETS {
            shift += 1;
        }
        let n_buckets = n_customers.div_ceil(1 << shift).max(1);
        let n = tx.len();
        let n_chunks = (2 * rayon::current_num_threads()).clamp(1, n.div_ceil(MIN_CHUNK).max(1));
        let chunk_len = n.div_ceil(n_chunks).max(1);
        let chunks = (0..n_chunks)
            .into_par_iter()
            .map(|k| partition(tx, k * chunk_len..((k + 1) * chunk_len).min(n), shift, n_buckets))
            .collect();
        Buckets { shift, n_customers, chunks }
    }

    /// Number of customer codes.
    pub fn n_customers(&self) -> usize {
        self.n_customers
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.chunks[0].starts.len() - 1
    }

    /// log2 of the customers per bucket: customer `c` is in bucket `c >> shift`.
    pub fn shift(&self) -> u32 {
        self.shift
    }

    /// The customer codes of bucket `b`.
    pub fn customers(&self, b: usize) -> Range<usize> {
        let lo = b << self.shift;
        lo.min(self.n_customers)..((b + 1) << self.shift).min(self.n_customers)
    }

    /// Number of rows of bucket `b`.
    pub fn n_rows(&self, b: usize) -> usize {
        self.chunks.iter().map(|ch| ch.starts[b + 1] - ch.starts[b]).sum()
    }

    /// The rows of bucket `b` in log order, as segments with their order ids
    /// (empty slices without an order column).
    pub fn segments(&self, b: usize) -> impl Iterator<Item = (&[Row], &[i64])> + '_ {
        self.chunks.iter().map(move |ch| {
            let range = ch.starts[b]..ch.starts[b + 1];
            let orders = if ch.orders.is_empty() { &[][..] } else { &ch.orders[range.clone()] };
            (&ch.rows[range], orders)
        })
    }
}

/// A counting sort of the kept rows `rows` by bucket: one count pass, one
/// scatter pass (stable), each reading the log's runs in place.
fn partition(tx: &Transactions<'_>, rows: Range<usize>, shift: u32, n_buckets: usize) -> Chunk {
    let mask = (1usize << shift) - 1;
    let mut starts = vec![0usize; n_buckets + 1];
    for run in tx.runs(rows.clone()) {
        for (&c, &a) in run.customer.iter().zip(run.amount) {
            if tx.keeps(a) {
                starts[(tx.code(c) >> shift) + 1] += 1;
            }
        }
    }
    for b in 0..n_buckets {
        starts[b + 1] += starts[b];
    }
    let total = starts[n_buckets];
    let mut out = vec![Row::default(); total];
    let mut orders = if tx.has_orders() { vec![0i64; total] } else { Vec::new() };
    let mut cursor = starts[..n_buckets].to_vec();
    for run in tx.runs(rows) {
        for i in 0..run.len() {
            let amount = run.amount[i];
            if tx.keeps(amount) {
                let c = tx.code(run.customer[i]);
                let slot = &mut cursor[c >> shift];
                // days fit i32: checked by `Transactions`
                out[*slot] = Row { local: (c & mask) as u32, day: tx.day(run.date[i]) as i32, amount };
                if let Some(&order) = run.order.get(i) {
                    orders[*slot] = order;
                }
                *slot += 1;
            }
        }
    }
    Chunk { starts, rows: out, orders }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transactions::Encoding;
    use crate::ReturnsPolicy;

    /// Every bucket holds exactly its customers' kept rows, in log order, for
    /// any number of threads (chunks), with the columns in one slice or in
    /// pieces whose boundaries differ between columns (empty pieces too).
    #[test]
    fn a_stable_partition_by_customer_range() {
        let n_customers = 5000;
        let n = 300_000;
        let customer: Vec<i64> = (0..n).map(|i| ((i * 7919) % n_customers) as i64).collect();
        let day: Vec<i64> = (0..n as i64).map(|i| i / 1000).collect();
        let amount: Vec<f64> = (0..n).map(|i| if i % 5 == 0 { -1.0 } else { i as f64 }).collect();
        let whole = Transactions::new(&customer, &day, &amount, n_customers, ReturnsPolicy::Drop).unwrap();
        let pieces = Transactions::from_pieces(
            &[&customer[..70_001], &customer[70_001..70_001], &customer[70_001..]],
            &[&day[..3], &day[3..200_000], &day[200_000..]],
            &[&amount[..150_000], &amount[150_000..299_999], &amount[299_999..], &amount[n..]],
            n_customers,
            ReturnsPolicy::Drop,
            Encoding::default(),
        )
        .unwrap();
        for (tx, threads) in [(&whole, 1), (&whole, 3), (&pieces, 1), (&pieces, 3)] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let b = pool.install(|| Buckets::new(tx));
            assert_eq!((b.len(), b.shift()), (5, 10));
            let mut rows = Vec::new();
            for k in 0..b.len() {
                let lo = b.customers(k).start;
                let bucket: Vec<(usize, i32, f64)> = b
                    .segments(k)
                    .flat_map(|(r, o)| {
                        assert!(o.is_empty());
                        r.iter()
                    })
                    .map(|r| (lo + r.local as usize, r.day, r.amount))
                    .collect();
                assert_eq!(bucket.len(), b.n_rows(k));
                rows.extend(bucket);
            }
            let expected: Vec<(usize, i32, f64)> = {
                let mut kept: Vec<(usize, i32, f64)> = (0..n)
                    .filter(|&i| amount[i] >= 0.0)
                    .map(|i| (customer[i] as usize, day[i] as i32, amount[i]))
                    .collect();
                kept.sort_by_key(|r| r.0 >> 10); // stable: log order within a bucket
                kept
            };
            assert_eq!(rows, expected);
        }
        assert_eq!(b_len_for(3 << 20), 1536);
    }

    fn b_len_for(n_customers: usize) -> usize {
        let tx = Transactions::new(&[0], &[1], &[1.0], n_customers, ReturnsPolicy::Net).unwrap();
        Buckets::new(&tx).len()
    }
}
