//! Choosing k: fit every k of a range and score each fit.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::metrics::{calinski_harabasz, davies_bouldin, silhouette_score};
use super::params::KMeansValidParams;
use crate::{ParamError, Result};

/// The criteria of one k.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KScores {
    /// Number of clusters.
    pub k: usize,
    /// Within-cluster sum of squares (lower is tighter; always falls with k).
    pub inertia: f64,
    /// Mean silhouette (higher is better, in -1..1).
    pub silhouette: f64,
    /// Calinski-Harabasz index (higher is better).
    pub calinski_harabasz: f64,
    /// Davies-Bouldin index (lower is better).
    pub davies_bouldin: f64,
    /// Lloyd iterations of the kept run.
    pub n_iter: usize,
}

/// Fits k-means for every k in `ks` (each with `params` but its own
/// `n_clusters`) and scores the fit. `silhouette_sample` bounds the rows the
/// silhouette is computed on (drawn with `params.seed`); `None` = all rows.
///
/// Every k must be from 2 to `n_samples - 1`.
pub fn select_k(
    x: ArrayView2<'_, f64>,
    ks: &[usize],
    params: &KMeansValidParams,
    silhouette_sample: Option<usize>,
) -> Result<Vec<KScores>> {
    if ks.is_empty() {
        return Err(ParamError::new("k_range", "is empty").into());
    }
    let n = x.nrows();
    if let Some(&k) = ks.iter().find(|&&k| k < 2 || k >= n) {
        return Err(ParamError::new(
            "k_range",
            format!("every k must be from 2 to n_samples - 1 = {}, got {k}", n.saturating_sub(1)),
        )
        .into());
    }
    ks.iter()
        .map(|&k| {
            let mut p = params.clone();
            p.n_clusters = k;
            let fit = p.fit_array(x)?;
            let labels = fit.labels.as_slice().unwrap_or(&[]);
            Ok(KScores {
                k,
                inertia: fit.model.inertia(),
                silhouette: silhouette_score(x, labels, silhouette_sample.map(|s| (s, params.seed)))?,
                calinski_harabasz: calinski_harabasz(x, labels)?,
                davies_bouldin: davies_bouldin(x, labels)?,
                n_iter: fit.model.n_iter(),
            })
        })
        .collect()
}

/// The elbow (knee) of a falling inertia curve: with k and inertia scaled
/// to 0..1, the point farthest below the straight line from the first to the
/// last point (the Kneedle rule). `None` with fewer than 3 points or when no
/// point lies below that line (no elbow).
///
/// ```
/// use patronage_core::cluster::elbow;
/// assert_eq!(elbow(&[1, 2, 3, 4, 5], &[100.0, 30.0, 20.0, 15.0, 12.0]), Some(2));
/// assert_eq!(elbow(&[1, 2, 3], &[3.0, 2.0, 1.0]), None);
/// ```
pub fn elbow(ks: &[usize], inertia: &[f64]) -> Option<usize> {
    if ks.len() < 3 || ks.len() != inertia.len() {
        return None;
    }
    let (k0, k1) = (ks[0] as f64, ks[ks.len() - 1] as f64);
    let (hi, lo) = (inertia[0], inertia[inertia.len() - 1]);
    if k1 <= k0 || hi <= lo {
        return None;
    }
    let mut best = None;
    let mut best_gap = 1e-12;
    for (&k, &v) in ks.iter().zip(inertia) {
        let xn = (k as f64 - k0) / (k1 - k0);
        let yn = (v - lo) / (hi - lo);
        let gap = 1.0 - xn - yn;
        if gap > best_gap {
            best_gap = gap;
            best = Some(k);
        }
    }
    best
}

/// The recommended k: each of the four criteria votes for its best k (the
/// elbow of inertia, the highest silhouette, the highest Calinski-Harabasz,
/// the lowest Davies-Bouldin); the k with most votes wins, ties going to the
/// higher silhouette.
pub fn recommend(scores: &[KScores]) -> Option<usize> {
    let best_by = |key: &dyn Fn(&KScores) -> f64| {
        scores.iter().max_by(|a, b| key(a).total_cmp(&key(b)).then(b.k.cmp(&a.k))).map(|s| s.k)
    };
    let ks: Vec<usize> = scores.iter().map(|s| s.k).collect();
    let inertia: Vec<f64> = scores.iter().map(|s| s.inertia).collect();
    let votes = [
        elbow(&ks, &inertia),
        best_by(&|s| s.silhouette),
        best_by(&|s| s.calinski_harabasz),
        best_by(&|s| -s.davies_bouldin),
    ];
    scores
        .iter()
        .max_by(|a, b| {
            let count = |k| votes.iter().filter(|v| **v == Some(k)).count();
            count(a.k).cmp(&count(b.k)).then(a.silhouette.total_cmp(&b.silhouette)).then(b.k.cmp(&a.k))
        })
        .map(|s| s.k)
}
