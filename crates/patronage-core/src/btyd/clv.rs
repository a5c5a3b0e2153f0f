//! Customer lifetime value: expected purchases (BG/NBD, MBG/NBD or
//! Pareto/NBD) times Gamma-Gamma spend, discounted month by month, with
//! exactly the definition of lifetimes' `GammaGammaFitter.customer_lifetime_value`:
//!
//! `CLV = margin Σ_{k=1..horizon} E[Z] (E[X(k f)] - E[X((k-1) f)]) / (1 + d)^k`
//!
//! where `f` is the number of the summary's time units per month (30 for
//! days, 4.345 for weeks, 1 for months), `E[X(t)]` the conditional expected
//! purchases over the next `t` units and `E[Z]` the conditional expected
//! average spend. `E[X(t)] = E[X(t) | alive] P(alive)`: the discounted sum of
//! the first factor ([`value_if_alive`], the value of a customer who is still
//! alive) depends on `(x, T)` only and is computed once per distinct pair,
//! the second once per customer.

use rayon::prelude::*;

use super::bgnbd::{not_computable, BetaGeo, CHUNK};
use super::codes::Codes;
use super::data::{RfmData, SpendData};
use super::gamma_gamma::GammaGamma;
use super::pareto::ParetoNbd;
use crate::error::{Error, ParamError, Result};
use crate::interrupt;

/// Most months of a CLV (100 years): the sum has one term per month.
pub const MAX_HORIZON_MONTHS: usize = 1200;

/// Parameters of [`customer_lifetime_value`]. No defaults: lifetimes' are
/// `horizon` 12 months, `discount_rate` 0.01 per month, `margin` 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvParams {
    /// Number of months summed (1 to [`MAX_HORIZON_MONTHS`]).
    pub horizon: usize,
    /// Time units of the summary per month (30 days, 4.345 weeks, 1 month).
    pub units_per_month: f64,
    /// Monthly discount rate (`> -1`).
    pub discount_rate: f64,
    /// Profit margin applied to the spend.
    pub margin: f64,
}

impl ClvParams {
    /// Checks each rule, naming the parameter.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.horizon == 0 || self.horizon > MAX_HORIZON_MONTHS {
            return Err(ParamError::new(
                "horizon",
                format!(
                    "must be between 1 and {MAX_HORIZON_MONTHS} months (100 years), got {}",
                    self.horizon
                ),
            ));
        }
        if !(self.units_per_month.is_finite() && self.units_per_month > 0.0) {
            return Err(ParamError::new(
                "freq",
                format!("units per month must be positive, got {}", self.units_per_month),
            ));
        }
        if !(self.discount_rate.is_finite() && self.discount_rate > -1.0) {
            return Err(ParamError::new(
                "discount_rate",
                format!("must be a finite number > -1, got {}", self.discount_rate),
            ));
        }
        if !self.margin.is_finite() {
            return Err(ParamError::new("margin", format!("must be finite, got {}", self.margin)));
        }
        Ok(())
    }
}

/// The purchase model of a CLV.
#[derive(Debug, Clone, Copy)]
pub enum Purchases<'a> {
    /// BG/NBD or MBG/NBD.
    BetaGeo(&'a BetaGeo),
    /// Pareto/NBD.
    ParetoNbd(&'a ParetoNbd),
}

impl<'a> From<&'a BetaGeo> for Purchases<'a> {
    fn from(m: &'a BetaGeo) -> Self {
        Purchases::BetaGeo(m)
    }
}

impl<'a> From<&'a ParetoNbd> for Purchases<'a> {
    fn from(m: &'a ParetoNbd) -> Self {
        Purchases::ParetoNbd(m)
    }
}

impl Purchases<'_> {
    /// `E[X(T, T+t) | alive at T]`, `None` if it has no finite value.
    fn if_alive(&self, t: f64, x: f64, age: f64) -> Option<f64> {
        let v = match self {
            Purchases::BetaGeo(m) => m.expected_if_alive(t, x, age).ok()?,
            Purchases::ParetoNbd(m) => m.expected_if_alive(t, x, age),
        };
        v.is_finite().then_some(v)
    }
}

/// The discounted lifetime value of each customer (see the module docs):
/// `P(alive) x` [`value_if_alive`]. `monetary_value` is the customer's mean
/// repeat spend (0 without repeats), as in the summary.
pub fn customer_lifetime_value<'a>(
    purchases: impl Into<Purchases<'a>>,
    spend: &GammaGamma,
    history: &RfmData<'_>,
    monetary_value: &[f64],
    params: &ClvParams,
) -> Result<Vec<f64>> {
    let purchases = purchases.into();
    let (mut value, codes) = discounted_if_alive(purchases, spend, history, monetary_value, params)?;
    let alive = match purchases {
        Purchases::BetaGeo(m) => m.p_alive_coded(history, &codes),
        Purchases::ParetoNbd(m) => m.p_alive_coded(history, &codes)?,
    };
    value.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        for (j, v) in chunk.iter_mut().enumerate() {
            *v *= alive[c * CHUNK + j];
        }
    });
    Ok(value)
}

/// The discounted value of each customer if still alive at `T`: the CLV sum
/// with `E[X(t) | alive]` in place of `E[X(t)]`, so that `CLV = P(alive) x
/// value_if_alive` and the value lost if the customer is gone is `(1 -
/// P(alive)) x value_if_alive`, without dividing by a P(alive) near 0.
pub fn value_if_alive<'a>(
    purchases: impl Into<Purchases<'a>>,
    spend: &GammaGamma,
    history: &RfmData<'_>,
    monetary_value: &[f64],
    params: &ClvParams,
) -> Result<Vec<f64>> {
    Ok(discounted_if_alive(purchases.into(), spend, history, monetary_value, params)?.0)
}

/// [`value_if_alive`], and the codes of the history's distinct values (for
/// the P(alive) of [`customer_lifetime_value`]). The discounted sum of `E[X(t)
/// | alive]` depends on `(x, T)` only: it is computed once per distinct pair.
fn discounted_if_alive<'h>(
    purchases: Purchases<'_>,
    spend: &GammaGamma,
    history: &RfmData<'h>,
    monetary_value: &[f64],
    params: &ClvParams,
) -> Result<(Vec<f64>, Codes<'h>)> {
    params.check()?;
    let spend_data = SpendData::new(history.frequency(), monetary_value, None)?;
    let avg_spend = spend.expected_average_spend(&spend_data)?;
    let discounts: Vec<f64> =
        (1..=params.horizon).map(|k| (1.0 + params.discount_rate).powi(k as i32).recip()).collect();
    let codes = Codes::new(history);
    let stop = interrupt::current();
    let discounted: Vec<std::result::Result<f64, f64>> = (0..codes.pairs.len())
        .into_par_iter()
        .with_min_len(16)
        .map(|k| {
            if stop.is_raised() {
                return Err(Error::Interrupted);
            }
            let (x, t) = codes.pair_values(k);
            let mut prev = 0.0;
            let mut value = 0.0;
            for (k, disc) in discounts.iter().enumerate() {
                let horizon = (k + 1) as f64 * params.units_per_month;
                let Some(cum) = purchases.if_alive(horizon, x, t) else { return Ok(Err(horizon)) };
                value += (cum - prev) * disc;
                prev = cum;
            }
            Ok(Ok(value))
        })
        .collect::<Result<_>>()?;
    // the first row whose pair has no value, and the first horizon where it fails
    if let Some(row) =
        discounted.iter().any(|d| d.is_err()).then(|| codes.first_row(|k| discounted[k].is_err())).flatten()
    {
        if let Err(horizon) = discounted[codes.pair(row)] {
            return Err(not_computable(Some(row), horizon));
        }
    }
    let discounted: Vec<f64> = discounted.into_iter().flatten().collect();
    let value = (0..history.len())
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|i| params.margin * avg_spend[i] * discounted[codes.pair(i)])
        .collect();
    Ok((value, codes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn params_rules() {
        let ok = ClvParams { horizon: 12, units_per_month: 30.0, discount_rate: 0.01, margin: 1.0 };
        assert!(ok.check().is_ok());
        for (bad, name) in [
            (ClvParams { horizon: 0, ..ok }, "horizon"),
            (ClvParams { horizon: MAX_HORIZON_MONTHS + 1, ..ok }, "horizon"),
            (ClvParams { horizon: 1 << 40, ..ok }, "horizon"),
            (ClvParams { units_per_month: 0.0, ..ok }, "freq"),
            (ClvParams { discount_rate: -1.0, ..ok }, "discount_rate"),
            (ClvParams { margin: f64::NAN, ..ok }, "margin"),
        ] {
            assert!(matches!(bad.check(), Err(e) if e.name == name));
        }
    }

    #[test]
    fn undiscounted_clv_is_spend_times_expected_purchases() {
        let bg = BetaGeo::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let (x, tx, t, m) = ([2.0, 0.0], [30.43, 0.0], [38.86, 38.86], [22.35, 0.0]);
        let hist = RfmData::new(&x, &tx, &t, None).unwrap();
        let p = ClvParams { horizon: 9, units_per_month: 4.345, discount_rate: 0.0, margin: 0.5 };
        let clv = customer_lifetime_value(&bg, &gg, &hist, &m, &p).unwrap();
        let e = bg.expected_purchases(9.0 * 4.345, &hist).unwrap();
        let z = gg.expected_average_spend(&SpendData::new(&x, &m, None).unwrap()).unwrap();
        for i in 0..2 {
            assert_relative_eq!(clv[i], 0.5 * z[i] * e[i], max_relative = 1e-12);
        }
        // CLV = P(alive) x value if alive, and the value if alive does not depend on recency
        let if_alive = value_if_alive(&bg, &gg, &hist, &m, &p).unwrap();
        let alive = bg.p_alive(&hist);
        for i in 0..2 {
            assert_relative_eq!(clv[i], alive[i] * if_alive[i], max_relative = 1e-12);
        }
        let gone = RfmData::new(&x, &[0.5, 0.0], &t, None).unwrap();
        assert!(bg.p_alive(&gone)[0] < 0.05);
        assert_eq!(value_if_alive(&bg, &gg, &gone, &m, &p).unwrap(), if_alive);
        // discounting lowers it
        let d =
            customer_lifetime_value(&bg, &gg, &hist, &m, &ClvParams { discount_rate: 0.01, ..p }).unwrap();
        assert!(d[0] < clv[0] && d[0] > clv[0] / 1.01f64.powi(9));
    }

    /// A raised stop ends every BTYD fit and per-customer kernel with
    /// `Interrupted`: a fit stopped half-way is no estimate.
    #[test]
    fn a_raised_stop_ends_fits_and_predictions() {
        use crate::btyd::{BetaGeoParams, GammaGammaParams, ParetoNbdParams};
        use crate::interrupt::{with_stop, Stop};
        use crate::Error;
        let (x, tx, t) = ([0.0, 1.0, 4.0, 2.0, 0.0, 6.0], [0.0, 3.0, 20.0, 9.0, 0.0, 30.0], [30.0; 6]);
        let m = [0.0, 12.0, 30.0, 8.0, 0.0, 25.0];
        let hist = RfmData::new(&x, &tx, &t, None).unwrap();
        let spend = SpendData::new(&x, &m, None).unwrap();
        let bg = BetaGeo::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let pnbd = ParetoNbd::new(0.55, 10.58, 0.61, 11.67).unwrap();
        let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let p = ClvParams { horizon: 12, units_per_month: 30.0, discount_rate: 0.01, margin: 1.0 };
        let stop = Stop::new();
        stop.raise();
        let stopped = |r: Result<()>| assert_eq!(r, Err(Error::Interrupted));
        with_stop(&stop, || {
            for modified in [false, true] {
                stopped(
                    BetaGeoParams { modified, ..Default::default() }.check().unwrap().fit(&hist).map(drop),
                );
            }
            stopped(ParetoNbdParams::default().check().unwrap().fit(&hist).map(drop));
            stopped(GammaGammaParams::default().check().unwrap().fit(&spend).map(drop));
            stopped(bg.expected_purchases(30.0, &hist).map(drop));
            stopped(bg.expected_purchases_new_customer(&[30.0]).map(drop));
            stopped(pnbd.p_alive(&hist).map(drop));
            stopped(pnbd.expected_purchases(30.0, &hist).map(drop));
            stopped(customer_lifetime_value(&bg, &gg, &hist, &m, &p).map(drop));
            stopped(value_if_alive(&pnbd, &gg, &hist, &m, &p).map(drop));
        });
        // and without a stop they run
        assert!(customer_lifetime_value(&pnbd, &gg, &hist, &m, &p).is_ok());
    }

    /// Same seed, same answer whatever the thread count (fixed-size chunks,
    /// summed in order).
    #[test]
    fn fits_and_clv_do_not_depend_on_the_thread_count() {
        use crate::btyd::{btyd_summary, BetaGeoParams, GammaGammaParams, SummaryParams};
        use crate::simulate::{simulate_transactions, SimulationParams, Spend};
        use crate::{ReturnsPolicy, Transactions};
        let sim = SimulationParams {
            n_customers: 20_000,
            spend: Spend::GammaGamma { p: 6.25, q: 3.74, v: 15.44 },
            seed: 3,
            ..Default::default()
        };
        let log = simulate_transactions(&sim).unwrap();
        let tx = Transactions::new(&log.customer, &log.day, &log.amount, 20_000, ReturnsPolicy::Net).unwrap();
        let s = btyd_summary(&tx, &SummaryParams::default()).unwrap();
        let run = || {
            let hist = RfmData::new(&s.frequency, &s.recency, &s.t, None).unwrap();
            let bg = BetaGeoParams::default().check().unwrap().fit(&hist).unwrap();
            let spend = SpendData::new(&s.frequency, &s.monetary_value, None).unwrap();
            let gg = GammaGammaParams::default().check().unwrap().fit(&spend).unwrap();
            let p = ClvParams { horizon: 12, units_per_month: 30.0, discount_rate: 0.01, margin: 1.0 };
            let clv = customer_lifetime_value(&bg, &gg, &hist, &s.monetary_value, &p).unwrap();
            (bg, gg, clv)
        };
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(run);
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(run);
        assert!(s.frequency.len() > 2 * super::super::bgnbd::CHUNK);
        assert_eq!(one, three);
    }
}
