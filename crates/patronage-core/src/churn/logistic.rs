//! L2-regularised logistic regression on standardised features, fitted by
//! Newton's method (IRLS) with a Cholesky solve of the `(p+1) x (p+1)` Hessian.
//!
//! Exact and fast for the tens of features churn models use: each iteration
//! is one pass over the rows (rayon over fixed row chunks, partial sums added
//! in chunk order so the result does not depend on the thread count), read
//! from a standardised copy made once per fit ([`super::design`]). On more
//! than 15 chunks of rows a presolve on a fixed subsample of chunks brings
//! the start within sampling error of the optimum (see
//! [`LogisticModel::fit`]).

use ndarray::{s, ArrayView2};
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::{check_features, check_training, MAX_TOTAL_WEIGHT};
use super::design::{design, standardised_design, Block, Design, BLOCK, CHUNK};
use super::params::LogisticParams;
use super::standardise::{design_spread, design_sums, DesignRanges, Standardisation};
use crate::error::{DataError, Field, ParamError, Result};
use crate::interrupt::{self, Stop};

/// A fitted logistic regression.
///
/// `coef` and `intercept` are on the standardised scale:
/// `logit p = intercept + sum_j coef[j] (x_j - mean[j]) / scale[j]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// Column means of the training features.
    pub mean: Vec<f64>,
    /// Column standard deviations (ddof 0); 1 for constant columns.
    pub scale: Vec<f64>,
    /// Coefficients per standardised feature.
    pub coef: Vec<f64>,
    /// Intercept on the standardised scale.
    pub intercept: f64,
    /// Newton iterations run.
    pub n_iter: usize,
    /// Whether the step tolerance was reached within `max_iter`.
    pub converged: bool,
}

/// Most feature columns: each Newton iteration accumulates a `(p+1) x (p+1)`
/// Hessian over the rows (`n p^2 / 2` multiply-adds) and factors it
/// (`p^3 / 3`), so 10,000 columns would take minutes per iteration and 800 MB
/// per partial sum. Wider designs belong to the gradient-boosting model.
pub const MAX_LOGISTIC_FEATURES: usize = 1_000;

/// `log(1 + exp(z))` without overflow.
pub(crate) fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

struct Problem<'a> {
    design: &'a Design,
    /// The data term's factor: `C`, or on a subsample `C` times the total
    /// weight over the subsample's (so it stands for all rows).
    c: f64,
    /// Every `stride`-th chunk of rows takes part (1: all rows).
    stride: usize,
}

/// The intercept's column of a block.
static ONES: [f64; BLOCK] = [1.0; BLOCK];

/// Adds a block's loss, gradient and upper-triangle Hessian to a chunk's
/// sums, inside `pulp`'s runtime SIMD dispatch: each gradient and Hessian
/// entry is one dot product of two columns (instead of one scattered update
/// per row). Dot products keep eight fixed lanes and fused multiply-adds,
/// so the bits do not depend on the vector width that runs them.
struct AddBlock<'a> {
    block: Block<'a>,
    beta: &'a [f64],
    part: &'a mut Partial,
    /// Whether to add the Hessian (`part.hess` is empty when not).
    hessian: bool,
}

impl WithSimd for AddBlock<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let AddBlock { block, beta, part, hessian } = self;
        let k = part.grad.len();
        let col = |a: usize| if a == 0 { &ONES[..] } else { &block.cols[(a - 1) * BLOCK..a * BLOCK] };
        let mut z = [0.0; BLOCK];
        for (a, &b) in beta.iter().enumerate() {
            z.iter_mut().zip(col(a)).for_each(|(z, x)| *z = x.mul_add(b, *z));
        }
        let (mut r, mut h) = ([0.0; BLOCK], [0.0; BLOCK]);
        let (mut linear, mut one_plus_e) = ([0.0; BLOCK], [0.0; BLOCK]);
        for i in 0..BLOCK {
            let (wi, yi, zi) = (block.w[i], block.y[i], z[i]);
            // sigmoid and softplus from one exponential:
            // softplus(z) = max(z, 0) + ln(1 + e), e = exp(-|z|)
            let e = (-zi.abs()).exp();
            let p = (if zi >= 0.0 { 1.0 } else { e }) / (1.0 + e);
            linear[i] = zi.max(0.0) - yi * zi;
            one_plus_e[i] = 1.0 + e;
            r[i] = wi * (p - yi);
            h[i] = wi * p * (1.0 - p);
        }
        part.loss += block_loss(block.w, &linear, &one_plus_e);
        let mut hx = [0.0; BLOCK];
        for a in 0..k {
            part.grad[a] += dot(&r, col(a));
            if !hessian {
                continue;
            }
            hx.iter_mut().zip(&h).zip(col(a)).for_each(|((t, h), x)| *t = h * x);
            for b in a..k {
                part.hess[a * k + b] += dot(&hx, col(b));
            }
        }
    }
}

/// A block's log-loss `sum_i w_i (linear_i + ln(one_plus_e_i))`. When the
/// rows weigh the same (no sample weights: every full block), the
/// logarithms are one: `ln` of the product, which cannot overflow (64
/// factors in (1, 2]). That halves a gradient pass; the loss only decides
/// the line search, where an error of 1e-15 per block is harmless.
#[inline(always)]
fn block_loss(w: &[f64], linear: &[f64; BLOCK], one_plus_e: &[f64; BLOCK]) -> f64 {
    let w0 = w[0];
    if w.iter().all(|&wi| wi == w0) {
        let mut lanes = [1.0f64; 8];
        for x in one_plus_e.chunks_exact(8) {
            lanes.iter_mut().zip(x).for_each(|(l, x)| *l *= x);
        }
        let product = lanes.iter().product::<f64>();
        w0 * (linear.iter().sum::<f64>() + product.ln())
    } else {
        (0..BLOCK).map(|i| w[i] * (linear[i] + one_plus_e[i].ln())).sum()
    }
}

/// Dot product of two block columns in eight lanes, added pairwise.
#[inline(always)]
fn dot(u: &[f64], v: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    for (x, y) in u.chunks_exact(8).zip(v.chunks_exact(8)) {
        for l in 0..8 {
            lanes[l] = x[l].mul_add(y[l], lanes[l]);
        }
    }
    ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
}

/// Loss, gradient and upper-triangle Hessian sums of one chunk (unpenalised).
struct Partial {
    loss: f64,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

impl Problem<'_> {
    fn k(&self) -> usize {
        self.design.p() + 1
    }

    fn chunks(&self) -> usize {
        self.design.chunks()
    }

    /// The chunks taking part, in order.
    fn chunk_ids(&self) -> Vec<usize> {
        (0..self.chunks()).step_by(self.stride).collect()
    }

    /// Every `stride`-th chunk of this problem, its data term scaled to
    /// stand for all rows; `None` when that leaves no weight.
    fn subsample(&self, stride: usize) -> Option<Problem<'_>> {
        let sub = Problem { stride, ..*self };
        let weight =
            |p: &Problem<'_>| -> f64 { p.chunk_ids().iter().map(|&ch| self.design.chunk_weight(ch)).sum() };
        let (all, part) = (weight(self), weight(&sub));
        let c = self.c * (all / part);
        (part > 0.0 && c.is_finite()).then_some(Problem { c, ..sub })
    }

    /// Loss, gradient and upper-triangle Hessian sums of chunk `ch`; cut
    /// short once `stop` is raised (a chunk of 4,096 rows at 1,000 features
    /// is two billion multiply-adds: too long to wait for).
    fn chunk_derivatives(&self, ch: usize, beta: &[f64], hessian: bool, stop: &Stop) -> Partial {
        let k = self.k();
        let mut part =
            Partial { loss: 0.0, grad: vec![0.0; k], hess: vec![0.0; if hessian { k * k } else { 0 }] };
        let arch = Arch::new();
        for block in self.design.blocks(ch) {
            if stop.is_raised() {
                break;
            }
            arch.dispatch(AddBlock { block, beta, part: &mut part, hessian });
        }
        part
    }

    /// The unpenalised loss, gradient and upper-triangle Hessian (when
    /// `hessian`; else empty) summed over the rows at `beta`, without `C`.
    ///
    /// Chunks are computed a few per thread at a time and added in chunk
    /// order (the bits do not depend on the thread count; memory holds only
    /// those partial Hessians), with a stop check ([`crate::interrupt`])
    /// between batches.
    fn sums(&self, beta: &[f64], hessian: bool) -> Result<Partial> {
        let k = self.k();
        let mut total =
            Partial { loss: 0.0, grad: vec![0.0; k], hess: vec![0.0; if hessian { k * k } else { 0 }] };
        let batch = 2 * rayon::current_num_threads().max(1);
        let stop = interrupt::current();
        for ids in self.chunk_ids().chunks(batch) {
            let parts: Vec<Partial> =
                ids.par_iter().map(|&ch| self.chunk_derivatives(ch, beta, hessian, &stop)).collect();
            interrupt::check()?;
            for part in &parts {
                total.loss += part.loss;
                total.grad.iter_mut().zip(&part.grad).for_each(|(g, v)| *g += v);
                total.hess.iter_mut().zip(&part.hess).for_each(|(h, v)| *h += v);
            }
        }
        Ok(total)
    }
}

/// The objective `0.5 |w|^2 + C sum s_i loss_i`, its gradient and (when
/// `hessian`; else empty) full `k x k` Hessian from the data term's sums.
fn penalised(c: f64, sums: Partial, beta: &[f64], hessian: bool) -> (f64, Vec<f64>, Vec<f64>) {
    let k = beta.len();
    let Partial { loss, mut grad, mut hess } = sums;
    let obj = c * loss + penalty(beta);
    grad.iter_mut().for_each(|g| *g *= c);
    hess.iter_mut().for_each(|h| *h *= c);
    for a in 1..k {
        grad[a] += beta[a];
    }
    if hessian {
        for a in 1..k {
            hess[a * k + a] += 1.0;
        }
        for a in 0..k {
            for b in 0..a {
                hess[a * k + b] = hess[b * k + a];
            }
        }
    }
    (obj, grad, hess)
}

/// `0.5 |w|^2`: the intercept is not penalised.
fn penalty(beta: &[f64]) -> f64 {
    0.5 * beta[1..].iter().map(|b| b * b).sum::<f64>()
}

/// What Newton's method needs of the objective.
trait Objective {
    /// Objective, gradient and (when `hessian`; else empty) Hessian (full
    /// `k x k`) at `beta`.
    fn derivatives(&self, beta: &[f64], hessian: bool) -> Result<(f64, Vec<f64>, Vec<f64>)>;
    /// The objective alone (the line search).
    fn objective(&self, beta: &[f64]) -> Result<f64>;
}

impl Objective for Problem<'_> {
    fn derivatives(&self, beta: &[f64], hessian: bool) -> Result<(f64, Vec<f64>, Vec<f64>)> {
        Ok(penalised(self.c, self.sums(beta, hessian)?, beta, hessian))
    }

    fn objective(&self, beta: &[f64]) -> Result<f64> {
        Ok(self.derivatives(beta, false)?.0) // a gradient pass costs little more than the loss alone
    }
}

/// The objective from sums over batches of rows held elsewhere (see
/// [`LogisticModel::fit_sums`]).
struct Summed<S> {
    c: f64,
    sums: S,
}

impl<S> Objective for Summed<S>
where
    S: Fn(&[f64], bool) -> Result<Vec<f64>>,
{
    fn derivatives(&self, beta: &[f64], hessian: bool) -> Result<(f64, Vec<f64>, Vec<f64>)> {
        let k = beta.len();
        let flat = (self.sums)(beta, hessian)?;
        let expected = 1 + k + if hessian { k * k } else { 0 };
        if flat.len() != expected {
            return Err(ParamError::new(
                "sums",
                format!("returned {} numbers, expected {expected}", flat.len()),
            )
            .into());
        }
        let part = Partial { loss: flat[0], grad: flat[1..=k].to_vec(), hess: flat[1 + k..].to_vec() };
        Ok(penalised(self.c, part, beta, hessian))
    }

    fn objective(&self, beta: &[f64]) -> Result<f64> {
        Ok(self.derivatives(beta, false)?.0)
    }
}

/// Chunks of rows the presolve uses at least (see [`LogisticModel::fit`]).
const PRESOLVE_CHUNKS: usize = 8;
/// The presolve's tolerance on the largest Newton step.
const PRESOLVE_TOL: f64 = 1e-3;
/// A step this small or smaller keeps the Hessian for the next one.
const KEEP_HESSIAN_BELOW: f64 = 1e-3;

/// Damped Newton from `beta` until the largest step is below `tol`:
/// returns the optimum, the iterations run and whether `tol` was reached.
///
/// Once a step is below [`KEEP_HESSIAN_BELOW`], the next ones reuse its
/// Hessian (a chord step: the gradient stays exact, so the optimum is the
/// same, and so close to it the Hessian hardly changes, so each step still
/// cuts the error by a factor of about 1e3), which skips the `n p^2 / 2`
/// Hessian sums, most of a pass.
fn newton(
    problem: &impl Objective,
    mut beta: Vec<f64>,
    max_iter: usize,
    tol: f64,
) -> Result<(Vec<f64>, usize, bool)> {
    let (mut n_iter, mut converged) = (0, false);
    let (mut obj, mut grad, mut hess) = problem.derivatives(&beta, true)?;
    while n_iter < max_iter {
        interrupt::check()?;
        n_iter += 1;
        let step = newton_step(&hess, &grad).ok_or_else(overflowed)?;
        let slope: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
        let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        if largest < tol {
            beta.iter_mut().zip(&step).for_each(|(b, s)| *b -= s);
            converged = true;
            break;
        }
        // Newton's full step is almost always accepted: evaluate the
        // derivatives there directly (one pass), backtrack (Armijo) if not.
        // Near the optimum the objective's change drowns in rounding: allow it.
        let slack = 1e-12 * obj.abs();
        let full: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - s).collect();
        let fresh_hessian = largest > KEEP_HESSIAN_BELOW;
        let at_full = problem.derivatives(&full, fresh_hessian)?;
        if at_full.0 <= obj - 1e-4 * slope + slack {
            beta = full;
            (obj, grad) = (at_full.0, at_full.1);
            if fresh_hessian {
                hess = at_full.2;
            }
            continue;
        }
        let mut t = 0.5;
        loop {
            interrupt::check()?;
            let candidate: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
            if problem.objective(&candidate)? <= obj - 1e-4 * t * slope + slack {
                beta = candidate;
                break;
            }
            t *= 0.5;
            if t * largest < tol {
                break; // no decrease measurable any more: beta is the optimum
            }
        }
        if t * largest < tol {
            converged = true;
            break;
        }
        (obj, grad, hess) = problem.derivatives(&beta, true)?;
    }
    Ok((beta, n_iter, converged))
}

/// Solves `A x = b` for symmetric positive definite `A` (`k x k`, row-major)
/// by Cholesky; `None` when `A` is not positive definite.
pub(crate) fn cholesky_solve(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let k = b.len();
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i * k + m] * l[j * k + m]).sum();
            if i == j {
                let d = a[i * k + i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i * k + i] = d.sqrt();
            } else {
                l[i * k + j] = (a[i * k + j] - s) / l[j * k + j];
            }
        }
    }
    let mut z = vec![0.0; k];
    for i in 0..k {
        let s: f64 = (0..i).map(|m| l[i * k + m] * z[m]).sum();
        z[i] = (b[i] - s) / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|m| l[m * k + i] * x[m]).sum();
        x[i] = (z[i] - s) / l[i * k + i];
    }
    Some(x)
}

/// Newton step `H^-1 g`, adding a small ridge if `H` is numerically singular
/// (an unpenalised intercept with one class almost separated); `None` when the
/// system is not finite or no ridge up to `1e10` times its trace helps.
fn newton_step(hess: &[f64], grad: &[f64]) -> Option<Vec<f64>> {
    let k = grad.len();
    if !(hess.iter().all(|v| v.is_finite()) && grad.iter().all(|v| v.is_finite())) {
        return None;
    }
    let trace: f64 = (0..k).map(|a| hess[a * k + a]).sum::<f64>().max(1.0);
    let mut jitter = 0.0;
    while jitter <= 1e10 * trace {
        let mut h = hess.to_vec();
        (0..k).for_each(|a| h[a * k + a] += jitter);
        if let Some(step) = cholesky_solve(&h, grad) {
            return Some(step);
        }
        jitter = if jitter == 0.0 { 1e-10 * trace } else { jitter * 10.0 };
    }
    None
}

/// The error of a fit whose Newton system overflowed.
fn overflowed() -> crate::Error {
    DataError::Invalid {
        field: Field::SampleWeight,
        row: None,
        reason: "the logistic fit's Newton system is not finite: the features, sample weights or C are too \
                 large for double precision; rescale them"
            .into(),
    }
    .into()
}

/// At most [`MAX_LOGISTIC_FEATURES`] columns.
fn check_width(p: usize) -> Result<()> {
    if p > MAX_LOGISTIC_FEATURES {
        return Err(ParamError::new(
            "X",
            format!(
                "has {p} feature columns; logistic regression takes at most {MAX_LOGISTIC_FEATURES} (each \
                 Newton step solves a (p+1)-square system): select features or use the gradient-boosting model"
            ),
        )
        .into());
    }
    Ok(())
}

/// Merged passes of the same width as the ranges.
fn check_passes(ranges: &DesignRanges, sums: &[f64], spread: &[f64]) -> Result<()> {
    let p = ranges.lo.len();
    if ranges.hi.len() != p || sums.len() != p + 1 || spread.len() != p {
        return Err(ParamError::new(
            "sums",
            format!(
                "the standardisation passes disagree on the number of columns: {p} and {} ranges, {} sums \
                 (expected {}), {} spreads",
                ranges.hi.len(),
                sums.len(),
                p + 1,
                spread.len()
            ),
        )
        .into());
    }
    Ok(())
}

/// The start: the weighted prior log-odds, the optimum when all
/// coefficients are 0.
fn prior_start(positive_weight: f64, total_weight: f64, p: usize) -> Vec<f64> {
    let prior = (positive_weight / total_weight).clamp(1e-12, 1.0 - 1e-12);
    let mut beta = vec![0.0; p + 1];
    beta[0] = (prior / (1.0 - prior)).ln();
    beta
}

/// The model from Newton's solution.
fn fitted(
    mean: Vec<f64>,
    scale: Vec<f64>,
    (beta, n_iter, converged): (Vec<f64>, usize, bool),
) -> Result<LogisticModel> {
    if !beta.iter().all(|b| b.is_finite()) {
        return Err(overflowed());
    }
    Ok(LogisticModel { mean, scale, coef: beta[1..].to_vec(), intercept: beta[0], n_iter, converged })
}

/// The checked weights of a batch (see [`LogisticModel::fit`]).
fn batch_weights(x: &ArrayView2<'_, f64>, y: &[f64], sample_weight: Option<&[f64]>) -> Result<Vec<f64>> {
    check_width(x.ncols())?;
    check_training(x, y, sample_weight)
}

/// The first standardisation pass of a fit from sums over a batch of rows
/// ([`LogisticModel::fit_sums`]), after the checks of [`LogisticModel::fit`].
pub fn logistic_ranges(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<DesignRanges> {
    let w = batch_weights(&x, y, sample_weight)?;
    Ok(DesignRanges::of(&x, y, &w))
}

/// The second pass over a batch: weighted column sums with the merged `ranges`' exact factors.
pub fn logistic_design_sums(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
    ranges: &DesignRanges,
) -> Result<Vec<f64>> {
    let w = batch_weights(&x, y, sample_weight)?;
    check_passes(ranges, &vec![0.0; x.ncols() + 1], &vec![0.0; x.ncols()])?;
    Ok(design_sums(&x, &w, ranges))
}

/// The third pass over a batch: squared deviations about the means of the merged `sums`.
pub fn logistic_design_spread(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
    ranges: &DesignRanges,
    sums: &[f64],
) -> Result<Vec<f64>> {
    let w = batch_weights(&x, y, sample_weight)?;
    check_passes(ranges, sums, &vec![0.0; x.ncols()])?;
    Ok(design_spread(&x, &w, ranges, sums))
}

/// The unpenalised log-loss of a batch at `beta` (intercept first, on the
/// standardised scale of the merged passes), its gradient and, when
/// `hessian`, the upper triangle of its Hessian (row-major `k x k`, `k = p +
/// 1`), flat: `[loss, grad.., hess..]`. The same chunked, SIMD sums as
/// [`LogisticModel::fit`]; batches add up.
pub fn logistic_sums(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
    passes: (&DesignRanges, &[f64], &[f64]),
    beta: &[f64],
    hessian: bool,
) -> Result<Vec<f64>> {
    let (ranges, sums, spread) = passes;
    let w = batch_weights(&x, y, sample_weight)?;
    check_passes(ranges, sums, spread)?;
    if beta.len() != x.ncols() + 1 {
        return Err(ParamError::new(
            "beta",
            format!("has {} entries, expected {}", beta.len(), x.ncols() + 1),
        )
        .into());
    }
    let s = Standardisation::from_passes(ranges, sums, spread);
    let design = standardised_design(&x, y, &w, (s.mean, s.scale, &s.factor));
    let problem = Problem { design: &design, c: 1.0, stride: 1 };
    let Partial { loss, grad, hess } = problem.sums(beta, hessian)?;
    Ok(std::iter::once(loss).chain(grad).chain(hess).collect())
}

impl LogisticModel {
    /// Fits the model to features `x` (`n x p`, at most
    /// [`MAX_LOGISTIC_FEATURES`] columns, each spanning less than the largest
    /// float), labels `y` in {0, 1} and optional non-negative sample weights.
    /// Looks for a stop ([`crate::interrupt`]) every iteration.
    pub fn fit(
        params: &LogisticParams,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<LogisticModel> {
        params.check()?;
        check_width(x.ncols())?;
        let w = check_training(&x, y, sample_weight)?;
        let design = design(&x, y, &w)?;
        let problem = Problem { design: &design, c: params.c, stride: 1 };
        let positive: f64 = w.iter().zip(y).map(|(w, y)| w * y).sum();
        let mut beta = prior_start(positive, w.iter().sum(), x.ncols());
        // On many rows, first solve on every `stride`-th chunk (at least
        // PRESOLVE_CHUNKS of them) to a loose tolerance: its optimum lies
        // within sampling error (~1e-2) of the full one, where Newton on all
        // rows needs two or three passes instead of five or six. The rows are
        // fixed chunks, so the result does not depend on the thread count,
        // and the full solve's tolerance decides the answer.
        let stride = problem.chunks() / PRESOLVE_CHUNKS;
        if stride >= 2 {
            if let Some(sub) = problem.subsample(stride) {
                beta = newton(&sub, beta, params.max_iter, PRESOLVE_TOL)?.0;
            }
        }
        let solved = newton(&problem, beta, params.max_iter, params.tol)?;
        let Design { mean, scale, .. } = design;
        fitted(mean, scale, solved)
    }

    /// The same fit from sums that add up across batches of rows (a table
    /// spread over machines): `ranges`, `sums` and `spread` are the batches'
    /// merged [`logistic_ranges`], [`logistic_design_sums`] and
    /// [`logistic_design_spread`], and `sums_at(beta, hessian)` returns the
    /// batches' [`logistic_sums`] added up. Same start, Newton steps and
    /// tolerance as [`Self::fit`] (without its presolve on a subsample, which
    /// needs the rows), so the same optimum; the first error of `sums_at`
    /// ends the fit.
    pub fn fit_sums<S>(
        params: &LogisticParams,
        ranges: &DesignRanges,
        sums: &[f64],
        spread: &[f64],
        sums_at: S,
    ) -> Result<LogisticModel>
    where
        S: Fn(&[f64], bool) -> Result<Vec<f64>>,
    {
        params.check()?;
        let p = ranges.lo.len();
        check_width(p)?;
        check_passes(ranges, sums, spread)?;
        if ranges.total_weight.is_nan() || ranges.total_weight <= 0.0 {
            return Err(DataError::Invalid {
                field: Field::SampleWeight,
                row: None,
                reason: "the rows' weights sum to zero (or there are no rows): there is nothing to fit"
                    .into(),
            }
            .into());
        }
        if ranges.total_weight > MAX_TOTAL_WEIGHT {
            return Err(DataError::Invalid {
                field: Field::SampleWeight,
                row: None,
                reason: format!(
                    "sample weights sum to {:e}, above the limit of {MAX_TOTAL_WEIGHT:e} (beyond it the fits' \
                     weighted sums overflow): divide the weights by a constant",
                    ranges.total_weight
                ),
            }
            .into());
        }
        ranges.check()?;
        let Standardisation { mean, scale, .. } = Standardisation::from_passes(ranges, sums, spread);
        let summed = Summed { c: params.c, sums: sums_at };
        let solved = newton(
            &summed,
            prior_start(ranges.positive_weight, ranges.total_weight, p),
            params.max_iter,
            params.tol,
        )?;
        fitted(mean, scale, solved)
    }

    /// Checks a deserialised model: one mean, scale and coefficient per feature.
    pub fn check_structure(&self) -> std::result::Result<(), String> {
        let p = self.coef.len();
        if self.mean.len() != p || self.scale.len() != p {
            return Err("mean, scale and coef must have the same length".into());
        }
        Ok(())
    }

    /// Coefficients per unit of each original feature.
    pub fn coef_unscaled(&self) -> Vec<f64> {
        self.coef.iter().zip(&self.scale).map(|(c, s)| c / s).collect()
    }

    /// Intercept for the original (unscaled) features.
    pub fn intercept_unscaled(&self) -> f64 {
        self.intercept - self.coef_unscaled().iter().zip(&self.mean).map(|(c, m)| c * m).sum::<f64>()
    }

    /// Log-odds of the positive class for each row of `x`.
    ///
    /// A row so far outside the training data that its log-odds overflow is
    /// an error naming the row and the feature with the largest term.
    pub fn decision_function(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        check_features(&x, self.mean.len())?;
        let inv_scale: Vec<f64> = self.scale.iter().map(|s| 1.0 / s).collect();
        let term = |j: usize, v: f64| (v - self.mean[j]) * inv_scale[j] * self.coef[j];
        let mut out = vec![0.0; x.nrows()];
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(ch, dst)| {
            let rows = x.slice(s![ch * CHUNK..ch * CHUNK + dst.len(), ..]);
            for (d, row) in dst.iter_mut().zip(rows.rows()) {
                *d = self.intercept + row.iter().enumerate().map(|(j, &v)| term(j, v)).sum::<f64>();
            }
        });
        if let Some(i) = out.iter().position(|z| !z.is_finite()) {
            let row = x.row(i);
            let j = (0..row.len()).max_by(|&a, &b| term(a, row[a]).abs().total_cmp(&term(b, row[b]).abs()));
            return Err(DataError::Invalid {
                field: Field::Feature(j.unwrap_or(0)),
                row: Some(i),
                reason: "the log-odds overflow: the value lies too far outside the training data".into(),
            }
            .into());
        }
        Ok(out)
    }

    /// Probability of the positive class for each row of `x`.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        Ok(self.decision_function(x)?.into_iter().map(sigmoid).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::Array2;

    #[test]
    fn cholesky_solves() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&a, &[6.0, 5.0]).unwrap();
        assert_relative_eq!(x[0], 1.0, epsilon = 1e-12);
        assert_relative_eq!(x[1], 1.0, epsilon = 1e-12);
        assert!(cholesky_solve(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0]).is_none());
    }

    /// With one feature and huge C the fit is the unpenalised MLE, which for a
    /// binary feature reproduces the two group log-odds exactly.
    #[test]
    fn binary_feature_gives_group_log_odds() {
        // x = 0: 1 positive of 4; x = 1: 3 positives of 4
        let x = Array2::from_shape_vec((8, 1), vec![0., 0., 0., 0., 1., 1., 1., 1.]).unwrap();
        let y = [1., 0., 0., 0., 1., 1., 1., 0.];
        let params = LogisticParams { c: 1e10, ..LogisticParams::default() };
        let m = LogisticModel::fit(&params, x.view(), &y, None).unwrap();
        assert!(m.converged);
        let logit = |p: f64| (p / (1.0 - p)).ln();
        assert_relative_eq!(m.intercept_unscaled(), logit(0.25), epsilon = 1e-6);
        assert_relative_eq!(m.coef_unscaled()[0], logit(0.75) - logit(0.25), epsilon = 1e-6);
        let p = m.predict_proba(x.view()).unwrap();
        assert_relative_eq!(p[0], 0.25, epsilon = 1e-8);
        assert_relative_eq!(p[7], 0.75, epsilon = 1e-8);
    }

    /// Partial sums are added in chunk order: one thread or many, same bits.
    #[test]
    fn same_result_on_any_thread_count() {
        let n = 3 * CHUNK + 17;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * 31 + j * 7) % 97) as f64 / 9.0);
        let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 5 < 2))).collect();
        let params = LogisticParams::default();
        let many = LogisticModel::fit(&params, x.view(), &y, None).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let one = pool.install(|| LogisticModel::fit(&params, x.view(), &y, None).unwrap());
        assert_eq!(many, one);
    }

    /// On enough rows for the subsample presolve and the kept Hessian, the
    /// fit still ends at the stationary point of the full objective (its
    /// gradient, summed here independently, vanishes), in the same bits on
    /// one thread or many.
    #[test]
    fn presolve_and_kept_hessian_reach_the_full_optimum() {
        let n = (2 * PRESOLVE_CHUNKS + 3) * CHUNK + 101;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * (31 + j) + j * 7) % 97) as f64 / 9.0 - j as f64);
        let y: Vec<f64> =
            (0..n).map(|i| f64::from(u8::from((i * 7919) % 1000 < 300 + 5 * ((i * 31) % 97)))).collect();
        let params = LogisticParams::default();
        let many = LogisticModel::fit(&params, x.view(), &y, None).unwrap();
        assert!(many.converged);
        let p = many.predict_proba(x.view()).unwrap();
        let g0: f64 = (0..n).map(|i| p[i] - y[i]).sum();
        assert!(g0.abs() < 1e-6, "{g0}");
        for j in 0..3 {
            let g: f64 = (0..n).map(|i| (p[i] - y[i]) * (x[[i, j]] - many.mean[j]) / many.scale[j]).sum();
            assert!((many.coef[j] + g).abs() < 1e-6, "feature {j}: {}", many.coef[j] + g);
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(pool.install(|| LogisticModel::fit(&params, x.view(), &y, None).unwrap()), many);
    }

    /// Standardised features do not change with the unit of a column: a
    /// column in units of 1e300 (sums of 1e308-sized values would overflow)
    /// gives the same coefficients and probabilities, and a constant column
    /// of 1e308 gets coefficient 0 (it once made the fit loop for ever).
    #[test]
    fn columns_near_the_largest_float() {
        let n = 60;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 5) % 13) as f64 - 6.0);
        let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from((i * 7) % 13 > 5 || i % 4 == 0))).collect();
        let params = LogisticParams::default();
        let plain = LogisticModel::fit(&params, x.view(), &y, None).unwrap();
        // a power-of-two unit keeps every standardised value bit-identical
        let unit = 2f64.powi(1000);
        let huge = x.mapv(|v| v * unit);
        let big = LogisticModel::fit(&params, huge.view(), &y, None).unwrap();
        assert_eq!(big.coef, plain.coef);
        assert_eq!(big.predict_proba(huge.view()).unwrap(), plain.predict_proba(x.view()).unwrap());
        let mut with_constant = Array2::from_elem((n, 3), 1.7e308);
        with_constant.slice_mut(s![.., ..2]).assign(&x);
        let m = LogisticModel::fit(&params, with_constant.view(), &y, None).unwrap();
        assert_eq!(m.coef[2], 0.0);
        assert_relative_eq!(m.coef[0], plain.coef[0], epsilon = 1e-12);
        // a column spanning more than the largest float is refused, by name
        let mut wide = x.clone();
        wide[[0, 1]] = -1.5e308;
        wide[[1, 1]] = 1.5e308;
        assert!(matches!(
            LogisticModel::fit(&params, wide.view(), &y, None),
            Err(crate::Error::Data(DataError::Invalid { field: Field::Feature(1), .. }))
        ));
    }

    /// 10,000 columns (which once ran for minutes) are refused at once, and
    /// so are weights whose sum overflows (which made the fit loop for ever).
    #[test]
    fn sizes_and_weights_beyond_the_limits() {
        let x = Array2::from_shape_fn((100, MAX_LOGISTIC_FEATURES + 1), |(i, j)| ((i + j) % 7) as f64);
        let y: Vec<f64> = (0..100).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
        let params = LogisticParams::default();
        let err = LogisticModel::fit(&params, x.view(), &y, None).unwrap_err();
        assert!(matches!(err, crate::Error::Param(ParamError { name: "X", .. })), "{err}");
        let x = x.slice(s![.., ..3]);
        let w = vec![1e308; 100];
        assert!(matches!(
            LogisticModel::fit(&params, x, &y, Some(&w)),
            Err(crate::Error::Data(DataError::Invalid { field: Field::SampleWeight, .. }))
        ));
    }

    /// A stop raised during the fit ends it with `Interrupted`.
    #[test]
    fn a_raised_stop_ends_the_fit() {
        let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * 3 + j) % 11) as f64);
        let y: Vec<f64> = (0..200).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
        let stop = interrupt::Stop::new();
        stop.raise();
        let got = interrupt::with_stop(&stop, || {
            LogisticModel::fit(&LogisticParams::default(), x.view(), &y, None)
        });
        assert_eq!(got, Err(crate::Error::Interrupted));
    }

    /// The penalised optimum: gradient `w + C X^T (p - y) = 0` holds.
    #[test]
    fn stationary_with_penalty() {
        let x = Array2::from_shape_fn((50, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
        let y: Vec<f64> = (0..50).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
        let params = LogisticParams { c: 0.5, ..LogisticParams::default() };
        let m = LogisticModel::fit(&params, x.view(), &y, None).unwrap();
        let p = m.predict_proba(x.view()).unwrap();
        for j in 0..2 {
            let g: f64 = (0..50).map(|i| (p[i] - y[i]) * (x[[i, j]] - m.mean[j]) / m.scale[j]).sum();
            assert_relative_eq!(m.coef[j] + 0.5 * g, 0.0, epsilon = 1e-8);
        }
        let g0: f64 = (0..50).map(|i| p[i] - y[i]).sum();
        assert_relative_eq!(g0, 0.0, epsilon = 1e-8);
    }

    /// Passes and sums over three uneven batches, merged, give the in-memory
    /// fit (presolve included there) to 1e-8; an error from the sums ends the fit.
    #[test]
    fn fit_from_batch_sums_equals_the_fit() {
        let n = (2 * PRESOLVE_CHUNKS + 3) * CHUNK + 101;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * (31 + j) + j * 7) % 97) as f64 / 9.0 - j as f64);
        let y: Vec<f64> =
            (0..n).map(|i| f64::from(u8::from((i * 7919) % 1000 < 300 + 5 * ((i * 31) % 97)))).collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64).collect();
        let params = LogisticParams { c: 0.3, ..LogisticParams::default() };
        let whole = LogisticModel::fit(&params, x.view(), &y, Some(&w)).unwrap();
        let cuts = [0, 5, CHUNK + 7, n];
        let batch = |c: &[usize]| (x.slice(s![c[0]..c[1], ..]), &y[c[0]..c[1]], &w[c[0]..c[1]]);
        let batches: Vec<_> = cuts.windows(2).map(batch).collect();
        let ranges = batches
            .iter()
            .map(|(x, y, w)| logistic_ranges(x.view(), y, Some(w)).unwrap())
            .reduce(|a, b| a.merge(&b))
            .unwrap();
        let add = |parts: Vec<Vec<f64>>| {
            parts.into_iter().reduce(|a, b| a.iter().zip(&b).map(|(a, b)| a + b).collect()).unwrap()
        };
        let sums = add(batches
            .iter()
            .map(|(x, y, w)| logistic_design_sums(x.view(), y, Some(w), &ranges).unwrap())
            .collect());
        let spread = add(batches
            .iter()
            .map(|(x, y, w)| logistic_design_spread(x.view(), y, Some(w), &ranges, &sums).unwrap())
            .collect());
        let at = |beta: &[f64], h: bool| {
            let parts: Result<Vec<Vec<f64>>> = batches
                .iter()
                .map(|(x, y, w)| logistic_sums(x.view(), y, Some(w), (&ranges, &sums, &spread), beta, h))
                .collect();
            Ok(add(parts?))
        };
        let merged = LogisticModel::fit_sums(&params, &ranges, &sums, &spread, at).unwrap();
        assert!(merged.converged);
        for (a, b) in
            merged.coef.iter().chain([&merged.intercept]).zip(whole.coef.iter().chain([&whole.intercept]))
        {
            assert_relative_eq!(*a, *b, max_relative = 1e-8);
        }
        for (a, b) in merged.mean.iter().chain(&merged.scale).zip(whole.mean.iter().chain(&whole.scale)) {
            assert_relative_eq!(*a, *b, max_relative = 1e-12);
        }
        let failing = |_: &[f64], _: bool| Err(ParamError::new("sums", "engine failed").into());
        let err = LogisticModel::fit_sums(&params, &ranges, &sums, &spread, failing);
        assert!(matches!(err, Err(crate::Error::Param(e)) if e.name == "sums"));
        let short = |_: &[f64], _: bool| Ok(vec![0.0; 2]);
        assert!(matches!(LogisticModel::fit_sums(&params, &ranges, &sums, &spread, short),
            Err(crate::Error::Param(e)) if e.name == "sums"));
        assert!(logistic_sums(x.view(), &y, None, (&ranges, &sums, &spread), &[0.0; 2], false).is_err());
    }
}
