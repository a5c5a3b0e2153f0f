//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the
//! likelihood of Fader, Hardie & Lee (2005), "A note on deriving the
//! Pareto/NBD model and related expressions": purchases at rate
//! `λ ~ Gamma(r, α)` while alive, lifetimes exponential with rate
//! `μ ~ Gamma(s, β)`.
//!
//! One customer's likelihood is
//! `Γ(r+x)/Γ(r) α^r β^s [(α+T)^-(r+x) (β+T)^-s + s A]` with the death-time
//! integral `A = ∫_{t_x}^{T} (α+τ)^-(r+x) (β+τ)^-(s+1) dτ` (the note's
//! `A₀ / (r+s+x)`, a Gauss hypergeometric function). `A` and the moments
//! that give the exact gradient and Hessian are computed by quadrature at a
//! bounded cost whatever the parameters ([`super::integrals::death_time`]),
//! so the fit is damped Newton on the log-parameters with the analytic
//! Hessian (L-BFGS as fallback), like the BG/NBD's. `P(alive)` needs no
//! derivatives: the death odds are a difference of two products of
//! factors tabled once per distinct `(x, T)` and `(x, t_x)`
//! ([`ParetoNbd::p_alive`]); rows the tables do not cover take the closed
//! form as a series where that converges quickly
//! ([`super::integrals::death_odds_by_series`]), else the quadrature, once
//! per distinct `(x, t_x, T)`. The likelihood's sums run in fixed-size
//! chunks added in order (results independent of the thread count).
//!
//! Some data cannot identify all four parameters: the likelihood then keeps
//! rising along a ridge towards a limit model (everyone with the same
//! dropout rate, or the same purchase rate, or nobody dropping out). The fit
//! follows it to where the likelihood is flat to machine precision, stops,
//! and says so in [`FitInfo::issues`] (an [`IssueKind::Ridge`] naming what
//! the data do determine).

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bgnbd::{
    check_common, chunked_evaluation, FitInfo, PatternFit, Patterns, CHUNK, PAIRS, TABLE_MAX_FREQUENCY,
};
use super::codes::{Codes, LazyTable, WholeRows};
use super::data::{RfmData, FREQUENCY};
use super::identification::{number, Combination, FitIssue, IssueKind, Parameterisation, PURCHASE_RATE};
use super::integrals::{
    death_odds_by_series, death_time, ln_death_odds_scale, ln_death_tail, DeathTime, Moments,
};
use super::mle::Evaluation;
use super::special::{digamma, ln_gamma_ratio, trigamma};
use crate::error::{DataError, Error, ParamError, Result};
use crate::interrupt;

/// Parameters of the Pareto/NBD fit. Defaults: `penalizer` 0, `max_iter`
/// 1000, `tol` 1e-9.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbdParams {
    /// L2 penalty `penalizer * (r² + (α/max T)² + s² + (β/max T)²)` on the
    /// mean negative log-likelihood (lifetimes' `penalizer_coef`).
    pub penalizer: f64,
    /// Most iterations per start.
    pub max_iter: usize,
    /// Gradient tolerance (max-norm, mean log-likelihood, log-parameters).
    pub tol: f64,
}

impl Default for ParetoNbdParams {
    fn default() -> Self {
        ParetoNbdParams { penalizer: 0.0, max_iter: 1000, tol: 1e-9 }
    }
}

/// [`ParetoNbdParams`] that passed [`ParetoNbdParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidParetoNbdParams(ParetoNbdParams);

impl ParetoNbdParams {
    /// Checks each rule: `penalizer` finite and >= 0, `max_iter` >= 1, `tol`
    /// finite and > 0.
    pub fn check(&self) -> Result<ValidParetoNbdParams, ParamError> {
        check_common(self.penalizer, self.max_iter, self.tol)?;
        Ok(ValidParetoNbdParams(*self))
    }
}

/// A direction along which the likelihood keeps rising without a maximum:
/// what the data cannot tell apart (reported as an [`IssueKind::Ridge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ridge {
    /// `r` and `α` grow together: the data look as if every customer had
    /// the same purchase rate `r/α` (only that ratio is identified).
    PurchaseHeterogeneity,
    /// `s` and `β` grow together: the data look as if every customer had
    /// the same dropout rate `s/β` (only that ratio is identified).
    DropoutHeterogeneity,
    /// `s/β` falls towards 0: no dropout is visible in the data (the limit
    /// is the NBD model, in which customers never drop out).
    NoDropout,
    /// `s` and `β` fall towards 0 together: customers split into those who
    /// never drop out and those who leave right after their first purchase
    /// (only the split, about `β^s`, is identified).
    ImmediateDropout,
}

impl Ridge {
    /// The fit issue, in plain words, at the natural estimates `[r, α, s, β]`.
    fn issue(self, p: &[f64; 4]) -> FitIssue {
        let [r, alpha, s, beta] = p.map(number);
        let (parameters, message) = match self {
            Ridge::PurchaseHeterogeneity => (
                ["r", "alpha"],
                one_rate_message("purchase", ("r", r), ("alpha", alpha), p[0] / p[1]),
            ),
            Ridge::DropoutHeterogeneity => (
                ["s", "beta"],
                one_rate_message("dropout", ("s", s), ("beta", beta), p[2] / p[3]),
            ),
            Ridge::NoDropout => (
                ["s", "beta"],
                format!(
                    "The data show no dropout: the likelihood keeps rising as s/beta falls towards 0 (s = {s}, \
                     beta = {beta}), where the dropout rates are not determined (the limit is the NBD model, in \
                     which customers never drop out)."
                ),
            ),
            Ridge::ImmediateDropout => (
                ["s", "beta"],
                format!(
                    "The data cannot tell apart dropout-rate heterogeneity from a split of customers into those \
                     who never drop out and those who leave right after their first purchase: s and beta fall \
                     towards 0 together (s = {s}, beta = {beta}); only the split is determined."
                ),
            ),
        };
        FitIssue { kind: IssueKind::Ridge, parameters: parameters.map(String::from).to_vec(), message }
    }
}

/// The message of a ridge towards one `what` rate shared by every customer:
/// `shape` and `rate` (the gamma mixing parameters) grow together and only
/// their ratio `mean` is determined.
fn one_rate_message(what: &str, shape: (&str, String), rate: (&str, String), mean: f64) -> String {
    let ((k, kv), (b, bv)) = (shape, rate);
    format!(
        "The data cannot tell apart {what}-rate heterogeneity from one {what} rate shared by every customer: \
         {k} and {b} grow together along a ridge of the likelihood ({k} = {kv}, {b} = {bv}); the fitted ratio \
         {k}/{b} = {} (the mean {what} rate per time unit) is determined, the parameters are not.",
        number(mean)
    )
}

/// A Pareto/NBD model `(r, α, s, β)` (α and β in the data's time unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParetoNbd {
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    fit: Option<FitInfo>,
}

/// The terms of one row's log-likelihood that depend on the frequency only.
struct PerFrequency {
    /// `ln Γ(r+x) - ln Γ(r)`.
    ln_gamma: f64,
    /// `ψ(r+x) - ψ(r)`.
    digamma: f64,
    /// `ψ₁(r+x) - ψ₁(r)`.
    trigamma: f64,
}

impl PerFrequency {
    fn new(r: f64, x: f64, want_hess: bool) -> Self {
        // small whole x: the recurrences, exact where the differences would cancel for large r
        let (dg, tg) = if x <= 64.0 {
            let (mut dg, mut tg) = (0.0, 0.0);
            for i in 0..x as usize {
                let v = r + i as f64;
                dg += 1.0 / v;
                tg -= 1.0 / (v * v);
            }
            (dg, tg)
        } else {
            (digamma(r + x) - digamma(r), if want_hess { trigamma(r + x) - trigamma(r) } else { 0.0 })
        };
        PerFrequency { ln_gamma: ln_gamma_ratio(r, x), digamma: dg, trigamma: tg }
    }
}

/// One row's log-likelihood, its gradient and (upper triangle of the)
/// Hessian in `(r, α, s, β)` (in `PAIRS` order), and the logs of the alive
/// and dead terms.
struct RowTerms {
    ll: f64,
    grad: [f64; 4],
    hess: [f64; 10],
    ln_alive: f64,
    ln_dead: f64,
}

/// The log-likelihood of one history (see the module docs) and, as asked,
/// its derivatives. `None` when the death-time integral cannot be resolved
/// (not expected; an error, never a loop).
fn row_terms(p: [f64; 4], pf: &PerFrequency, x: f64, t_x: f64, t: f64, moments: Moments) -> Option<RowTerms> {
    let [r, alpha, s, beta] = p;
    // both terms times α^r β^s (α+T)^x (β+T), which leaves sums of small
    // logarithms (see `death_time`); the common factor is divided out of ll
    let ln_alive = -r * (t / alpha).ln_1p() - s * (t / beta).ln_1p() + (beta + t).ln();
    let dt: DeathTime = death_time((alpha, beta), (r + x, s + 1.0), (r, s), t_x, t, moments).ok()?;
    let ln_dead = s.ln() + dt.ln_integral;
    let top = ln_alive.max(ln_dead);
    let (ea, ed) = ((ln_alive - top).exp(), (ln_dead - top).exp());
    let ll = pf.ln_gamma + top + (ea + ed).ln() - x * (alpha + t).ln() - (beta + t).ln();
    let mut out = RowTerms { ll, grad: [0.0; 4], hess: [0.0; 10], ln_alive, ln_dead };
    if moments == Moments::None {
        return Some(out);
    }
    let (w_a, w_d) = (ea / (ea + ed), ed / (ea + ed));
    let (a_t, b_t, a_x, b_x) = (alpha + t, beta + t, alpha + t_x, beta + t_x);
    let [xa, za, xb, zb] = dt.mean;
    // gradients of ln(α^r β^s alive) and ln(α^r β^s s A), written without cancellation
    let g_alive =
        [-(t / alpha).ln_1p(), (r * t / alpha - x) / a_t, -(t / beta).ln_1p(), s * t / (beta * b_t)];
    let g_dead = [
        -(t_x / alpha).ln_1p() - xa,
        (r * t_x / alpha + r * za - x * (1.0 - za)) / a_x,
        1.0 / s - (t_x / beta).ln_1p() - xb,
        (s * t_x / beta + s * zb - (1.0 - zb)) / b_x,
    ];
    for k in 0..4 {
        out.grad[k] = w_a * g_alive[k] + w_d * g_dead[k];
    }
    out.grad[0] += pf.digamma;
    if moments != Moments::Covariances {
        return Some(out);
    }
    let mut h_alive = [[0.0; 4]; 4];
    h_alive[0][1] = t / (alpha * a_t);
    h_alive[1][1] = -r * t * (2.0 * alpha + t) / (alpha * alpha * a_t * a_t) + x / (a_t * a_t);
    h_alive[2][3] = t / (beta * b_t);
    h_alive[3][3] = -s * t * (2.0 * beta + t) / (beta * beta * b_t * b_t);
    // dead: r ln α + s ln β + ln s + ln A; ∇² ln A = E[∇² ln f] + Cov[∇ ln f]
    let cov = |i: usize, j: usize| dt.cov[i * 4 + j];
    let ez2 = |i: usize| cov(i, i) + dt.mean[i] * dt.mean[i];
    // E[1/c² - 1/(c+τ)²] c² (c+t_x)² and E[(c+t_x)²/(c+τ)²], from Z = 1 - (c+t_x)/(c+τ)
    let inv_sq_gap = |c: f64, z: f64, z2: f64| t_x * (2.0 * c + t_x) + 2.0 * c * c * z - c * c * z2;
    let inv_sq = |z: f64, z2: f64| 1.0 - 2.0 * z + z2;
    let mut h_dead = [[0.0; 4]; 4];
    h_dead[0][1] = (t_x + alpha * za) / (alpha * a_x);
    h_dead[1][1] = -r * inv_sq_gap(alpha, za, ez2(1)) / (alpha * alpha * a_x * a_x)
        + x * inv_sq(za, ez2(1)) / (a_x * a_x);
    h_dead[2][2] = -1.0 / (s * s);
    h_dead[2][3] = (t_x + beta * zb) / (beta * b_x);
    h_dead[3][3] =
        -s * inv_sq_gap(beta, zb, ez2(3)) / (beta * beta * b_x * b_x) + inv_sq(zb, ez2(3)) / (b_x * b_x);
    // Cov[∇ ln f] with ∇ ln f = (-X_α, (r+x) Z_α / (α+t_x), -X_β, (s+1) Z_β / (β+t_x)) + const
    let jac = [-1.0, (r + x) / a_x, -1.0, (s + 1.0) / b_x];
    for (k, &(i, j)) in PAIRS.iter().enumerate() {
        let outer = w_a * w_d * (g_alive[i] - g_dead[i]) * (g_alive[j] - g_dead[j]);
        let dead = h_dead[i][j] + jac[i] * jac[j] * cov(i, j);
        out.hess[k] = w_a * h_alive[i][j] + w_d * dead + outer;
    }
    out.hess[0] += pf.trigamma;
    Some(out)
}

/// `Σ w ll` over the patterns and, as asked, its gradient and Hessian in
/// `(r, α, s, β)`; `ll` is NaN if some row could not be evaluated.
fn evaluate(p: &Patterns, params: &[f64], moments: Moments) -> Evaluation {
    let par = [params[0], params[1], params[2], params[3]];
    let want_hess = moments == Moments::Covariances;
    let table: Vec<PerFrequency> = p.xs.iter().map(|&x| PerFrequency::new(par[0], x, want_hess)).collect();
    let n = p.w.len();
    let stop = interrupt::current();
    let sums: Vec<[f64; 15]> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = [0.0; 15];
            if stop.is_raised() {
                // stopped: no value (the optimiser reports the stop at its next check)
                acc[0] = f64::NAN;
                return acc;
            }
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let xi = p.x_index[i] as usize;
                let (x, t_x, t) = (p.xs[xi], p.txs[p.tx_index[i] as usize], p.ts[p.t_index[i] as usize]);
                let Some(row) = row_terms(par, &table[xi], x, t_x, t, moments) else {
                    acc[0] = f64::NAN;
                    continue;
                };
                let w = p.w[i];
                acc[0] += w * row.ll;
                if moments != Moments::None {
                    for k in 0..4 {
                        acc[1 + k] += w * row.grad[k];
                    }
                }
                if want_hess {
                    for k in 0..10 {
                        acc[5 + k] += w * row.hess[k];
                    }
                }
            }
            acc
        })
        .collect();
    chunked_evaluation(&sums, want_hess)
}

/// [`evaluate`] for the optimiser: the Hessian when asked, else the gradient.
fn for_fit(p: &Patterns, params: &[f64], want_hess: bool) -> Evaluation {
    evaluate(p, params, if want_hess { Moments::Covariances } else { Moments::Means })
}

/// The Pareto/NBD's parameters and the combinations its fits determine best.
const PARAMETERS: Parameterisation = Parameterisation {
    names: &["r", "alpha", "s", "beta"],
    combinations: &[
        PURCHASE_RATE,
        Combination {
            name: "s/beta",
            meaning: "the mean dropout rate per time unit",
            value: |p| p[2] / p[3],
        },
    ],
};

/// Starting points `(r, α, s, β)`, time scaled so that max T = 1.
const STARTS: [[f64; 4]; 3] = [[1.0, 1.0, 1.0, 1.0], [0.5, 0.2, 0.5, 0.2], [2.0, 5.0, 2.0, 5.0]];

/// Scaled parameters (time in units of the largest `T`) beyond which a fit
/// that ended there is on a ridge: the likelihood is then flat to machine
/// precision along it (its slope decays like the inverse of the parameters).
const RIDGE_LARGE: f64 = 1e5;
/// Scaled parameters below which a fit that ended there is on a ridge.
const RIDGE_SMALL: f64 = 1e-5;
/// Mean dropout rate `s/β` per largest `T` below which no dropout is visible.
const RIDGE_RATE: f64 = 1e-6;

/// The ridges a fit ended on, from its scaled estimates.
fn ridges_of(p: &[f64]) -> Vec<Ridge> {
    let [r, alpha, s, beta] = [p[0], p[1], p[2], p[3]];
    let mut out = Vec::new();
    if r.min(alpha) > RIDGE_LARGE {
        out.push(Ridge::PurchaseHeterogeneity);
    }
    if s.min(beta) > RIDGE_LARGE {
        out.push(Ridge::DropoutHeterogeneity);
    } else if beta < RIDGE_SMALL && s < 1.0 {
        out.push(Ridge::ImmediateDropout);
    } else if s < RIDGE_SMALL || s / beta < RIDGE_RATE {
        out.push(Ridge::NoDropout);
    }
    out
}

impl ValidParetoNbdParams {
    /// Maximum-likelihood fit: damped Newton on the log-parameters with the
    /// analytic Hessian (L-BFGS as fallback), from several starts until one
    /// converges, after a warm start on a subsample for large data. Data
    /// without repeat purchases is rejected. On a ridge (see the module
    /// docs) the estimates are where the likelihood stopped
    /// rising, finite.
    pub fn fit(&self, data: &RfmData<'_>) -> Result<ParetoNbd> {
        let ParetoNbdParams { penalizer, max_iter, tol } = self.0;
        let fit = PatternFit::run(data, "Pareto/NBD", &STARTS, for_fit, penalizer, max_iter, tol)?;
        let p = &fit.best.params;
        let natural = [p[0], p[1] / fit.scale, p[2], p[3] / fit.scale];
        let model = ParetoNbd::new(natural[0], natural[1], natural[2], natural[3])?;
        let log_likelihood = model.log_likelihood(data)?;
        let ridges = ridges_of(p).iter().map(|r| r.issue(&natural)).collect();
        Ok(ParetoNbd {
            fit: Some(fit.info(&PARAMETERS, &natural, log_likelihood, penalizer, ridges)),
            ..model
        })
    }
}

impl ParetoNbd {
    /// A model with known parameters (all positive and finite).
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self, ParamError> {
        for (name, v) in [("r", r), ("alpha", alpha), ("s", s), ("beta", beta)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ParamError::new(name, format!("must be a positive number, got {v}")));
            }
        }
        Ok(ParetoNbd { r, alpha, s, beta, fit: None })
    }

    /// `[r, alpha, s, beta]`.
    pub fn params(&self) -> [f64; 4] {
        [self.r, self.alpha, self.s, self.beta]
    }

    /// The fit's likelihood and diagnostics (`None` for [`ParetoNbd::new`]).
    pub fn fit_info(&self) -> Option<&FitInfo> {
        self.fit.as_ref()
    }

    /// The log-likelihood of `data` (note eq. 22, weighted).
    pub fn log_likelihood(&self, data: &RfmData<'_>) -> Result<f64> {
        let ll = evaluate(&Patterns::new(data, 1.0), &self.params(), Moments::None).ll;
        if ll.is_nan() {
            interrupt::check()?;
            return Err(not_computable(None));
        }
        Ok(ll)
    }

    /// `ln` of the dead term minus `ln` of the alive term of one history.
    fn log_dead_odds(&self, x: f64, t_x: f64, t: f64) -> Option<f64> {
        let pf = PerFrequency { ln_gamma: 0.0, digamma: 0.0, trigamma: 0.0 };
        let row = row_terms(self.params(), &pf, x, t_x, t, Moments::None)?;
        Some(row.ln_dead - row.ln_alive)
    }

    /// `P(alive at T)` of one history: by the hypergeometric closed form
    /// where it is well conditioned, else by quadrature (the rule is at
    /// [`death_odds_by_series`]).
    fn p_alive_one(&self, x: f64, t_x: f64, t: f64) -> Option<f64> {
        let odds = match death_odds_by_series(self.params(), x, t_x, t) {
            Some(odds) => odds,
            None => self.log_dead_odds(x, t_x, t)?,
        };
        let p = 1.0 / (1.0 + odds.exp());
        p.is_finite().then_some(p)
    }

    /// `P(alive)` of the rows `(f, rec, age)` by [`ParetoNbd::p_alive_one`],
    /// once per distinct `(x, t_x, T)`; an error names the row `row_of(i)`.
    fn p_alive_exact(
        &self,
        (f, rec, age): (&[f64], &[f64], &[f64]),
        row_of: impl Fn(usize) -> usize,
    ) -> Result<Vec<f64>> {
        let (patterns, rows) = Patterns::with_rows(&RfmData::new(f, rec, age, None)?, 1.0);
        let stop = interrupt::current();
        let per_pattern: Vec<f64> = (0..patterns.w.len())
            .into_par_iter()
            .with_min_len(64)
            .map(|j| {
                if stop.is_raised() {
                    return Err(None);
                }
                let x = patterns.xs[patterns.x_index[j] as usize];
                let (t_x, t) =
                    (patterns.txs[patterns.tx_index[j] as usize], patterns.ts[patterns.t_index[j] as usize]);
                self.p_alive_one(x, t_x, t).ok_or(Some(j))
            })
            .collect::<Result<_, Option<usize>>>()
            .map_err(|j| match j {
                Some(j) => not_computable(rows.iter().position(|&r| r as usize == j).map(&row_of)),
                None => Error::Interrupted,
            })?;
        Ok(rows.iter().map(|&r| per_pattern[r as usize]).collect())
    }

    /// `H(x, y)` of [`ln_death_tail`]; NaN outside the normal range or where
    /// the series is slow (the row then takes the exact path).
    #[inline]
    fn death_tail(&self, x: f64, y: f64) -> f64 {
        let h = ln_death_tail(self.params(), x, y).map_or(f64::NAN, f64::exp);
        if h.is_normal() {
            h
        } else {
            f64::NAN
        }
    }

    /// Probability that each customer is still alive at `T` (note eq. 18),
    /// from factors tabled once per distinct `(x, T)` and `(x, t_x)`: a
    /// customer's value has the same bits whatever rows share the batch.
    pub fn p_alive(&self, data: &RfmData<'_>) -> Result<Vec<f64>> {
        match self.whole_rows(data, None) {
            Some(out) => out,
            None => self.p_alive_coded(data, &Codes::new(data)),
        }
    }

    /// [`ParetoNbd::p_alive`] from two tables, without a logarithm or an
    /// exponential per row: the death odds are
    /// `P(x, T) H(x, t_x) - P(x, T) H(x, T)` ([`ln_death_odds_scale`],
    /// [`ln_death_tail`]), so a table over the distinct `(x, T)` holds `P`
    /// and `Q = P H(x, T)`, one over the distinct `(x, t_x)` holds `H` (with
    /// the coded index, `H` is computed per row: the same expression, so the
    /// same bits), and a row costs two reads, a product and a difference.
    /// Each entry is measured from the fixed origin `y = 0`, so a row's value
    /// depends on its own `(x, t_x, T)` only; with `t_x = T` the two products
    /// have the same bits and the odds are exactly 0. The difference loses
    /// relative precision only next to `t_x = T`, where the odds are below
    /// `Q <= 1`: `P(alive)` keeps its relative accuracy. Rows with a factor
    /// outside the normal range or a slow series (one of `α, β` much smaller
    /// than the other), and above [`TABLE_MAX_FREQUENCY`], take
    /// [`ParetoNbd::p_alive_one`], once per distinct `(x, t_x, T)`.
    pub(crate) fn p_alive_coded(&self, data: &RfmData<'_>, codes: &Codes<'_>) -> Result<Vec<f64>> {
        self.p_alive_times(data, codes, None)
    }

    /// [`ParetoNbd::p_alive_coded`], times the expectation while alive over
    /// the `horizon` when given (taken per pair in the same pass).
    fn p_alive_times(&self, data: &RfmData<'_>, codes: &Codes<'_>, horizon: Option<f64>) -> Result<Vec<f64>> {
        // each stage below is a bounded pass (a few ms per million rows): the
        // stop is checked between them, and per pattern on the exact path
        interrupt::check()?;
        // per pair, `[P, Q, factor]`, P NaN where the row takes the exact path
        let to_t: Vec<[f64; 3]> = (0..codes.pairs.len())
            .into_par_iter()
            .with_min_len(256)
            .map(|k| {
                let (x, t) = codes.pair_values(k);
                let q = self.scaled_tail(x, t);
                [self.odds_scale(x, t, q), q, horizon.map_or(1.0, |h| self.expected_if_alive(h, x, t))]
            })
            .collect();
        if to_t.iter().any(|e| !e[2].is_finite()) {
            return Err(not_computable(codes.first_row(|k| !to_t[k][2].is_finite())));
        }
        let since: Option<Vec<f64>> = codes.recency_keys().map(|keys| {
            let n_t = codes.recs.len();
            let values: Vec<f64> = keys
                .par_iter()
                .with_min_len(256)
                .map(|&key| self.death_tail(codes.xs[key / n_t], codes.recs[key % n_t]))
                .collect();
            let mut table = vec![f64::NAN; codes.xs.len() * n_t];
            for (&key, v) in keys.iter().zip(values) {
                table[key] = v;
            }
            table
        });
        interrupt::check()?;
        let (f, rec) = (data.frequency(), data.recency());
        let mut out = vec![0.0; data.len()];
        let uncovered = out
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let mut nan = false;
                for (j, v) in chunk.iter_mut().enumerate() {
                    let i = c * CHUNK + j;
                    let [scale, q, factor] = to_t[codes.pair(i)];
                    let h = match &since {
                        Some(table) => table[codes.recency_key(i)],
                        None => self.death_tail(f[i], rec[i]),
                    };
                    *v = alive_from_odds(scale * h - q) * factor;
                    nan |= v.is_nan();
                }
                nan
            })
            .reduce(|| false, |a, b| a | b);
        if uncovered {
            self.exact_where_uncovered(data, &mut out, |i| to_t[codes.pair(i)][2])?;
        }
        Ok(out)
    }

    /// The rows the tables do not cover (NaN in `out`) by the exact path,
    /// times their `factor`.
    fn exact_where_uncovered(
        &self,
        data: &RfmData<'_>,
        out: &mut [f64],
        factor: impl Fn(usize) -> f64,
    ) -> Result<()> {
        let (f, rec, age) = (data.frequency(), data.recency(), data.t());
        let exact: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_nan()).collect();
        let pick = |col: &[f64]| exact.iter().map(|&i| col[i]).collect::<Vec<f64>>();
        let alive = self.p_alive_exact((&pick(f), &pick(rec), &pick(age)), |j| exact[j])?;
        for (&i, p) in exact.iter().zip(alive) {
            out[i] = p * factor(i);
        }
        Ok(())
    }

    /// `Q(x, T) = P(x, T) H(x, T)` of [`ParetoNbd::p_alive_coded`] (NaN above
    /// [`TABLE_MAX_FREQUENCY`]).
    fn scaled_tail(&self, x: f64, t: f64) -> f64 {
        self.raw_scale(x, t) * self.death_tail(x, t)
    }

    /// `P(x, T)` of [`ParetoNbd::p_alive_coded`] given its `Q`: NaN (the row
    /// takes the exact path) unless both are normal numbers.
    fn odds_scale(&self, x: f64, t: f64, q: f64) -> f64 {
        let scale = self.raw_scale(x, t);
        if scale.is_normal() && q.is_normal() {
            scale
        } else {
            f64::NAN
        }
    }

    fn raw_scale(&self, x: f64, t: f64) -> f64 {
        if x > TABLE_MAX_FREQUENCY {
            f64::NAN
        } else {
            ln_death_odds_scale(self.params(), x, t).exp()
        }
    }

    /// [`ParetoNbd::p_alive_times`] of a whole-number summary
    /// ([`super::data::WholeRange`]) in one pass over the rows, its tables
    /// [`LazyTable`]s keyed by the rows' values (the same numbers as the
    /// coded path's, bit for bit). `None` when the data are not such a
    /// summary or the tables would not pay.
    fn whole_rows(&self, data: &RfmData<'_>, horizon: Option<f64>) -> Option<Result<Vec<f64>>> {
        let (rows, cells) = WholeRows::new(data)?;
        // per (x, T) `[P, Q, factor]`, per (x, t_x) `H`
        let (to_t, tail) = (LazyTable::<3>::new(cells), LazyTable::<1>::new(cells));
        let (to_t, tail) = (to_t.cells(), tail.cells());
        // some factor not finite (the cell that finds it says so)
        let bad = AtomicBool::new(false);
        let pair = |(x, t): (f64, f64)| {
            let q = self.scaled_tail(x, t);
            let e = horizon.map_or(1.0, |h| self.expected_if_alive(h, x, t));
            if !e.is_finite() {
                bad.store(true, Ordering::Relaxed);
            }
            [self.odds_scale(x, t, q), q, e]
        };
        let tail_cell = |(x, t_x): (f64, f64)| [self.death_tail(x, t_x)];
        // NaN where the tables do not cover the row
        let mut out = rows.map(|x, t_x, t, k_t, k_tx| {
            let [p, q, e] = to_t.get(k_t, (x, t), &pair);
            let [h] = tail.get(k_tx, (x, t_x), &tail_cell);
            alive_from_odds(p * h - q) * e
        });
        if let Err(e) = interrupt::check() {
            return Some(Err(e));
        }
        let factor_of = |i: usize| {
            let (f, age) = (data.frequency(), data.t());
            to_t.get(rows.keys_of(i).0, (f[i], age[i]), &pair)[2]
        };
        if bad.load(Ordering::Relaxed) {
            return Some(Err(not_computable((0..out.len()).find(|&i| !factor_of(i).is_finite()))));
        }
        if out.iter().any(|v| v.is_nan()) {
            if let Err(e) = self.exact_where_uncovered(data, &mut out, factor_of) {
                return Some(Err(e));
            }
        }
        Some(Ok(out))
    }

    /// `E[X(T, T+t) | alive]`: `(r+x)(β+T) / ((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)]`
    /// (exact at `s = 1`).
    pub(crate) fn expected_if_alive(&self, t: f64, x: f64, age: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ln_ratio = -(t / (beta + age)).ln_1p();
        let shape = if s == 1.0 { -ln_ratio } else { -((s - 1.0) * ln_ratio).exp_m1() / (s - 1.0) };
        (r + x) * (beta + age) / (alpha + age) * shape
    }

    /// Expected repeat purchases of each customer in the next `t` time
    /// units (note eq. 27).
    pub fn expected_purchases(&self, t: f64, data: &RfmData<'_>) -> Result<Vec<f64>> {
        check_horizon(t)?;
        match self.whole_rows(data, Some(t)) {
            Some(out) => out,
            None => self.p_alive_times(data, &Codes::new(data), Some(t)),
        }
    }

    /// Expected repeat purchases of a new customer in `(0, t]` (note eq. 17).
    pub fn expected_purchases_new_customer(&self, t: &[f64]) -> Result<Vec<f64>> {
        t.iter()
            .map(|&ti| {
                check_horizon(ti)?;
                // a new customer is alive at time 0 with x = 0, T = 0
                let e = self.expected_if_alive(ti, 0.0, 0.0);
                if e.is_finite() {
                    Ok(e)
                } else {
                    Err(not_computable(None))
                }
            })
            .collect()
    }
}

/// `1 / (1 + odds)` from the tables' odds; NaN (the row takes the exact
/// path) for NaN or infinite odds. Rounding can leave odds a few ulps below
/// 0 next to `t_x = T`: they are 0 there.
#[inline]
fn alive_from_odds(odds: f64) -> f64 {
    let odds = if odds < 0.0 { 0.0 } else { odds };
    if odds < f64::INFINITY {
        1.0 / (1.0 + odds)
    } else {
        f64::NAN
    }
}

fn check_horizon(t: f64) -> Result<(), ParamError> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(ParamError::new("t", format!("must be a finite number >= 0, got {t}")))
    }
}

fn not_computable(row: Option<usize>) -> crate::Error {
    DataError::Invalid {
        field: FREQUENCY,
        row,
        reason: "the Pareto/NBD terms have no finite floating-point value for this customer \
                 (horizon or parameters too extreme)"
            .into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::super::integrals::ln_death_time_integral;
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn params_rules() {
        let ok = ParetoNbdParams::default();
        assert!(matches!(ParetoNbdParams { penalizer: -1.0, ..ok }.check(), Err(e) if e.name == "penalizer"));
        assert!(matches!(ParetoNbd::new(1.0, 1.0, 0.0, 1.0), Err(e) if e.name == "s"));
    }

    /// The hypergeometric closed form of the log-odds of death agrees with
    /// the quadrature wherever it is used, on both branches (α < β, α > β),
    /// at α = β and next to `t_x = T`; slow series are refused.
    #[test]
    fn closed_form_death_odds_match_the_quadrature() {
        let params = [
            [0.55, 74.06, 0.61, 81.69],
            [0.8, 3.0, 1.5, 0.7],
            [2.2, 170.0, 0.015, 4.7e8],
            [0.3, 9.0, 2.0, 9.0],
        ];
        let rows = [
            (0.0, 0.0, 38.0),
            (1.0, 2.0, 300.0),
            (7.0, 20.0, 39.0),
            (60.0, 30.0, 300.0),
            (143.0, 370.0, 373.0),
            (3.0, 1.0, 5000.0),
            (3000.0, 10.0, 20.0),
        ];
        let mut used = 0;
        for p in params {
            let m = ParetoNbd::new(p[0], p[1], p[2], p[3]).expect("valid");
            for (x, t_x, t) in rows {
                let quadrature = m.log_dead_odds(x, t_x, t).expect("finite");
                if let Some(series) = death_odds_by_series(p, x, t_x, t) {
                    used += 1;
                    // an absolute error of the log-odds is a relative error of the odds
                    assert!(
                        (series - quadrature).abs() <= 1e-11,
                        "{p:?} {x} {t_x} {t}: {series} {quadrature}"
                    );
                }
            }
        }
        assert!(used >= 20, "{used}");
        // t_x next to T: the closed form has no cancellation
        let (t_x, t) = (373.0 - 1e-7, 373.0);
        let near = death_odds_by_series(params[0], 143.0, t_x, t).expect("a short series");
        let m = ParetoNbd::new(params[0][0], params[0][1], params[0][2], params[0][3]).expect("valid");
        assert!((near - m.log_dead_odds(143.0, t_x, t).expect("finite")).abs() <= 1e-11);
        // a slowly converging series (z near 1, large r + x)
        assert!(death_odds_by_series([0.5, 0.01, 1.0, 1e4], 3000.0, 1.0, 50.0).is_none());
    }

    /// `P(alive)` from the tables agrees with the per-row closed form or
    /// quadrature (themselves checked against mpmath in the Python tests) on
    /// whole-day rows in one batch: both branches (α < β, α > β), α = β,
    /// `t_x` next to `T`, `t_x = T` (exactly 1), large `x`, and parameters
    /// where some rows take the exact path; the coded index (fractional
    /// times) gives the same bits.
    #[test]
    fn tables_match_the_per_row_closed_form() {
        let (mut x, mut tx, mut t) = (Vec::new(), Vec::new(), Vec::new());
        for (xi, t_i) in [(0.0, 545.0), (1.0, 456.0), (7.0, 500.0), (93.0, 545.0), (900.0, 700.0)] {
            for tx_i in [0.0, 1.0, 30.0, t_i / 2.0, t_i - 1.0, t_i] {
                if (xi > 0.0) != (tx_i > 0.0) {
                    continue;
                }
                x.push(xi);
                tx.push(tx_i);
                t.push(t_i);
            }
        }
        let data = RfmData::new(&x, &tx, &t, None).unwrap();
        // the same rows with one fractional neighbour: the coded index
        let with = |v: &[f64], extra: f64| [v, &[extra]].concat();
        let (xc, txc, tc) = (with(&x, 2.0), with(&tx, 10.5), with(&t, 30.25));
        let coded = RfmData::new(&xc, &txc, &tc, None).unwrap();
        for p in [
            [0.55, 74.06, 0.61, 81.69],
            [0.8, 3.0, 1.5, 0.7],
            [0.3, 9.0, 2.0, 9.0],
            [0.94, 61.2, 1.67, 4.3e3],
            [2.2, 170.0, 0.015, 4.7e8],
            [30.0, 0.5, 0.04, 800.0],
        ] {
            let m = ParetoNbd::new(p[0], p[1], p[2], p[3]).unwrap();
            let got = m.p_alive(&data).unwrap();
            for i in 0..x.len() {
                let want = m.p_alive_one(x[i], tx[i], t[i]).unwrap();
                assert_relative_eq!(got[i], want, max_relative = 1e-12);
                if tx[i] == t[i] && x[i] > 0.0 {
                    assert_eq!(got[i], 1.0, "{p:?} row {i}");
                }
            }
            assert_eq!(m.p_alive(&coded).unwrap()[..x.len()], got[..]);
        }
    }

    /// The analytic gradient and Hessian against central differences, on
    /// both branches of the integral (α < β and α > β) and with t_x = T.
    #[test]
    fn derivatives_match_finite_differences() {
        let x = [0.0, 1.0, 3.0, 7.0, 120.0, 2.0];
        let tx = [0.0, 0.4, 2.0, 5.0, 30.0, 6.0];
        let t = [1.0, 3.0, 6.0, 9.0, 31.0, 6.0];
        let data = RfmData::new(&x, &tx, &t, Some(&[1.0, 2.0, 1.0, 0.5, 1.0, 1.0])).unwrap();
        let pat = Patterns::new(&data, 1.0);
        for p in [[0.7, 2.3, 0.9, 4.1], [1.3, 5.0, 0.4, 0.8], [0.2, 0.5, 3.0, 0.5]] {
            let e = evaluate(&pat, &p, Moments::Covariances);
            for k in 0..4 {
                let h = 1e-6 * p[k];
                let (mut up, mut dn) = (p, p);
                up[k] += h;
                dn[k] -= h;
                let (eu, ed) =
                    (evaluate(&pat, &up, Moments::Covariances), evaluate(&pat, &dn, Moments::Covariances));
                assert_relative_eq!(
                    e.grad[k],
                    (eu.ll - ed.ll) / (2.0 * h),
                    max_relative = 1e-6,
                    epsilon = 1e-8
                );
                for j in 0..4 {
                    let num = (eu.grad[j] - ed.grad[j]) / (2.0 * h);
                    assert_relative_eq!(e.hess[j * 4 + k], num, max_relative = 1e-5, epsilon = 1e-6);
                }
            }
        }
    }

    /// ln A against a direct numerical integral of its definition,
    /// `A = ∫_{t_x}^{T} (α+τ)^-(r+x) (β+τ)^-(s+1) dτ`.
    #[test]
    fn death_time_integral_matches_simpson() {
        for params in [[0.55, 10.58, 0.61, 11.67], [0.8, 3.0, 1.5, 0.7]] {
            let [r, alpha, s, beta] = params;
            for (x, t_x, t) in [(2.0, 30.43, 38.86), (0.0, 0.0, 38.86), (40.0, 10.0, 39.0)] {
                let steps = 200_000;
                let h = (t - t_x) / steps as f64;
                let integrand =
                    |tau: f64| (-(r + x) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()).exp();
                let mut sum = integrand(t_x) + integrand(t);
                for k in 1..steps {
                    sum += if k % 2 == 1 { 4.0 } else { 2.0 } * integrand(t_x + k as f64 * h);
                }
                let want = (sum / 3.0 * h).ln();
                let got = ln_death_time_integral(alpha, beta, r + x, s + 1.0, t_x, t).unwrap();
                assert_relative_eq!(got, want, max_relative = 1e-10);
            }
        }
    }

    /// Fader, Hardie & Lee (2005) on the CDNOW sample: r = 0.55, α = 10.58,
    /// s = 0.61, β = 11.67, LL = -9595.0. Skipped when the shared data is absent.
    #[test]
    fn cdnow_published_estimates() {
        let Some((x, tx, t)) = crate::btyd::data::cdnow_sample_summary() else { return };
        let data = RfmData::new(&x, &tx, &t, None).unwrap();
        let m = ParetoNbdParams::default().check().unwrap().fit(&data).unwrap();
        let info = m.fit_info().unwrap();
        assert!(info.converged, "{info:?}");
        assert!(info.identified(), "{:?}", info.issues);
        let rounded = m.params().map(|v| (v * 100.0).round() / 100.0);
        assert_eq!(rounded, [0.55, 10.58, 0.61, 11.67]);
        assert_eq!((info.log_likelihood * 10.0).round() / 10.0, -9595.0);
        assert!(info.standard_errors.is_some());
    }
}
