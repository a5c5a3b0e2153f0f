//! `frequency, recency, T, monetary_value` per customer, with exactly the
//! conventions of `lifetimes.utils.summary_data_from_transaction_data` and
//! `calibration_and_holdout_data` (and pymc-marketing's `rfm_summary`):
//!
//! * purchase days (see [`crate::transactions`]: returns are never purchases)
//!   are bucketed into periods of `period`; a period with at least one order
//!   counts once, however many orders it holds;
//! * `frequency` = number of purchase periods - 1 (repeat purchases);
//! * `recency` = time from the first to the last purchase period, `T` = time
//!   from the first purchase period to the observation end's period, both in
//!   units of one period (days for `D`, weeks for `W`, calendar months for
//!   `M`) divided by `freq_multiplier`;
//! * `monetary_value` = mean net spend of the repeat periods (0 without
//!   repeats): a period's spend is that of its purchase days with the returns
//!   matched to them, so it can be zero or negative.
//!
//! With a calibration end, the calibration columns see only the rows up to it;
//! the holdout counts its purchase periods, and its monetary value is the net
//! spend of its purchase days divided by its purchase lines (lifetimes' mean
//! per transaction when there are no returns). Returns in the holdout of
//! calibration purchases count in neither part.

use rayon::prelude::*;

use crate::calendar::{iso_date, Period};
use crate::error::{DataError, ParamError, Result};
use crate::groups::{net, visits, CustomerGroups};
use crate::transactions::Transactions;

/// Parameters of [`btyd_summary`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryParams {
    /// Period used to bucket transactions.
    pub period: Period,
    /// Divides every time quantity (`7` with `D` gives weeks counted from days).
    pub freq_multiplier: f64,
    /// Last day observed; transactions in later periods are ignored.
    /// Defaults to the last transaction's day.
    pub observation_end: Option<i64>,
    /// End of the calibration period; when set, the summary describes the
    /// calibration period and holdout columns describe the rest.
    pub calibration_end: Option<i64>,
}

impl Default for SummaryParams {
    fn default() -> Self {
        SummaryParams {
            period: Period::Day,
            freq_multiplier: 1.0,
            observation_end: None,
            calibration_end: None,
        }
    }
}

/// What happened after the calibration end (lifetimes' `*_holdout` columns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holdout {
    /// Distinct purchase periods in the holdout.
    pub frequency: Vec<f64>,
    /// Net spend of the holdout purchase days per holdout purchase line, 0 without any.
    pub monetary_value: Vec<f64>,
    /// Length of the holdout in periods / `freq_multiplier` (the same for all).
    pub duration: f64,
}

/// The summary table, one row per customer with a purchase in the
/// (calibration) period, in customer-code order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BtydSummary {
    /// Customer code of each row.
    pub customer: Vec<i64>,
    /// Repeat purchase periods.
    pub frequency: Vec<f64>,
    /// Time between the first and the last purchase period.
    pub recency: Vec<f64>,
    /// Time between the first purchase period and the end of observation.
    pub t: Vec<f64>,
    /// Mean spend of the repeat periods.
    pub monetary_value: Vec<f64>,
    /// Present when a calibration end was given.
    pub holdout: Option<Holdout>,
}

struct Row {
    customer: i64,
    frequency: f64,
    recency: f64,
    t: f64,
    monetary_value: f64,
    holdout_frequency: f64,
    holdout_monetary: f64,
}

/// Builds the summary; see the module documentation for the conventions.
pub fn btyd_summary(tx: &Transactions<'_>, params: &SummaryParams) -> Result<BtydSummary> {
    if !(params.freq_multiplier.is_finite() && params.freq_multiplier > 0.0) {
        return Err(ParamError::new(
            "freq_multiplier",
            format!("must be positive, got {}", params.freq_multiplier),
        )
        .into());
    }
    let period = params.period;
    let obs_end = params.observation_end.unwrap_or(tx.last_day());
    if let Some(cal_end) = params.calibration_end {
        if cal_end >= obs_end {
            return Err(ParamError::new(
                "calibration_end",
                format!("must be before the observation end (day {obs_end}), got day {cal_end}"),
            )
            .into());
        }
    }
    let obs_ord = period.ordinal(obs_end);
    // Last period (ordinal) and last day that belong to the (calibration) summary.
    let (end_ord, last_day_in) = match params.calibration_end {
        Some(c) => (period.ordinal(c), c),
        // lifetimes compares period starts: the whole period of the end is in.
        None => (obs_ord, period.start_day(obs_ord + 1) - 1),
    };
    if tx.first_purchase_day() > last_day_in {
        // name the parameter that left nothing: the calibration end, else the observation end
        let (name, end) = match (params.calibration_end, params.observation_end) {
            (Some(c), _) => ("calibration_end", c),
            (None, Some(o)) => ("observation_end", o),
            (None, None) => {
                return Err(DataError::NothingLeft {
                    reason: "ignoring transactions after the observation end".into(),
                }
                .into())
            }
        };
        return Err(ParamError::new(
            name,
            format!(
                "{} is before the first purchase ({}): no transaction is left to summarise",
                iso_date(end),
                iso_date(tx.first_purchase_day())
            ),
        )
        .into());
    }
    let mult = params.freq_multiplier;
    let groups = CustomerGroups::new(tx);
    let rows: Vec<Row> = (0..groups.n_customers())
        .into_par_iter()
        .with_min_len(4096)
        .map_init(Vec::new, |buf, c| {
            let g = groups.get(c);
            // the calibration sees only its own rows: later returns cannot change it
            visits(&g[..g.partition_point(|e| e.day() <= last_day_in)], buf);
            let first_ord = period.ordinal(buf.first()?.day);
            let (mut n_periods, mut last_ord, mut repeat_spend, mut volume) = (1usize, first_ord, 0.0, 0.0);
            for v in &buf[1..] {
                let ord = period.ordinal(v.day);
                if ord != first_ord {
                    repeat_spend += v.spend;
                    volume += v.volume();
                }
                if ord != last_ord {
                    n_periods += 1;
                    last_ord = ord;
                }
            }
            let frequency = (n_periods - 1) as f64;
            let (mut holdout_frequency, mut holdout_monetary) = (0.0, 0.0);
            if let Some(cal_end) = params.calibration_end {
                // purchase days of the holdout with the returns matched to them (returns
                // of calibration purchases count in neither part)
                visits(&g[..g.partition_point(|e| e.day() <= obs_end)], buf);
                let (mut prev, mut lines, mut volume) = (None, 0u64, 0.0);
                for v in buf.iter().filter(|v| v.day > cal_end) {
                    let ord = period.ordinal(v.day);
                    if prev != Some(ord) {
                        holdout_frequency += 1.0;
                        prev = Some(ord);
                    }
                    holdout_monetary += v.spend;
                    volume += v.volume();
                    lines += v.purchase_lines as u64;
                }
                if lines > 0 {
                    holdout_monetary = net(holdout_monetary, volume) / lines as f64;
                }
            }
            Some(Row {
                customer: c as i64,
                frequency,
                recency: period.span(first_ord, last_ord) / mult,
                t: period.span(first_ord, end_ord) / mult,
                monetary_value: if n_periods > 1 { net(repeat_spend, volume) / frequency } else { 0.0 },
                holdout_frequency,
                holdout_monetary,
            })
        })
        .flatten()
        .collect();
    let mut s = BtydSummary::default();
    let mut holdout = params
        .calibration_end
        .map(|c| Holdout { duration: period.span(period.ordinal(c), obs_ord) / mult, ..Holdout::default() });
    for r in rows {
        s.customer.push(r.customer);
        s.frequency.push(r.frequency);
        s.recency.push(r.recency);
        s.t.push(r.t);
        s.monetary_value.push(r.monetary_value);
        if let Some(h) = holdout.as_mut() {
            h.frequency.push(r.holdout_frequency);
            h.monetary_value.push(r.holdout_monetary);
        }
    }
    s.holdout = holdout;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;
    use crate::ReturnsPolicy;
    use approx::assert_relative_eq;

    fn day(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d)
    }

    #[test]
    fn daily_summary_by_hand() {
        // customer 0: 1 Jan (two rows), 8 Jan, 22 Jan; customer 1: 15 Jan only.
        let c = [0, 0, 0, 1, 0];
        let d = [day(2020, 1, 1), day(2020, 1, 1), day(2020, 1, 8), day(2020, 1, 15), day(2020, 1, 22)];
        let a = [5.0, 5.0, 20.0, 7.0, 40.0];
        let tx = Transactions::new(&c, &d, &a, 2, ReturnsPolicy::Net).unwrap();
        let p = SummaryParams { observation_end: Some(day(2020, 1, 31)), ..Default::default() };
        let s = btyd_summary(&tx, &p).unwrap();
        assert_eq!(s.frequency, vec![2.0, 0.0]);
        assert_eq!(s.recency, vec![21.0, 0.0]);
        assert_eq!(s.t, vec![30.0, 16.0]);
        assert_eq!(s.monetary_value, vec![30.0, 0.0]);

        // weekly periods counted in days / 7 ...
        let p7 = SummaryParams { freq_multiplier: 7.0, ..p };
        let s = btyd_summary(&tx, &p7).unwrap();
        assert_relative_eq!(s.t[0], 30.0 / 7.0);
        // ... and W-SUN periods: 1 Jan 2020 is a Wednesday (week of Mon 30 Dec).
        let pw = SummaryParams { period: Period::Week, ..p };
        let s = btyd_summary(&tx, &pw).unwrap();
        assert_eq!(s.recency, vec![3.0, 0.0]);
        assert_eq!(s.t, vec![4.0, 2.0]);
    }

    #[test]
    fn calibration_and_holdout() {
        let c = [0, 0, 0, 0, 1];
        let d = [1, 3, 10, 10, 12];
        let a = [1.0, 2.0, 3.0, 5.0, 9.0];
        let tx = Transactions::new(&c, &d, &a, 2, ReturnsPolicy::Net).unwrap();
        let p = SummaryParams { calibration_end: Some(5), observation_end: Some(20), ..Default::default() };
        let s = btyd_summary(&tx, &p).unwrap();
        assert_eq!(s.customer, vec![0]); // customer 1 starts after calibration
        assert_eq!((s.frequency[0], s.recency[0], s.t[0], s.monetary_value[0]), (1.0, 2.0, 4.0, 2.0));
        let h = s.holdout.unwrap();
        assert_eq!(h.frequency, vec![1.0]);
        assert_eq!(h.monetary_value, vec![4.0]); // per row, like lifetimes
        assert_eq!(h.duration, 15.0);
    }

    #[test]
    fn rejects_bad_parameters() {
        let tx = Transactions::new(&[0], &[5], &[1.0], 1, ReturnsPolicy::Net).unwrap();
        let bad = SummaryParams { freq_multiplier: 0.0, ..Default::default() };
        assert!(
            matches!(btyd_summary(&tx, &bad), Err(crate::Error::Param(e)) if e.name == "freq_multiplier")
        );
        let bad = SummaryParams { calibration_end: Some(9), observation_end: Some(9), ..Default::default() };
        assert!(
            matches!(btyd_summary(&tx, &bad), Err(crate::Error::Param(e)) if e.name == "calibration_end")
        );
        let early = SummaryParams { observation_end: Some(1), ..Default::default() };
        assert!(
            matches!(btyd_summary(&tx, &early), Err(crate::Error::Param(e)) if e.name == "observation_end")
        );
        // a calibration end before every purchase names calibration_end, not "nothing is left"
        let early_cal =
            SummaryParams { calibration_end: Some(1), observation_end: Some(9), ..Default::default() };
        assert!(
            matches!(btyd_summary(&tx, &early_cal), Err(crate::Error::Param(e)) if e.name == "calibration_end")
        );
    }
}
