//! Repurchase rate and period-over-period retention, one pass over the
//! customer groups.

use rayon::prelude::*;

use crate::calendar::{check_duration, Period};
use crate::error::{ParamError, Result};
use crate::groups::CustomerGroups;
use crate::loyalty::{per_chunk, PeriodIndexer};

/// Who came back for a second order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repurchase {
    /// Customers counted (with `within`, those observed for `within` days after
    /// their first purchase).
    pub customers: i64,
    /// Of those, customers with a second purchase day (within the window).
    pub repeat_customers: i64,
    /// Customers left out because their window runs past the end of the log.
    pub censored: i64,
}

/// Counts customers with a second purchase day (a return is never a purchase;
/// a second order on the first day is not a repurchase). With `within =
/// Some(w)` the second purchase day must come at most `w` days after the
/// first, and customers whose first purchase is less than `w` days before
/// `end_day` (the last day of the log) are censored: they have not had the
/// whole window yet.
pub fn repurchase(groups: &CustomerGroups, within: Option<i64>, end_day: i64) -> Result<Repurchase> {
    if let Some(w) = within {
        if w < 1 {
            return Err(ParamError::new("within", format!("must be at least 1 day, got {w}")).into());
        }
        check_duration("within", w)?;
    }
    let (customers, repeat, censored) = (0..groups.n_customers())
        .into_par_iter()
        .with_min_len(4096)
        .map(|c| {
            let mut purchases = groups.get(c).iter().filter(|e| e.opens_order()).map(|e| e.day());
            let Some(first) = purchases.next() else {
                return (0, 0, 0);
            };
            let second = purchases.find(|&d| d != first);
            match within {
                None => (1, second.is_some() as i64, 0),
                Some(w) if first + w > end_day => (0, 0, 1),
                Some(w) => (1, second.is_some_and(|d| d - first <= w) as i64, 0),
            }
        })
        .reduce(|| (0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    Ok(Repurchase { customers, repeat_customers: repeat, censored })
}

/// Customer counts per calendar period, from the first to the last period of
/// the log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodRetention {
    /// First day of each period.
    pub period_start: Vec<i64>,
    /// Customers with a purchase in the period.
    pub active: Vec<i64>,
    /// Of those, customers whose first purchase is in the period.
    pub new: Vec<i64>,
    /// Customers active in both the previous period and this one.
    pub retained: Vec<i64>,
    /// Customers active now, not in the previous period, and not new.
    pub returning: Vec<i64>,
}

/// Period-over-period activity: each customer's distinct purchase periods
/// are visited once, in order (returns are not activity).
pub fn period_retention(
    groups: &CustomerGroups,
    period: Period,
    first_day: i64,
    last_day: i64,
) -> PeriodRetention {
    let first = period.ordinal(first_day);
    let n = (period.ordinal(last_day) - first + 1) as usize;
    let index = PeriodIndexer::new(period, first_day, last_day);
    // [active, new, retained, returning] per period
    let chunks = per_chunk(
        groups.n_customers(),
        n * 32,
        || vec![[0i64; 4]; n],
        |acc, c| {
            let mut prev: Option<usize> = None;
            for e in groups.get(c).iter().filter(|e| e.opens_order()) {
                let p = index.position(e.day());
                if prev == Some(p) {
                    continue;
                }
                let slot = &mut acc[p];
                slot[0] += 1;
                match prev {
                    None => slot[1] += 1,
                    Some(q) if q + 1 == p => slot[2] += 1,
                    Some(_) => slot[3] += 1,
                }
                prev = Some(p);
            }
        },
    );
    let mut counts = vec![[0i64; 4]; n];
    for chunk in chunks {
        for (x, y) in counts.iter_mut().zip(chunk) {
            for k in 0..4 {
                x[k] += y[k];
            }
        }
    }
    let mut r = PeriodRetention::default();
    for (i, k) in counts.iter().enumerate() {
        r.period_start.push(period.start_day(first + i as i64));
        r.active.push(k[0]);
        r.new.push(k[1]);
        r.retained.push(k[2]);
        r.returning.push(k[3]);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ReturnsPolicy, Transactions};

    fn groups(c: &[i64], d: &[i64], n: usize) -> CustomerGroups {
        let a = vec![1.0; c.len()];
        CustomerGroups::new(&Transactions::new(c, d, &a, n, ReturnsPolicy::Net).unwrap())
    }

    #[test]
    fn repurchase_by_hand() {
        // c0: days 0, 0, 5 (repeat after 5); c1: day 2 only; c2: days 3, 40.
        let g = groups(&[0, 0, 1, 2, 0, 2], &[0, 0, 2, 3, 5, 40], 3);
        assert_eq!(
            repurchase(&g, None, 40).unwrap(),
            Repurchase { customers: 3, repeat_customers: 2, censored: 0 }
        );
        // 10-day window ending by day 40: all observed; c2's repeat is too late.
        let r = repurchase(&g, Some(10), 40).unwrap();
        assert_eq!((r.customers, r.repeat_customers, r.censored), (3, 1, 0));
        // 38-day window: c1 (2 + 38 = 40) observed, c2 (3 + 38 > 40) censored.
        let r = repurchase(&g, Some(38), 40).unwrap();
        assert_eq!((r.customers, r.repeat_customers, r.censored), (2, 1, 1));
        assert!(matches!(repurchase(&g, Some(0), 40), Err(Error::Param(ParamError { name: "within", .. }))));
    }

    #[test]
    fn returns_are_not_activity() {
        // c0 buys on day 0 and only returns on days 1 and 2; c1 returns on day 0, buys on day 2
        let tx = Transactions::new(
            &[0, 0, 0, 1, 1],
            &[0, 1, 2, 0, 2],
            &[5.0, -1.0, -1.0, -2.0, 3.0],
            2,
            ReturnsPolicy::Net,
        )
        .unwrap();
        let g = CustomerGroups::new(&tx);
        assert_eq!(
            repurchase(&g, None, 2).unwrap(),
            Repurchase { customers: 2, repeat_customers: 0, censored: 0 }
        );
        let r = period_retention(&g, Period::Day, 0, 2);
        assert_eq!(r.active, vec![1, 0, 1]);
        assert_eq!(r.new, vec![1, 0, 1]);
    }

    #[test]
    fn period_retention_by_hand() {
        // daily periods 0..=3. c0: 0, 1, 3; c1: 1, 2; c2: 3.
        let g = groups(&[0, 0, 0, 1, 1, 2], &[0, 1, 3, 1, 2, 3], 3);
        let r = period_retention(&g, Period::Day, 0, 3);
        assert_eq!(r.period_start, vec![0, 1, 2, 3]);
        assert_eq!(r.active, vec![1, 2, 1, 2]);
        assert_eq!(r.new, vec![1, 1, 0, 1]);
        assert_eq!(r.retained, vec![0, 1, 1, 0]);
        assert_eq!(r.returning, vec![0, 0, 0, 1]);
    }
}
