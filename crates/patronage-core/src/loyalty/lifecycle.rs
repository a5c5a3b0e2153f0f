//! Lifecycle stages relative to each customer's own purchase rhythm.
//!
//! The rules, applied to the purchase days on or before `as_of` (see
//! [`crate::transactions`]: a return is never a purchase), first match wins:
//!
//! 1. **new**: the first order is fewer than `new_days` days before `as_of`;
//! 2. **lapsed**: days since the last order > `lapsed_after`;
//! 3. **at_risk**: days since the last order > `at_risk_after`;
//! 4. **reactivated**: the last order ended a gap longer than the lapsed
//!    threshold of the rhythm *before* that gap (the customer had lapsed and
//!    came back; a further order in rhythm makes them active again);
//! 5. **active**: everyone else.
//!
//! `at_risk_after = at_risk_factor * typical gap` and `lapsed_after =
//! lapsed_factor * typical gap`, where the typical gap is the median (or mean)
//! of the customer's gaps between consecutive purchase days (several orders on
//! one day are one visit). A customer with a single purchase day has no rhythm yet and is measured against `default_gap` (by default
//! the median typical gap of the customers who have one). Either threshold can
//! be fixed in days instead (`at_risk_days`, `lapsed_days`).

use std::str::FromStr;

use rayon::prelude::*;

use crate::calendar::check_duration;
use crate::error::{DataError, Field, ParamError, Result};
use crate::groups::{visits, CustomerGroups, Visit};

/// A lifecycle stage (the discriminant is the code passed to Python).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    /// First order less than `new_days` ago.
    New = 0,
    /// Buying in rhythm.
    Active = 1,
    /// Back after a lapse.
    Reactivated = 2,
    /// Overdue by more than `at_risk_factor` typical gaps.
    AtRisk = 3,
    /// Overdue by more than `lapsed_factor` typical gaps.
    Lapsed = 4,
}

/// The stage code of a customer with no order on or before `as_of`.
pub const NOT_ACQUIRED: u8 = 255;

/// How a customer's typical gap between orders is summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rhythm {
    /// Median gap (robust to one long break).
    #[default]
    Median,
    /// Mean gap.
    Mean,
}

impl FromStr for Rhythm {
    type Err = ParamError;
    fn from_str(s: &str) -> Result<Self, ParamError> {
        match s {
            "median" => Ok(Rhythm::Median),
            "mean" => Ok(Rhythm::Mean),
            other => Err(ParamError::new("rhythm", format!("expected 'median' or 'mean', got {other:?}"))),
        }
    }
}

/// Lifecycle parameters. Defaults: `new_days = 30`, `at_risk_factor = 2`,
/// `lapsed_factor = 4`, median rhythm, no fixed thresholds, `default_gap`
/// from the data.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleParams {
    /// Customers whose first order is fewer than this many days old are new.
    pub new_days: i64,
    /// At risk once overdue by this many typical gaps.
    pub at_risk_factor: f64,
    /// Lapsed once overdue by this many typical gaps.
    pub lapsed_factor: f64,
    /// Fixed at-risk threshold in days (replaces the factor).
    pub at_risk_days: Option<f64>,
    /// Fixed lapsed threshold in days (replaces the factor).
    pub lapsed_days: Option<f64>,
    /// Median or mean gap.
    pub rhythm: Rhythm,
    /// Typical gap for customers without one (days).
    pub default_gap: Option<f64>,
}

impl Default for LifecycleParams {
    fn default() -> Self {
        LifecycleParams {
            new_days: 30,
            at_risk_factor: 2.0,
            lapsed_factor: 4.0,
            at_risk_days: None,
            lapsed_days: None,
            rhythm: Rhythm::Median,
            default_gap: None,
        }
    }
}

/// Parameters that passed [`LifecycleParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct ValidLifecycleParams(LifecycleParams);

impl LifecycleParams {
    /// Checks every rule, one [`ParamError`] per rule.
    pub fn check(self) -> Result<ValidLifecycleParams, ParamError> {
        if self.new_days < 0 {
            return Err(ParamError::new("new_days", format!("must be >= 0, got {}", self.new_days)));
        }
        check_duration("new_days", self.new_days)?;
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(ParamError::new(name, format!("must be a positive number, got {v}")))
            }
        };
        positive("at_risk_factor", self.at_risk_factor)?;
        positive("lapsed_factor", self.lapsed_factor)?;
        if self.lapsed_factor <= self.at_risk_factor {
            return Err(ParamError::new(
                "lapsed_factor",
                format!("must exceed at_risk_factor ({}), got {}", self.at_risk_factor, self.lapsed_factor),
            ));
        }
        for (name, v) in [
            ("at_risk_days", self.at_risk_days),
            ("lapsed_days", self.lapsed_days),
            ("default_gap", self.default_gap),
        ] {
            if let Some(v) = v {
                positive(name, v)?;
            }
        }
        if let (Some(r), Some(l)) = (self.at_risk_days, self.lapsed_days) {
            if l <= r {
                return Err(ParamError::new(
                    "lapsed_days",
                    format!("must exceed at_risk_days ({r}), got {l}"),
                ));
            }
        }
        Ok(ValidLifecycleParams(self))
    }
}

/// One entry per customer code (`stage == NOT_ACQUIRED` for customers without
/// an order on or before `as_of`; their other fields are 0 or NaN).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LifecycleTable {
    /// Stage code (`Stage as u8`) or [`NOT_ACQUIRED`].
    pub stage: Vec<u8>,
    /// Orders on or before `as_of` (purchase days, or order ids).
    pub n_orders: Vec<i64>,
    /// `as_of - last purchase day`.
    pub days_since_last_order: Vec<i64>,
    /// Typical gap of the customer (NaN with a single purchase day).
    pub typical_gap_days: Vec<f64>,
    /// The at-risk threshold applied (days).
    pub at_risk_after_days: Vec<f64>,
    /// The lapsed threshold applied (days).
    pub lapsed_after_days: Vec<f64>,
}

/// What one customer's orders say, before thresholds are applied.
#[derive(Clone, Copy, Debug)]
struct Rhythmic {
    n_orders: i64,
    /// Purchase days.
    n_days: i64,
    first_day: i64,
    last_day: i64,
    typical_gap: f64,
    /// Typical gap of the gaps before the last one (NaN with fewer than 3 orders).
    prior_gap: f64,
    last_gap: f64,
}

fn typical(sorted_or_raw: &mut [f64], rhythm: Rhythm) -> f64 {
    let k = sorted_or_raw.len();
    if k == 0 {
        return f64::NAN;
    }
    match rhythm {
        Rhythm::Mean => sorted_or_raw.iter().sum::<f64>() / k as f64,
        Rhythm::Median => {
            sorted_or_raw.sort_unstable_by(f64::total_cmp);
            if k % 2 == 1 {
                sorted_or_raw[k / 2]
            } else {
                0.5 * (sorted_or_raw[k / 2 - 1] + sorted_or_raw[k / 2])
            }
        }
    }
}

fn rhythm_of(visits: &[Visit], rhythm: Rhythm, buf: &mut Vec<f64>) -> Option<Rhythmic> {
    let (first, last) = (visits.first()?, visits.last()?);
    buf.clear();
    buf.extend(visits.windows(2).map(|w| (w[1].day - w[0].day) as f64));
    let k = buf.len();
    let last_gap = buf.last().copied().unwrap_or(f64::NAN);
    let prior_gap = if k >= 2 { typical(&mut buf[..k - 1], rhythm) } else { f64::NAN };
    let typical_gap = typical(buf, rhythm);
    Some(Rhythmic {
        n_orders: visits.iter().map(|v| v.orders as i64).sum(),
        n_days: k as i64 + 1,
        first_day: first.day,
        last_day: last.day,
        typical_gap,
        prior_gap,
        last_gap,
    })
}

fn median(values: &mut [f64]) -> f64 {
    typical(values, Rhythm::Median)
}

/// The stage of every customer as of `as_of` (orders after it are ignored).
///
/// Errors: `DataError::Invalid` when a customer needs the population's
/// typical gap and no customer has two orders (pass `default_gap`).
pub fn lifecycle_stages(
    groups: &CustomerGroups,
    as_of: i64,
    params: &ValidLifecycleParams,
) -> Result<LifecycleTable> {
    let p = &params.0;
    let rhythms: Vec<Option<Rhythmic>> = (0..groups.n_customers())
        .into_par_iter()
        .with_min_len(4096)
        .map_init(
            || (Vec::new(), Vec::new()),
            |(days, gaps), c| {
                let g = groups.get(c);
                visits(&g[..g.partition_point(|e| e.day() <= as_of)], days);
                rhythm_of(days, p.rhythm, gaps)
            },
        )
        .collect();
    let fallback = match p.default_gap {
        Some(g) => g,
        None => {
            let mut gaps: Vec<f64> =
                rhythms.iter().flatten().map(|r| r.typical_gap).filter(|g| !g.is_nan()).collect();
            median(&mut gaps)
        }
    };
    let threshold = |fixed: Option<f64>, factor: f64, gap: f64| fixed.unwrap_or(factor * gap);
    let needs_fallback = |r: &Rhythmic| {
        let fixed = p.at_risk_days.is_some() && p.lapsed_days.is_some();
        let is_new = as_of - r.first_day < p.new_days;
        !fixed && !is_new && (r.typical_gap.is_nan() || (r.n_days == 2 && p.lapsed_days.is_none()))
    };
    if fallback.is_nan() && rhythms.iter().flatten().any(needs_fallback) {
        return Err(DataError::Invalid {
            field: Field::Date,
            row: None,
            reason: "no customer has two purchase days, so there is no typical gap to measure \
                     one-order customers against; pass default_gap or fixed at_risk_days and lapsed_days"
                .into(),
        }
        .into());
    }
    let mut t = LifecycleTable::default();
    for r in &rhythms {
        let Some(r) = r else {
            t.stage.push(NOT_ACQUIRED);
            t.n_orders.push(0);
            t.days_since_last_order.push(0);
            t.typical_gap_days.push(f64::NAN);
            t.at_risk_after_days.push(f64::NAN);
            t.lapsed_after_days.push(f64::NAN);
            continue;
        };
        let gap = if r.typical_gap.is_nan() { fallback } else { r.typical_gap };
        let at_risk = threshold(p.at_risk_days, p.at_risk_factor, gap);
        let lapsed = threshold(p.lapsed_days, p.lapsed_factor, gap);
        let since = as_of - r.last_day;
        let stage = if as_of - r.first_day < p.new_days {
            Stage::New
        } else if since as f64 > lapsed {
            Stage::Lapsed
        } else if since as f64 > at_risk {
            Stage::AtRisk
        } else if r.n_days >= 2 && {
            let prior = if r.prior_gap.is_nan() { fallback } else { r.prior_gap };
            r.last_gap > threshold(p.lapsed_days, p.lapsed_factor, prior)
        } {
            Stage::Reactivated
        } else {
            Stage::Active
        };
        t.stage.push(stage as u8);
        t.n_orders.push(r.n_orders);
        t.days_since_last_order.push(since);
        t.typical_gap_days.push(r.typical_gap);
        t.at_risk_after_days.push(at_risk);
        t.lapsed_after_days.push(lapsed);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ReturnsPolicy, Transactions};

    fn stages(orders: &[&[i64]], as_of: i64, params: LifecycleParams) -> Result<LifecycleTable> {
        let (mut c, mut d) = (Vec::new(), Vec::new());
        for (k, days) in orders.iter().enumerate() {
            c.extend(std::iter::repeat_n(k as i64, days.len()));
            d.extend_from_slice(days);
        }
        let a = vec![1.0; c.len()];
        let tx = Transactions::new(&c, &d, &a, orders.len(), ReturnsPolicy::Net).unwrap();
        lifecycle_stages(&CustomerGroups::new(&tx), as_of, &params.check().unwrap())
    }

    #[test]
    fn crafted_customers() {
        let orders: [&[i64]; 7] = [
            &[100, 130, 190],                  // gaps 30, 60: 10 days since -> active
            &[0, 10, 20, 30, 40, 50, 180],     // rhythm 10, came back after 130 -> reactivated
            &[0, 10, 20, 30, 40, 50, 55, 150], // rhythm 10, 50 days since > 4 * 10 -> lapsed
            &[150, 160, 170, 175],             // rhythm 10, 25 days since: > 20 -> at_risk
            &[185],                            // first order 15 days ago -> new
            &[10],                             // one order 190 days ago, default gap 10 -> lapsed
            &[250],                            // after as_of -> not acquired
        ];
        let t = stages(&orders, 200, LifecycleParams::default()).unwrap();
        use Stage::*;
        let want = [Active, Reactivated, Lapsed, AtRisk, New, Lapsed];
        for (k, s) in want.iter().enumerate() {
            assert_eq!(t.stage[k], *s as u8, "customer {k}");
        }
        assert_eq!(t.stage[6], NOT_ACQUIRED);
        assert_eq!(t.typical_gap_days[1], 10.0);
        assert_eq!(t.days_since_last_order[3], 25);
        assert_eq!(t.at_risk_after_days[3], 20.0);
        // the population's median typical gap (of 45, 10, 10, 10) is 10
        assert_eq!(t.lapsed_after_days[5], 40.0);
    }

    #[test]
    fn a_return_is_not_an_order() {
        // purchases on days 0, 10 and 20 and a return on day 195: still 180 days since the
        // last purchase (lapsed), three orders
        let tx = Transactions::new(&[0; 4], &[0, 10, 20, 195], &[1.0, 1.0, 1.0, -1.0], 1, ReturnsPolicy::Net)
            .unwrap();
        let t =
            lifecycle_stages(&CustomerGroups::new(&tx), 200, &LifecycleParams::default().check().unwrap())
                .unwrap();
        assert_eq!((t.stage[0], t.n_orders[0], t.days_since_last_order[0]), (Stage::Lapsed as u8, 3, 180));
    }

    #[test]
    fn fixed_thresholds_override_rhythm() {
        let p = LifecycleParams {
            at_risk_days: Some(30.0),
            lapsed_days: Some(60.0),
            ..LifecycleParams::default()
        };
        let orders: [&[i64]; 3] = [&[0, 1, 2, 160], &[0, 150], &[0, 100]];
        let t = stages(&orders, 200, p).unwrap();
        // 40 days since: at risk (fixed 30); 50: at risk; 100: lapsed
        assert_eq!(t.stage, vec![Stage::AtRisk as u8, Stage::AtRisk as u8, Stage::Lapsed as u8]);
    }

    #[test]
    fn one_order_customers_need_a_gap() {
        let orders: [&[i64]; 2] = [&[0], &[5]];
        assert!(matches!(
            stages(&orders, 100, LifecycleParams::default()),
            Err(Error::Data(DataError::Invalid { .. }))
        ));
        let p = LifecycleParams { default_gap: Some(50.0), ..LifecycleParams::default() };
        let t = stages(&orders, 100, p).unwrap();
        assert_eq!(t.stage, vec![Stage::Active as u8, Stage::Active as u8]);
    }

    #[test]
    fn each_rule_is_checked() {
        let bad = |p: LifecycleParams| p.check().unwrap_err().name;
        let d = LifecycleParams::default;
        assert_eq!(bad(LifecycleParams { new_days: -1, ..d() }), "new_days");
        assert_eq!(bad(LifecycleParams { at_risk_factor: 0.0, ..d() }), "at_risk_factor");
        assert_eq!(bad(LifecycleParams { lapsed_factor: f64::NAN, ..d() }), "lapsed_factor");
        assert_eq!(bad(LifecycleParams { lapsed_factor: 1.5, ..d() }), "lapsed_factor");
        assert_eq!(bad(LifecycleParams { at_risk_days: Some(-1.0), ..d() }), "at_risk_days");
        assert_eq!(bad(LifecycleParams { default_gap: Some(0.0), ..d() }), "default_gap");
        let swapped = LifecycleParams { at_risk_days: Some(9.0), lapsed_days: Some(9.0), ..d() };
        assert!(matches!(swapped.check(), Err(ParamError { name: "lapsed_days", .. })));
        assert!(matches!("x".parse::<Rhythm>(), Err(ParamError { name: "rhythm", .. })));
    }
}
