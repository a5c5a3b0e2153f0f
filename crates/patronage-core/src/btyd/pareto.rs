//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the
//! likelihood of Fader, Hardie & Lee (2005), "A note on deriving the
//! Pareto/NBD model and related expressions": purchases at rate
//! `λ ~ Gamma(r, α)` while alive, lifetimes exponential with rate
//! `μ ~ Gamma(s, β)`.
//!
//! The likelihood needs `₂F₁(r+s+x, ·; r+s+x+1; z)`, whose series terms
//! grow without bound for heavy buyers; it is evaluated after Euler's
//! transformation (`₂F₁(1, ·; r+s+x+1; z)`, terms below `z^k`) and in log
//! space. The gradient is numerical (central differences in the
//! log-parameters), so this fit is slower than the BG/NBD's.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bgnbd::{check_common, FitInfo, Patterns, CHUNK};
use super::data::{RfmData, FREQUENCY};
use super::identification::{diagnose, Combination, Parameterisation, PURCHASE_RATE};
use super::mle::{standard_errors, warm_stride};
use super::special::{hyp2f1, ln_gamma};
use crate::error::{DataError, ParamError, Result};
use crate::optim::{hessian_from_gradient, minimize, spd_inverse, LbfgsParams, Minimum};

/// Parameters of the Pareto/NBD fit. Defaults: `penalizer` 0, `max_iter`
/// 1000, `tol` 1e-7 (the gradient is numerical).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbdParams {
    /// L2 penalty `penalizer * (r² + (α/max T)² + s² + (β/max T)²)` on the
    /// mean negative log-likelihood (lifetimes' `penalizer_coef`).
    pub penalizer: f64,
    /// Most L-BFGS iterations per start.
    pub max_iter: usize,
    /// Gradient tolerance (max-norm, mean log-likelihood, log-parameters).
    pub tol: f64,
}

impl Default for ParetoNbdParams {
    fn default() -> Self {
        ParetoNbdParams { penalizer: 0.0, max_iter: 1000, tol: 1e-7 }
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

/// A Pareto/NBD model `(r, α, s, β)` (α and β in the data's time unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParetoNbd {
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    fit: Option<FitInfo>,
}

/// `ln ₂F₁(a, b; a+1; z)` via Euler: `(1-z)^(1-b) ₂F₁(1, a+1-b; a+1; z)`,
/// given `ln(1-z)` exactly.
fn ln_hyp_a_b_a1(a: f64, b: f64, z: f64, ln_one_minus_z: f64) -> Option<f64> {
    let f = hyp2f1(1.0, a + 1.0 - b, a + 1.0, z)?;
    Some((1.0 - b) * ln_one_minus_z + f.ln())
}

/// `ln A₀` of the note (eq. 19), the integral over the unobserved death time.
fn ln_a0(params: [f64; 4], x: f64, t_x: f64, t: f64) -> Option<f64> {
    let [r, alpha, s, beta] = params;
    let rsx = r + s + x;
    let (lo, hi, b) = if alpha < beta { (alpha, beta, r + x) } else { (beta, alpha, s + 1.0) };
    let gap = hi - lo;
    let term = |at: f64| -> Option<f64> {
        let q = hi + at;
        let ln_f = ln_hyp_a_b_a1(rsx, b, gap / q, ((lo + at) / q).ln())?;
        Some(ln_f - rsx * q.ln())
    };
    let (l1, l2) = (term(t_x)?, term(t)?);
    // A₀ = e^l1 - e^l2 > 0 (an integral over (t_x, T]); 0 when t_x = T
    if l2 >= l1 {
        return Some(f64::NEG_INFINITY);
    }
    Some(l1 + (-(l2 - l1).exp_m1()).ln())
}

/// The log-likelihood of one history (note eq. 22) and its two log terms.
fn ln_likelihood_parts(params: [f64; 4], x: f64, t_x: f64, t: f64) -> Option<(f64, f64, f64)> {
    let [r, alpha, s, beta] = params;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
    let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let dead = s.ln() - (r + s + x).ln() + ln_a0(params, x, t_x, t)?;
    let m = alive.max(dead);
    let lse = if m == f64::NEG_INFINITY { m } else { m + ((alive - m).exp() + (dead - m).exp()).ln() };
    Some((a1 + lse, alive, dead))
}

/// Weighted `(x, t_x, T)` rows (equal rows merged, times scaled).
struct Rows {
    x: Vec<f64>,
    t_x: Vec<f64>,
    t: Vec<f64>,
    w: Vec<f64>,
}

impl Rows {
    fn merged(data: &RfmData<'_>, scale: f64) -> Rows {
        let [x, t_x, t, w] = Patterns::new(data, scale).columns();
        Rows { x, t_x, t, w }
    }

    /// Every `stride`-th row (a systematic subsample for warm starts).
    fn every(&self, stride: usize) -> Rows {
        let pick = |v: &[f64]| v.iter().step_by(stride).copied().collect();
        Rows { x: pick(&self.x), t_x: pick(&self.t_x), t: pick(&self.t), w: pick(&self.w) }
    }

    /// `Σ w ll`; `None` where the series fails.
    fn log_likelihood(&self, params: [f64; 4]) -> Option<f64> {
        let n = self.w.len();
        let sums: Vec<Option<f64>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut acc = 0.0;
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    acc += self.w[i] * ln_likelihood_parts(params, self.x[i], self.t_x[i], self.t[i])?.0;
                }
                Some(acc)
            })
            .collect();
        sums.into_iter().sum()
    }
}

/// L-BFGS with central-difference gradients from each start until one
/// converges; the best result.
fn fit_rows(
    rows: &Rows,
    penalizer: f64,
    starts: &[[f64; 4]],
    lbfgs: &LbfgsParams,
) -> (Option<Minimum>, usize, usize) {
    let total_w: f64 = rows.w.iter().sum();
    let value = |theta: &[f64]| -> f64 {
        let p = [theta[0].exp(), theta[1].exp(), theta[2].exp(), theta[3].exp()];
        match rows.log_likelihood(p) {
            Some(ll) => -ll / total_w + penalizer * p.iter().map(|v| v * v).sum::<f64>(),
            None => f64::NAN,
        }
    };
    let mut best: Option<Minimum> = None;
    let (mut evaluations, mut tried) = (0, 0);
    for start in starts {
        tried += 1;
        let m = minimize(|t, g| numerical_gradient(&value, t, g), &start.map(f64::ln), lbfgs);
        evaluations += m.evaluations;
        let finite = m.f.is_finite() && m.x.iter().all(|v| v.exp().is_finite() && v.exp() > 0.0);
        let better = best.as_ref().is_none_or(|b| {
            (m.converged() && !b.converged()) || (m.converged() == b.converged() && m.f < b.f)
        });
        if finite && better {
            best = Some(m);
        }
        if best.as_ref().is_some_and(|b| b.converged()) {
            break;
        }
    }
    (best, evaluations, tried)
}

/// `f(θ)` and its central-difference gradient.
fn numerical_gradient(value: &impl Fn(&[f64]) -> f64, theta: &[f64], g: &mut [f64]) -> f64 {
    const H: f64 = 1e-5;
    let mut th = theta.to_vec();
    for k in 0..theta.len() {
        th[k] = theta[k] + H;
        let up = value(&th);
        th[k] = theta[k] - H;
        let dn = value(&th);
        th[k] = theta[k];
        g[k] = (up - dn) / (2.0 * H);
    }
    value(theta)
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

impl ValidParetoNbdParams {
    /// Maximum-likelihood fit (L-BFGS on the log-parameters with a
    /// central-difference gradient; several starts). Data without repeat
    /// purchases is rejected.
    pub fn fit(&self, data: &RfmData<'_>) -> Result<ParetoNbd> {
        let ParetoNbdParams { penalizer, max_iter, tol } = self.0;
        let max_t = data.t().iter().fold(0.0f64, |m, &v| m.max(v));
        let has_repeat = (0..data.len()).any(|i| data.frequency()[i] > 0.0 && data.weight(i) > 0.0);
        if !has_repeat || max_t <= 0.0 {
            return Err(DataError::Invalid {
                field: FREQUENCY,
                row: None,
                reason: "no customer with a repeat purchase (frequency > 0): the Pareto/NBD likelihood has no maximum".into(),
            }
            .into());
        }
        let scale = 1.0 / max_t;
        let rows = Rows::merged(data, scale);
        let total_w: f64 = rows.w.iter().sum();
        let lbfgs = LbfgsParams { max_iter, gtol: tol, ..LbfgsParams::default() };
        // Large data: the first iterations on a systematic subsample.
        let mut starts: Vec<[f64; 4]> = STARTS.to_vec();
        let mut evaluations = 0;
        if let Some(stride) = warm_stride(rows.w.len()) {
            let warm = LbfgsParams { gtol: tol.max(1e-5), ..lbfgs };
            let (found, evals, _) = fit_rows(&rows.every(stride), penalizer, &STARTS, &warm);
            evaluations += evals;
            if let Some(m) = found {
                starts.insert(0, [m.x[0].exp(), m.x[1].exp(), m.x[2].exp(), m.x[3].exp()]);
            }
        }
        let (best, evals, starts) = fit_rows(&rows, penalizer, &starts, &lbfgs);
        evaluations += evals;
        let Some(best) = best else {
            return Err(DataError::Invalid {
                field: FREQUENCY,
                row: None,
                reason: "the Pareto/NBD fit diverged from every starting point".into(),
            }
            .into());
        };
        let p: Vec<f64> = best.x.iter().map(|v| v.exp()).collect();
        let natural = [p[0], p[1] / scale, p[2], p[3] / scale];
        let model =
            ParetoNbd { r: natural[0], alpha: natural[1], s: natural[2], beta: natural[3], fit: None };
        let log_likelihood = model.log_likelihood(data).unwrap_or(f64::NAN);
        let value = |theta: &[f64]| -> f64 {
            let p = [theta[0].exp(), theta[1].exp(), theta[2].exp(), theta[3].exp()];
            rows.log_likelihood(p)
                .map_or(f64::NAN, |ll| -ll + total_w * penalizer * p.iter().map(|v| v * v).sum::<f64>())
        };
        let hess = hessian_from_gradient(
            |th, g| {
                numerical_gradient(&value, th, g);
            },
            &best.x,
            1e-3,
        );
        let log_cov = spd_inverse(&hess, 4);
        let gradient: Vec<f64> = best.grad.iter().map(|g| g * total_w).collect();
        let identification = diagnose(&PARAMETERS, &natural, &hess, &gradient);
        Ok(ParetoNbd {
            fit: Some(FitInfo {
                log_likelihood,
                standard_errors: standard_errors(&natural, log_cov.as_deref()),
                n_customers: total_w,
                n_patterns: rows.w.len(),
                penalizer,
                converged: best.converged(),
                status: best.status,
                iterations: best.iterations,
                evaluations,
                gradient_norm: best.grad_norm(),
                starts,
                issues: identification.issues,
                determined: identification.determined,
            }),
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
        Rows::merged(data, 1.0).log_likelihood(self.params()).ok_or_else(|| series_failed(None))
    }

    /// `P(alive at T)` of one history.
    fn p_alive_one(&self, x: f64, t_x: f64, t: f64) -> Option<f64> {
        let (_, alive, dead) = ln_likelihood_parts(self.params(), x, t_x, t)?;
        Some(1.0 / (1.0 + (dead - alive).exp()))
    }

    /// Probability that each customer is still alive at `T` (note eq. 18).
    pub fn p_alive(&self, data: &RfmData<'_>) -> Result<Vec<f64>> {
        let (f, rec, age) = (data.frequency(), data.recency(), data.t());
        (0..data.len())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| self.p_alive_one(f[i], rec[i], age[i]).ok_or_else(|| series_failed(Some(i))))
            .collect()
    }

    /// `E[X(T, T+t) | alive]`: `(r+x)(β+T) / ((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)]`
    /// (exact at `s = 1`).
    fn expected_if_alive(&self, t: f64, x: f64, age: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ln_ratio = ((beta + age) / (beta + age + t)).ln();
        let shape = if s == 1.0 { -ln_ratio } else { -((s - 1.0) * ln_ratio).exp_m1() / (s - 1.0) };
        (r + x) * (beta + age) / (alpha + age) * shape
    }

    /// Expected repeat purchases of each customer in the next `t` time
    /// units (note eq. 27).
    pub fn expected_purchases(&self, t: f64, data: &RfmData<'_>) -> Result<Vec<f64>> {
        if !(t.is_finite() && t >= 0.0) {
            return Err(ParamError::new("t", format!("must be a finite number >= 0, got {t}")).into());
        }
        let (f, rec, age) = (data.frequency(), data.recency(), data.t());
        (0..data.len())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                let alive = self.p_alive_one(f[i], rec[i], age[i]).ok_or_else(|| series_failed(Some(i)))?;
                Ok(alive * self.expected_if_alive(t, f[i], age[i]))
            })
            .collect()
    }

    /// Expected repeat purchases of a new customer in `(0, t]` (note eq. 17).
    pub fn expected_purchases_new_customer(&self, t: &[f64]) -> Result<Vec<f64>> {
        t.iter()
            .map(|&ti| {
                if !(ti.is_finite() && ti >= 0.0) {
                    return Err(
                        ParamError::new("t", format!("must be a finite number >= 0, got {ti}")).into()
                    );
                }
                // a new customer is alive at time 0 with x = 0, T = 0
                Ok(self.expected_if_alive(ti, 0.0, 0.0))
            })
            .collect()
    }
}

fn series_failed(row: Option<usize>) -> crate::Error {
    DataError::Invalid {
        field: FREQUENCY,
        row,
        reason: "the hypergeometric series of the Pareto/NBD likelihood did not converge".into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn params_rules() {
        let ok = ParetoNbdParams::default();
        assert!(matches!(ParetoNbdParams { penalizer: -1.0, ..ok }.check(), Err(e) if e.name == "penalizer"));
        assert!(matches!(ParetoNbd::new(1.0, 1.0, 0.0, 1.0), Err(e) if e.name == "s"));
    }

    /// ln A₀ against a direct numerical integral of its definition,
    /// `A₀ = (r+s+x) ∫_{t_x}^{T} (α+τ)^-(r+x) (β+τ)^-(s+1) dτ` (the death-time integral
    /// of the note's derivation before it is written with ₂F₁).
    #[test]
    fn a0_matches_numerical_integration() {
        for params in [[0.55, 10.58, 0.61, 11.67], [0.8, 3.0, 1.5, 0.7]] {
            let [r, alpha, s, beta] = params;
            for (x, t_x, t) in [(2.0, 30.43, 38.86), (0.0, 0.0, 38.86), (40.0, 10.0, 39.0)] {
                let steps = 200_000;
                let h = (t - t_x) / steps as f64;
                let integrand =
                    |tau: f64| (-(r + x) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()).exp();
                // Simpson's rule
                let mut sum = integrand(t_x) + integrand(t);
                for k in 1..steps {
                    sum += if k % 2 == 1 { 4.0 } else { 2.0 } * integrand(t_x + k as f64 * h);
                }
                sum /= 3.0;
                let want = ((r + s + x) * sum * h).ln();
                assert_relative_eq!(ln_a0(params, x, t_x, t).unwrap(), want, max_relative = 1e-8);
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
        eprintln!("{:?} {info:?}", m.params());
        assert!(info.converged, "{info:?}");
        let rounded = m.params().map(|v| (v * 100.0).round() / 100.0);
        assert_eq!(rounded, [0.55, 10.58, 0.61, 11.67]);
        assert_eq!((info.log_likelihood * 10.0).round() / 10.0, -9595.0);
    }
}
