//! Initial centres: greedy k-means++ (scikit-learn's variant) and random rows.
//! Potentials are summed per fixed block and reduced in block order, so the
//! chosen centres do not depend on the thread count.

use rand::seq::index;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::kernel::{sq_dist, Points};

/// Scratch reused across the `n_init` runs of one fit.
pub(crate) struct PlusPlusScratch {
    closest: Vec<f64>,
    trials: Vec<f64>,
    n_trials: usize,
}

impl PlusPlusScratch {
    pub fn new(n: usize, k: usize) -> Self {
        let n_trials = 2 + (k as f64).ln() as usize;
        PlusPlusScratch {
            closest: vec![0.0; n],
            trials: vec![0.0; n * n_trials],
            n_trials,
        }
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
    s.closest
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, c)| *c = sq_dist(pts.row(i), pts.row(first)));
    let mut sums = block_sums(&s.closest, br);
    let mut potential: f64 = sums.iter().sum();
    let nt = s.n_trials;
    let mut candidates = vec![0usize; nt];
    for _ in 1..k {
        for c in candidates.iter_mut() {
            let target = rng.gen::<f64>() * potential;
            *c = search_cumulative(&s.closest, &sums, br, target);
        }
        // trials[t*n + i] = min(closest[i], |x_i - candidate_t|^2)
        let closest = &s.closest;
        let trial_sums: Vec<Vec<f64>> = s
            .trials
            .chunks_mut(n)
            .zip(&candidates)
            .map(|(t, &cand)| {
                let centre = pts.row(cand);
                t.par_chunks_mut(br)
                    .zip(closest.par_chunks(br))
                    .enumerate()
                    .map(|(b, (tb, cb))| {
                        let mut acc = 0.0;
                        for (i, (tv, &cv)) in tb.iter_mut().zip(cb).enumerate() {
                            *tv = cv.min(sq_dist(pts.row(b * br + i), centre));
                            acc += *tv;
                        }
                        acc
                    })
                    .collect()
            })
            .collect();
        let pots: Vec<f64> = trial_sums.iter().map(|v| v.iter().sum()).collect();
        let mut best = 0;
        for (t, &p) in pots.iter().enumerate() {
            if p < pots[best] {
                best = t;
            }
        }
        centres.extend_from_slice(pts.row(candidates[best]));
        s.closest
            .copy_from_slice(&s.trials[best * n..(best + 1) * n]);
        sums = trial_sums.into_iter().nth(best).unwrap_or_default();
        potential = pots[best];
    }
    centres
}

/// `k` distinct rows drawn uniformly.
pub(crate) fn random_rows(pts: &Points, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut centres = Vec::with_capacity(k * pts.d);
    for i in index::sample(rng, pts.n, k).into_iter() {
        centres.extend_from_slice(pts.row(i));
    }
    centres
}
