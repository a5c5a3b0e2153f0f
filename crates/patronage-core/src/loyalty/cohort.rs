//! The cohort x age retention matrix.

use std::str::FromStr;

use crate::calendar::{iso_date, Period};
use crate::error::{DataError, Field, ParamError, Result};
use crate::groups::{net, visits, CustomerGroups};
use crate::loyalty::{per_chunk, PeriodIndexer};

/// What a cohort cell measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CohortMetric {
    /// Distinct customers of the cohort with a purchase at that age.
    Customers,
    /// Net revenue of the cohort's purchases at that age (each return counts
    /// with the purchase day it is matched to, see [`crate::transactions`]).
    Revenue,
}

impl FromStr for CohortMetric {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        match s {
            "customers" => Ok(CohortMetric::Customers),
            "revenue" => Ok(CohortMetric::Revenue),
            other => {
                Err(ParamError::new("metric", format!("expected 'customers' or 'revenue', got {other:?}")))
            }
        }
    }
}

/// Rows are acquisition cohorts (period of the first purchase), columns are ages
/// in periods since that first period. Cells beyond the last period of the log
/// have not been observed yet and are NaN; observed cells without activity are 0.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortMatrix {
    /// First day of each cohort's period (cohorts without customers are left out).
    pub cohort_start: Vec<i64>,
    /// Customers acquired in each cohort.
    pub cohort_size: Vec<i64>,
    /// Number of age columns (`0..n_ages`).
    pub n_ages: usize,
    /// Row-major `cohorts x n_ages` values.
    pub values: Vec<f64>,
}

/// Above this many cells (2,000 periods: daily periods over more than five
/// years) the matrix is more likely a mistake than something to look at.
const MAX_CELLS: usize = 4_000_000;

/// Builds the cohort matrix in one pass over the customer groups.
///
/// With `normalize`, customer cells are divided by the cohort size (so age 0
/// is one) and revenue cells by the cohort's revenue at age 0; a cohort whose
/// revenue at age 0 is not positive, or is zero up to rounding (the rule of
/// [`net`], applied to the cohort: its customers' purchase-day spends can
/// cancel, 0.3 bought by one and 0.3 net returned by another leave 5.6e-17,
/// and a cohort normalized by it would show retention of 1e17), or is so small
/// that a ratio overflows, cannot be normalized and is an error.
pub fn cohort_retention(
    groups: &CustomerGroups,
    period: Period,
    metric: CohortMetric,
    normalize: bool,
    first_day: i64,
    last_day: i64,
) -> Result<CohortMatrix> {
    let first = period.ordinal(first_day);
    let last = period.ordinal(last_day);
    let n = (last - first + 1) as usize;
    if n.saturating_mul(n) > MAX_CELLS {
        return Err(ParamError::new(
            "period",
            format!("{n} periods give a {n} x {n} matrix; use a coarser period"),
        )
        .into());
    }
    let index = PeriodIndexer::new(period, first_day, last_day);
    let chunks = per_chunk(
        groups.n_customers(),
        n * n * 8 + n * 16,
        || (vec![0.0f64; n * n], vec![0i64; n], vec![0.0f64; n], Vec::new()),
        |acc, c| {
            let g = groups.get(c);
            // orders open on purchase days, in day order
            let mut opened = g.iter().filter(|e| e.opens_order());
            let Some(head) = opened.next() else {
                return;
            };
            let cohort = index.position(head.day());
            acc.1[cohort] += 1;
            let row = &mut acc.0[cohort * n..(cohort + 1) * n];
            match metric {
                CohortMetric::Customers => {
                    row[0] += 1.0;
                    let mut prev = 0;
                    for e in opened {
                        let age = index.position(e.day()) - cohort;
                        if age != prev {
                            row[age] += 1.0;
                            prev = age;
                        }
                    }
                }
                CohortMetric::Revenue => {
                    let days = &mut acc.3;
                    visits(g, days);
                    for v in days.iter() {
                        let age = index.position(v.day) - cohort;
                        row[age] += v.spend;
                        if age == 0 {
                            acc.2[cohort] += v.volume();
                        }
                    }
                }
            }
        },
    );
    let (mut cells, mut sizes, mut gross) = (vec![0.0f64; n * n], vec![0i64; n], vec![0.0f64; n]);
    for (chunk_cells, chunk_sizes, chunk_gross, _) in chunks {
        cells.iter_mut().zip(chunk_cells).for_each(|(x, y)| *x += y);
        sizes.iter_mut().zip(chunk_sizes).for_each(|(x, y)| *x += y);
        gross.iter_mut().zip(chunk_gross).for_each(|(x, y)| *x += y);
    }
    let mut out =
        CohortMatrix { cohort_start: Vec::new(), cohort_size: Vec::new(), n_ages: n, values: Vec::new() };
    for (k, &size) in sizes.iter().enumerate().filter(|(_, &s)| s > 0) {
        let row = &cells[k * n..(k + 1) * n];
        let denominator = match (normalize, metric) {
            (false, _) => 1.0,
            (true, CohortMetric::Customers) => size as f64,
            (true, CohortMetric::Revenue) => row[0],
        };
        let start = period.start_day(first + k as i64);
        let cannot = |why: &str| -> crate::Error {
            DataError::Invalid {
                field: Field::Amount,
                row: None,
                reason: format!(
                    "the cohort starting {} has a first-period revenue of {}{why}, which cannot be \
                     normalized; use normalize=False",
                    iso_date(start),
                    row[0]
                ),
            }
            .into()
        };
        if denominator.is_nan() || denominator <= 0.0 {
            return Err(cannot(""));
        }
        if metric == CohortMetric::Revenue && normalize && net(denominator, gross[k]) == 0.0 {
            return Err(cannot(&format!(
                " (zero up to rounding: its amounts sum to {} in absolute value)",
                gross[k]
            )));
        }
        // ages beyond the last period have not been observed yet
        let observed = n - k;
        let values: Vec<f64> = row
            .iter()
            .enumerate()
            .map(|(age, &v)| if age < observed { v / denominator } else { f64::NAN })
            .collect();
        if values[..observed].iter().any(|v| !v.is_finite()) {
            return Err(cannot(" (so small that later revenue divided by it overflows)"));
        }
        out.cohort_start.push(start);
        out.cohort_size.push(size);
        out.values.extend(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ReturnsPolicy, Transactions};

    #[test]
    fn cohort_matrix_by_hand() {
        // Daily periods 0..=2. Cohort 0: c0 (days 0, 0, 2), c1 (day 0).
        // Cohort 1: c2 (days 1, 2). No cohort starts on day 2.
        let c = [0, 0, 1, 2, 0, 2];
        let d = [0, 0, 0, 1, 2, 2];
        let a = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        let tx = Transactions::new(&c, &d, &a, 3, ReturnsPolicy::Net).unwrap();
        let g = CustomerGroups::new(&tx);
        let m = cohort_retention(&g, Period::Day, CohortMetric::Customers, false, 0, 2).unwrap();
        assert_eq!(m.cohort_start, vec![0, 1]);
        assert_eq!(m.cohort_size, vec![2, 1]);
        assert_eq!(&m.values[..3], &[2.0, 0.0, 1.0]);
        assert_eq!(&m.values[3..5], &[1.0, 1.0]);
        assert!(m.values[5].is_nan());
        let m = cohort_retention(&g, Period::Day, CohortMetric::Revenue, true, 0, 2).unwrap();
        assert_eq!(&m.values[..3], &[1.0, 0.0, 16.0 / 7.0]);
        assert_eq!(&m.values[3..5], &[1.0, 4.0]);
    }

    #[test]
    fn returns_net_into_the_age_of_their_purchase() {
        // c0 buys on day 0 (10) and returns 4 on day 2 (a return-only day: age 0 revenue 6, and
        // c0 is not active at age 2); c1 returns on day 0 (before buying: ignored), buys day 1
        let tx =
            Transactions::new(&[0, 0, 1, 1], &[0, 2, 0, 1], &[10.0, -4.0, -3.0, 5.0], 2, ReturnsPolicy::Net)
                .unwrap();
        let g = CustomerGroups::new(&tx);
        let m = cohort_retention(&g, Period::Day, CohortMetric::Revenue, false, 0, 2).unwrap();
        assert_eq!(m.cohort_start, vec![0, 1]);
        assert_eq!(&m.values[..3], &[6.0, 0.0, 0.0]);
        assert_eq!(&m.values[3..5], &[5.0, 0.0]);
        let m = cohort_retention(&g, Period::Day, CohortMetric::Customers, false, 0, 2).unwrap();
        assert_eq!(&m.values[..3], &[1.0, 0.0, 0.0]);
    }

    #[test]
    fn revenue_sums_do_not_depend_on_the_thread_count() {
        // 20,000 customers (several chunks), amounts whose sums depend on the order of addition
        let n = 20_000usize;
        let c: Vec<i64> = (0..3 * n as i64).map(|i| i % n as i64).collect();
        let d: Vec<i64> = (0..3 * n as i64).map(|i| (i * 37) % 90 + (i % n as i64) % 30).collect();
        let a: Vec<f64> = (0..3 * n).map(|i| 1.0 / (1.0 + i as f64) + 1e6 * (i % 7) as f64).collect();
        let tx = Transactions::new(&c, &d, &a, n, ReturnsPolicy::Net).unwrap();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let g = CustomerGroups::new(&tx);
                cohort_retention(
                    &g,
                    Period::Week,
                    CohortMetric::Revenue,
                    false,
                    tx.first_day(),
                    tx.last_day(),
                )
                .unwrap()
            })
        };
        let one = run(1);
        let bits = |m: &CohortMatrix| m.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one), bits(&run(3)));
    }

    #[test]
    fn rejects_each_rule() {
        // a return on day 1 nets into the day-0 purchase: age-0 revenue -1
        let tx = Transactions::new(&[0, 0], &[0, 1], &[1.0, -2.0], 1, ReturnsPolicy::Net).unwrap();
        let g = CustomerGroups::new(&tx);
        assert!(matches!(
            cohort_retention(&g, Period::Day, CohortMetric::Revenue, true, 0, 1),
            Err(Error::Data(DataError::Invalid { field: Field::Amount, .. }))
        ));
        assert!(matches!(
            cohort_retention(&g, Period::Day, CohortMetric::Customers, true, 0, 100_000),
            Err(Error::Param(ParamError { name: "period", .. }))
        ));
        assert!(matches!("x".parse::<CohortMetric>(), Err(ParamError { name: "metric", .. })));
    }

    /// First-period revenues that once gave inf or absurd cells: a subnormal
    /// amount (1 / 5e-324 overflows), a net of zero up to rounding within one
    /// customer (0.1 + 0.2 - 0.3: its purchase day nets to exactly 0) and across
    /// customers (0.1 + 0.2 bought by one, 0.3 - 0.6 by another: 5.6e-17, which
    /// would show a retention of 1.8e17).
    #[test]
    fn unnormalizable_first_period_revenue_is_an_error() {
        type Case<'a> = (&'a [i64], &'a [i64], &'a [f64], &'a str);
        let cases: [Case; 3] = [
            (&[0, 0, 0, 0], &[0, 0, 0, 9], &[5e-324, 0.0, 0.0, 1.0], "overflows"),
            (&[0, 0, 0, 0], &[0, 0, 0, 9], &[0.1, 0.2, -0.3, 10.0], "revenue of 0,"),
            (&[0, 0, 1, 1, 0], &[0, 0, 0, 0, 9], &[0.1, 0.2, 0.3, -0.6, 10.0], "zero up to rounding"),
        ];
        for (c, d, amounts, why) in cases {
            let tx = Transactions::new(c, d, amounts, 2, ReturnsPolicy::Net).unwrap();
            let g = CohortMetric::Revenue;
            let err = cohort_retention(&CustomerGroups::new(&tx), Period::Week, g, true, 0, 9).unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
            // without normalizing, the cells are the sums
            let m = cohort_retention(&CustomerGroups::new(&tx), Period::Week, g, false, 0, 9).unwrap();
            assert_eq!(m.values[1], *amounts.last().unwrap());
        }
    }
}
