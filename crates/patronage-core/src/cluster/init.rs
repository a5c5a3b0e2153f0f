//! Initial centres: greedy k-means++ (scikit-learn's variant) and random rows.
//! Potentials are summed per fixed block and reduced in block order, so the
//! chosen centres do not depend on the thread count.

use pulp::{Arch, Simd, WithSimd};
use rand::seq::index;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::kernel::{sq_dist, Points, LANES};

/// Scratch reused across the `n_init` runs of one fit.
pub(crate) struct PlusPlusScratch {
    closest: Vec<f64>,
    trials: Vec<f64>,
    n_trials: usize,
}

impl PlusPlusScratch {
    pub fn new(n: usize, k: usize) -> Self {
        let n_trials = 2 + (k as f64).ln() as usize;
        PlusPlusScratch { closest: vec![0.0; n], trials: vec![0.0; n * n_trials], n_trials }
    }
}

/// Sums `v` per block of `br`, in block order.
fn block_sums(v: &[f64], br: usize) -> Vec<f64> {
    v.par_chunks(br).map(|b| b.iter().sum::<f64>()).collect()
}

/// First index whose running sum of `v` reaches `target` (numpy's
/// `searchsorted(cumsum(v), target)`), clipped to the last index.
fn search_cumulative(v: &[f64], sums: &[f64], br: usize, target: f64) -> usize {
    let mut cum = 0.0;
    for (b, &s) in sums.iter().enumerate() {
        if cum + s < target {
            cum += s;
            continue;
        }
        for (i, &x) in v[b * br..(b * br + br).min(v.len())].iter().enumerate() {
            cum += x;
            if cum >= target {
                return b * br + i;
            }
        }
    }
    v.len() - 1
}

/// Greedy k-means++: the first centre uniformly, then each next centre the
/// best of `2 + ln k` candidates sampled proportionally to the squared
/// distance to the closest centre so far (best = lowest total potential).
pub(crate) fn kmeans_plus_plus(
    pts: &Points,
    k: usize,
    rng: &mut ChaCha8Rng,
    s: &mut PlusPlusScratch,
) -> Vec<f64> {
    let (n, d, br) = (pts.n, pts.d, pts.block_rows());
    let mut centres = Vec::with_capacity(k * d);
    let first = rng.gen_range(0..n);
    centres.extend_from_slice(pts.row(first));
    s.closest.par_iter_mut().enumerate().for_each(|(i, c)| *c = sq_dist(pts.row(i), pts.row(first)));
    let mut sums = block_sums(&s.closest, br);
    let mut potential: f64 = sums.iter().sum();
    let nt = s.n_trials;
    let mut candidates = vec![0usize; nt];
    for _ in 1..k {
        for c in candidates.iter_mut() {
            let target = rng.gen::<f64>() * potential;
            *c = search_cumulative(&s.closest, &sums, br, target);
        }
        // trials[i*nt + t] = min(closest[i], |x_i - candidate_t|^2), one pass over x
        let cand: Vec<f64> = candidates.iter().flat_map(|&c| pts.row(c).iter().copied()).collect();
        let arch = Arch::new();
        let block_pots: Vec<Vec<f64>> = s
            .trials
            .par_chunks_mut(br * nt)
            .zip(s.closest.par_chunks(br))
            .zip(pts.x.par_chunks(br * d))
            .map(|((tb, cb), xb)| arch.dispatch(TrialBlock { tb, cb, xb, cand: &cand, d, nt }))
            .collect();
        let mut pots = vec![0.0; nt];
        for bp in &block_pots {
            pots.iter_mut().zip(bp).for_each(|(p, v)| *p += v);
        }
        let mut best = 0;
        for (t, &p) in pots.iter().enumerate() {
            if p < pots[best] {
                best = t;
            }
        }
        centres.extend_from_slice(pts.row(candidates[best]));
        let trials = &s.trials;
        s.closest.par_iter_mut().enumerate().for_each(|(i, c)| *c = trials[i * nt + best]);
        sums = block_pots.iter().map(|bp| bp[best]).collect();
        potential = pots[best];
    }
    centres
}

/// One block of the candidate pass, SIMD-dispatched (see `kernel::FullBlock`).
struct TrialBlock<'a> {
    tb: &'a mut [f64],
    cb: &'a [f64],
    xb: &'a [f64],
    cand: &'a [f64],
    d: usize,
    nt: usize,
}

impl WithSimd for TrialBlock<'_> {
    type Output = Vec<f64>;

    /// Per candidate, the block's potential (sum of the new closest distances).
    /// Rows go in tiles of `LANES`, one SIMD lane each (as `kernel::nearest_tile`).
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Vec<f64> {
        let TrialBlock { tb, cb, xb, cand, d, nt } = self;
        let mut pots = vec![[0.0f64; LANES]; nt];
        let mut xt = vec![0.0f64; d * LANES];
        let n = cb.len();
        for start in (0..n).step_by(LANES) {
            let m = LANES.min(n - start);
            for l in 0..LANES {
                let r = start + l.min(m - 1);
                for (f, v) in xb[r * d..(r + 1) * d].iter().enumerate() {
                    xt[f * LANES + l] = *v;
                }
            }
            let mut closest = [0.0f64; LANES];
            closest[..m].copy_from_slice(&cb[start..start + m]);
            for (t, pot) in pots.iter_mut().enumerate() {
                let mut acc = [0.0f64; LANES];
                for (cf, xs) in cand[t * d..(t + 1) * d].iter().zip(xt.chunks_exact(LANES)) {
                    for l in 0..LANES {
                        let v = xs[l] - cf;
                        acc[l] = v.mul_add(v, acc[l]);
                    }
                }
                for l in 0..LANES {
                    acc[l] = if acc[l] < closest[l] { acc[l] } else { closest[l] };
                }
                for l in 0..m {
                    tb[(start + l) * nt + t] = acc[l];
                    pot[l] += acc[l];
                }
            }
        }
        pots.iter().map(|p| p.iter().sum()).collect()
    }
}

/// `k` distinct rows drawn uniformly.
pub(crate) fn random_rows(pts: &Points, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut centres = Vec::with_capacity(k * pts.d);
    for i in index::sample(rng, pts.n, k).into_iter() {
        centres.extend_from_slice(pts.row(i));
    }
    centres
}
