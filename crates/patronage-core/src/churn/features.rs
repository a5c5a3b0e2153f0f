//! Leakage-free churn labels and features from a transaction log.
//!
//! Features of a customer use only the transactions on or before `cutoff`;
//! the label looks only at `(cutoff, cutoff + horizon]`. Both come from one
//! pass over [`CustomerGroups`] (each group is day-sorted, so the features see
//! a prefix of the group and the label the slice right after it).

use ndarray::Array2;
use rayon::prelude::*;

use crate::calendar::{check_duration, iso_date};
use crate::error::{ParamError, Result};
use crate::groups::{net, visits, CustomerGroups, Visit};
use crate::transactions::Transactions;

/// The feature columns of [`churn_dataset`], in order. All are finite.
///
/// Orders, purchase days and returns follow [`crate::transactions`]: only
/// purchase days on or before the cutoff and the returns (on or before the
/// cutoff) matched to them are seen.
///
/// * `recency_days`: cutoff - last purchase day (0 when bought on the cutoff day).
/// * `frequency`: orders up to the cutoff (purchase days, or order ids).
/// * `monetary`: net spend up to the cutoff (purchases minus matched returns).
/// * `avg_order_value`: `monetary / frequency`.
/// * `tenure_days`: cutoff - first purchase day.
/// * `gap_mean_days`, `gap_std_days`: mean and sample std (ddof 1) of the gaps
///   between consecutive purchase days. With one purchase day the mean is
///   `tenure_days` (the gap so far, a lower bound) and the std 0; with two
///   the std is 0.
/// * `recency_to_gap`: `recency_days / max(gap_mean_days, 1)`, how overdue the
///   next order is relative to the customer's own rhythm.
/// * `orders_recent`, `orders_previous`: orders on purchase days in the trend
///   window `(cutoff - window, cutoff]` and the window before it
///   `(cutoff - 2 window, cutoff - window]`.
/// * `order_trend`: `(recent - previous) / (recent + previous)` in [-1, 1], 0
///   when both are 0.
/// * `spend_recent`, `spend_previous`, `spend_trend`: the same for the net
///   spend of those purchase days (the trend divides by `|recent| + |previous|`).
/// * `return_share`: returned amount / (gross purchases + returned amount),
///   in [0, 1].
/// * `single_order`: 1 for a customer with one order so far, else 0.
pub const FEATURE_NAMES: [&str; 16] = [
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "gap_mean_days",
    "gap_std_days",
    "recency_to_gap",
    "orders_recent",
    "orders_previous",
    "order_trend",
    "spend_recent",
    "spend_previous",
    "spend_trend",
    "return_share",
    "single_order",
];

/// Where to cut the log and how far ahead to look.
///
/// Defaults: `window_days` = `horizon_days`, `observation_end` = the last
/// transaction day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChurnDatasetParams {
    /// The last day whose transactions feed the features (inclusive).
    pub cutoff: i64,
    /// Label 1 when no purchase in `(cutoff, cutoff + horizon_days]`.
    pub horizon_days: i64,
    /// Length of the recent / previous trend windows (`None`: the horizon).
    pub window_days: Option<i64>,
    /// The last day the log covers (`None`: its last transaction day); the
    /// horizon must end on or before it, so no label is "churned" merely for
    /// lack of data.
    pub observation_end: Option<i64>,
}

impl ChurnDatasetParams {
    /// Validates the parameters against the log; returns `(window, observation_end)`.
    fn check(&self, tx: &Transactions<'_>) -> Result<(i64, i64), ParamError> {
        if self.horizon_days <= 0 {
            return Err(ParamError::new(
                "horizon",
                format!("must be at least one day, got {} days", self.horizon_days),
            ));
        }
        check_duration("horizon", self.horizon_days)?;
        let window = check_duration("window", self.window_days.unwrap_or(self.horizon_days))?;
        if window <= 0 {
            return Err(ParamError::new("window", format!("must be at least one day, got {window} days")));
        }
        let end = self.observation_end.unwrap_or(tx.last_day());
        if self.cutoff < tx.first_purchase_day() {
            return Err(ParamError::new(
                "cutoff",
                format!(
                    "{} is before the first purchase ({}): no customer is active yet",
                    iso_date(self.cutoff),
                    iso_date(tx.first_purchase_day())
                ),
            ));
        }
        if self.cutoff >= end {
            return Err(ParamError::new(
                "cutoff",
                format!(
                    "{} is not before the end of the data ({}): nothing is left to label",
                    iso_date(self.cutoff),
                    iso_date(end)
                ),
            ));
        }
        if self.cutoff.saturating_add(self.horizon_days) > end {
            return Err(ParamError::new(
                "horizon",
                format!(
                    "cutoff + horizon ({}) is after the end of the data ({}); customers would \
                     count as churned for lack of data (shorten the horizon or move the cutoff)",
                    iso_date(self.cutoff.saturating_add(self.horizon_days)),
                    iso_date(end)
                ),
            ));
        }
        Ok((window, end))
    }
}

/// Features and labels of the customers active on or before the cutoff.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnDataset {
    /// Customer code of each row (ascending).
    pub customer: Vec<i64>,
    /// `n x FEATURE_NAMES.len()` feature matrix.
    pub features: Array2<f64>,
    /// 1 = churned (no purchase in the horizon), 0 = bought again.
    pub label: Vec<i64>,
}

/// Builds the churn data set (see [`FEATURE_NAMES`] for the columns).
///
/// Rows are the customers with a purchase on or before the cutoff. The label
/// is 1 when the customer places no order in the horizon: one whose only
/// activity there is a return counts as churned.
///
/// ```
/// use patronage_core::churn::{churn_dataset, ChurnDatasetParams};
/// use patronage_core::{ReturnsPolicy, Transactions};
///
/// // customer 0 buys on days 0 and 10 and again on day 15; customer 1 only on day 2
/// let tx = Transactions::new(&[0, 0, 1, 0], &[0, 10, 2, 15], &[5.0, 7.0, 3.0, 1.0], 2,
///                            ReturnsPolicy::Net).unwrap();
/// let params = ChurnDatasetParams { cutoff: 10, horizon_days: 5, window_days: None,
///                                   observation_end: None };
/// let d = churn_dataset(&tx, &params).unwrap();
/// assert_eq!(d.label, vec![0, 1]);
/// assert_eq!(d.features[[0, 0]], 0.0); // recency_days of customer 0
/// ```
pub fn churn_dataset(tx: &Transactions<'_>, params: &ChurnDatasetParams) -> Result<ChurnDataset> {
    let (window, _) = params.check(tx)?;
    let groups = CustomerGroups::new(tx);
    let cutoff = params.cutoff;
    let horizon_end = cutoff + params.horizon_days;
    let rows: Vec<(i64, [f64; 16], i64)> = (0..groups.n_customers())
        .into_par_iter()
        .with_min_len(2048)
        .map_init(Vec::new, |buf, c| {
            let g = groups.get(c);
            let split = g.partition_point(|e| e.day() <= cutoff);
            visits(&g[..split], buf);
            if buf.is_empty() {
                return None; // no purchase yet
            }
            let future = &g[split..];
            let bought = future.iter().take_while(|e| e.day() <= horizon_end).any(|e| e.opens_order());
            Some((c as i64, customer_features(buf, cutoff, window), i64::from(!bought)))
        })
        .flatten()
        .collect();
    let n = rows.len();
    let mut features = Array2::<f64>::zeros((n, FEATURE_NAMES.len()));
    let mut customer = Vec::with_capacity(n);
    let mut label = Vec::with_capacity(n);
    for (i, (c, f, l)) in rows.into_iter().enumerate() {
        customer.push(c);
        label.push(l);
        features.row_mut(i).iter_mut().zip(f).for_each(|(dst, v)| *dst = v);
    }
    Ok(ChurnDataset { customer, features, label })
}

/// `(a - b) / (|a| + |b|)`, 0 when both are 0.
fn trend(recent: f64, previous: f64) -> f64 {
    let denom = recent.abs() + previous.abs();
    if denom > 0.0 {
        (recent - previous) / denom
    } else {
        0.0
    }
}

/// The features of one customer's purchase days up to the cutoff (at least one).
fn customer_features(visits: &[Visit], cutoff: i64, window: i64) -> [f64; 16] {
    let recent_start = cutoff - window; // recent window: (recent_start, cutoff]
    let previous_start = cutoff - 2 * window;
    let (mut orders, mut spend, mut gross, mut returned) = (0u64, 0.0, 0.0, 0.0);
    let (mut orders_recent, mut orders_previous) = (0u64, 0u64);
    let (mut spend_recent, mut spend_previous) = (0.0, 0.0);
    let (mut volume_recent, mut volume_previous) = (0.0, 0.0);
    // Welford over the gaps between consecutive purchase days.
    let (mut n_gaps, mut gap_mean, mut m2) = (0i64, 0.0f64, 0.0f64);
    let mut prev_day: Option<i64> = None;
    for v in visits {
        spend += v.spend;
        gross += v.gross;
        returned += v.returned;
        orders += v.orders as u64;
        if v.day > recent_start {
            spend_recent += v.spend;
            volume_recent += v.volume();
            orders_recent += v.orders as u64;
        } else if v.day > previous_start {
            spend_previous += v.spend;
            volume_previous += v.volume();
            orders_previous += v.orders as u64;
        }
        if let Some(p) = prev_day {
            let gap = (v.day - p) as f64;
            n_gaps += 1;
            let delta = gap - gap_mean;
            gap_mean += delta / n_gaps as f64;
            m2 += delta * (gap - gap_mean);
        }
        prev_day = Some(v.day);
    }
    let recency = (cutoff - visits[visits.len() - 1].day) as f64;
    let tenure = (cutoff - visits[0].day) as f64;
    let (gap_mean, gap_std) = match n_gaps {
        0 => (tenure, 0.0),
        1 => (gap_mean, 0.0),
        k => (gap_mean, (m2 / (k - 1) as f64).sqrt()),
    };
    let volume = gross + returned;
    let spend = net(spend, volume);
    let (spend_recent, spend_previous) =
        (net(spend_recent, volume_recent), net(spend_previous, volume_previous));
    [
        recency,
        orders as f64,
        spend,
        spend / orders as f64,
        tenure,
        gap_mean,
        gap_std,
        recency / gap_mean.max(1.0),
        orders_recent as f64,
        orders_previous as f64,
        trend(orders_recent as f64, orders_previous as f64),
        spend_recent,
        spend_previous,
        trend(spend_recent, spend_previous),
        if volume > 0.0 { returned / volume } else { 0.0 },
        f64::from(u8::from(orders == 1)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReturnsPolicy;
    use approx::assert_relative_eq;

    fn params(cutoff: i64, horizon: i64) -> ChurnDatasetParams {
        ChurnDatasetParams { cutoff, horizon_days: horizon, window_days: None, observation_end: None }
    }

    fn col(name: &str) -> usize {
        FEATURE_NAMES.iter().position(|n| *n == name).unwrap()
    }

    #[test]
    fn hand_checked_features_and_labels() {
        // customer 0: days 0, 4, 10 (gaps 4, 6), a return on day 10, buys again on day 20
        // customer 1: one order on day 8, only a return in the horizon
        // customer 2: first order after the cutoff (excluded)
        let c = [0, 0, 0, 0, 1, 1, 2, 0];
        let d = [0, 4, 10, 10, 8, 12, 15, 20];
        let a = [10.0, 5.0, 8.0, -2.0, 4.0, -4.0, 9.0, 1.0];
        let tx = Transactions::new(&c, &d, &a, 3, ReturnsPolicy::Net).unwrap();
        let ds = churn_dataset(&tx, &params(10, 10)).unwrap();
        assert_eq!(ds.customer, vec![0, 1]);
        assert_eq!(ds.label, vec![0, 1]);
        let f = ds.features.row(0);
        assert_relative_eq!(f[col("recency_days")], 0.0);
        assert_relative_eq!(f[col("frequency")], 3.0);
        assert_relative_eq!(f[col("monetary")], 21.0);
        assert_relative_eq!(f[col("avg_order_value")], 7.0);
        assert_relative_eq!(f[col("tenure_days")], 10.0);
        assert_relative_eq!(f[col("gap_mean_days")], 5.0);
        assert_relative_eq!(f[col("gap_std_days")], 2.0f64.sqrt());
        assert_relative_eq!(f[col("recency_to_gap")], 0.0);
        // window = horizon = 10: recent (0, 10] holds days 4 and 10, previous (-10, 0] day 0
        assert_relative_eq!(f[col("orders_recent")], 2.0);
        assert_relative_eq!(f[col("orders_previous")], 1.0);
        assert_relative_eq!(f[col("order_trend")], 1.0 / 3.0);
        assert_relative_eq!(f[col("spend_recent")], 11.0);
        assert_relative_eq!(f[col("spend_previous")], 10.0);
        assert_relative_eq!(f[col("spend_trend")], 1.0 / 21.0);
        assert_relative_eq!(f[col("return_share")], 2.0 / 25.0);
        assert_relative_eq!(f[col("single_order")], 0.0);
        let f = ds.features.row(1);
        assert_relative_eq!(f[col("recency_days")], 2.0);
        assert_relative_eq!(f[col("gap_mean_days")], 2.0);
        assert_relative_eq!(f[col("gap_std_days")], 0.0);
        assert_relative_eq!(f[col("recency_to_gap")], 1.0);
        assert_relative_eq!(f[col("single_order")], 1.0);
    }

    #[test]
    fn returns_are_not_orders_and_later_returns_are_not_seen() {
        // customer 0: buys on day 0, a return-only day 3 (nets into day 0), buys on day 6 and
        // returns on day 9, after the cutoff; customer 1: only a return (no purchase: no row)
        let c = [0, 0, 0, 0, 1];
        let d = [0, 3, 6, 9, 2];
        let a = [10.0, -4.0, 5.0, -5.0, -1.0];
        let tx = Transactions::new(&c, &d, &a, 2, ReturnsPolicy::Net).unwrap();
        let ds = churn_dataset(&tx, &params(6, 3)).unwrap();
        assert_eq!(ds.customer, vec![0]);
        assert_eq!(ds.label, vec![1]); // only a return in (6, 9]
        let f = ds.features.row(0);
        assert_relative_eq!(f[col("frequency")], 2.0);
        assert_relative_eq!(f[col("monetary")], 11.0);
        assert_relative_eq!(f[col("gap_mean_days")], 6.0);
        assert_relative_eq!(f[col("orders_recent")], 1.0);
        assert_relative_eq!(f[col("spend_recent")], 5.0);
        assert_relative_eq!(f[col("orders_previous")], 0.0);
        assert_relative_eq!(f[col("spend_previous")], 0.0);
        assert_relative_eq!(f[col("return_share")], 4.0 / 19.0);
        // with order ids: order 2 (day 0, all negative) is a cancellation, not an order, and its
        // return nets into order 1 on the same day
        let o = [1, 2, 3, 4, 5];
        let tx = Transactions::new(&[0, 0, 0, 0, 1], &[0, 0, 6, 9, 2], &a, 2, ReturnsPolicy::Net)
            .unwrap()
            .with_orders(&o)
            .unwrap();
        let ds = churn_dataset(&tx, &params(6, 3)).unwrap();
        let f = ds.features.row(0);
        assert_relative_eq!(f[col("frequency")], 2.0);
        assert_relative_eq!(f[col("monetary")], 11.0);
        assert_relative_eq!(f[col("gap_mean_days")], 6.0);
    }

    #[test]
    fn horizon_is_half_open() {
        // a purchase exactly at cutoff + horizon counts; one day later does not
        let tx = Transactions::new(&[0, 0, 1, 1], &[0, 5, 0, 6], &[1.0; 4], 2, ReturnsPolicy::Net).unwrap();
        let ds = churn_dataset(&tx, &params(0, 5)).unwrap();
        assert_eq!(ds.label, vec![0, 1]);
    }

    #[test]
    fn rejects_each_rule() {
        let tx = Transactions::new(&[0, 0], &[10, 20], &[1.0, 1.0], 1, ReturnsPolicy::Net).unwrap();
        let err = |p: ChurnDatasetParams| match churn_dataset(&tx, &p) {
            Err(crate::Error::Param(e)) => e.name,
            other => panic!("expected a parameter error, got {other:?}"),
        };
        assert_eq!(err(params(12, 0)), "horizon");
        assert_eq!(err(params(12, -3)), "horizon");
        assert_eq!(err(params(9, 5)), "cutoff");
        assert_eq!(err(params(20, 1)), "cutoff");
        assert_eq!(err(params(12, 9)), "horizon");
        let mut p = params(12, 5);
        p.window_days = Some(0);
        assert_eq!(err(p), "window");
        p.window_days = None;
        p.observation_end = Some(30);
        assert!(churn_dataset(&tx, &p).is_ok());
    }
}
