//! Loyalty: survey metrics (NPS, CSAT, CES) with confidence intervals, and the
//! behavioural loyalty read off the transaction log in one pass per customer:
//! repurchase and period-over-period retention, the cohort x age matrix,
//! revenue concentration (Pareto share, Lorenz curve, Gini) and lifecycle
//! stages relative to each customer's own purchase rhythm.

mod cohort;
mod lifecycle;
mod pareto;
mod retention;
mod survey;

pub use cohort::{cohort_retention, CohortMatrix, CohortMetric};
pub use lifecycle::{
    lifecycle_stages, LifecycleParams, LifecycleTable, Rhythm, Stage, ValidLifecycleParams, NOT_ACQUIRED,
};
pub use pareto::{concentration, Concentration};
pub use retention::{period_retention, repurchase, PeriodRetention, Repurchase};
pub use survey::{mean_stats, nps_stats, share_stats, tally, MeanStats, NpsStats, ShareStats, Tally};

use rayon::prelude::*;

/// Runs `visit` over every customer code in a fixed number of contiguous chunks
/// (a function of `n_customers` and `accumulator_bytes` only, never of the
/// thread count), each with its own accumulator, and returns the accumulators
/// in chunk order. Summing them in that order keeps floating-point totals
/// identical whatever the thread count. Large accumulators get fewer chunks so
/// that all of them together stay within about 256 MB.
fn per_chunk<T, I, V>(n_customers: usize, accumulator_bytes: usize, init: I, visit: V) -> Vec<T>
where
    T: Send,
    I: Fn() -> T + Sync,
    V: Fn(&mut T, usize) + Sync,
{
    const MIN_CHUNK: usize = 4096;
    const MAX_CHUNKS: usize = 32;
    const MEMORY: usize = 256 << 20;
    let affordable = (MEMORY / accumulator_bytes.max(1)).clamp(1, MAX_CHUNKS);
    let n_chunks = n_customers.div_ceil(MIN_CHUNK).clamp(1, affordable);
    let size = n_customers.div_ceil(n_chunks).max(1);
    (0..n_chunks)
        .into_par_iter()
        .map(|k| {
            let mut acc = init();
            for c in k * size..((k + 1) * size).min(n_customers) {
                visit(&mut acc, c);
            }
            acc
        })
        .collect()
}

/// Period positions of every day of the log, looked up instead of recomputed
/// per transaction (a calendar-month ordinal costs a civil-date conversion).
struct PeriodLookup {
    first_day: i64,
    /// `index[d - first_day]`: position of day `d`'s period from the first period.
    index: Vec<u32>,
}

impl PeriodLookup {
    /// Days beyond this span are computed directly instead (a table of 16 MB).
    const MAX_DAYS: i64 = 4_000_000;

    fn new(period: crate::calendar::Period, first_day: i64, last_day: i64) -> Option<Self> {
        let span = last_day - first_day + 1;
        if span > Self::MAX_DAYS {
            return None;
        }
        let first = period.ordinal(first_day);
        let index = (first_day..=last_day).map(|d| (period.ordinal(d) - first) as u32).collect();
        Some(PeriodLookup { first_day, index })
    }
}

/// Position of a day's period from the period of `first_day`.
struct PeriodIndexer {
    period: crate::calendar::Period,
    first: i64,
    lookup: Option<PeriodLookup>,
}

impl PeriodIndexer {
    fn new(period: crate::calendar::Period, first_day: i64, last_day: i64) -> Self {
        PeriodIndexer {
            period,
            first: period.ordinal(first_day),
            lookup: PeriodLookup::new(period, first_day, last_day),
        }
    }

    /// Position of `day`'s period (`day` within the log's span).
    #[inline]
    fn position(&self, day: i64) -> usize {
        match &self.lookup {
            Some(l) => l.index[(day - l.first_day) as usize] as usize,
            None => (self.period.ordinal(day) - self.first) as usize,
        }
    }
}
