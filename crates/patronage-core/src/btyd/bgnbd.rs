//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the
//! easy way"): purchases follow a Poisson process with rate
//! `λ ~ Gamma(r, α)`; after each purchase a customer drops out with
//! probability `p ~ Beta(a, b)`.
//!
//! The fit maximises the likelihood (paper eq. 6, in log space) over the
//! log-parameters with L-BFGS and the analytic gradient. Rows sharing the
//! same `(x, t_x, T)` are merged into weighted patterns first (exact, and
//! usually a large saving: times are whole days or weeks), and the
//! `lnΓ`/digamma terms are tabulated once per distinct frequency. The
//! likelihood is summed in fixed-size chunks in parallel and the chunk sums
//! are added in order, so the result does not depend on the thread count.
//!
//! ```
//! use patronage_core::btyd::{BetaGeo, BetaGeoParams, RfmData};
//!
//! let (x, tx, t) = ([0.0, 1.0, 4.0, 2.0, 0.0, 6.0], [0.0, 3.0, 20.0, 9.0, 0.0, 30.0], [30.0; 6]);
//! let data = RfmData::new(&x, &tx, &t, None).unwrap();
//! let model = BetaGeoParams::default().check().unwrap().fit(&data).unwrap();
//! let p = model.p_alive(&data);
//! assert_eq!(p[0], 1.0); // no repeat purchase: nothing suggests a dropout
//! // the published CDNOW estimates, and the paper's customer with x=2, t_x=30.43, T=38.86
//! let cdnow = BetaGeo::new(0.243, 4.414, 0.793, 2.426).unwrap();
//! let one = RfmData::new(&[2.0], &[30.43], &[38.86], None).unwrap();
//! let e = cdnow.expected_purchases(39.0, &one).unwrap()[0];
//! assert!((e - 1.226).abs() < 5e-4);
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

use hashbrown::HashMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::codes::{whole_index, Codes, LazyTable, WholeRows};
use super::data::{RfmData, FREQUENCY};
use super::identification::{
    diagnose, Combination, DeterminedQuantity, FitIssue, Parameterisation, PURCHASE_RATE,
};
use super::integrals::purchases_if_alive;
use super::mle::{maximise, standard_errors, warm_stride, with_warm_start, Evaluation, Maximum};
use super::special::{digamma, ln_beta, ln_gamma, trigamma};
use crate::error::{DataError, Error, ParamError, Result};
use crate::interrupt;
use crate::optim::Status;

/// Rows per parallel chunk of the likelihood (fixed: the summation order
/// must not depend on the thread count).
pub(crate) const CHUNK: usize = 4096;

/// Parameters of the BG/NBD fit. Defaults: `penalizer` 0, `max_iter` 1000,
/// `tol` 1e-9, `modified` false.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaGeoParams {
    /// Fit the modified BG/NBD (Batislam, Denizel & Filiztekin 2007): a
    /// customer may also drop out right after the first purchase, so
    /// customers without repeats are not certainly alive.
    pub modified: bool,
    /// L2 penalty `penalizer * (r² + (α/max T)² + a² + b²)` added to the mean
    /// negative log-likelihood, exactly as lifetimes' `penalizer_coef`
    /// (which measures α in units of the largest `T`).
    pub penalizer: f64,
    /// Most L-BFGS iterations per start.
    pub max_iter: usize,
    /// Gradient tolerance (max-norm, on the mean log-likelihood per
    /// customer with respect to the log-parameters).
    pub tol: f64,
}

impl Default for BetaGeoParams {
    fn default() -> Self {
        BetaGeoParams { modified: false, penalizer: 0.0, max_iter: 1000, tol: 1e-9 }
    }
}

/// [`BetaGeoParams`] that passed [`BetaGeoParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidBetaGeoParams(BetaGeoParams);

impl BetaGeoParams {
    /// Checks each rule: `penalizer` finite and >= 0, `max_iter` >= 1, `tol`
    /// finite and > 0.
    pub fn check(&self) -> Result<ValidBetaGeoParams, ParamError> {
        check_common(self.penalizer, self.max_iter, self.tol)?;
        Ok(ValidBetaGeoParams(*self))
    }
}

pub(crate) fn check_common(penalizer: f64, max_iter: usize, tol: f64) -> Result<(), ParamError> {
    if !(penalizer.is_finite() && penalizer >= 0.0) {
        return Err(ParamError::new("penalizer", format!("must be a finite number >= 0, got {penalizer}")));
    }
    if max_iter == 0 {
        return Err(ParamError::new("max_iter", "must be at least 1"));
    }
    if !(tol.is_finite() && tol > 0.0) {
        return Err(ParamError::new("tol", format!("must be positive, got {tol}")));
    }
    Ok(())
}

/// How a fit went: likelihood, uncertainty and the optimiser's diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitInfo {
    /// The log-likelihood of the data at the estimates (the paper's, in the
    /// data's own time unit; weighted rows count `weight` times).
    pub log_likelihood: f64,
    /// Standard errors of the parameters from the inverse Hessian of the
    /// (penalised) negative log-likelihood; `None` when the Hessian is not
    /// positive definite.
    pub standard_errors: Option<Vec<f64>>,
    /// Number of customers (sum of the weights).
    pub n_customers: f64,
    /// Number of distinct rows the likelihood was evaluated on.
    pub n_patterns: usize,
    /// The penalizer used.
    pub penalizer: f64,
    /// Whether the optimiser converged.
    pub converged: bool,
    /// Why the optimiser stopped (of the start that was kept).
    pub status: Status,
    /// L-BFGS iterations of the kept start.
    pub iterations: usize,
    /// Objective evaluations over all starts.
    pub evaluations: usize,
    /// Largest gradient component (mean objective, log-parameters) at the end.
    pub gradient_norm: f64,
    /// Starting points tried.
    pub starts: usize,
    /// Why the data may not determine the estimates (empty when they do):
    /// a flat likelihood, a standard error of `ln p` above 2, a parameter
    /// running to 0 or infinity (see [`super::identification`]).
    #[serde(default)]
    pub issues: Vec<FitIssue>,
    /// What the data do determine when some parameters are not (the
    /// model's meaningful combinations whose estimates are precise).
    #[serde(default)]
    pub determined: Vec<DeterminedQuantity>,
}

impl FitInfo {
    /// Whether the data determine every parameter (no [`FitInfo::issues`]).
    pub fn identified(&self) -> bool {
        self.issues.is_empty()
    }
}

/// A BG/NBD model: `r, α` (purchase rates, α in the data's time unit) and
/// `a, b` (dropout). Built by [`ValidBetaGeoParams::fit`] or
/// [`BetaGeo::new`] from known parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BetaGeo {
    /// The modified BG/NBD (MBG/NBD) rather than the BG/NBD.
    #[serde(default)]
    modified: bool,
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    fit: Option<FitInfo>,
}

fn positive(name: &'static str, v: f64) -> Result<f64, ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(ParamError::new(name, format!("must be a positive number, got {v}")))
    }
}

/// Weighted, de-duplicated `(x, t_x, T)` rows. Frequencies, recencies and
/// ages index tables of their distinct values, so that the `lnΓ`/digamma
/// terms and the logarithms `ln(α + t)` are computed once per distinct value.
pub(crate) struct Patterns {
    pub(crate) x_index: Vec<u32>,
    pub(crate) tx_index: Vec<u32>,
    pub(crate) t_index: Vec<u32>,
    pub(crate) w: Vec<f64>,
    pub(crate) xs: Vec<f64>,
    pub(crate) txs: Vec<f64>,
    pub(crate) ts: Vec<f64>,
}

/// Dense codes of `values` in first-seen order, and the distinct values.
pub(crate) fn distinct(values: impl Iterator<Item = f64>) -> (Vec<u32>, Vec<f64>) {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut uniques = Vec::new();
    let codes = values
        .map(|v| {
            *seen.entry(v.to_bits()).or_insert_with(|| {
                uniques.push(v);
                (uniques.len() - 1) as u32
            })
        })
        .collect();
    (codes, uniques)
}

/// [`distinct`] for whole numbers (frequencies): a direct lookup table
/// instead of hashing when the largest value is moderate.
pub(crate) fn distinct_whole(values: &[f64]) -> (Vec<u32>, Vec<f64>) {
    let max = values.iter().fold(0.0f64, |m, &v| m.max(v));
    if max > (1u32 << 24) as f64 {
        return distinct(values.iter().copied());
    }
    let mut slot = vec![u32::MAX; max as usize + 1];
    let mut uniques = Vec::new();
    let codes = values
        .iter()
        .map(|&v| {
            let s = &mut slot[v as usize];
            if *s == u32::MAX {
                *s = uniques.len() as u32;
                uniques.push(v);
            }
            *s
        })
        .collect();
    (codes, uniques)
}

/// [`distinct`] of times, with a lookup table instead of hashing when they
/// are all whole numbers below 2^22 (days or weeks).
pub(crate) fn distinct_times(values: &[f64]) -> (Vec<u32>, Vec<f64>) {
    const TABLE: f64 = (1u32 << 22) as f64;
    // (a cast round trip tests wholeness: `trunc` is a library call on baseline x86-64)
    if values.iter().all(|&v| (0.0..=TABLE).contains(&v) && (v as u32) as f64 == v) {
        distinct_whole(values)
    } else {
        distinct(values.iter().copied())
    }
}

impl Patterns {
    pub(crate) fn new(data: &RfmData<'_>, scale: f64) -> Self {
        Patterns::with_rows(data, scale).0
    }

    /// The patterns and, for each row, the pattern it belongs to
    /// (`u32::MAX` for rows of weight 0).
    pub(crate) fn with_rows(data: &RfmData<'_>, scale: f64) -> (Self, Vec<u32>) {
        let n = data.len();
        let (x_code, xs) = distinct_whole(data.frequency());
        let (tx_code, txs) = distinct_times(data.recency());
        let (t_code, ts) = distinct_times(data.t());
        let (n_tx, n_t) = (txs.len(), ts.len());
        let key = |i: usize| (x_code[i] as usize * n_tx + tx_code[i] as usize) * n_t + t_code[i] as usize;
        // Merge equal (x, t_x, T) rows: a dense slot table over the code
        // space when it is small (times in whole days or weeks), else a hash map.
        let space = (xs.len() as u128) * (n_tx as u128) * (n_t as u128);
        let mut p = Patterns {
            x_index: Vec::new(),
            tx_index: Vec::new(),
            t_index: Vec::new(),
            w: Vec::new(),
            xs,
            txs: txs.iter().map(|v| v * scale).collect(),
            ts: ts.iter().map(|v| v * scale).collect(),
        };
        let push = |p: &mut Patterns, i: usize, w: f64| {
            p.x_index.push(x_code[i]);
            p.tx_index.push(tx_code[i]);
            p.t_index.push(t_code[i]);
            p.w.push(w);
            (p.w.len() - 1) as u32
        };
        let mut rows = vec![u32::MAX; n];
        if space <= (4 * n as u128).clamp(1 << 20, 1 << 25) {
            let mut slot = vec![u32::MAX; space as usize];
            for (i, row) in rows.iter_mut().enumerate() {
                let w = data.weight(i);
                if w == 0.0 {
                    continue;
                }
                let s = &mut slot[key(i)];
                if *s == u32::MAX {
                    *s = push(&mut p, i, w);
                } else {
                    p.w[*s as usize] += w;
                }
                *row = *s;
            }
        } else {
            let mut seen: HashMap<usize, u32> = HashMap::new();
            for (i, row) in rows.iter_mut().enumerate() {
                let w = data.weight(i);
                if w == 0.0 {
                    continue;
                }
                let j = match seen.get(&key(i)) {
                    Some(&j) => {
                        p.w[j as usize] += w;
                        j
                    }
                    None => {
                        let j = push(&mut p, i, w);
                        seen.insert(key(i), j);
                        j
                    }
                };
                *row = j;
            }
        }
        (p, rows)
    }

    pub(crate) fn total_weight(&self) -> f64 {
        self.w.iter().sum()
    }

    /// `α` of a purchase rate `r/α` with `r = 1` that matches the mean rate
    /// `Σ w x / Σ w T` (a starting point), clamped to `[1e-6, 1e6]`.
    pub(crate) fn moment_alpha(&self) -> f64 {
        let (mut sum_x, mut sum_t) = (0.0, 0.0);
        for i in 0..self.w.len() {
            sum_x += self.w[i] * self.xs[self.x_index[i] as usize];
            sum_t += self.w[i] * self.ts[self.t_index[i] as usize];
        }
        (sum_t / sum_x.max(1e-12)).clamp(1e-6, 1e6)
    }

    /// Every `stride`-th pattern (a systematic subsample for warm starts).
    pub(crate) fn every(&self, stride: usize) -> Patterns {
        let pick = |v: &[u32]| v.iter().step_by(stride).copied().collect();
        Patterns {
            x_index: pick(&self.x_index),
            tx_index: pick(&self.tx_index),
            t_index: pick(&self.t_index),
            w: self.w.iter().step_by(stride).copied().collect(),
            xs: self.xs.clone(),
            txs: self.txs.clone(),
            ts: self.ts.clone(),
        }
    }
}

/// Terms of the log-likelihood that depend on the frequency only.
struct PerFrequency {
    c: f64,
    dr: f64,
    da: f64,
    db: f64,
    /// Whether the dropout branch (`A_4`) is present.
    mixed: bool,
    ln_a4: f64,
    inv_b4: f64,
    // second derivatives of the frequency-only part
    h_rr: f64,
    h_aa: f64,
    h_bb: f64,
}

/// Symmetric 4x4 index pairs accumulated for the Hessian.
pub(crate) const PAIRS: [(usize, usize); 10] =
    [(0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3)];

/// `Σ w ll`, its gradient and (if asked) Hessian in `(r, α, a, b)`, on the
/// (scaled) patterns. See the module docs for the summation order.
fn evaluate(p: &Patterns, params: &[f64], want_hess: bool, modified: bool) -> Evaluation {
    // MBG/NBD: the beta terms count one more purchase (dropout is possible
    // after the first one too) and the dropout branch applies to everyone.
    let shift = if modified { 1.0 } else { 0.0 };
    let (r, alpha, a, b) = (params[0], params[1], params[2], params[3]);
    let (lg_r, lg_b, lg_ab, ln_alpha) = (ln_gamma(r), ln_gamma(b), ln_gamma(a + b), alpha.ln());
    let (psi_r, psi_b, psi_ab) = (digamma(r), digamma(b), digamma(a + b));
    let (tri_r, tri_b, tri_ab) =
        if want_hess { (trigamma(r), trigamma(b), trigamma(a + b)) } else { (0.0, 0.0, 0.0) };
    let table: Vec<PerFrequency> =
        p.xs.iter()
            .map(|&x| {
                let xs = x + shift;
                let mixed = x > 0.0 || modified;
                let (psi_bx, psi_abx) = (digamma(b + xs), digamma(a + b + xs));
                let (tri_rx, tri_bx, tri_abx) = if want_hess {
                    (trigamma(r + x), trigamma(b + xs), trigamma(a + b + xs))
                } else {
                    (0.0, 0.0, 0.0)
                };
                PerFrequency {
                    c: ln_gamma(r + x) - lg_r + r * ln_alpha + lg_ab + ln_gamma(b + xs)
                        - lg_b
                        - ln_gamma(a + b + xs),
                    dr: digamma(r + x) - psi_r + ln_alpha,
                    da: psi_ab - psi_abx,
                    db: psi_ab + psi_bx - psi_b - psi_abx,
                    mixed,
                    ln_a4: if mixed { (a / (b + xs - 1.0)).ln() } else { 0.0 },
                    inv_b4: if mixed { 1.0 / (b + xs - 1.0) } else { 0.0 },
                    h_rr: tri_rx - tri_r,
                    h_aa: tri_ab - tri_abx,
                    h_bb: tri_ab + tri_bx - tri_b - tri_abx,
                }
            })
            .collect();
    // ln(α + t) and 1/(α + t) per distinct recency and age
    let logs =
        |v: &[f64]| -> Vec<(f64, f64)> { v.iter().map(|&t| ((alpha + t).ln(), 1.0 / (alpha + t))).collect() };
    let (tx_tab, t_tab) = (logs(&p.txs), logs(&p.ts));
    let n = p.w.len();
    // [ll, grad(4), hess pairs(10)]
    let sums: Vec<[f64; 15]> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = [0.0; 15];
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let xi = p.x_index[i] as usize;
                let (x, pf, w) = (p.xs[xi], &table[xi], p.w[i]);
                let rx = r + x;
                let (ln_t, inv_t) = t_tab[p.t_index[i] as usize];
                let a3 = -rx * ln_t;
                let g3 = [-ln_t, -rx * inv_t, 0.0, 0.0];
                let (lse, w4, g4, inv_tx) = if pf.mixed {
                    let (ln_tx, inv_tx) = tx_tab[p.tx_index[i] as usize];
                    let a4 = pf.ln_a4 - rx * ln_tx;
                    let e = (-(a3 - a4).abs()).exp();
                    let share_of_max = 1.0 / (1.0 + e);
                    let w4 = if a4 > a3 { share_of_max } else { e * share_of_max };
                    let g4 = [-ln_tx, -rx * inv_tx, 1.0 / a, -pf.inv_b4];
                    (a3.max(a4) + e.ln_1p(), w4, g4, inv_tx)
                } else {
                    (a3, 0.0, [0.0; 4], 0.0)
                };
                let w3 = 1.0 - w4;
                acc[0] += w * (pf.c + lse);
                let ga = [pf.dr, r / alpha, pf.da, pf.db];
                for k in 0..4 {
                    acc[1 + k] += w * (ga[k] + w3 * g3[k] + w4 * g4[k]);
                }
                if want_hess {
                    // H = H_A + w3 H_a3 + w4 H_a4 + w3 w4 (g3 - g4)(g3 - g4)^T
                    let mut h = [[0.0; 4]; 4];
                    h[0][0] = pf.h_rr;
                    h[0][1] = 1.0 / alpha - w3 * inv_t - w4 * inv_tx;
                    h[1][1] = -r / (alpha * alpha) + rx * (w3 * inv_t * inv_t + w4 * inv_tx * inv_tx);
                    h[2][2] = pf.h_aa - w4 / (a * a);
                    h[2][3] = pf.h_aa;
                    h[3][3] = pf.h_bb + w4 * pf.inv_b4 * pf.inv_b4;
                    let mix = w3 * w4;
                    for (k, &(u, v)) in PAIRS.iter().enumerate() {
                        let outer = mix * (g3[u] - g4[u]) * (g3[v] - g4[v]);
                        acc[5 + k] += w * (h[u][v] + outer);
                    }
                }
            }
            acc
        })
        .collect();
    chunked_evaluation(&sums, want_hess)
}

/// The [`Evaluation`] of a four-parameter likelihood from per-chunk sums
/// `[ll, gradient (4), Hessian upper triangle in PAIRS order (10)]`, added in
/// chunk order (so the result does not depend on the thread count).
pub(crate) fn chunked_evaluation(sums: &[[f64; 15]], want_hess: bool) -> Evaluation {
    let mut total = [0.0; 15];
    for s in sums {
        for (t, v) in total.iter_mut().zip(s) {
            *t += v;
        }
    }
    let hess = if want_hess {
        let mut h = vec![0.0; 16];
        for (k, &(u, v)) in PAIRS.iter().enumerate() {
            h[u * 4 + v] = total[5 + k];
            h[v * 4 + u] = total[5 + k];
        }
        h
    } else {
        Vec::new()
    };
    Evaluation { ll: total[0], grad: total[1..5].to_vec(), hess }
}

/// Frequencies above which [`BetaGeo::p_alive_coded`] takes the logarithm of
/// the time ratio per row (and the Pareto/NBD's tables the exact path).
pub(crate) const TABLE_MAX_FREQUENCY: f64 = 1000.0;

/// The BG/NBD's parameters and the combinations its fits determine best.
const PARAMETERS: Parameterisation = Parameterisation {
    names: &["r", "alpha", "a", "b"],
    combinations: &[
        PURCHASE_RATE,
        Combination {
            name: "a/(a+b)",
            meaning: "the mean probability of dropping out after a purchase",
            value: |p| p[2] / (p[2] + p[3]),
        },
    ],
};

/// Starting points `(r, α, a, b)`, time scaled so that max T = 1.
const STARTS: [[f64; 4]; 4] =
    [[1.0, 1.0, 1.0, 1.0], [0.5, 0.1, 0.5, 2.0], [2.0, 2.0, 2.0, 5.0], [0.1, 0.01, 1.0, 10.0]];

/// What the BG/NBD and Pareto/NBD fits share: time in units of the largest
/// `T` (as lifetimes: α near 1, and the penalizer means the same as
/// lifetimes' `penalizer_coef`), merged patterns, the starts (first the
/// purchase rate `r/α` matching the mean rate), a warm start on a subsample
/// for large data, then [`maximise`].
pub(crate) struct PatternFit {
    pub best: Maximum,
    pub patterns: Patterns,
    pub scale: f64,
    warm_evaluations: usize,
}

impl PatternFit {
    pub(crate) fn run<E>(
        data: &RfmData<'_>,
        model: &str,
        starts: &[[f64; 4]],
        evaluate: E,
        penalizer: f64,
        max_iter: usize,
        tol: f64,
    ) -> Result<PatternFit>
    where
        E: Fn(&Patterns, &[f64], bool) -> Evaluation,
    {
        let max_t = data.t().iter().fold(0.0f64, |m, &v| m.max(v));
        let has_repeat = (0..data.len()).any(|i| data.frequency()[i] > 0.0 && data.weight(i) > 0.0);
        if !has_repeat || max_t <= 0.0 {
            return Err(DataError::Invalid {
                field: FREQUENCY,
                row: None,
                reason: format!(
                    "no customer with a repeat purchase (frequency > 0): the {model} likelihood has no maximum"
                ),
            }
            .into());
        }
        let scale = 1.0 / max_t;
        let patterns = Patterns::new(data, scale);
        let starts: Vec<Vec<f64>> = std::iter::once(vec![1.0, patterns.moment_alpha(), 1.0, 1.0])
            .chain(starts.iter().map(|s| s.to_vec()))
            .collect();
        let sample = warm_stride(patterns.w.len()).map(|k| patterns.every(k));
        let sample_w = sample.as_ref().map_or(0.0, |s| s.total_weight());
        let (starts, warm_evaluations) = with_warm_start(
            sample.as_ref().map(|s| |p: &[f64], h| evaluate(s, p, h)),
            sample_w,
            penalizer,
            &starts,
            max_iter,
        )?;
        let total_w = patterns.total_weight();
        let best = maximise(|p, h| evaluate(&patterns, p, h), total_w, penalizer, &starts, max_iter, tol)?
            .ok_or_else(|| DataError::Invalid {
                field: FREQUENCY,
                row: None,
                reason: format!("the {model} fit diverged from every starting point"),
            })?;
        Ok(PatternFit { best, patterns, scale, warm_evaluations })
    }

    /// The fit's diagnostics, with the natural parameters (data's time unit).
    /// `issues` are the model's own findings (a Pareto/NBD ridge), listed
    /// before those of [`diagnose`]; a finding of [`diagnose`] about only
    /// parameters they already explain is left out (one account per cause).
    pub(crate) fn info(
        &self,
        model: &Parameterisation,
        natural: &[f64],
        log_likelihood: f64,
        penalizer: f64,
        mut issues: Vec<FitIssue>,
    ) -> FitInfo {
        let best = &self.best;
        let identification = diagnose(model, natural, &best.log_hessian, &best.log_gradient);
        let explained: Vec<&String> = issues.iter().flat_map(|i| &i.parameters).collect();
        let unexplained: Vec<FitIssue> = identification
            .issues
            .into_iter()
            .filter(|i| !i.parameters.iter().all(|p| explained.contains(&p)))
            .collect();
        issues.extend(unexplained);
        FitInfo {
            log_likelihood,
            standard_errors: standard_errors(natural, best.log_cov.as_deref()),
            n_customers: self.patterns.total_weight(),
            n_patterns: self.patterns.w.len(),
            penalizer,
            converged: best.minimum.converged(),
            status: best.minimum.status,
            iterations: best.minimum.iterations,
            evaluations: best.evaluations + self.warm_evaluations,
            gradient_norm: best.minimum.grad_norm(),
            starts: best.starts,
            issues,
            determined: identification.determined,
        }
    }
}

impl ValidBetaGeoParams {
    /// Maximum-likelihood fit (damped Newton on the log-parameters with the
    /// analytic Hessian, L-BFGS as fallback). Tries up to five starting
    /// points until one converges and keeps the best; a fit that did not
    /// converge is returned with `converged == false` (see
    /// [`BetaGeo::fit_info`]), an error only when no start gave finite
    /// parameters. Data without any repeat purchase is rejected (the
    /// likelihood has no maximum).
    pub fn fit(&self, data: &RfmData<'_>) -> Result<BetaGeo> {
        let BetaGeoParams { modified, penalizer, max_iter, tol } = self.0;
        let fit = PatternFit::run(
            data,
            "BG/NBD",
            &STARTS,
            |pat, p, h| evaluate(pat, p, h, modified),
            penalizer,
            max_iter,
            tol,
        )?;
        let (best, patterns, scale) = (&fit.best, &fit.patterns, fit.scale);
        let p = &best.params;
        // Back to the data's time unit: α scales with time; ll changes by Σ w x ln(scale).
        let sum_wx: f64 =
            (0..patterns.w.len()).map(|i| patterns.w[i] * patterns.xs[patterns.x_index[i] as usize]).sum();
        let log_likelihood = best.log_likelihood + sum_wx * scale.ln();
        let natural = [p[0], p[1] / scale, p[2], p[3]];
        Ok(BetaGeo {
            modified,
            r: natural[0],
            alpha: natural[1],
            a: natural[2],
            b: natural[3],
            fit: Some(fit.info(&PARAMETERS, &natural, log_likelihood, penalizer, Vec::new())),
        })
    }
}

impl BetaGeo {
    /// A model with known parameters (all positive and finite).
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ParamError> {
        Ok(BetaGeo {
            modified: false,
            r: positive("r", r)?,
            alpha: positive("alpha", alpha)?,
            a: positive("a", a)?,
            b: positive("b", b)?,
            fit: None,
        })
    }

    /// A modified BG/NBD (MBG/NBD) model with known parameters.
    pub fn new_modified(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ParamError> {
        Ok(BetaGeo { modified: true, ..BetaGeo::new(r, alpha, a, b)? })
    }

    /// Whether this is the modified BG/NBD.
    pub fn is_modified(&self) -> bool {
        self.modified
    }

    /// `[r, alpha, a, b]`.
    pub fn params(&self) -> [f64; 4] {
        [self.r, self.alpha, self.a, self.b]
    }

    /// The fit's likelihood and diagnostics (`None` for [`BetaGeo::new`]).
    pub fn fit_info(&self) -> Option<&FitInfo> {
        self.fit.as_ref()
    }

    /// The log-likelihood of `data` under this model (paper eq. 6, weighted).
    pub fn log_likelihood(&self, data: &RfmData<'_>) -> f64 {
        evaluate(&Patterns::new(data, 1.0), &self.params(), false, self.modified).ll
    }

    /// `ln P(alive)`-odds pieces: `ln(a/(b+x-1)) + (r+x) ln((α+T)/(α+t_x))`.
    fn log_dead_odds(&self, x: f64, t_x: f64, t: f64) -> f64 {
        (self.a / (self.b + x - 1.0 + if self.modified { 1.0 } else { 0.0 })).ln()
            + (self.r + x) * ((self.alpha + t) / (self.alpha + t_x)).ln()
    }

    fn p_alive_one(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if x == 0.0 && !self.modified {
            1.0
        } else {
            1.0 / (1.0 + self.log_dead_odds(x, t_x, t).exp())
        }
    }

    /// Probability that each customer is still alive at `T` (Fader, Hardie &
    /// Lee 2008, note 021); 1 for customers without repeat purchases.
    pub fn p_alive(&self, data: &RfmData<'_>) -> Vec<f64> {
        match self.whole_rows(data, None) {
            Some((p, _)) => p,
            None => self.p_alive_coded(data, &Codes::new(data)),
        }
    }

    /// [`BetaGeo::p_alive`] without a logarithm or an exponential per row:
    /// the odds of a dropout, `a/(b+x-1) ((α+T)/(α+t_x))^(r+x)`, are the
    /// product of `A(x, T) = a/(b+x-1) (1+T/α)^(r+x)`, taken once per distinct
    /// `(x, T)`, and `B(x, t_x) = (1+t_x/α)^-(r+x)`, once per distinct
    /// `(x, t_x)` (with the coded index, once per row from a table of
    /// `ln(1+t_x/α)`: the same expression, so the same bits). Both factors are
    /// measured from the fixed origin `t = 0`, so a row's value depends on its
    /// own `(x, t_x, T)` only. Where a factor leaves the normal range, and
    /// above [`TABLE_MAX_FREQUENCY`] (where `r+x` would scale the rounding of
    /// the logarithms), the row takes the direct ratio instead.
    pub(crate) fn p_alive_coded(&self, data: &RfmData<'_>, codes: &Codes<'_>) -> Vec<f64> {
        self.p_alive_times(data, codes, None)
    }

    /// `B(x, t_x)` of [`BetaGeo::p_alive_coded`] from `ln(1+t_x/α)`; NaN
    /// outside the normal range (the row then takes the direct ratio).
    #[inline]
    fn odds_since(&self, x: f64, t_x: f64, ln_rec: f64) -> f64 {
        let b = if t_x == 0.0 { 1.0 } else { (-(self.r + x) * ln_rec).exp() };
        if b.is_normal() {
            b
        } else {
            f64::NAN
        }
    }

    /// `A(x, T)` of [`BetaGeo::p_alive_coded`] from `ln(1+T/α)`: 0 where P(alive) is 1 by
    /// definition (the BG/NBD without repeats), NaN where the row takes the
    /// direct ratio, so that the row loops have no other branch.
    fn odds_to(&self, x: f64, ln_t: f64) -> f64 {
        if x == 0.0 && !self.modified {
            return 0.0;
        }
        if x > TABLE_MAX_FREQUENCY {
            return f64::NAN;
        }
        let shift = if self.modified { 1.0 } else { 0.0 };
        let a = ((self.a / (self.b + x - 1.0 + shift)).ln() + (self.r + x) * ln_t).exp();
        if a.is_normal() {
            a
        } else {
            f64::NAN
        }
    }

    /// `P(alive)` of one row from its factors `A(x, T)` and `B(x, t_x)`.
    #[inline]
    fn p_alive_of(&self, to_t: f64, since: f64, x: f64, t_x: f64, t: f64) -> f64 {
        let odds = to_t * since;
        // the branch tests the product, so it need not wait for the division
        if odds.is_nan() {
            self.p_alive_one(x, t_x, t)
        } else {
            1.0 / (1.0 + odds)
        }
    }

    /// [`BetaGeo::p_alive_coded`] of a whole-number summary
    /// ([`super::data::WholeRange`]), times `E[X(T, T+t) | alive]` when
    /// `horizon` gives `t`, in one pass over the rows: the factors are
    /// [`LazyTable`]s keyed by the rows' values (the same numbers as the
    /// coded path's, bit for bit). `None` when the data are not such a
    /// summary or the tables would not pay; with `horizon`, also whether
    /// some row's expectation is not computable (NaN).
    fn whole_rows(&self, data: &RfmData<'_>, horizon: Option<f64>) -> Option<(Vec<f64>, bool)> {
        let (rows, cells) = WholeRows::new(data)?;
        let (to_t, since) = (LazyTable::<2>::new(cells), LazyTable::<1>::new(cells));
        let (to_t, since) = (to_t.cells(), since.cells());
        // `ln(1+t/α)` by whole t (the same expression as the coded path's)
        let ln_time = LazyTable::<1>::new(rows.times());
        let ln_time =
            |t: f64| ln_time.cells().get(whole_index(t), t, &|t: f64| [(t / self.alpha).ln_1p()])[0];
        // each row's `P(alive)` times `E[X(T, T+t) | alive]` (tabled with
        // `A(x, T)`): NaN, and so the row's value, where not computable (the
        // cell that finds it says so)
        let failed = AtomicBool::new(false);
        let factor = |x: f64, t: f64| {
            horizon.map_or(1.0, |h| {
                self.expected_if_alive(h, x, t).unwrap_or_else(|_| {
                    failed.store(true, Ordering::Relaxed);
                    f64::NAN
                })
            })
        };
        let to_t_cell = |(x, t): (f64, f64)| [self.odds_to(x, ln_time(t)), factor(x, t)];
        let since_cell = |(x, t_x): (f64, f64)| [self.odds_since(x, t_x, ln_time(t_x))];
        let out = rows.map(|x, t_x, t, k_t, k_tx| {
            let [a, e] = to_t.get(k_t, (x, t), &to_t_cell);
            let [b] = since.get(k_tx, (x, t_x), &since_cell);
            self.p_alive_of(a, b, x, t_x, t) * e
        });
        Some((out, failed.into_inner()))
    }

    /// [`BetaGeo::p_alive_coded`], times `per_pair[codes.pair(i)]` when
    /// given: the expectation in the same pass over the rows.
    fn p_alive_times(&self, data: &RfmData<'_>, codes: &Codes<'_>, per_pair: Option<&[f64]>) -> Vec<f64> {
        let ln_rec: Vec<f64> = codes.recs.iter().map(|&t| (t / self.alpha).ln_1p()).collect();
        // per pair, `A(x, T)` and the factor: A is 0 where P(alive) is 1 by
        // definition (the BG/NBD without repeats), NaN where the row takes the
        // direct ratio, so that the row loop has no other branch
        let to_t: Vec<[f64; 2]> = (0..codes.pairs.len())
            .into_par_iter()
            .with_min_len(1024)
            .map(|k| {
                let (x, t) = codes.pair_values(k);
                [self.odds_to(x, (t / self.alpha).ln_1p()), per_pair.map_or(1.0, |e| e[k])]
            })
            .collect();
        let odds_since: Option<Vec<f64>> = codes.recency_keys().map(|keys| {
            let n_t = codes.recs.len();
            let values: Vec<f64> = keys
                .par_iter()
                .with_min_len(1024)
                .map(|&key| {
                    let (x, k_rec) = (codes.xs[key / n_t], key % n_t);
                    self.odds_since(x, codes.recs[k_rec], ln_rec[k_rec])
                })
                .collect();
            let mut table = vec![0.0; codes.xs.len() * n_t];
            for (&key, v) in keys.iter().zip(values) {
                table[key] = v;
            }
            table
        });
        let (f, rec, age) = (data.frequency(), data.recency(), data.t());
        let mut out = vec![0.0; data.len()];
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
            for (j, v) in chunk.iter_mut().enumerate() {
                let i = c * CHUNK + j;
                let [to_t, factor] = to_t[codes.pair(i)];
                let since = match &odds_since {
                    Some(table) => table[codes.recency_key(i)],
                    None => self.odds_since(f[i], rec[i], ln_rec[codes.values(i).1]),
                };
                *v = self.p_alive_of(to_t, since, f[i], rec[i], age[i]) * factor;
            }
        });
        out
    }

    /// `E[X(T, T+t)]` for one history.
    pub(crate) fn expected_one(&self, t: f64, x: f64, t_x: f64, age: f64) -> Result<f64, NotComputable> {
        Ok(self.expected_if_alive(t, x, age)? * self.p_alive_one(x, t_x, age))
    }

    /// `E[X(T, T+t) | alive at T]`, which depends on `(x, T)` only: paper
    /// eq. 10 without its `P(alive)` factor, `E_p[(1 - (1+p u)^-(r+x)) / p]`
    /// with `p ~ Beta(a, b+x)` and `u = t/(α+T)` (the MBG/NBD: `b+1+x`),
    /// evaluated for every valid parameter value ([`purchases_if_alive`]).
    pub(crate) fn expected_if_alive(&self, t: f64, x: f64, age: f64) -> Result<f64, NotComputable> {
        // MBG/NBD: the same expression with b + 1 (Batislam et al. 2007)
        let b = if self.modified { self.b + 1.0 } else { self.b };
        let u = t / (self.alpha + age);
        match purchases_if_alive(self.r + x, self.a, b + x, u) {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(NotComputable),
        }
    }

    /// Expected repeat purchases of each customer in the next `t` time
    /// units (paper eq. 10), for every valid parameter value: the
    /// conditional expectation once per distinct `(x, T)`, times `P(alive)`.
    pub fn expected_purchases(&self, t: f64, data: &RfmData<'_>) -> Result<Vec<f64>> {
        check_horizon(t)?;
        if let Some((out, failed)) = self.whole_rows(data, Some(t)) {
            interrupt::check()?;
            if failed {
                let row = (0..data.len()).find(|&i| out[i].is_nan());
                return Err(not_computable(row, t));
            }
            return Ok(out);
        }
        let codes = Codes::new(data);
        let stop = interrupt::current();
        let if_alive: Vec<Option<f64>> = (0..codes.pairs.len())
            .into_par_iter()
            .map(|k| {
                if stop.is_raised() {
                    return Err(Error::Interrupted);
                }
                let (x, age) = codes.pair_values(k);
                Ok(self.expected_if_alive(t, x, age).ok())
            })
            .collect::<Result<_>>()?;
        if if_alive.iter().any(Option::is_none) {
            let row = codes.first_row(|k| if_alive[k].is_none());
            return Err(not_computable(row, t));
        }
        let if_alive: Vec<f64> = if_alive.into_iter().flatten().collect();
        Ok(self.p_alive_times(data, &codes, Some(&if_alive)))
    }

    /// Expected repeat purchases of a new customer in `(0, t]` (paper eq. 9).
    pub fn expected_purchases_new_customer(&self, t: &[f64]) -> Result<Vec<f64>> {
        t.iter()
            .map(|&ti| {
                check_horizon(ti)?;
                interrupt::check()?;
                self.expected_one(ti, 0.0, 0.0, 0.0).map_err(|_| not_computable(None, ti))
            })
            .collect()
    }

    /// `P(X(t) = n)` for a new customer (paper eq. 8), in log space.
    pub fn probability_of_n_purchases(&self, t: f64, n: u64) -> Result<f64> {
        check_horizon(t)?;
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let nf = n as f64;
        if t == 0.0 {
            return Ok(if n == 0 { 1.0 } else { 0.0 });
        }
        let ln_p = (alpha / (alpha + t)).ln(); // NBD "success" probability
        let ln_q = (t / (alpha + t)).ln();
        let ln_bab = ln_beta(a, b);
        // MBG/NBD: one more dropout opportunity (b + 1 in the beta terms, and a
        // dropout right after the first purchase counts for n = 0)
        let shift = if self.modified { 1.0 } else { 0.0 };
        let first =
            (ln_beta(a, b + nf + shift) - ln_bab + ln_gamma(r + nf) - ln_gamma(r) - ln_gamma(nf + 1.0)
                + r * ln_p
                + nf * ln_q)
                .exp();
        if n == 0 && !self.modified {
            return Ok(first);
        }
        let tail = if n == 0 { 1.0 } else { nbd_upper_tail(r, ln_p, ln_q, n) };
        let second = (ln_beta(a + 1.0, b + nf - 1.0 + shift) - ln_bab).exp() * tail;
        Ok(first + second)
    }
}

/// `P(N >= n)` for `N ~ NBD(r, p)` with `pmf(j) = Γ(r+j)/(Γ(r) j!) p^r q^j`.
fn nbd_upper_tail(r: f64, ln_p: f64, ln_q: f64, n: u64) -> f64 {
    let mut ln_pmf = r * ln_p;
    let mut head = 0.0;
    for j in 0..n {
        head += ln_pmf.exp();
        ln_pmf += ((r + j as f64) / (j as f64 + 1.0)).ln() + ln_q;
    }
    if head < 0.5 {
        return (1.0 - head).max(0.0);
    }
    // 1 - head would cancel: sum the tail itself (terms shrink like q^j).
    let mut tail = 0.0;
    let mut j = n as f64;
    for _ in 0..10_000_000u64 {
        let term = ln_pmf.exp();
        tail += term;
        if j > r && term <= 1e-17 * tail {
            break;
        }
        ln_pmf += ((r + j) / (j + 1.0)).ln() + ln_q;
        j += 1.0;
    }
    tail
}

fn check_horizon(t: f64) -> Result<(), ParamError> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(ParamError::new("t", format!("must be a finite number >= 0, got {t}")))
    }
}

/// An expectation that has no finite floating-point value (a horizon so
/// long that it overflows, or parameters at the ends of the double range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotComputable;

pub(crate) fn not_computable(row: Option<usize>, t: f64) -> crate::Error {
    DataError::Invalid {
        field: FREQUENCY,
        row,
        reason: format!(
            "the expected purchases over t = {t} have no finite floating-point value for this customer \
             (horizon or parameters too extreme)"
        ),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn params_rules() {
        let ok = BetaGeoParams::default();
        assert!(ok.check().is_ok());
        for (bad, name) in [
            (BetaGeoParams { penalizer: -1.0, ..ok }, "penalizer"),
            (BetaGeoParams { penalizer: f64::NAN, ..ok }, "penalizer"),
            (BetaGeoParams { max_iter: 0, ..ok }, "max_iter"),
            (BetaGeoParams { tol: 0.0, ..ok }, "tol"),
        ] {
            assert!(matches!(bad.check(), Err(e) if e.name == name));
        }
        assert!(matches!(BetaGeo::new(0.0, 1.0, 1.0, 1.0), Err(e) if e.name == "r"));
        assert!(matches!(BetaGeo::new(1.0, 1.0, 1.0, f64::INFINITY), Err(e) if e.name == "b"));
    }

    /// The analytic gradient and Hessian against central differences.
    #[test]
    fn derivatives_match_finite_differences() {
        let x = [0.0, 1.0, 3.0, 7.0, 120.0];
        let tx = [0.0, 0.4, 2.0, 5.0, 30.0];
        let t = [1.0, 3.0, 6.0, 9.0, 31.0];
        let data = RfmData::new(&x, &tx, &t, Some(&[1.0, 2.0, 1.0, 0.5, 1.0])).unwrap();
        let pat = Patterns::new(&data, 1.0);
        let p = [0.7, 2.3, 0.9, 2.1];
        for modified in [false, true] {
            let e = evaluate(&pat, &p, true, modified);
            for k in 0..4 {
                let h = 1e-6 * p[k];
                let (mut up, mut dn) = (p, p);
                up[k] += h;
                dn[k] -= h;
                let (eu, ed) = (evaluate(&pat, &up, false, modified), evaluate(&pat, &dn, false, modified));
                assert_relative_eq!(e.grad[k], (eu.ll - ed.ll) / (2.0 * h), max_relative = 1e-6);
                for j in 0..4 {
                    let num = (eu.grad[j] - ed.grad[j]) / (2.0 * h);
                    assert_relative_eq!(e.hess[j * 4 + k], num, max_relative = 1e-5, epsilon = 1e-7);
                }
            }
        }
    }

    /// Likelihood by the paper's eq. 6, written naively, for small data.
    #[test]
    fn likelihood_matches_paper_formula() {
        let (r, alpha, a, b) = (0.243, 4.414, 0.793, 2.426);
        let model = BetaGeo::new(r, alpha, a, b).unwrap();
        let rows = [(0.0, 0.0, 38.86), (2.0, 30.43, 38.86), (1.0, 1.71, 38.86), (5.0, 20.0, 30.0)];
        let mut want = 0.0;
        for &(x, tx, t) in &rows {
            let bb = |p: f64, q: f64| ln_beta(p, q).exp();
            let g = |v: f64| ln_gamma(v).exp();
            let mut l = bb(a, b + x) / bb(a, b) * g(r + x) * alpha.powf(r) / (g(r) * (alpha + t).powf(r + x));
            if x > 0.0 {
                l += bb(a + 1.0, b + x - 1.0) / bb(a, b) * g(r + x) * alpha.powf(r)
                    / (g(r) * (alpha + tx).powf(r + x));
            }
            want += l.ln();
        }
        let (x, tx, t): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            rows.iter().map(|r| r.2).collect(),
        );
        let data = RfmData::new(&x, &tx, &t, None).unwrap();
        assert_relative_eq!(model.log_likelihood(&data), want, max_relative = 1e-12);
    }

    #[test]
    fn heavy_buyers_stay_finite_and_p_alive_is_one_without_repeats() {
        let model = BetaGeo::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let x = [0.0, 300.0, 900.0, 500.0];
        let tx = [0.0, 2000.0, 4999.0, 10.0];
        let t = [50.0, 2500.0, 5000.0, 5000.0];
        let data = RfmData::new(&x, &tx, &t, None).unwrap();
        let p = model.p_alive(&data);
        assert_eq!(p[0], 1.0);
        assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
        assert!(p[3] < 1e-100); // 500 purchases, then silence for 4990 units
        let e = model.expected_purchases(52.0, &data).unwrap();
        assert!(e.iter().all(|v| v.is_finite() && *v >= 0.0), "{e:?}");
        assert!(model.log_likelihood(&data).is_finite());
        // an active heavy buyer buys at about his own rate x / T
        assert_relative_eq!(e[2] / 52.0, 900.0 / 5000.0, max_relative = 0.05);
    }

    #[test]
    fn expectation_is_continuous_at_a_equal_one() {
        let data = RfmData::new(&[3.0, 0.0], &[20.0, 0.0], &[40.0, 40.0], None).unwrap();
        let at = |a: f64| BetaGeo::new(0.5, 4.0, a, 2.5).unwrap().expected_purchases(30.0, &data).unwrap();
        let (lo, one, hi) = (at(1.0 - 1e-7), at(1.0), at(1.0 + 1e-7));
        for i in 0..2 {
            assert!(one[i].is_finite() && one[i] > 0.0);
            assert_relative_eq!(one[i], lo[i], max_relative = 1e-6);
            assert_relative_eq!(one[i], hi[i], max_relative = 1e-6);
        }
    }

    #[test]
    fn new_customer_expectation_matches_conditional_with_no_history() {
        let model = BetaGeo::new(0.5, 3.0, 1.4, 2.2).unwrap();
        // E[X(t)] = sum_n n P(X(t) = n)
        let t = 10.0;
        let mean: f64 =
            (0..2000u64).map(|n| n as f64 * model.probability_of_n_purchases(t, n).unwrap()).sum();
        let e = model.expected_purchases_new_customer(&[t]).unwrap()[0];
        assert_relative_eq!(e, mean, max_relative = 1e-9);
        let total: f64 = (0..2000u64).map(|n| model.probability_of_n_purchases(t, n).unwrap()).sum();
        assert_relative_eq!(total, 1.0, max_relative = 1e-12);
        assert!(
            matches!(model.probability_of_n_purchases(-1.0, 0), Err(crate::Error::Param(e)) if e.name == "t")
        );
    }

    /// Customers who all bought recently give no evidence of dropout: the
    /// likelihood rises as the mean dropout probability a/(a+b) falls to 0,
    /// so a and b run off and the fit says so; r and alpha stay determined.
    #[test]
    fn no_sign_of_dropout_leaves_a_and_b_undetermined() {
        let x = [0.0, 1.0, 2.0, 3.0, 5.0, 1.0, 2.0, 0.0, 4.0, 7.0];
        let tx = [0.0, 30.0, 30.0, 30.0, 30.0, 20.0, 25.0, 0.0, 30.0, 30.0];
        let t = [30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 40.0, 31.0, 30.0];
        let data = RfmData::new(&x, &tx, &t, None).unwrap();
        let m = BetaGeoParams::default().check().unwrap().fit(&data).unwrap();
        let info = m.fit_info().unwrap();
        assert!(!info.identified());
        let flagged: Vec<&str> =
            info.issues.iter().flat_map(|i| i.parameters.iter().map(String::as_str)).collect();
        assert!(flagged.contains(&"b") && !flagged.contains(&"r") && !flagged.contains(&"alpha"), "{info:?}");
        let [_, _, a, b] = m.params();
        assert!(a / (a + b) < 1e-3, "{a} {b}");
    }

    /// Fader, Hardie & Lee (2005) on the CDNOW sample: r = 0.243, α = 4.414,
    /// a = 0.793, b = 2.426, LL = -9582.4. Skipped when the shared data is absent.
    #[test]
    fn cdnow_published_estimates() {
        let Some((x, tx, t)) = crate::btyd::data::cdnow_sample_summary() else { return };
        let data = RfmData::new(&x, &tx, &t, None).unwrap();
        let m = BetaGeoParams::default().check().unwrap().fit(&data).unwrap();
        let [r, alpha, a, b] = m.params();
        let info = m.fit_info().unwrap();
        assert!(info.converged, "{info:?}");
        assert!(info.identified() && info.determined.is_empty(), "{:?}", info.issues);
        assert_eq!((r * 1e3).round() / 1e3, 0.243);
        assert_eq!((alpha * 1e3).round() / 1e3, 4.414);
        assert_eq!((a * 1e3).round() / 1e3, 0.793);
        assert_eq!((b * 1e3).round() / 1e3, 2.426);
        assert_eq!((info.log_likelihood * 10.0).round() / 10.0, -9582.4);
        assert_relative_eq!(info.log_likelihood, m.log_likelihood(&data), max_relative = 1e-12);
    }
}
