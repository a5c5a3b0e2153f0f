//! Smooth unconstrained minimisation: L-BFGS with a strong-Wolfe line search
//! (Nocedal & Wright, *Numerical Optimization*, algorithms 7.4, 3.5 and 3.6),
//! a damped Newton method for objectives with an analytic Hessian, a
//! central-difference Hessian of an analytic gradient, and the small dense
//! linear algebra the fits need (a Cholesky inverse, a symmetric eigensolver).
//!
//! Small and dependency-free, for the low-dimensional likelihoods of the
//! models (BG/NBD, Gamma-Gamma, ...): the objective is a closure that returns
//! `f(x)` and writes the gradient into its second argument (and, for
//! [`newton`], the row-major Hessian into its third).
//!
//! ```
//! use patronage_core::optim::{minimize, LbfgsParams};
//!
//! // Rosenbrock's banana, minimum at (1, 1)
//! let rosen = |x: &[f64], g: &mut [f64]| {
//!     g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
//!     g[1] = 200.0 * (x[1] - x[0] * x[0]);
//!     (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
//! };
//! let m = minimize(rosen, &[-1.2, 1.0], &LbfgsParams::default());
//! assert!(m.converged());
//! assert!((m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6);
//! ```

use serde::{Deserialize, Serialize};

use crate::interrupt;

/// Settings of [`minimize`]. Defaults: memory 10, 1000 iterations, gradient
/// tolerance 1e-9 (max-norm), relative objective tolerance 1e-14.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsParams {
    /// Number of correction pairs kept.
    pub memory: usize,
    /// Most iterations (line searches).
    pub max_iter: usize,
    /// Converged when the largest gradient component is at most this.
    pub gtol: f64,
    /// Converged when an iteration lowers `f` by at most `ftol * max(|f|, 1)`.
    pub ftol: f64,
}

impl Default for LbfgsParams {
    fn default() -> Self {
        LbfgsParams { memory: 10, max_iter: 1000, gtol: 1e-9, ftol: 1e-14 }
    }
}

/// Why [`minimize`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The gradient is below `gtol`.
    GradientTolerance,
    /// The objective stopped decreasing (relative change below `ftol`).
    ObjectiveTolerance,
    /// `max_iter` iterations without convergence.
    MaxIterations,
    /// No step along the search direction lowered the objective.
    LineSearchFailed,
    /// The objective or gradient was NaN/inf at the starting point.
    NonFiniteStart,
    /// Stopped from outside ([`crate::interrupt`]) before converging.
    Interrupted,
}

impl Status {
    /// Whether this status counts as convergence.
    pub fn converged(self) -> bool {
        matches!(self, Status::GradientTolerance | Status::ObjectiveTolerance)
    }
}

/// The result of [`minimize`].
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// The objective there.
    pub f: f64,
    /// The gradient there.
    pub grad: Vec<f64>,
    /// Iterations done.
    pub iterations: usize,
    /// Objective evaluations done.
    pub evaluations: usize,
    /// Why it stopped.
    pub status: Status,
    /// The Hessian there (row-major), when the method computes it ([`newton`]).
    pub hessian: Option<Vec<f64>>,
}

impl Minimum {
    /// Whether the minimisation converged.
    pub fn converged(&self) -> bool {
        self.status.converged()
    }

    /// The largest absolute gradient component.
    pub fn grad_norm(&self) -> f64 {
        max_abs(&self.grad)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn finite(f: f64, g: &[f64]) -> bool {
    f.is_finite() && g.iter().all(|v| v.is_finite())
}

/// One evaluated point.
#[derive(Clone)]
struct Point {
    x: Vec<f64>,
    f: f64,
    g: Vec<f64>,
}

struct Objective<F> {
    f: F,
    evaluations: usize,
}

impl<F: FnMut(&[f64], &mut [f64]) -> f64> Objective<F> {
    fn eval(&mut self, x: Vec<f64>) -> Point {
        let mut g = vec![0.0; x.len()];
        self.evaluations += 1;
        let f = (self.f)(&x, &mut g);
        Point { x, f, g }
    }

    fn along(&mut self, from: &Point, d: &[f64], step: f64) -> (Point, f64) {
        let x = from.x.iter().zip(d).map(|(x, d)| x + step * d).collect();
        let p = self.eval(x);
        let slope = if finite(p.f, &p.g) { dot(&p.g, d) } else { f64::NAN };
        (p, slope)
    }
}

const C1: f64 = 1e-4;
const C2: f64 = 0.9;
const MAX_LINE_EVALS: usize = 40;

/// Strong-Wolfe line search from `start` along the descent direction `d`.
/// Returns the accepted point, or `None` when no step lowers the objective.
fn line_search<F: FnMut(&[f64], &mut [f64]) -> f64>(
    obj: &mut Objective<F>,
    start: &Point,
    d: &[f64],
    first_step: f64,
) -> Option<Point> {
    let f0 = start.f;
    let slope0 = dot(&start.g, d);
    let armijo = |step: f64, f: f64| f <= f0 + C1 * step * slope0;
    let mut best: Option<Point> = None;
    let mut keep_best = |p: &Point| {
        if p.f.is_finite() && p.f < f0 && best.as_ref().is_none_or(|b| p.f < b.f) {
            best = Some(p.clone());
        }
    };
    // Bracketing phase: (lo, f_lo, slope_lo) is the best acceptable step so far.
    let (mut lo, mut f_lo, mut slope_lo) = (0.0, f0, slope0);
    let mut step = first_step;
    let (mut hi, mut f_hi) = (f64::NAN, f64::NAN);
    let mut evals = 0;
    while evals < MAX_LINE_EVALS {
        let (p, slope) = obj.along(start, d, step);
        evals += 1;
        keep_best(&p);
        if !slope.is_finite() || !armijo(step, p.f) || (lo > 0.0 && p.f >= f_lo) {
            hi = step;
            f_hi = p.f;
            break;
        }
        if slope.abs() <= -C2 * slope0 {
            return Some(p);
        }
        if slope >= 0.0 {
            hi = lo;
            f_hi = f_lo;
            lo = step;
            f_lo = p.f;
            slope_lo = slope;
            break;
        }
        lo = step;
        f_lo = p.f;
        slope_lo = slope;
        step *= 2.0;
    }
    // Zoom phase between lo (acceptable) and hi.
    while evals < MAX_LINE_EVALS && hi.is_finite() {
        let width = hi - lo;
        if width.abs() <= 1e-16 * lo.abs().max(1e-300) {
            break;
        }
        // Minimiser of the quadratic through f(lo), f'(lo) and, when finite, f(hi);
        // kept inside the middle 80 % of the interval, else bisection.
        let mid = lo + 0.5 * width;
        let trial = match quadratic_step(lo, f_lo, slope_lo, hi, f_hi) {
            Some(t) if (t - lo) / width > 0.1 && (hi - t) / width > 0.1 => t,
            _ => mid,
        };
        let (p, slope) = obj.along(start, d, trial);
        evals += 1;
        keep_best(&p);
        if !slope.is_finite() || !armijo(trial, p.f) || p.f >= f_lo {
            hi = trial;
            f_hi = p.f;
        } else {
            if slope.abs() <= -C2 * slope0 {
                return Some(p);
            }
            if slope * (hi - lo) >= 0.0 {
                hi = lo;
                f_hi = f_lo;
            }
            lo = trial;
            f_lo = p.f;
            slope_lo = slope;
        }
    }
    // No strong-Wolfe point within budget: take the best decrease, if any.
    best
}

fn quadratic_step(lo: f64, f_lo: f64, slope_lo: f64, hi: f64, f_hi: f64) -> Option<f64> {
    if !f_hi.is_finite() {
        return None;
    }
    let h = hi - lo;
    let curv = (f_hi - f_lo - slope_lo * h) / (h * h);
    (curv > 0.0).then(|| lo - slope_lo / (2.0 * curv))
}

/// Minimises `f` from `x0` by L-BFGS. `f(x, grad)` returns the objective and
/// writes its gradient. Never panics; non-convergence is reported in
/// [`Minimum::status`] with the best point found. Looks for a stop
/// ([`crate::interrupt::check`]) once per iteration.
pub fn minimize<F>(f: F, x0: &[f64], params: &LbfgsParams) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let mut obj = Objective { f, evaluations: 0 };
    let mut cur = obj.eval(x0.to_vec());
    let done = |cur: Point, iterations: usize, evaluations: usize, status: Status| Minimum {
        x: cur.x,
        f: cur.f,
        grad: cur.g,
        iterations,
        evaluations,
        status,
        hessian: None,
    };
    if !finite(cur.f, &cur.g) {
        return done(cur, 0, obj.evaluations, Status::NonFiniteStart);
    }
    let n = x0.len();
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    for iter in 0..params.max_iter {
        if max_abs(&cur.g) <= params.gtol {
            return done(cur, iter, obj.evaluations, Status::GradientTolerance);
        }
        if interrupt::check().is_err() {
            return done(cur, iter, obj.evaluations, Status::Interrupted);
        }
        let mut d = two_loop(&cur.g, &s_hist, &y_hist);
        if dot(&d, &cur.g).is_nan() || dot(&d, &cur.g) >= 0.0 || d.iter().any(|v| !v.is_finite()) {
            s_hist.clear();
            y_hist.clear();
            d = cur.g.iter().map(|g| -g).collect();
        }
        // Without curvature information yet, a unit step in the largest coordinate.
        let first = if s_hist.is_empty() { (1.0 / max_abs(&d)).min(1.0) } else { 1.0 };
        let next = match line_search(&mut obj, &cur, &d, first) {
            Some(p) => p,
            None if !s_hist.is_empty() => {
                // Stale curvature pairs: restart from steepest descent once.
                s_hist.clear();
                y_hist.clear();
                continue;
            }
            None => return done(cur, iter, obj.evaluations, Status::LineSearchFailed),
        };
        let s: Vec<f64> = next.x.iter().zip(&cur.x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next.g.iter().zip(&cur.g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if s_hist.len() == params.memory.max(1) {
                s_hist.remove(0);
                y_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
        }
        let decrease = cur.f - next.f;
        cur = next;
        if max_abs(&cur.g) <= params.gtol {
            return done(cur, iter + 1, obj.evaluations, Status::GradientTolerance);
        }
        if decrease <= params.ftol * cur.f.abs().max(1.0) {
            return done(cur, iter + 1, obj.evaluations, Status::ObjectiveTolerance);
        }
        debug_assert_eq!(cur.x.len(), n);
    }
    done(cur, params.max_iter, obj.evaluations, Status::MaxIterations)
}

/// `-H g` by the L-BFGS two-loop recursion.
fn two_loop(g: &[f64], s_hist: &[Vec<f64>], y_hist: &[Vec<f64>]) -> Vec<f64> {
    let mut q: Vec<f64> = g.to_vec();
    let m = s_hist.len();
    let mut alphas = vec![0.0; m];
    for i in (0..m).rev() {
        let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
        alphas[i] = rho * dot(&s_hist[i], &q);
        for (qj, yj) in q.iter_mut().zip(&y_hist[i]) {
            *qj -= alphas[i] * yj;
        }
    }
    if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for i in 0..m {
        let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
        let beta = rho * dot(&y_hist[i], &q);
        for (qj, sj) in q.iter_mut().zip(&s_hist[i]) {
            *qj += (alphas[i] - beta) * sj;
        }
    }
    q.iter_mut().for_each(|v| *v = -*v);
    q
}

/// Most step length (max-norm) of one Newton step: far steps on a
/// log-parameter scale overflow `exp` and are rarely right.
const MAX_NEWTON_STEP: f64 = 5.0;

/// Minimises `f` by Newton's method with Levenberg damping (the Hessian is
/// shifted by `μI` until it is positive definite) and Armijo backtracking.
/// `f(x, grad, hess)` returns the objective and writes the gradient and the
/// row-major `n x n` Hessian. Converges quadratically near the minimum, so a
/// few evaluations suffice where L-BFGS needs tens. Same stopping rules,
/// report and stop checks as [`minimize`].
pub fn newton<F>(mut f: F, x0: &[f64], params: &LbfgsParams) -> Minimum
where
    F: FnMut(&[f64], &mut [f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut evaluations = 0;
    let mut eval = |x: &[f64], evaluations: &mut usize| {
        let (mut g, mut h) = (vec![0.0; n], vec![0.0; n * n]);
        *evaluations += 1;
        let fx = f(x, &mut g, &mut h);
        (fx, g, h)
    };
    let mut x = x0.to_vec();
    let (mut fx, mut g, mut h) = eval(&x, &mut evaluations);
    let result = |x: Vec<f64>, f: f64, grad: Vec<f64>, h: Vec<f64>, iterations, evaluations, status| {
        Minimum { x, f, grad, iterations, evaluations, status, hessian: Some(h) }
    };
    if !finite(fx, &g) || h.iter().any(|v| !v.is_finite()) {
        return result(x, fx, g, h, 0, evaluations, Status::NonFiniteStart);
    }
    for iter in 0..params.max_iter {
        if max_abs(&g) <= params.gtol {
            return result(x, fx, g, h, iter, evaluations, Status::GradientTolerance);
        }
        let scale = (0..n).fold(0.0f64, |m, i| m.max(h[i * n + i].abs())).max(1e-12);
        let mut mu = 0.0;
        let mut accepted = None;
        for _ in 0..30 {
            // up to 30 evaluations per damping: look for a stop before each
            if interrupt::check().is_err() {
                return result(x, fx, g, h, iter, evaluations, Status::Interrupted);
            }
            let Some(mut d) = damped_newton_step(&h, &g, mu, n) else {
                mu = if mu == 0.0 { 1e-8 * scale } else { mu * 10.0 };
                continue;
            };
            let len = max_abs(&d);
            if len > MAX_NEWTON_STEP {
                d.iter_mut().for_each(|v| *v *= MAX_NEWTON_STEP / len);
            }
            let slope = dot(&g, &d);
            let mut step = 1.0;
            for _ in 0..30 {
                let xt: Vec<f64> = x.iter().zip(&d).map(|(x, d)| x + step * d).collect();
                let (ft, gt, ht) = eval(&xt, &mut evaluations);
                if finite(ft, &gt) && ht.iter().all(|v| v.is_finite()) && ft <= fx + C1 * step * slope {
                    accepted = Some((xt, ft, gt, ht));
                    break;
                }
                step *= 0.5;
            }
            if accepted.is_some() {
                break;
            }
            // No acceptable step along this direction: lean towards gradient descent.
            mu = if mu == 0.0 { 1e-4 * scale } else { mu * 100.0 };
        }
        let Some((xt, ft, gt, ht)) = accepted else {
            return result(x, fx, g, h, iter, evaluations, Status::LineSearchFailed);
        };
        let decrease = fx - ft;
        (x, fx, g, h) = (xt, ft, gt, ht);
        if max_abs(&g) <= params.gtol {
            return result(x, fx, g, h, iter + 1, evaluations, Status::GradientTolerance);
        }
        // A stalled objective counts only near a stationary point: a heavily
        // damped step can also decrease f very little.
        if decrease <= params.ftol * fx.abs().max(1.0) && max_abs(&g) <= params.gtol.sqrt() {
            return result(x, fx, g, h, iter + 1, evaluations, Status::ObjectiveTolerance);
        }
    }
    result(x, fx, g, h, params.max_iter, evaluations, Status::MaxIterations)
}

/// `-(H + μI)⁻¹ g`, or `None` when `H + μI` is not positive definite.
fn damped_newton_step(h: &[f64], g: &[f64], mu: f64, n: usize) -> Option<Vec<f64>> {
    let mut a = h.to_vec();
    for i in 0..n {
        a[i * n + i] += mu;
    }
    let inv = spd_inverse(&a, n)?;
    Some((0..n).map(|i| -(0..n).map(|j| inv[i * n + j] * g[j]).sum::<f64>()).collect())
}

/// The Hessian at `x` by central differences of the analytic gradient
/// (step `h` per coordinate), symmetrised; row-major `n x n`.
pub fn hessian_from_gradient<G>(mut grad: G, x: &[f64], h: f64) -> Vec<f64>
where
    G: FnMut(&[f64], &mut [f64]),
{
    let n = x.len();
    let mut hess = vec![0.0; n * n];
    let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
    let mut xp = x.to_vec();
    for j in 0..n {
        xp[j] = x[j] + h;
        grad(&xp, &mut gp);
        xp[j] = x[j] - h;
        grad(&xp, &mut gm);
        xp[j] = x[j];
        for i in 0..n {
            hess[i * n + j] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    for i in 0..n {
        for j in 0..i {
            let avg = 0.5 * (hess[i * n + j] + hess[j * n + i]);
            hess[i * n + j] = avg;
            hess[j * n + i] = avg;
        }
    }
    hess
}

/// The inverse of a symmetric positive-definite matrix (row-major) by
/// Cholesky; `None` when it is not positive definite.
pub fn spd_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    // Cholesky factor L (lower), a = L L^T.
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum.is_nan() || sum <= 0.0 || !sum.is_finite() {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    // Solve L L^T X = I column by column.
    let mut inv = vec![0.0; n * n];
    for c in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let mut sum = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                sum -= l[i * n + k] * y[k];
            }
            y[i] = sum / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut sum = y[i];
            for k in i + 1..n {
                sum -= l[k * n + i] * inv[k * n + c];
            }
            inv[i * n + c] = sum / l[i * n + i];
        }
    }
    Some(inv)
}

/// Eigenvalues and eigenvectors of a symmetric `n x n` matrix (row-major), by
/// cyclic Jacobi rotations (Golub & Van Loan, *Matrix Computations*, 8.5):
/// accurate to rounding for the small matrices of the model fits, and
/// defined for any symmetric input, definite or not. Returns the values and,
/// row-major, the orthonormal vectors as columns (`vectors[i * n + k]` is
/// component `i` of the vector of `values[k]`).
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    let norm2: f64 = m.iter().map(|x| x * x).sum();
    // quadratic convergence: a handful of sweeps; the cap only guards NaN input
    for _ in 0..64 {
        let off2: f64 =
            (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| m[i * n + j].powi(2)).sum();
        if off2 <= f64::EPSILON * f64::EPSILON * norm2 || !off2.is_finite() {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // the rotation J (c on the diagonal, s at (p, q)) with (J^T M J)_pq = 0
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (kp, kq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * kp - s * kq;
                    m[k * n + q] = s * kp + c * kq;
                }
                for k in 0..n {
                    let (pk, qk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * pk - s * qk;
                    m[q * n + k] = s * pk + c * qk;
                }
                for k in 0..n {
                    let (kp, kq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * kp - s * kq;
                    v[k * n + q] = s * kp + c * kq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn minimises_a_quadratic_exactly() {
        // f = 0.5 x^T A x - b^T x, A = [[3, 1], [1, 2]], minimum A^-1 b
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 3.0 * x[0] + x[1] - 1.0;
            g[1] = x[0] + 2.0 * x[1] - 2.0;
            0.5 * (3.0 * x[0] * x[0] + 2.0 * x[0] * x[1] + 2.0 * x[1] * x[1]) - x[0] - 2.0 * x[1]
        };
        let m = minimize(f, &[10.0, -7.0], &LbfgsParams::default());
        assert!(m.converged(), "{:?}", m.status);
        assert_relative_eq!(m.x[0], 0.0, epsilon = 1e-8);
        assert_relative_eq!(m.x[1], 1.0, epsilon = 1e-8);
    }

    #[test]
    fn survives_non_finite_regions() {
        // f = x - ln x is undefined for x <= 0; a long first step lands there.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0 - 1.0 / x[0];
            x[0] - x[0].ln()
        };
        let m = minimize(f, &[0.05], &LbfgsParams::default());
        assert!(m.converged(), "{:?}", m.status);
        assert_relative_eq!(m.x[0], 1.0, epsilon = 1e-7);
    }

    #[test]
    fn reports_non_finite_start_and_iteration_limit() {
        let m = minimize(|_: &[f64], _: &mut [f64]| f64::NAN, &[1.0], &LbfgsParams::default());
        assert_eq!(m.status, Status::NonFiniteStart);
        let rosen = |x: &[f64], g: &mut [f64]| {
            g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            g[1] = 200.0 * (x[1] - x[0] * x[0]);
            (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
        };
        let p = LbfgsParams { max_iter: 3, ..Default::default() };
        let m = minimize(rosen, &[-1.2, 1.0], &p);
        assert_eq!(m.status, Status::MaxIterations);
        assert!(!m.converged());
    }

    #[test]
    fn newton_converges_in_few_evaluations() {
        // Rosenbrock with its analytic Hessian
        let f = |x: &[f64], g: &mut [f64], h: &mut [f64]| {
            g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            g[1] = 200.0 * (x[1] - x[0] * x[0]);
            h[0] = 2.0 - 400.0 * x[1] + 1200.0 * x[0] * x[0];
            h[1] = -400.0 * x[0];
            h[2] = -400.0 * x[0];
            h[3] = 200.0;
            (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
        };
        let m = newton(f, &[-1.2, 1.0], &LbfgsParams::default());
        assert!(m.converged(), "{:?}", m.status);
        assert_relative_eq!(m.x[0], 1.0, epsilon = 1e-8);
        assert!(m.evaluations < 60, "{}", m.evaluations);
        // a non-convex start (negative-definite Hessian) is damped, not followed uphill
        let g2 = |x: &[f64], g: &mut [f64], h: &mut [f64]| {
            g[0] = 4.0 * x[0].powi(3) - 2.0 * x[0];
            h[0] = 12.0 * x[0] * x[0] - 2.0;
            x[0].powi(4) - x[0] * x[0]
        };
        let m = newton(g2, &[0.1], &LbfgsParams::default());
        assert!(m.converged());
        assert_relative_eq!(m.x[0].abs(), 0.5f64.sqrt(), epsilon = 1e-8);
    }

    /// A raised stop ends both methods at their next iteration, with the point reached.
    #[test]
    fn stops_when_interrupted() {
        use crate::interrupt::{with_stop, Stop};
        let stop = Stop::new();
        let calls = std::cell::Cell::new(0);
        let slow = |x: &[f64], g: &mut [f64]| {
            calls.set(calls.get() + 1);
            if calls.get() == 3 {
                stop.raise();
            }
            g[0] = 4.0 * x[0].powi(3);
            x[0].powi(4)
        };
        let m = with_stop(&stop, || minimize(slow, &[3.0], &LbfgsParams::default()));
        assert_eq!(m.status, Status::Interrupted);
        assert!(!m.converged() && m.x[0] < 3.0);
        let n = with_stop(&stop, || {
            newton(
                |x, g, h| {
                    g[0] = 2.0 * x[0];
                    h[0] = 2.0;
                    x[0] * x[0]
                },
                &[1.0],
                &LbfgsParams::default(),
            )
        });
        assert_eq!((n.status, n.evaluations), (Status::Interrupted, 1));
    }

    #[test]
    fn hessian_and_inverse() {
        let grad = |x: &[f64], g: &mut [f64]| {
            g[0] = 3.0 * x[0] + x[1];
            g[1] = x[0] + 2.0 * x[1];
        };
        let h = hessian_from_gradient(grad, &[0.3, 0.7], 1e-4);
        for (got, want) in h.iter().zip([3.0, 1.0, 1.0, 2.0]) {
            assert_relative_eq!(*got, want, epsilon = 1e-9);
        }
        let inv = spd_inverse(&h, 2).unwrap();
        for (got, want) in inv.iter().zip([0.4, -0.2, -0.2, 0.6]) {
            assert_relative_eq!(*got, want, epsilon = 1e-9);
        }
        assert!(spd_inverse(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn symmetric_eigen_reconstructs_definite_and_indefinite_matrices() {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3, vectors (1, -1)/√2 and (1, 1)/√2
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert_relative_eq!(sorted[0], 1.0, epsilon = 1e-15);
        assert_relative_eq!(sorted[1], 3.0, epsilon = 1e-15);
        let k = if values[0] < values[1] { 0 } else { 1 };
        assert_relative_eq!(vectors[k].abs(), 0.5f64.sqrt(), epsilon = 1e-15);
        assert_relative_eq!(vectors[k] + vectors[2 + k], 0.0, epsilon = 1e-15);
        // an indefinite 4x4 with one zero eigenvalue: A = V diag(d) V^T rebuilt, V orthonormal
        let a = [
            4.0, 1.0, -2.0, 0.5, //
            1.0, 3.0, 0.0, 1.0, //
            -2.0, 0.0, -1.0, 2.0, //
            0.5, 1.0, 2.0, 0.0,
        ];
        let (d, v) = symmetric_eigen(&a, 4);
        for i in 0..4 {
            for j in 0..4 {
                let rebuilt: f64 = (0..4).map(|k| v[i * 4 + k] * d[k] * v[j * 4 + k]).sum();
                assert_relative_eq!(rebuilt, a[i * 4 + j], epsilon = 1e-13);
                let gram: f64 = (0..4).map(|k| v[k * 4 + i] * v[k * 4 + j]).sum();
                assert_relative_eq!(gram, if i == j { 1.0 } else { 0.0 }, epsilon = 1e-14);
            }
        }
        // trace and determinant are the sum and product of the eigenvalues
        assert_relative_eq!(d.iter().sum::<f64>(), 6.0, epsilon = 1e-13);
        let singular = symmetric_eigen(&[1.0, 2.0, 2.0, 4.0], 2).0;
        assert!(singular.iter().any(|x| x.abs() < 1e-15) && singular.iter().any(|x| (x - 5.0).abs() < 1e-14));
    }
}
