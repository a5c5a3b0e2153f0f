//! The per-customer RFM profile table.

use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::groups::{CustomerGroups, Entry};
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

/// Profile of one customer's day-sorted transactions.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Profile {
    first_day: i64,
    last_day: i64,
    n_orders: i64,
    n_transactions: i64,
    total_spend: f64,
    mean_gap: f64,
    std_gap: f64,
    n_returns: i64,
    returned_amount: f64,
}

fn profile(g: &[Entry]) -> Profile {
    let (mut n_orders, mut total, mut n_returns, mut returned) = (0i64, 0.0, 0i64, 0.0);
    // Welford over the gaps between consecutive distinct days.
    let (mut n_gaps, mut mean, mut m2) = (0i64, 0.0f64, 0.0f64);
    let mut prev_day: Option<i64> = None;
    for e in g {
        total += e.amount;
        if e.amount < 0.0 {
            n_returns += 1;
            returned -= e.amount;
        }
        if prev_day != Some(e.day) {
            if let Some(p) = prev_day {
                let gap = (e.day - p) as f64;
                n_gaps += 1;
                let delta = gap - mean;
                mean += delta / n_gaps as f64;
                m2 += delta * (gap - mean);
            }
            n_orders += 1;
            prev_day = Some(e.day);
        }
    }
    Profile {
        first_day: g[0].day,
        last_day: g[g.len() - 1].day,
        n_orders,
        n_transactions: g.len() as i64,
        total_spend: total,
        mean_gap: if n_gaps > 0 { mean } else { f64::NAN },
        std_gap: if n_gaps > 1 {
            (m2 / (n_gaps - 1) as f64).sqrt()
        } else {
            f64::NAN
        },
        n_returns,
        returned_amount: returned,
    }
}

/// Builds the RFM table. `as_of` (a day number) defaults to the day after the
/// last kept transaction and must not be earlier than that transaction.
pub fn rfm_table(tx: &Transactions<'_>, as_of: Option<i64>) -> Result<RfmTable> {
    let as_of = as_of.unwrap_or(tx.last_day() + 1);
    if as_of < tx.last_day() {
        return Err(DataError::DateBeforeLastTransaction {
            what: "as_of",
            day: as_of,
            last: tx.last_day(),
        }
        .into());
    }
    let groups = CustomerGroups::new(tx);
    Ok(from_groups(&groups, as_of))
}

pub(crate) fn from_groups(groups: &CustomerGroups, as_of: i64) -> RfmTable {
    let rows: Vec<(i64, Profile)> = (0..groups.n_customers())
        .into_par_iter()
        .with_min_len(4096)
        .filter_map(|c| {
            let g = groups.get(c);
            (!g.is_empty()).then(|| (c as i64, profile(g)))
        })
        .collect();
    let mut t = RfmTable::default();
    let n = rows.len();
    macro_rules! reserve { ($($f:ident),*) => { $( t.$f.reserve_exact(n); )* } }
    reserve!(
        customer,
        first_day,
        last_day,
        recency_days,
        tenure_days,
        n_orders,
        n_transactions,
        total_spend,
        avg_order_value,
        mean_days_between_orders,
        std_days_between_orders,
        n_returns,
        returned_amount
    );
    for (c, p) in rows {
        t.customer.push(c);
        t.first_day.push(p.first_day);
        t.last_day.push(p.last_day);
        t.recency_days.push(as_of - p.last_day);
        t.tenure_days.push(as_of - p.first_day);
        t.n_orders.push(p.n_orders);
        t.n_transactions.push(p.n_transactions);
        t.total_spend.push(p.total_spend);
        t.avg_order_value.push(p.total_spend / p.n_orders as f64);
        t.mean_days_between_orders.push(p.mean_gap);
        t.std_days_between_orders.push(p.std_gap);
        t.n_returns.push(p.n_returns);
        t.returned_amount.push(p.returned_amount);
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
            Err(crate::Error::Data(DataError::DateBeforeLastTransaction {
                what: "as_of",
                ..
            }))
        ));
    }
}
