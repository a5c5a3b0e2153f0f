//! Clustering quality criteria, exact, with scikit-learn's definitions
//! (`silhouette_score`, `calinski_harabasz_score`, `davies_bouldin_score`).
//!
//! Labels are cluster numbers `0..k`; numbers with no member are ignored
//! (as if the labels had been re-encoded). Every criterion needs from 2 to
//! `n_samples - 1` distinct labels.

use ndarray::{Array1, ArrayView2};
use pulp::{Arch, Simd, WithSimd};
use rand::seq::index;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::input::Matrix;
use super::kernel::{sq_dist, Points};
use crate::{interrupt, DataError, Field, ParamError, Result};

/// Rows of `x` grouped by label, column-major, with each label's range.
struct Grouped {
    /// `cols[f * n + j]`: feature f of the j-th row in label order.
    cols: Vec<f64>,
    /// `ranges[l]..ranges[l + 1]`: the rows of label l.
    ranges: Vec<usize>,
}

impl Grouped {
    fn new(pts: &Points, labels: &[u32], k: usize) -> Self {
        let n = pts.n;
        let mut ranges = vec![0usize; k + 1];
        for &l in labels {
            ranges[l as usize + 1] += 1;
        }
        for l in 0..k {
            ranges[l + 1] += ranges[l];
        }
        let mut next = ranges.clone();
        let mut cols = vec![0.0; n * pts.d];
        for (i, &l) in labels.iter().enumerate() {
            let j = next[l as usize];
            next[l as usize] += 1;
            for (f, v) in pts.row(i).iter().enumerate() {
                cols[f * n + j] = *v;
            }
        }
        Grouped { cols, ranges }
    }

    fn size(&self, l: usize) -> usize {
        self.ranges[l + 1] - self.ranges[l]
    }

    /// Sum of Euclidean distances from `x` to every row of label `l`.
    #[inline(always)]
    fn distance_sum(&self, x: &[f64], l: usize, scratch: &mut [f64]) -> f64 {
        let n = self.cols.len() / x.len();
        let mut total = 0.0;
        let mut start = self.ranges[l];
        let end = self.ranges[l + 1];
        while start < end {
            let len = (end - start).min(scratch.len());
            let acc = &mut scratch[..len];
            acc.fill(0.0);
            for (f, &xf) in x.iter().enumerate() {
                let col = &self.cols[f * n + start..f * n + start + len];
                for (a, c) in acc.iter_mut().zip(col) {
                    let t = xf - c;
                    *a += t * t;
                }
            }
            // four running sums: no serial chain of additions, so sqrt vectorises
            let mut part = [0.0f64; 4];
            let quads = acc.chunks_exact(4);
            let rest: f64 = quads.remainder().iter().map(|v| v.sqrt()).sum();
            for q in quads {
                for (p, v) in part.iter_mut().zip(q) {
                    *p += v.sqrt();
                }
            }
            total += (part[0] + part[1]) + (part[2] + part[3]) + rest;
            start += len;
        }
        total
    }
}

/// Silhouettes of the rows `first..first + out.len()`, run by pulp inside a
/// function compiled for the CPU's SIMD (the distance sums vectorise).
struct SilhouetteChunk<'a> {
    out: &'a mut [f64],
    first: usize,
    pts: &'a Points<'a>,
    labels: &'a [u32],
    g: &'a Grouped,
    k: usize,
}

impl WithSimd for SilhouetteChunk<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let SilhouetteChunk { out, first, pts, labels, g, k } = self;
        let mut scratch = vec![0.0; 256];
        let mut means = vec![0.0; k];
        for (t, o) in out.iter_mut().enumerate() {
            let i = first + t;
            let own = labels[i] as usize;
            let x = pts.row(i);
            for (l, mean) in means.iter_mut().enumerate() {
                *mean = match g.size(l) {
                    0 => f64::INFINITY,
                    s if l == own => g.distance_sum(x, l, &mut scratch) / (s - 1).max(1) as f64,
                    s => g.distance_sum(x, l, &mut scratch) / s as f64,
                };
            }
            if g.size(own) == 1 {
                *o = 0.0;
                continue;
            }
            let a = means[own];
            let b = means
                .iter()
                .enumerate()
                .filter(|&(l, _)| l != own)
                .map(|(_, &v)| v)
                .fold(f64::INFINITY, f64::min);
            let denom = a.max(b);
            *o = if denom > 0.0 { (b - a) / denom } else { 0.0 };
        }
    }
}

/// Checks the label vector and returns (k = max label + 1, number of non-empty labels).
fn check_labels(n: usize, labels: &[u32]) -> Result<(usize, usize)> {
    if labels.len() != n {
        return Err(DataError::LengthMismatch { field: Field::Label, got: labels.len(), expected: n }.into());
    }
    let k = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let mut seen = vec![false; k];
    labels.iter().for_each(|&l| seen[l as usize] = true);
    let present = seen.iter().filter(|&&s| s).count();
    if present < 2 || present >= n {
        return Err(ParamError::new(
            "labels",
            format!("number of labels is {present}; valid values are 2 to n_samples - 1 (inclusive), n_samples={n}"),
        )
        .into());
    }
    Ok((k, present))
}

/// The silhouette coefficient of every row: `(b - a) / max(a, b)` with `a`
/// the mean distance to the other members of its cluster and `b` the lowest
/// mean distance to the members of another cluster; 0 in a cluster of one.
/// Exact, O(n^2 d) time, O(n d) memory. Chunks of rows skip their work once
/// a stop is raised ([`crate::interrupt`]).
pub fn silhouette_samples(x: ArrayView2<'_, f64>, labels: &[u32]) -> Result<Array1<f64>> {
    let m = Matrix::new(x)?;
    let pts = m.points();
    let (k, _) = check_labels(pts.n, labels)?;
    let g = Grouped::new(&pts, labels, k);
    let mut out = vec![0.0; pts.n];
    let arch = Arch::new();
    let stop = interrupt::current();
    out.par_chunks_mut(256).enumerate().for_each(|(b, ob)| {
        if !stop.is_raised() {
            arch.dispatch(SilhouetteChunk { out: ob, first: b * 256, pts: &pts, labels, g: &g, k })
        }
    });
    interrupt::check()?;
    Ok(Array1::from(out))
}

/// Mean silhouette coefficient; with `sample = Some((size, seed))` and
/// `size < n`, on `size` rows drawn without replacement (seeded), so memory
/// stays O(n) and time O(size^2 d).
pub fn silhouette_score(x: ArrayView2<'_, f64>, labels: &[u32], sample: Option<(usize, u64)>) -> Result<f64> {
    if labels.len() != x.nrows() {
        check_labels(x.nrows(), labels)?;
    }
    let s = match sample {
        Some((size, seed)) if size < x.nrows() => {
            if size < 3 {
                return Err(ParamError::new("sample_size", format!("must be at least 3, got {size}")).into());
            }
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut rows = index::sample(&mut rng, x.nrows(), size).into_vec();
            rows.sort_unstable();
            let sub = x.select(ndarray::Axis(0), &rows);
            let sub_labels: Vec<u32> = rows.iter().map(|&i| labels[i]).collect();
            silhouette_samples(sub.view(), &sub_labels)?
        }
        _ => silhouette_samples(x, labels)?,
    };
    Ok(s.mean().unwrap_or(0.0))
}

/// Per label: member count and the sum of its rows (`k x d`, row-major).
fn cluster_sums(pts: &Points, labels: &[u32], k: usize) -> (Vec<f64>, Vec<f64>) {
    let d = pts.d;
    let br = pts.block_rows();
    let parts: Vec<(Vec<f64>, Vec<f64>)> = labels
        .par_chunks(br)
        .enumerate()
        .map(|(b, lb)| {
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0.0; k];
            for (t, &l) in lb.iter().enumerate() {
                let l = l as usize;
                counts[l] += 1.0;
                for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(pts.row(b * br + t)) {
                    *s += v;
                }
            }
            (sums, counts)
        })
        .collect();
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0.0; k];
    for (s, c) in parts {
        sums.iter_mut().zip(s).for_each(|(a, v)| *a += v);
        counts.iter_mut().zip(c).for_each(|(a, v)| *a += v);
    }
    (sums, counts)
}

/// Cluster means (`k x d`) and member counts.
fn centroids(pts: &Points, labels: &[u32], k: usize) -> (Vec<f64>, Vec<f64>) {
    let d = pts.d;
    let (mut sums, counts) = cluster_sums(pts, labels, k);
    for l in 0..k {
        if counts[l] > 0.0 {
            sums[l * d..(l + 1) * d].iter_mut().for_each(|v| *v /= counts[l]);
        }
    }
    (sums, counts)
}

/// Per label, the sum over its rows of `f(distance^2 to the centroid)`, block order.
fn per_cluster_sum(
    pts: &Points,
    labels: &[u32],
    cents: &[f64],
    k: usize,
    f: impl Fn(f64) -> f64 + Sync,
) -> Vec<f64> {
    let d = pts.d;
    let br = pts.block_rows();
    let parts: Vec<Vec<f64>> = labels
        .par_chunks(br)
        .enumerate()
        .map(|(b, lb)| {
            let mut acc = vec![0.0; k];
            for (t, &l) in lb.iter().enumerate() {
                let l = l as usize;
                acc[l] += f(sq_dist(pts.row(b * br + t), &cents[l * d..(l + 1) * d]));
            }
            acc
        })
        .collect();
    let mut total = vec![0.0; k];
    for p in parts {
        total.iter_mut().zip(p).for_each(|(a, v)| *a += v);
    }
    total
}

/// Calinski-Harabasz index: between-cluster over within-cluster dispersion,
/// times `(n - k) / (k - 1)`; 1 when the within dispersion is 0.
pub fn calinski_harabasz(x: ArrayView2<'_, f64>, labels: &[u32]) -> Result<f64> {
    let m = Matrix::new(x)?;
    let pts = m.points();
    let (k, present) = check_labels(pts.n, labels)?;
    let d = pts.d;
    let (cents, counts) = centroids(&pts, labels, k);
    let mut mean = vec![0.0; d];
    for l in 0..k {
        for f in 0..d {
            mean[f] += cents[l * d + f] * counts[l];
        }
    }
    mean.iter_mut().for_each(|v| *v /= pts.n as f64);
    let extra: f64 = (0..k).map(|l| counts[l] * sq_dist(&cents[l * d..(l + 1) * d], &mean)).sum();
    let intra: f64 = per_cluster_sum(&pts, labels, &cents, k, |s| s).iter().sum();
    Ok(if intra == 0.0 { 1.0 } else { extra * (pts.n - present) as f64 / (intra * (present - 1) as f64) })
}

/// Davies-Bouldin index: the mean over clusters of the worst
/// `(s_i + s_j) / d(c_i, c_j)`, with `s` the mean distance of a cluster's
/// rows to its centroid; 0 when all `s` or all centroid distances are ~0.
pub fn davies_bouldin(x: ArrayView2<'_, f64>, labels: &[u32]) -> Result<f64> {
    let m = Matrix::new(x)?;
    let pts = m.points();
    let (k, _) = check_labels(pts.n, labels)?;
    let d = pts.d;
    let (cents, counts) = centroids(&pts, labels, k);
    let spread = per_cluster_sum(&pts, labels, &cents, k, f64::sqrt);
    let live: Vec<usize> = (0..k).filter(|&l| counts[l] > 0.0).collect();
    let s: Vec<f64> = live.iter().map(|&l| spread[l] / counts[l]).collect();
    let c = |a: usize| &cents[live[a] * d..(live[a] + 1) * d];
    let near_zero = |v: f64| v.abs() <= 1e-8; // numpy.allclose(v, 0)
    let all_gaps_zero =
        (0..live.len()).all(|a| (0..live.len()).all(|b| near_zero(sq_dist(c(a), c(b)).sqrt())));
    if s.iter().all(|&v| near_zero(v)) || all_gaps_zero {
        return Ok(0.0);
    }
    let total: f64 = (0..live.len())
        .map(|a| {
            (0..live.len())
                .filter(|&b| b != a)
                .map(|b| {
                    let gap = sq_dist(c(a), c(b)).sqrt();
                    if gap == 0.0 {
                        0.0
                    } else {
                        (s[a] + s[b]) / gap
                    }
                })
                .fold(0.0, f64::max)
        })
        .sum();
    Ok(total / live.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    // Hand-computed on 4 points: clusters {0, 1} and {2, 3} on a line.
    #[test]
    fn hand_computed_values() {
        let x = array![[0.0], [1.0], [4.0], [6.0]];
        let l = [0, 0, 1, 1];
        // a = 1, 1, 2, 2; b = 5, 4, 3.5, 5.5
        let s = silhouette_samples(x.view(), &l).unwrap();
        let want = [0.8, 0.75, 1.5 / 3.5, 3.5 / 5.5];
        for (a, b) in s.iter().zip(want) {
            assert_abs_diff_eq!(*a, b, epsilon = 1e-15);
        }
        // centroids 0.5 and 5, mean 2.75: extra = 2*2.25^2*2 = 20.25, intra = 0.5 + 2 = 2.5
        let ch = calinski_harabasz(x.view(), &l).unwrap();
        assert_abs_diff_eq!(ch, 20.25 * 2.0 / 2.5, epsilon = 1e-12);
        // s = 0.5, 1; gap 4.5 -> (1.5 / 4.5) for both
        let db = davies_bouldin(x.view(), &l).unwrap();
        assert_abs_diff_eq!(db, 1.5 / 4.5, epsilon = 1e-15);
    }

    #[test]
    fn label_rules() {
        let x = array![[0.0], [1.0], [4.0]];
        assert!(matches!(
            silhouette_score(x.view(), &[0, 0, 0], None),
            Err(crate::Error::Param(ParamError { name: "labels", .. }))
        ));
        assert!(matches!(
            calinski_harabasz(x.view(), &[0, 1, 2]),
            Err(crate::Error::Param(ParamError { name: "labels", .. }))
        ));
        assert!(matches!(
            davies_bouldin(x.view(), &[0, 1]),
            Err(crate::Error::Data(DataError::LengthMismatch { .. }))
        ));
    }

    #[test]
    fn sampled_silhouette_is_seeded() {
        let x = ndarray::Array2::from_shape_fn((200, 2), |(i, j)| {
            ((i * 7 + j * 3) % 17) as f64 + (i % 2) as f64 * 30.0
        });
        let l: Vec<u32> = (0..200).map(|i| (i % 2) as u32).collect();
        let a = silhouette_score(x.view(), &l, Some((50, 9))).unwrap();
        let b = silhouette_score(x.view(), &l, Some((50, 9))).unwrap();
        assert_eq!(a, b);
        let full = silhouette_score(x.view(), &l, None).unwrap();
        assert!((a - full).abs() < 0.05);
    }
}
