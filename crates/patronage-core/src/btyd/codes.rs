//! The rows of a summary as codes into their distinct frequencies,
//! recencies, ages and `(x, T)` pairs: predictions compute the terms of each
//! distinct value (logarithms, conditional expectations) once.
//!
//! Whole-number summaries (days, weeks) can skip the coding: their values
//! are their own table keys ([`WholeKeys`]), and a [`LazyTable`] computes a
//! cell when the first row that needs it reads it, in the one pass over the
//! rows that makes the predictions.
//!
//! A table built on these codes holds, for each distinct value, a number
//! computed from that value alone (never relative to another row, such as the
//! batch's largest `T`), so a row's prediction has the same bits whatever
//! rows share its batch: a Dask or Spark partition gives what the whole table
//! gives.

use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashMap;
use rayon::prelude::*;

use super::bgnbd::{distinct_times, distinct_whole, CHUNK};
use super::data::{RfmData, WholeRange};
use crate::interrupt;

/// Row codes of a summary (see the module docs).
pub(crate) struct Codes<'a> {
    f: &'a [f64],
    rec: &'a [f64],
    age: &'a [f64],
    pub xs: Vec<f64>,
    pub recs: Vec<f64>,
    pub ts: Vec<f64>,
    /// The distinct `(x, T)` pairs, as codes into `xs` and `ts`.
    pub pairs: Vec<(u32, u32)>,
    index: Index,
}

enum Index {
    /// Whole numbers in a small range (summaries in days or weeks): the
    /// values are their own codes, `slot[x * ts.len() + T]` the pair, and
    /// `recency_keys` the distinct `x * ts.len() + t_x` in increasing order.
    Direct { keys: WholeKeys, slot: Vec<u32>, recency_keys: Vec<usize> },
    /// First-seen codes of each column and of the pairs.
    Coded { x: Vec<u32>, rec: Vec<u32>, t: Vec<u32>, pair: Vec<u32> },
}

/// The largest table of `(x, T)` cells indexed directly for `n` rows.
pub(crate) fn direct_space(n: usize) -> usize {
    (4 * n).clamp(1 << 20, 1 << 25)
}

/// Blocks of rows that mark the distinct pairs of the direct index.
const MARK_BLOCKS: usize = 8;

/// A whole number `0 <= v < 2^52` as an index: its bits after adding
/// 2^52 (no saturating float-to-integer conversion in the row loops).
#[inline]
pub(crate) fn whole_index(v: f64) -> usize {
    ((v + 4_503_599_627_370_496.0).to_bits() & ((1 << 52) - 1)) as usize
}

impl<'a> Codes<'a> {
    pub(crate) fn new(data: &RfmData<'a>) -> Codes<'a> {
        let (f, rec, age) = (data.frequency(), data.recency(), data.t());
        let n = f.len();
        if let Some(range) = data.whole_range() {
            let (keys, space) = WholeKeys::new(range);
            let (max_x, max_t) = (range.max_x, range.max_t);
            if space <= direct_space(n) {
                let (slot, pairs, recency_keys) = direct_pairs(f, rec, age, keys, space);
                let values = |max: usize| (0..=max).map(|k| k as f64).collect();
                let (xs, ts) = (values(max_x), values(max_t));
                return Codes {
                    f,
                    rec,
                    age,
                    xs,
                    recs: ts.clone(),
                    ts,
                    pairs,
                    index: Index::Direct { keys, slot, recency_keys },
                };
            }
        }
        let ((x, xs), (rec_code, recs), (t, ts)) =
            (distinct_whole(f), distinct_times(rec), distinct_times(age));
        let n_t = ts.len();
        let key = |i: usize| x[i] as usize * n_t + t[i] as usize;
        let mut pairs = Vec::new();
        let mut first_seen = |slot: &mut u32, i: usize| {
            if *slot == u32::MAX {
                *slot = pairs.len() as u32;
                pairs.push((x[i], t[i]));
            }
            *slot
        };
        let space = xs.len() as u128 * n_t as u128;
        let pair = if space <= direct_space(n) as u128 {
            let mut slot = vec![u32::MAX; space as usize];
            (0..n).map(|i| first_seen(&mut slot[key(i)], i)).collect()
        } else {
            let mut seen: HashMap<usize, u32> = HashMap::new();
            (0..n).map(|i| first_seen(seen.entry(key(i)).or_insert(u32::MAX), i)).collect()
        };
        Codes { f, rec, age, xs, recs, ts, pairs, index: Index::Coded { x, rec: rec_code, t, pair } }
    }

    /// The codes of row `i`'s frequency, recency and age.
    #[inline]
    pub(crate) fn values(&self, i: usize) -> (usize, usize, usize) {
        match &self.index {
            Index::Direct { .. } => {
                (whole_index(self.f[i]), whole_index(self.rec[i]), whole_index(self.age[i]))
            }
            Index::Coded { x, rec, t, .. } => (x[i] as usize, rec[i] as usize, t[i] as usize),
        }
    }

    /// The `(x, T)` pair of row `i` (an index into [`Codes::pairs`]).
    #[inline]
    pub(crate) fn pair(&self, i: usize) -> usize {
        match &self.index {
            Index::Direct { keys, slot, .. } => slot[keys.of(self.f[i], self.rec[i], self.age[i]).0] as usize,
            Index::Coded { pair, .. } => pair[i] as usize,
        }
    }

    /// With the direct index, the distinct `(x, t_x)` as keys
    /// `x * ts.len() + t_x` (see [`Codes::recency_key`]), in increasing order.
    pub(crate) fn recency_keys(&self) -> Option<&[usize]> {
        match &self.index {
            Index::Direct { recency_keys, .. } => Some(recency_keys),
            Index::Coded { .. } => None,
        }
    }

    /// Row `i`'s key among [`Codes::recency_keys`] (direct index only).
    #[inline]
    pub(crate) fn recency_key(&self, i: usize) -> usize {
        WholeKeys { n_t: self.ts.len() }.of(self.f[i], self.rec[i], self.age[i]).1
    }

    /// The values `(x, T)` of pair `k`.
    pub(crate) fn pair_values(&self, k: usize) -> (f64, f64) {
        let (x, t) = self.pairs[k];
        (self.xs[x as usize], self.ts[t as usize])
    }

    /// The first row whose pair satisfies `bad` (to name a row in an error).
    pub(crate) fn first_row(&self, bad: impl Fn(usize) -> bool) -> Option<usize> {
        (0..self.f.len()).find(|&i| bad(self.pair(i)))
    }
}

/// The `(x, T)` pairs present among the rows, in increasing order of
/// `x * n_t + T`, the slot table from that key to the pair's index, and the
/// keys `x * n_t + t_x` present, in increasing order. A set does not depend
/// on how its members were found, so neither do the codes.
fn direct_pairs(
    f: &[f64],
    rec: &[f64],
    age: &[f64],
    keys: WholeKeys,
    space: usize,
) -> (Vec<u32>, Vec<(u32, u32)>, Vec<usize>) {
    let (n, n_t) = (f.len(), keys.times());
    // a few blocks of rows, each marking its own bit sets (plain stores),
    // merged by OR: the sets are the same however the rows are split
    let rows = n.div_ceil(MARK_BLOCKS).max(CHUNK);
    let words = space.div_ceil(64);
    let (at_t, at_tx) = (0..n.div_ceil(rows))
        .into_par_iter()
        .map(|b| {
            let (mut at_t, mut at_tx) = (vec![0u64; words], vec![0u64; words]);
            for i in b * rows..((b + 1) * rows).min(n) {
                let (k_t, k_tx) = keys.of(f[i], rec[i], age[i]);
                at_t[k_t / 64] |= 1 << (k_t % 64);
                at_tx[k_tx / 64] |= 1 << (k_tx % 64);
            }
            (at_t, at_tx)
        })
        .reduce(
            || (vec![0u64; words], vec![0u64; words]),
            |mut a, b| {
                a.0.iter_mut().zip(&b.0).for_each(|(x, y)| *x |= y);
                a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x |= y);
                a
            },
        );
    let members = |set: Vec<u64>| -> Vec<usize> {
        let mut keys = Vec::new();
        for (w, mut bits) in set.into_iter().enumerate() {
            while bits != 0 {
                keys.push(w * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
        keys
    };
    let mut slot = vec![u32::MAX; space];
    let pairs = members(at_t)
        .into_iter()
        .enumerate()
        .map(|(k, key)| {
            slot[key] = k as u32;
            ((key / n_t) as u32, (key % n_t) as u32)
        })
        .collect();
    (slot, pairs, members(at_tx))
}

/// A table of `N` numbers per cell, each cell computed by the first row that
/// needs it: predictions over a whole-number summary
/// ([`super::data::WholeRange`]) key their terms by the row's own values and
/// skip a pass that would find which cells are present. A cell's numbers
/// depend on its key only, so two threads that fill the same cell store the
/// same bits.
pub(crate) struct LazyTable<const N: usize>(Vec<[AtomicU64; N]>);

/// An empty cell: a signalling NaN, which no arithmetic produces (computed
/// NaNs are stored as [`f64::NAN`]).
const EMPTY: u64 = 0x7ff0_0000_0000_0001;

impl<const N: usize> LazyTable<N> {
    pub(crate) fn new(len: usize) -> Self {
        LazyTable((0..len).map(|_| std::array::from_fn(|_| AtomicU64::new(EMPTY))).collect())
    }

    /// The cells, to read and fill ([`Cells::get`]).
    pub(crate) fn cells(&self) -> Cells<'_, N> {
        Cells(&self.0)
    }
}

/// The cells of a [`LazyTable`]: the slice itself (pointer and length),
/// which the row loops read without going through the table.
#[derive(Clone, Copy)]
pub(crate) struct Cells<'a, const N: usize>(&'a [[AtomicU64; N]]);

impl<const N: usize> Cells<'_, N> {
    /// Cell `key`, computed as `value(args)` if empty. `value` is made once,
    /// before the rows are read, and each row passes only its own numbers:
    /// a closure made per row would be built (its captures stored) by rows
    /// whose cell is already there. A cell's last number is stored last
    /// (release) and read first (acquire): once it is there, so are the
    /// others.
    #[inline]
    pub(crate) fn get<A>(&self, key: usize, args: A, value: &impl Fn(A) -> [f64; N]) -> [f64; N] {
        let cell = &self.0[key];
        match cell[N - 1].load(Ordering::Acquire) {
            EMPTY => Self::fill(cell, args, value),
            last => std::array::from_fn(|k| {
                if k == N - 1 {
                    f64::from_bits(last)
                } else {
                    f64::from_bits(cell[k].load(Ordering::Relaxed))
                }
            }),
        }
    }

    #[cold]
    #[inline(never)]
    fn fill<A>(cell: &[AtomicU64; N], args: A, value: &impl Fn(A) -> [f64; N]) -> [f64; N] {
        let v = value(args).map(|v| if v.is_nan() { f64::NAN } else { v });
        for k in 0..N {
            let order = if k == N - 1 { Ordering::Release } else { Ordering::Relaxed };
            cell[k].store(v[k].to_bits(), order);
        }
        v
    }
}

/// The table keys of a whole-number summary's rows: `x * (max T + 1) + T`
/// and `x * (max T + 1) + t_x`.
#[derive(Clone, Copy)]
pub(crate) struct WholeKeys {
    n_t: usize,
}

impl WholeKeys {
    /// The keys of `range`, and the number of cells of a table over them.
    pub(crate) fn new(range: WholeRange) -> (WholeKeys, usize) {
        let n_t = range.max_t + 1;
        (WholeKeys { n_t }, (range.max_x + 1) * n_t)
    }

    /// The number of whole times `0..=max T`.
    pub(crate) fn times(&self) -> usize {
        self.n_t
    }

    /// The keys of `(x, T)` and `(x, t_x)`.
    #[inline]
    pub(crate) fn of(&self, x: f64, t_x: f64, t: f64) -> (usize, usize) {
        // in floating point, exact (whole numbers below 2^34): fewer
        // instructions than three conversions and an integer product
        let row = x * self.n_t as f64;
        (whole_index(row + t), whole_index(row + t_x))
    }
}

/// Whether tables over `cells` keys ([`LazyTable`]) pay for `n` rows: their
/// cells are allocated and emptied before the rows are read.
fn lazy_tables_pay(cells: usize, n: usize) -> bool {
    cells <= n.max(1 << 16)
}

/// The rows of a whole-number summary ([`super::data::WholeRange`]) with
/// their table keys, for the one pass of a prediction over [`LazyTable`]s.
pub(crate) struct WholeRows<'a> {
    f: &'a [f64],
    rec: &'a [f64],
    age: &'a [f64],
    keys: WholeKeys,
}

impl<'a> WholeRows<'a> {
    /// The rows of `data` and the number of cells of a table over their
    /// keys; `None` when `data` is not a whole-number summary or tables
    /// would not pay.
    pub(crate) fn new(data: &RfmData<'a>) -> Option<(WholeRows<'a>, usize)> {
        let (keys, cells) = WholeKeys::new(data.whole_range()?);
        lazy_tables_pay(cells, data.len())
            .then_some((WholeRows { f: data.frequency(), rec: data.recency(), age: data.t(), keys }, cells))
    }

    /// The number of whole times `0..=max T` (the keys of a table by time).
    pub(crate) fn times(&self) -> usize {
        self.keys.times()
    }

    /// The keys of row `i` (see [`WholeKeys::of`]).
    pub(crate) fn keys_of(&self, i: usize) -> (usize, usize) {
        self.keys.of(self.f[i], self.rec[i], self.age[i])
    }

    /// Each row's `row(x, t_x, T, key of (x, T), key of (x, t_x))`, in
    /// parallel chunks. Stops between chunks on an interrupt (the first rows
    /// may fill cells that each take a series or a quadrature): the caller
    /// then checks [`interrupt::check`].
    pub(crate) fn map(&self, row: impl Fn(f64, f64, f64, usize, usize) -> f64 + Sync + Copy) -> Vec<f64> {
        let stop = interrupt::current();
        let mut out = vec![0.0; self.f.len()];
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
            if stop.is_raised() {
                return;
            }
            let rows = c * CHUNK..c * CHUNK + chunk.len();
            let columns = self.f[rows.clone()].iter().zip(&self.rec[rows.clone()]).zip(&self.age[rows]);
            // copies local to the chunk, which the (cold) calls that fill
            // cells cannot change: the loop need not reload them
            let (keys, row) = (self.keys, row);
            // iterators, not indices: no bounds checks in the loop
            for (v, ((&x, &t_x), &t)) in chunk.iter_mut().zip(columns) {
                let (k_t, k_tx) = keys.of(x, t_x, t);
                *v = row(x, t_x, t, k_t, k_tx);
            }
        });
        out
    }
}
