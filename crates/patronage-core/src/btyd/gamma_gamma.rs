//! The Gamma-Gamma model of monetary value (Fader & Hardie 2013, "The
//! Gamma-Gamma model of monetary value"; Colombo & Jiang 1999): a customer's
//! transaction values are `Gamma(p, ν)` and `ν ~ Gamma(q, v)` across
//! customers, so the mean `z̄` of `x` repeat transactions has a closed-form
//! marginal likelihood. Fitted on repeat buyers only; it assumes spend is
//! independent of the purchase frequency, which the fit measures
//! ([`GammaGamma::frequency_spend_correlation`]).
//!
//! ```
//! use patronage_core::btyd::{GammaGamma, GammaGammaParams, SpendData};
//!
//! let x = [1.0, 2.0, 3.0, 1.0, 4.0, 2.0, 0.0];
//! let m = [20.0, 35.0, 25.0, 12.0, 30.0, 22.0, 0.0];
//! let data = SpendData::new(&x, &m, None).unwrap();
//! let gg = GammaGammaParams::default().check().unwrap().fit(&data).unwrap();
//! let spend = gg.expected_average_spend(&data).unwrap();
//! // shrinks each customer's mean towards the population mean
//! assert!(spend[0] > 20.0 && spend[3] > 12.0);
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bgnbd::distinct_whole;
use super::bgnbd::{check_common, FitInfo, CHUNK};
use super::data::{SpendData, MONETARY};
use super::identification::{diagnose, Combination, Parameterisation};
use super::mle::{maximise, standard_errors, warm_stride, with_warm_start, Evaluation};
use super::special::{digamma, ln_gamma, trigamma};
use crate::error::{DataError, ParamError, Result};

/// Parameters of the Gamma-Gamma fit. Defaults: `penalizer` 0, `max_iter`
/// 1000, `tol` 1e-9.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaParams {
    /// L2 penalty `penalizer * (p² + q² + v²)` added to the mean negative
    /// log-likelihood (lifetimes' `penalizer_coef`; `v` is in spend units).
    pub penalizer: f64,
    /// Most L-BFGS iterations per start.
    pub max_iter: usize,
    /// Gradient tolerance (max-norm, mean log-likelihood, log-parameters).
    pub tol: f64,
}

impl Default for GammaGammaParams {
    fn default() -> Self {
        GammaGammaParams { penalizer: 0.0, max_iter: 1000, tol: 1e-9 }
    }
}

/// [`GammaGammaParams`] that passed [`GammaGammaParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidGammaGammaParams(GammaGammaParams);

impl GammaGammaParams {
    /// Checks each rule: `penalizer` finite and >= 0, `max_iter` >= 1, `tol`
    /// finite and > 0.
    pub fn check(&self) -> Result<ValidGammaGammaParams, ParamError> {
        check_common(self.penalizer, self.max_iter, self.tol)?;
        Ok(ValidGammaGammaParams(*self))
    }
}

/// A Gamma-Gamma spend model `(p, q, v)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    p: f64,
    q: f64,
    v: f64,
    frequency_spend_correlation: Option<f64>,
    fit: Option<FitInfo>,
}

/// Repeat buyers' rows, with the per-frequency index.
struct Buyers {
    x_index: Vec<u32>,
    ln_m: Vec<f64>,
    m: Vec<f64>,
    w: Vec<f64>,
    xs: Vec<f64>,
}

impl Buyers {
    fn new(data: &SpendData<'_>) -> Self {
        let (f, m) = (data.frequency(), data.monetary_value());
        let rows: Vec<usize> = (0..data.len()).filter(|&i| f[i] > 0.0 && data.weight(i) > 0.0).collect();
        let (x_index, xs) = distinct_whole(&rows.iter().map(|&i| f[i]).collect::<Vec<_>>());
        Buyers {
            x_index,
            ln_m: rows.par_iter().with_min_len(CHUNK).map(|&i| m[i].ln()).collect(),
            m: rows.iter().map(|&i| m[i]).collect(),
            w: rows.iter().map(|&i| data.weight(i)).collect(),
            xs,
        }
    }

    /// Every `stride`-th row (a systematic subsample for warm starts).
    fn every(&self, stride: usize) -> Buyers {
        let pick = |v: &[f64]| v.iter().step_by(stride).copied().collect();
        Buyers {
            x_index: self.x_index.iter().step_by(stride).copied().collect(),
            ln_m: pick(&self.ln_m),
            m: pick(&self.m),
            w: pick(&self.w),
            xs: self.xs.clone(),
        }
    }

    /// `[Σ w, Σ w x, Σ w m, rows]`.
    fn totals(&self) -> SpendTotals {
        let x = |i: usize| self.xs[self.x_index[i] as usize];
        let n = self.w.len();
        SpendTotals {
            weight: self.w.iter().sum(),
            weighted_frequency: (0..n).map(|i| self.w[i] * x(i)).sum(),
            weighted_spend: (0..n).map(|i| self.w[i] * self.m[i]).sum(),
            rows: n as f64,
        }
    }

    /// `[Σ w dx dm, Σ w dx², Σ w dm²]` about the means `(x̄, m̄)`.
    fn spread(&self, mean_x: f64, mean_m: f64) -> [f64; 3] {
        let x = |i: usize| self.xs[self.x_index[i] as usize];
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for i in 0..self.w.len() {
            let (dx, dm) = (x(i) - mean_x, self.m[i] - mean_m);
            sxy += self.w[i] * dx * dm;
            sxx += self.w[i] * dx * dx;
            syy += self.w[i] * dm * dm;
        }
        [sxy, sxx, syy]
    }
}

/// Sums over the repeat buyers of a batch of rows; batches add up
/// ([`SpendTotals::merge`]) to the whole table's.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpendTotals {
    /// `Σ w`: the customers the buyers stand for.
    pub weight: f64,
    /// `Σ w x`.
    pub weighted_frequency: f64,
    /// `Σ w m`.
    pub weighted_spend: f64,
    /// Buyer rows.
    pub rows: f64,
}

impl SpendTotals {
    /// The totals of two batches together.
    pub fn merge(self, other: SpendTotals) -> SpendTotals {
        SpendTotals {
            weight: self.weight + other.weight,
            weighted_frequency: self.weighted_frequency + other.weighted_frequency,
            weighted_spend: self.weighted_spend + other.weighted_spend,
            rows: self.rows + other.rows,
        }
    }

    /// `(x̄, m̄)`: the weighted mean frequency and spend.
    pub fn means(&self) -> (f64, f64) {
        (self.weighted_frequency / self.weight, self.weighted_spend / self.weight)
    }
}

/// Pearson's r from `[Σ w dx dm, Σ w dx², Σ w dm²]` (`None` when undefined).
fn correlation(spread: &[f64; 3]) -> Option<f64> {
    let c = spread[0] / (spread[1] * spread[2]).sqrt();
    c.is_finite().then_some(c)
}

/// The repeat buyers' [`SpendTotals`] of a batch of rows (the first pass of a
/// fit from sums, [`ValidGammaGammaParams::fit_sums`]).
pub fn spend_totals(data: &SpendData<'_>) -> SpendTotals {
    Buyers::new(data).totals()
}

/// `[Σ w dx dm, Σ w dx², Σ w dm²]` of a batch's repeat buyers about the whole
/// table's means (the second pass: frequency-spend correlation).
pub fn spend_spread(data: &SpendData<'_>, mean_x: f64, mean_m: f64) -> [f64; 3] {
    Buyers::new(data).spread(mean_x, mean_m)
}

/// Entries of [`gamma_gamma_sums`]: `Σ w ll`, the gradient in `(p, q, v)`,
/// then the Hessian's `pp pq pv qq qv vv` (zero unless asked for).
pub const GAMMA_GAMMA_SUMS: usize = 10;

/// The Gamma-Gamma log-likelihood of a batch's repeat buyers at `params`
/// with its gradient and (when `hessian`) Hessian, as sums that add up across
/// batches to the whole table's: what a fit from sums evaluates per batch.
pub fn gamma_gamma_sums(data: &SpendData<'_>, params: &[f64; 3], hessian: bool) -> [f64; GAMMA_GAMMA_SUMS] {
    let e = evaluate(&Buyers::new(data), params, hessian);
    let mut out = [0.0; GAMMA_GAMMA_SUMS];
    out[0] = e.ll;
    out[1..4].copy_from_slice(&e.grad);
    if hessian {
        let h = &e.hess;
        out[4..].copy_from_slice(&[h[0], h[1], h[2], h[4], h[5], h[8]]);
    }
    out
}

/// An [`Evaluation`] from [`gamma_gamma_sums`].
fn from_sums(s: &[f64; GAMMA_GAMMA_SUMS], hessian: bool) -> Evaluation {
    let hess = if hessian {
        let [_, _, _, _, pp, pq, pv, qq, qv, vv] = *s;
        vec![pp, pq, pv, pq, qq, qv, pv, qv, vv]
    } else {
        Vec::new()
    };
    Evaluation { ll: s[0], grad: s[1..4].to_vec(), hess }
}

/// `Σ w ll`, its gradient and (if asked) Hessian in `(p, q, v)`.
fn evaluate(d: &Buyers, params: &[f64], want_hess: bool) -> Evaluation {
    let (p, q, v) = (params[0], params[1], params[2]);
    let (lg_q, psi_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
    let tri_q = if want_hess { trigamma(q) } else { 0.0 };
    // per distinct x: lnΓ(px+q) - lnΓ(px), ψ(px+q), ψ(px), ln x, ψ₁(px+q), ψ₁(px)
    let table: Vec<[f64; 6]> =
        d.xs.iter()
            .map(|&x| {
                let px = p * x;
                let (t1, t2) = if want_hess { (trigamma(px + q), trigamma(px)) } else { (0.0, 0.0) };
                [ln_gamma(px + q) - ln_gamma(px), digamma(px + q), digamma(px), x.ln(), t1, t2]
            })
            .collect();
    let n = d.w.len();
    // [ll, grad(3), hess pp pq pv qq qv vv]
    let sums: Vec<[f64; 10]> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = [0.0; 10];
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let xi = d.x_index[i] as usize;
                let (x, t, w) = (d.xs[xi], &table[xi], d.w[i]);
                let px = p * x;
                let xm_v = x * d.m[i] + v;
                let ln_xm_v = xm_v.ln();
                acc[0] +=
                    w * (t[0] - lg_q + q * ln_v + (px - 1.0) * d.ln_m[i] + px * t[3] - (px + q) * ln_xm_v);
                acc[1] += w * x * (t[1] - t[2] + d.ln_m[i] + t[3] - ln_xm_v);
                acc[2] += w * (t[1] - psi_q + ln_v - ln_xm_v);
                acc[3] += w * (q / v - (px + q) / xm_v);
                if want_hess {
                    let inv = 1.0 / xm_v;
                    acc[4] += w * x * x * (t[4] - t[5]);
                    acc[5] += w * x * t[4];
                    acc[6] -= w * x * inv;
                    acc[7] += w * (t[4] - tri_q);
                    acc[8] += w * (1.0 / v - inv);
                    acc[9] += w * (-q / (v * v) + (px + q) * inv * inv);
                }
            }
            acc
        })
        .collect();
    let mut total = [0.0; 10];
    for s in &sums {
        for (t, v) in total.iter_mut().zip(s) {
            *t += v;
        }
    }
    let hess = if want_hess {
        let [_, _, _, _, pp, pq, pv, qq, qv, vv] = total;
        vec![pp, pq, pv, pq, qq, qv, pv, qv, vv]
    } else {
        Vec::new()
    };
    Evaluation { ll: total[0], grad: total[1..4].to_vec(), hess }
}

/// The Gamma-Gamma's parameters and the combination its fits determine best.
const PARAMETERS: Parameterisation = Parameterisation {
    names: &["p", "q", "v"],
    combinations: &[Combination {
        name: "p*v/(q-1)",
        meaning: "the mean spend per transaction",
        value: |p| if p[1] > 1.0 { p[0] * p[2] / (p[1] - 1.0) } else { f64::NAN },
    }],
};

/// The error of a fit without a repeat buyer.
fn no_repeat_buyers() -> crate::Error {
    DataError::Invalid {
        field: super::data::FREQUENCY,
        row: None,
        reason: "no repeat buyers (frequency > 0): the Gamma-Gamma model cannot be fitted".into(),
    }
    .into()
}

/// The starting points: the first matches the observed mean spend
/// `E[z] = p v / (q - 1)`.
fn starts(mean_m: f64) -> [Vec<f64>; 4] {
    [
        vec![1.0, 2.0, mean_m],
        vec![1.0, 1.0, 1.0],
        vec![5.0, 3.0, 2.0 * mean_m],
        vec![0.5, 10.0, 20.0 * mean_m],
    ]
}

impl ValidGammaGammaParams {
    /// Maximum-likelihood fit on the rows with `frequency > 0` (the others
    /// are ignored), by damped Newton on the log-parameters (L-BFGS as
    /// fallback, several starts). Errors when there is no repeat buyer or when
    /// stopped ([`crate::Error::Interrupted`]); a fit that did not converge is
    /// returned with `converged == false`.
    pub fn fit(&self, data: &SpendData<'_>) -> Result<GammaGamma> {
        let buyers = Buyers::new(data);
        let totals = buyers.totals();
        if buyers.w.is_empty() {
            return Err(no_repeat_buyers());
        }
        let (mean_x, mean_m) = totals.means();
        let sample = warm_stride(buyers.w.len()).map(|k| buyers.every(k));
        let sample_w = sample.as_ref().map_or(0.0, |s| s.w.iter().sum());
        let (starts, warm_evaluations) = with_warm_start(
            sample.as_ref().map(|s| move |p: &[f64], h| evaluate(s, p, h)),
            sample_w,
            self.0.penalizer,
            &starts(mean_m),
            self.0.max_iter,
        )?;
        let spread = buyers.spread(mean_x, mean_m);
        self.fit_from(&totals, &spread, |p, h| evaluate(&buyers, p, h), &starts, warm_evaluations)
    }

    /// The same fit from sums that add up across batches of rows (a table
    /// spread over machines): `totals` and `spread` are the batches' merged
    /// [`spend_totals`] and [`spend_spread`] (about `totals.means()`), and
    /// `sums(params, hessian)` returns the batches' [`gamma_gamma_sums`]
    /// added up. Same starts, optimiser and diagnostics as [`Self::fit`]
    /// (without its warm start on a subsample, which needs the rows), so the
    /// same optimum; the first error `sums` returns ends the fit.
    pub fn fit_sums<S>(&self, totals: &SpendTotals, spread: &[f64; 3], sums: S) -> Result<GammaGamma>
    where
        S: Fn(&[f64; 3], bool) -> Result<[f64; GAMMA_GAMMA_SUMS]>,
    {
        if !(totals.weight > 0.0 && totals.rows >= 1.0) {
            return Err(no_repeat_buyers());
        }
        let failed = std::sync::Mutex::new(None);
        let ll = |p: &[f64], hessian: bool| {
            let mut failed = failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let nan = || Evaluation { ll: f64::NAN, grad: vec![f64::NAN; 3], hess: vec![f64::NAN; 9] };
            if failed.is_some() {
                return nan(); // the optimiser gives up on non-finite values
            }
            match sums(&[p[0], p[1], p[2]], hessian) {
                Ok(s) => from_sums(&s, hessian),
                Err(e) => {
                    *failed = Some(e);
                    nan()
                }
            }
        };
        let fitted = self.fit_from(totals, spread, ll, &starts(totals.means().1), 0);
        match failed.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Some(e) => Err(e),
            None => fitted,
        }
    }

    /// The optimiser from `starts` and the fitted model with its diagnostics.
    fn fit_from<L>(
        &self,
        totals: &SpendTotals,
        spread: &[f64; 3],
        ll: L,
        starts: &[Vec<f64>],
        warm_evaluations: usize,
    ) -> Result<GammaGamma>
    where
        L: Fn(&[f64], bool) -> Evaluation,
    {
        let GammaGammaParams { penalizer, max_iter, tol } = self.0;
        let total_w = totals.weight;
        let best = maximise(ll, total_w, penalizer, starts, max_iter, tol)?;
        let Some(best) = best else {
            return Err(DataError::Invalid {
                field: MONETARY,
                row: None,
                reason: "the Gamma-Gamma fit diverged from every starting point".into(),
            }
            .into());
        };
        let p = &best.params;
        let identification = diagnose(&PARAMETERS, p, &best.log_hessian, &best.log_gradient);
        Ok(GammaGamma {
            p: p[0],
            q: p[1],
            v: p[2],
            frequency_spend_correlation: correlation(spread),
            fit: Some(FitInfo {
                log_likelihood: best.log_likelihood,
                standard_errors: standard_errors(p, best.log_cov.as_deref()),
                n_customers: total_w,
                n_patterns: totals.rows as usize,
                penalizer,
                converged: best.minimum.converged(),
                status: best.minimum.status,
                iterations: best.minimum.iterations,
                evaluations: best.evaluations + warm_evaluations,
                gradient_norm: best.minimum.grad_norm(),
                starts: best.starts,
                issues: identification.issues,
                determined: identification.determined,
            }),
        })
    }
}

impl GammaGamma {
    /// A model with known parameters (all positive and finite).
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self, ParamError> {
        for (name, value) in [("p", p), ("q", q), ("v", v)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ParamError::new(name, format!("must be a positive number, got {value}")));
            }
        }
        Ok(GammaGamma { p, q, v, frequency_spend_correlation: None, fit: None })
    }

    /// `[p, q, v]`.
    pub fn params(&self) -> [f64; 3] {
        [self.p, self.q, self.v]
    }

    /// The fit's likelihood and diagnostics (`None` for [`GammaGamma::new`]).
    pub fn fit_info(&self) -> Option<&FitInfo> {
        self.fit.as_ref()
    }

    /// Pearson correlation of frequency and monetary value among the repeat
    /// buyers the model was fitted on (weighted); the model assumes none.
    pub fn frequency_spend_correlation(&self) -> Option<f64> {
        self.frequency_spend_correlation
    }

    /// The log-likelihood of the repeat buyers in `data` (rows with
    /// frequency 0 contribute nothing).
    pub fn log_likelihood(&self, data: &SpendData<'_>) -> f64 {
        evaluate(&Buyers::new(data), &self.params(), false).ll
    }

    /// The population mean spend per transaction, `p v / (q - 1)`; an error
    /// when `q <= 1` (the mean is infinite).
    pub fn mean_spend(&self) -> Result<f64> {
        if self.q <= 1.0 {
            return Err(DataError::Invalid {
                field: MONETARY,
                row: None,
                reason: format!(
                    "the Gamma-Gamma estimate q = {} is <= 1, so the expected spend is infinite",
                    self.q
                ),
            }
            .into());
        }
        Ok(self.p * self.v / (self.q - 1.0))
    }

    /// `E[Z | x, z̄]` per customer: a weighted average of the population mean
    /// and the customer's own mean (the population mean without repeats).
    pub fn expected_average_spend(&self, data: &SpendData<'_>) -> Result<Vec<f64>> {
        let mean = self.mean_spend()?;
        let (f, m) = (data.frequency(), data.monetary_value());
        Ok((0..data.len())
            .map(|i| {
                let px = self.p * f[i];
                let w = px / (px + self.q - 1.0);
                (1.0 - w) * mean + w * m[i]
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn params_rules() {
        let ok = GammaGammaParams::default();
        for (bad, name) in [
            (GammaGammaParams { penalizer: -0.1, ..ok }, "penalizer"),
            (GammaGammaParams { max_iter: 0, ..ok }, "max_iter"),
            (GammaGammaParams { tol: f64::NAN, ..ok }, "tol"),
        ] {
            assert!(matches!(bad.check(), Err(e) if e.name == name));
        }
        assert!(matches!(GammaGamma::new(1.0, -1.0, 1.0), Err(e) if e.name == "q"));
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let x = [1.0, 2.0, 5.0, 0.0, 3.0];
        let m = [10.0, 22.5, 13.0, 0.0, 40.0];
        let data = SpendData::new(&x, &m, None).unwrap();
        let buyers = Buyers::new(&data);
        assert_eq!(buyers.w.len(), 4);
        let p = [2.5, 3.1, 12.0];
        let e = evaluate(&buyers, &p, true);
        for k in 0..3 {
            let h = 1e-6 * p[k];
            let (mut up, mut dn) = (p, p);
            up[k] += h;
            dn[k] -= h;
            let (eu, ed) = (evaluate(&buyers, &up, false), evaluate(&buyers, &dn, false));
            assert_relative_eq!(e.grad[k], (eu.ll - ed.ll) / (2.0 * h), max_relative = 1e-6);
            for j in 0..3 {
                let num = (eu.grad[j] - ed.grad[j]) / (2.0 * h);
                assert_relative_eq!(e.hess[j * 3 + k], num, max_relative = 1e-5, epsilon = 1e-7);
            }
        }
    }

    #[test]
    fn no_repeat_buyers_and_infinite_mean_are_errors() {
        let data = SpendData::new(&[0.0, 0.0], &[0.0, 5.0], None).unwrap();
        assert!(GammaGammaParams::default().check().unwrap().fit(&data).is_err());
        let gg = GammaGamma::new(2.0, 0.8, 10.0).unwrap();
        assert!(gg.mean_spend().is_err());
        // without repeats the expectation is the population mean
        let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let e = gg.expected_average_spend(&data).unwrap();
        assert_relative_eq!(e[0], 6.25 * 15.44 / 2.74, max_relative = 1e-12);
    }

    /// Sums over three uneven batches, merged, give the in-memory fit's
    /// parameters, likelihood and correlation; an error from `sums` ends the fit.
    #[test]
    fn fit_from_batch_sums_equals_the_fit() {
        let n = 3000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 9) as f64).collect();
        let m: Vec<f64> =
            (0..n).map(|i| 5.0 + ((i * 104_729) % 1000) as f64 / 17.0 + (i % 7) as f64).collect();
        let params = GammaGammaParams::default().check().unwrap();
        let whole = params.fit(&SpendData::new(&x, &m, None).unwrap()).unwrap();
        let cuts = [0, 100, 1700, n];
        let batches: Vec<SpendData<'_>> =
            cuts.windows(2).map(|c| SpendData::new(&x[c[0]..c[1]], &m[c[0]..c[1]], None).unwrap()).collect();
        let totals = batches.iter().map(spend_totals).fold(SpendTotals::default(), SpendTotals::merge);
        let (mx, mm) = totals.means();
        let mut spread = [0.0; 3];
        for b in &batches {
            spread.iter_mut().zip(spend_spread(b, mx, mm)).for_each(|(s, v)| *s += v);
        }
        let sums = |p: &[f64; 3], h: bool| {
            let mut total = [0.0; GAMMA_GAMMA_SUMS];
            for b in &batches {
                total.iter_mut().zip(gamma_gamma_sums(b, p, h)).for_each(|(t, v)| *t += v);
            }
            Ok(total)
        };
        let merged = params.fit_sums(&totals, &spread, sums).unwrap();
        for (a, b) in merged.params().iter().zip(whole.params()) {
            assert_relative_eq!(*a, b, max_relative = 1e-8);
        }
        let (fa, fb) = (merged.fit_info().unwrap(), whole.fit_info().unwrap());
        assert_relative_eq!(fa.log_likelihood, fb.log_likelihood, max_relative = 1e-12);
        assert_eq!((fa.n_customers, fa.n_patterns), (fb.n_customers, fb.n_patterns));
        assert_relative_eq!(
            merged.frequency_spend_correlation().unwrap(),
            whole.frequency_spend_correlation().unwrap(),
            max_relative = 1e-10
        );
        let failing =
            |_: &[f64; 3], _: bool| Err(ParamError::new("sums", "engine failed".to_string()).into());
        assert!(
            matches!(params.fit_sums(&totals, &spread, failing), Err(crate::Error::Param(e)) if e.name == "sums")
        );
        let none = SpendTotals::default();
        assert!(params.fit_sums(&none, &spread, sums).is_err());
    }
}
