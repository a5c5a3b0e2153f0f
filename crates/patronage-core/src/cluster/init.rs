//! Initial centres: greedy k-means++ (scikit-learn's variant) and random rows.
//! Potentials are summed per fixed block and reduced in block order, so the
//! chosen centres do not depend on the thread count.

use pulp::{Arch, Simd, WithSimd};
use rand::seq::index;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::{interrupt, Result};

use super::kernel::{
    dispatch_d, distances, group_len, grouped, tile_rows, Lane, Points, TilePair, GROUP, HALF_GROUP, LANES,
};

/// Scratch reused across the `n_init` runs of one fit: the squared distance
/// of every point to its closest centre so far, and what it would become
/// with each candidate (one vector per candidate, so the chosen one simply
/// takes the place of `closest`).
pub(crate) struct PlusPlusScratch {
    closest: Vec<f64>,
    trials: Vec<Vec<f64>>,
}

impl PlusPlusScratch {
    pub fn new(n: usize, k: usize) -> Self {
        let n_trials = 2 + (k as f64).ln() as usize;
        PlusPlusScratch { closest: vec![0.0; n], trials: vec![vec![0.0; n]; n_trials] }
    }
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
/// Looks for a stop ([`crate::interrupt`]) before each centre.
pub(crate) fn kmeans_plus_plus(
    pts: &Points,
    k: usize,
    rng: &mut ChaCha8Rng,
    s: &mut PlusPlusScratch,
) -> Result<Vec<f64>> {
    let (n, d, br) = (pts.n, pts.d, pts.block_rows());
    let mut centres = Vec::with_capacity(k * d);
    let first = rng.gen_range(0..n);
    centres.extend_from_slice(pts.row(first));
    // the first centre is a candidate against nothing: its trial distances are the distances
    s.closest.fill(f64::INFINITY);
    let block_pots = trial_pass(pts, &s.closest, pts.row(first), &mut s.trials[..1]);
    std::mem::swap(&mut s.closest, &mut s.trials[0]);
    let mut sums: Vec<f64> = block_pots.iter().map(|bp| bp[0]).collect();
    let mut potential: f64 = sums.iter().sum();
    let nt = s.trials.len();
    let mut candidates = vec![0usize; nt];
    for _ in 1..k {
        interrupt::check()?;
        for c in candidates.iter_mut() {
            let target = rng.gen::<f64>() * potential;
            *c = search_cumulative(&s.closest, &sums, br, target);
        }
        let rows: Vec<f64> = candidates.iter().flat_map(|&c| pts.row(c).iter().copied()).collect();
        let cand = grouped(&rows, d);
        let block_pots = trial_pass(pts, &s.closest, &cand, &mut s.trials);
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
        std::mem::swap(&mut s.closest, &mut s.trials[best]);
        sums = block_pots.iter().map(|bp| bp[best]).collect();
        potential = pots[best];
    }
    Ok(centres)
}

/// `trials[t][i] = min(closest[i], |x_i - candidate_t|^2)` for the candidates
/// `cand` (one per trial vector, laid out by `kernel::grouped`), in one pass
/// over x; returns the potential of every block per candidate.
fn trial_pass(pts: &Points, closest: &[f64], cand: &[f64], trials: &mut [Vec<f64>]) -> Vec<Vec<f64>> {
    let (n, d, br) = (pts.n, pts.d, pts.block_rows());
    let arch = Arch::new();
    let mut outs: Vec<std::slice::ChunksMut<'_, f64>> = trials.iter_mut().map(|t| t.chunks_mut(br)).collect();
    let blocks: Vec<(usize, Vec<&mut [f64]>)> = (0..pts.n_blocks())
        .map(|b| (b, outs.iter_mut().map(|o| o.next().unwrap_or_default()).collect()))
        .collect();
    blocks
        .into_par_iter()
        .map(|(b, trials)| {
            let rows = b * br..((b + 1) * br).min(n);
            let (cb, xb) = (&closest[rows.clone()], &pts.x[rows.start * d..rows.end * d]);
            dispatch_d!(d, trial_block(arch, cb, xb, pts.block_tiles(b), cand, trials))
        })
        .collect()
}

fn trial_block<'a, const D: usize>(
    arch: Arch,
    closest: &'a [f64],
    xb: &'a [f64],
    made: &'a [Lane],
    cand: &[f64],
    trials: Vec<&'a mut [f64]>,
) -> Vec<f64> {
    arch.dispatch(TrialBlock::<D> { closest, xb, made, cand, trials })
}

/// One block of the candidate pass, SIMD-dispatched (see `kernel::FullBlock`):
/// writes each candidate's trial distances and returns the block's potential
/// per candidate (the sum of its trial distances).
struct TrialBlock<'a, const D: usize> {
    closest: &'a [f64],
    xb: &'a [f64],
    /// The block's made tiles (see `tile::MadeTiles`), or empty.
    made: &'a [Lane],
    cand: &'a [f64],
    trials: Vec<&'a mut [f64]>,
}

impl<const D: usize> WithSimd for TrialBlock<'_, D> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<f64> {
        let TrialBlock { closest, xb, made, cand, mut trials } = self;
        let n = closest.len();
        let d = if D > 0 { D } else { xb.len() / n.max(1) };
        let nt = trials.len();
        let mut pots = vec![[0.0f64; LANES]; nt];
        let mut local = [[[0.0f64; LANES]; D]; 2];
        let mut scratch: Vec<Lane> = vec![[0.0; LANES]; if D > 0 { 0 } else { 2 * d }];
        let mut tiles = TilePair::new(&mut local, &mut scratch, d, None, made);
        tiles.start(xb, &tile_rows(0, LANES.min(n)));
        for start in (0..n).step_by(LANES) {
            let m = LANES.min(n - start);
            let next = (start + LANES < n).then(|| tile_rows(start + LANES, LANES.min(n - start - LANES)));
            let xt = tiles.advance(xb, next.as_ref());
            // whole tiles take fixed-length (vector) copies; the short last
            // tile of a block weighs its repeated lanes 0
            let full = m == LANES;
            let mut near = [0.0f64; LANES];
            let mut keep = [1.0f64; LANES];
            if full {
                near.copy_from_slice(&closest[start..start + LANES]);
            } else {
                near[..m].copy_from_slice(&closest[start..start + m]);
                keep[m..].fill(0.0);
            }
            let mut t = 0;
            while t < nt {
                let g = group_len(nt, t);
                let mut acc = [[0.0f64; LANES]; GROUP];
                let cg = &cand[t * d..(t + g) * d];
                for v in 0..LANES / S::F64_LANES.max(1) {
                    match g {
                        GROUP => {
                            store_distances::<S, GROUP>(&mut acc, distances::<S, GROUP>(simd, xt, cg, v), v)
                        }
                        HALF_GROUP => store_distances::<S, HALF_GROUP>(
                            &mut acc,
                            distances::<S, HALF_GROUP>(simd, xt, cg, v),
                            v,
                        ),
                        _ => store_distances::<S, 1>(&mut acc, distances::<S, 1>(simd, xt, cg, v), v),
                    }
                }
                for (q, a) in acc.iter_mut().enumerate().take(g) {
                    for l in 0..LANES {
                        a[l] = if a[l] < near[l] { a[l] } else { near[l] };
                    }
                    let pot = &mut pots[t + q];
                    for l in 0..LANES {
                        pot[l] = a[l].mul_add(keep[l], pot[l]);
                    }
                    let out = &mut trials[t + q][start..];
                    if full {
                        out[..LANES].copy_from_slice(a);
                    } else {
                        out[..m].copy_from_slice(&a[..m]);
                    }
                }
                t += g;
            }
        }
        pots.iter().map(|p| p.iter().sum()).collect()
    }
}

/// Vector `v` of each of `dist` into the tile rows of `acc`.
#[inline(always)]
fn store_distances<S: Simd, const G: usize>(acc: &mut [Lane; GROUP], dist: [S::f64s; G], v: usize) {
    for (a, dv) in acc.iter_mut().zip(dist) {
        S::as_mut_simd_f64s(a).0[v] = dv;
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
