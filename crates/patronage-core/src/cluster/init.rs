//! Initial centres: greedy k-means++ (scikit-learn's variant) and random rows.
//! Potentials are summed per fixed block and reduced in block order, so the
//! chosen centres do not depend on the thread count.

use pulp::{Arch, Simd, WithSimd};
use rand::seq::index;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::kernel::{distances, load_tile, sq_dist, tile_rows, Lane, Points, LANES};

/// Scratch reused across the `n_init` runs of one fit.
pub(crate) struct PlusPlusScratch {
    closest: Vec<f64>,
    n_trials: usize,
}

impl PlusPlusScratch {
    pub fn new(n: usize, k: usize) -> Self {
        let n_trials = 2 + (k as f64).ln() as usize;
        PlusPlusScratch { closest: vec![0.0; n], n_trials }
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
        // the potential each candidate would leave, one pass over x without stores
        let cand: Vec<f64> = candidates.iter().flat_map(|&c| pts.row(c).iter().copied()).collect();
        let arch = Arch::new();
        let block_pots: Vec<Vec<f64>> = s
            .closest
            .par_chunks(br)
            .zip(pts.x.par_chunks(br * d))
            .map(|(cb, xb)| arch.dispatch(TrialBlock { closest: Closest::Read(cb), xb, cand: &cand, d }))
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
        let chosen = pts.row(candidates[best]);
        centres.extend_from_slice(chosen);
        // a second pass keeps the chosen one's distances (and block sums)
        sums = s
            .closest
            .par_chunks_mut(br)
            .zip(pts.x.par_chunks(br * d))
            .map(|(cb, xb)| {
                arch.dispatch(TrialBlock { closest: Closest::Update(cb), xb, cand: chosen, d })[0]
            })
            .collect();
        potential = pots[best];
    }
    centres
}

/// The block's distances to the closest centre so far: read, or also
/// replaced by the minimum with the (one) candidate.
enum Closest<'a> {
    Read(&'a [f64]),
    Update(&'a mut [f64]),
}

/// One block of the candidate pass, SIMD-dispatched (see `kernel::FullBlock`):
/// per candidate, the block's potential `sum_i min(closest_i, |x_i - c|^2)`.
struct TrialBlock<'a> {
    closest: Closest<'a>,
    xb: &'a [f64],
    cand: &'a [f64],
    d: usize,
}

impl WithSimd for TrialBlock<'_> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<f64> {
        let TrialBlock { mut closest, xb, cand, d } = self;
        let nt = cand.len() / d;
        let n = xb.len() / d;
        let mut pots = vec![[0.0f64; LANES]; nt];
        let mut xt: Vec<Lane> = vec![[0.0; LANES]; d];
        for start in (0..n).step_by(LANES) {
            let m = LANES.min(n - start);
            load_tile(&mut xt, xb, &tile_rows(start, m));
            let mut near = [0.0f64; LANES];
            let old: &[f64] = match &closest {
                Closest::Read(c) => c,
                Closest::Update(c) => c,
            };
            near[..m].copy_from_slice(&old[start..start + m]);
            for (t, pot) in pots.iter_mut().enumerate() {
                let mut acc = [0.0f64; LANES];
                let (vs, _) = S::as_mut_simd_f64s(&mut acc);
                for (v, a) in vs.iter_mut().enumerate() {
                    *a = distances::<S, 1>(simd, &xt, &cand[t * d..(t + 1) * d], v)[0];
                }
                for l in 0..LANES {
                    acc[l] = if acc[l] < near[l] { acc[l] } else { near[l] };
                }
                for l in 0..m {
                    pot[l] += acc[l];
                }
                if let Closest::Update(u) = &mut closest {
                    u[start..start + m].copy_from_slice(&acc[..m]);
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
