//! Maximum likelihood on log-parameters, shared by the BTYD models.
//!
//! A model supplies its log-likelihood with the analytic gradient and
//! Hessian in its natural (positive) parameters; this module minimises
//! `-ll / W + penalizer * Σ p²` over `θ = ln p` by damped Newton (a few
//! evaluations), falls back to L-BFGS from where Newton stopped, tries the
//! next starting point when neither converges, and returns the covariance of
//! `θ` from the exact Hessian for standard errors.

use crate::error::{Error, Result};
use crate::optim::{minimize, newton, spd_inverse, LbfgsParams, Minimum, Status};

/// One evaluation of a log-likelihood in the natural parameters.
pub(crate) struct Evaluation {
    /// `Σ w ll`.
    pub ll: f64,
    /// Its gradient.
    pub grad: Vec<f64>,
    /// Its Hessian, row-major (empty when not requested).
    pub hess: Vec<f64>,
}

/// The outcome of [`maximise`].
pub(crate) struct Maximum {
    /// Natural parameters at the optimum.
    pub params: Vec<f64>,
    /// `Σ w ll` there (unpenalised).
    pub log_likelihood: f64,
    /// The optimiser's report of the kept start.
    pub minimum: Minimum,
    /// Objective evaluations over all starts.
    pub evaluations: usize,
    /// Starts tried.
    pub starts: usize,
    /// Covariance of the log-parameters (inverse Hessian of the total
    /// penalised negative log-likelihood), if positive definite.
    pub log_cov: Option<Vec<f64>>,
    /// That Hessian (row-major) and the gradient, for
    /// [`super::identification::diagnose`].
    pub log_hessian: Vec<f64>,
    pub log_gradient: Vec<f64>,
}

/// `F(θ)`, its gradient and (when `h` is non-empty) Hessian in `θ`.
fn objective<L>(ll: &L, total_w: f64, penalizer: f64, theta: &[f64], g: &mut [f64], h: &mut [f64]) -> f64
where
    L: Fn(&[f64], bool) -> Evaluation,
{
    let n = theta.len();
    let p: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
    let want_hess = !h.is_empty();
    let e = ll(&p, want_hess);
    let mut gp = vec![0.0; n];
    let mut pen = 0.0;
    for i in 0..n {
        pen += p[i] * p[i];
        gp[i] = -e.grad[i] / total_w + 2.0 * penalizer * p[i];
        g[i] = p[i] * gp[i];
    }
    if want_hess {
        for i in 0..n {
            for j in 0..n {
                let mut hp = -e.hess[i * n + j] / total_w;
                if i == j {
                    hp += 2.0 * penalizer;
                }
                h[i * n + j] = p[i] * p[j] * hp + if i == j { p[i] * gp[i] } else { 0.0 };
            }
        }
    }
    -e.ll / total_w + penalizer * pen
}

/// Maximises the (penalised) likelihood from each start in turn until one
/// converges; `None` when no start reached finite parameters. A stop
/// ([`crate::interrupt`]) ends the search with [`Error::Interrupted`]: a
/// fit stopped half-way is no estimate.
pub(crate) fn maximise<L>(
    ll: L,
    total_w: f64,
    penalizer: f64,
    starts: &[Vec<f64>],
    max_iter: usize,
    tol: f64,
) -> Result<Option<Maximum>>
where
    L: Fn(&[f64], bool) -> Evaluation,
{
    let params = LbfgsParams { max_iter, gtol: tol, ..LbfgsParams::default() };
    let Some(n) = starts.first().map(Vec::len) else { return Ok(None) };
    let mut best: Option<Minimum> = None;
    let (mut evaluations, mut tried) = (0, 0);
    for start in starts {
        tried += 1;
        let theta0: Vec<f64> = start.iter().map(|p| p.ln()).collect();
        let mut m = newton(|t, g, h| objective(&ll, total_w, penalizer, t, g, h), &theta0, &params);
        evaluations += m.evaluations;
        if m.status == Status::Interrupted {
            return Err(Error::Interrupted);
        }
        if !m.converged() {
            let from = if m.f.is_finite() { m.x.clone() } else { theta0 };
            let fallback = minimize(|t, g| objective(&ll, total_w, penalizer, t, g, &mut []), &from, &params);
            evaluations += fallback.evaluations;
            if fallback.status == Status::Interrupted {
                return Err(Error::Interrupted);
            }
            if fallback.converged() || fallback.f < m.f || m.f.is_nan() {
                m = fallback;
            }
        }
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
    // a stop may also show as a failed evaluation (chunks skip their work once it is raised)
    crate::interrupt::check()?;
    let Some(minimum) = best else { return Ok(None) };
    // Newton leaves the Hessian at its last point; L-BFGS does not.
    let mut h = match &minimum.hessian {
        Some(h) => h.clone(),
        None => {
            let (mut g, mut h) = (vec![0.0; n], vec![0.0; n * n]);
            objective(&ll, total_w, penalizer, &minimum.x, &mut g, &mut h);
            h
        }
    };
    h.iter_mut().for_each(|v| *v *= total_w);
    let params: Vec<f64> = minimum.x.iter().map(|t| t.exp()).collect();
    // Σ w ll from the objective, without one more pass over the data
    let log_likelihood = -(minimum.f - penalizer * params.iter().map(|p| p * p).sum::<f64>()) * total_w;
    let log_cov = spd_inverse(&h, n).filter(|c| c.iter().all(|v| v.is_finite()));
    let log_gradient = minimum.grad.iter().map(|g| g * total_w).collect();
    Ok(Some(Maximum {
        params,
        log_likelihood,
        minimum,
        evaluations,
        starts: tried,
        log_cov,
        log_hessian: h,
        log_gradient,
    }))
}

/// Rows above which a fit is first run on a systematic subsample.
pub(crate) const WARM_START_ROWS: usize = 40_000;
/// Rows of that subsample (about).
const WARM_SAMPLE_ROWS: usize = 20_000;

/// The subsample stride for `n` rows, if the data is large enough to warm
/// start: Newton's early iterations then run on `n / stride` rows and the
/// full data only needs the last, quadratically converging ones.
pub(crate) fn warm_stride(n: usize) -> Option<usize> {
    (n > WARM_START_ROWS).then_some(n / WARM_SAMPLE_ROWS)
}

/// Starting points for the full fit: the subsample's optimum (if any) first.
pub(crate) fn with_warm_start<L>(
    sample: Option<L>,
    sample_w: f64,
    penalizer: f64,
    starts: &[Vec<f64>],
    max_iter: usize,
) -> Result<(Vec<Vec<f64>>, usize)>
where
    L: Fn(&[f64], bool) -> Evaluation,
{
    let Some(ll) = sample else {
        return Ok((starts.to_vec(), 0));
    };
    Ok(match maximise(ll, sample_w, penalizer, starts, max_iter, 1e-6)? {
        Some(m) => (std::iter::once(m.params).chain(starts.iter().cloned()).collect(), m.evaluations),
        None => (starts.to_vec(), 0),
    })
}

/// Standard errors `p_i sqrt(cov_ii)` of natural parameters from the
/// covariance of their logarithms (delta method).
pub(crate) fn standard_errors(natural: &[f64], log_cov: Option<&[f64]>) -> Option<Vec<f64>> {
    let n = natural.len();
    let cov = log_cov?;
    let se: Vec<f64> = (0..n).map(|i| natural[i] * cov[i * n + i].sqrt()).collect();
    se.iter().all(|v| v.is_finite()).then_some(se)
}
