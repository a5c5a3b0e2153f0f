//! Fitting (n_init runs of Lloyd/Hamerly iterations) and the fitted model.

use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, FitWith, PredictInplace};
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Data, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::init::{kmeans_plus_plus, random_rows, PlusPlusScratch};
use super::input::{in_range, Matrix, MAX_ABS_VALUE};
use super::kernel::{
    assign, full_pass, hamerly_pass, inertia_pass, label_counts, relocate_empty, sq_dist, Bounds, Centres,
    Drift, FullMode, Partials, Points,
};
use super::params::{Algorithm, Init, KMeansValidParams};
use crate::{interrupt, Error, ParamError, Result};

/// A fitted k-means model: the centres and what the fit measured.
///
/// Serialisable with serde (`serde_json` round trips are exact).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeans {
    centres: Array2<f64>,
    inertia: f64,
    n_iter: usize,
    counts: Array1<f64>,
}

/// The result of [`KMeansValidParams::fit_array`]: the model and the training labels.
#[derive(Clone, Debug)]
pub struct KMeansFit {
    /// The fitted model.
    pub model: KMeans,
    /// Cluster of every training row.
    pub labels: Array1<u32>,
}

/// One run's outcome.
struct Run {
    centres: Vec<f64>,
    labels: Vec<u32>,
    inertia: f64,
    n_iter: usize,
    counts: Vec<f64>,
}

/// Buffers of one fit, allocated once and reused by every run and iteration.
struct Workspace {
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
    part: Partials,
    sums: Vec<f64>,
    counts: Vec<f64>,
    drift: Drift,
}

/// `Algorithm::Auto` uses Hamerly's bounds from this many features on...
const HAMERLY_MIN_FEATURES: usize = 8;
/// ... and more clusters than this: up to one group of 8 centres, a Lloyd
/// pass costs little more than Hamerly's bookkeeping and scattered reads.
/// Measured in this project's benches: default fits (k-means++, then to
/// convergence) of 16 features at k = 8 were as fast or faster with Lloyd
/// (1M rows, 1 thread: 204 against 226 ms; 2 threads: 113 against 147), at
/// k = 16 and 32 faster with Hamerly (100k rows, 1 thread: 50 against 83 ms
/// and 141 against 190).
const HAMERLY_MIN_CLUSTERS: usize = 9;

fn too_few_samples(n: usize, k: usize) -> Error {
    ParamError::new("n_clusters", format!("n_samples={n} should be >= n_clusters={k}")).into()
}

impl KMeansValidParams {
    /// Fits on the rows of `x` and also returns the training labels.
    ///
    /// Errors: non-finite values ([`crate::DataError::NonFinite`] naming row and
    /// column), no columns, fewer rows than clusters (`n_clusters`), initial
    /// centres with the wrong number of columns (`init`).
    ///
    /// ```
    /// use linfa::ParamGuard;
    /// use ndarray::array;
    /// use patronage_core::cluster::KMeansParams;
    ///
    /// let x = array![[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]];
    /// let fit = KMeansParams::new(2).seed(1).check().unwrap().fit_array(x.view()).unwrap();
    /// assert_eq!(fit.labels[0], fit.labels[1]);
    /// assert_ne!(fit.labels[0], fit.labels[2]);
    /// assert!((fit.model.inertia() - 1.0).abs() < 1e-12);
    /// ```
    pub fn fit_array(&self, x: ArrayView2<'_, f64>) -> Result<KMeansFit> {
        // the whole fit runs on a pool thread: each parallel pass then wakes
        // only the other workers, not also the blocked caller (waking a thread
        // costs 0.1-0.4 ms on a virtual machine, as much as a pass at 100k rows)
        // (the stop flag is per thread: it moves to the pool thread with the fit)
        let stop = interrupt::current();
        rayon::scope(|_| interrupt::with_stop(&stop, || self.fit_in_pool(x)))
    }

    fn fit_in_pool(&self, x: ArrayView2<'_, f64>) -> Result<KMeansFit> {
        // tol is scaled by the mean feature variance (scikit-learn's `_tolerance`)
        let (mut m, tol) = if self.tol > 0.0 {
            let (m, var) = Matrix::with_mean_variance(x)?;
            (m, var * self.tol)
        } else {
            (Matrix::new(x)?, 0.0)
        };
        let pts = m.points();
        let k = self.n_clusters;
        if pts.n < k {
            return Err(too_few_samples(pts.n, k));
        }
        if let Init::Centres(c) = &self.init {
            if c.ncols() != pts.d {
                return Err(ParamError::new(
                    "init",
                    format!("the initial centres have {} columns, X has {}", c.ncols(), pts.d),
                )
                .into());
            }
        }
        // A skipped point still costs 20 bytes of bounds and label: with fewer
        // features than HAMERLY_MIN_FEATURES that is about what reading it
        // costs, and on overlapping clusters most points are not skipped
        // (Lloyd was up to 1.5x faster at 1M x 3 in benches/).
        let hamerly = k > 1
            && match self.algorithm {
                Algorithm::Lloyd => false,
                Algorithm::Hamerly => true,
                Algorithm::Auto => pts.d >= HAMERLY_MIN_FEATURES && k >= HAMERLY_MIN_CLUSTERS,
            };
        // Hamerly's passes read scattered rows, so only Lloyd's gain from tiles made once
        if !hamerly {
            m.make_tiles();
        }
        let pts = m.points();
        let mut ws = Workspace {
            labels: vec![u32::MAX; pts.n],
            upper: if hamerly { vec![0.0; pts.n] } else { vec![] },
            lower: if hamerly { vec![0.0; pts.n] } else { vec![] },
            part: Partials::new(&pts, k),
            sums: vec![0.0; k * pts.d],
            counts: vec![0.0; k],
            drift: Drift::new(k),
        };
        let mut scratch = match self.init {
            Init::KMeansPlusPlus => Some(PlusPlusScratch::new(pts.n, k)),
            _ => None,
        };
        let mut master = ChaCha8Rng::seed_from_u64(self.seed);
        let mut best: Option<Run> = None;
        for _ in 0..self.n_init() {
            let mut rng = ChaCha8Rng::seed_from_u64(master.gen());
            let start = match (&self.init, scratch.as_mut()) {
                (Init::Centres(c), _) => c.iter().copied().collect(),
                (Init::Random, _) => random_rows(&pts, k, &mut rng),
                (Init::KMeansPlusPlus, Some(s)) => kmeans_plus_plus(&pts, k, &mut rng, s)?,
                (Init::KMeansPlusPlus, None) => random_rows(&pts, k, &mut rng),
            };
            let run = lloyd(&pts, start, self.max_iter, tol, hamerly, &mut ws)?;
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        let run = best.ok_or_else(|| ParamError::new("n_init", "must be at least 1"))?;
        let centres = Array2::from_shape_vec((k, pts.d), run.centres)
            .map_err(|e| ParamError::new("n_clusters", e.to_string()))?;
        Ok(KMeansFit {
            model: KMeans {
                centres,
                inertia: run.inertia,
                n_iter: run.n_iter,
                counts: Array1::from(run.counts),
            },
            labels: Array1::from(run.labels),
        })
    }

    /// One mini-batch step (`partial_fit`): starts a model from this batch
    /// when `model` is `None` (initialised by `init` on the batch), then moves
    /// each centre to the running mean of every point ever assigned to it.
    /// Returns the updated model and the batch labels (against the centres
    /// before the update).
    pub fn partial_fit(
        &self,
        model: Option<KMeans>,
        x: ArrayView2<'_, f64>,
    ) -> Result<(KMeans, Array1<u32>)> {
        let mut model = match model {
            Some(m) => m,
            None => {
                let m = Matrix::new(x)?;
                let pts = m.points();
                let k = self.n_clusters;
                if pts.n < k {
                    return Err(too_few_samples(pts.n, k));
                }
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                let start = match &self.init {
                    Init::Centres(c) if c.ncols() == pts.d => c.clone(),
                    Init::Centres(c) => {
                        return Err(ParamError::new(
                            "init",
                            format!("the initial centres have {} columns, X has {}", c.ncols(), pts.d),
                        )
                        .into())
                    }
                    Init::Random => rows_to_array(random_rows(&pts, k, &mut rng), k, pts.d)?,
                    Init::KMeansPlusPlus => {
                        let mut s = PlusPlusScratch::new(pts.n, k);
                        rows_to_array(kmeans_plus_plus(&pts, k, &mut rng, &mut s)?, k, pts.d)?
                    }
                };
                KMeans::from_centres(start)?
            }
        };
        let labels = model.partial_fit(x)?;
        Ok((model, labels))
    }
}

fn rows_to_array(v: Vec<f64>, k: usize, d: usize) -> Result<Array2<f64>> {
    Array2::from_shape_vec((k, d), v).map_err(|e| ParamError::new("init", e.to_string()).into())
}

/// Lloyd iterations from `start` (scikit-learn's loop: stop when no label
/// changes or when the total squared centre shift is at most `tol`).
///
/// After the first pass the sums and counts are kept and only the points
/// that change cluster move them (Hamerly's passes do the same). Each move
/// rounds once, as an add in a fresh sum does, but the rounding of every move
/// since the first pass stays in the sums.
///
/// Labels that stopped changing already belong to the final centres, so only
/// the inertia is computed then; otherwise one more assignment pass (with
/// Hamerly's bounds when in use) gives the labels of the final centres.
///
/// Looks for a stop ([`crate::interrupt`]) once per iteration.
fn lloyd(
    pts: &Points,
    start: Vec<f64>,
    max_iter: usize,
    tol: f64,
    hamerly: bool,
    ws: &mut Workspace,
) -> Result<Run> {
    let (k, d) = (ws.counts.len(), pts.d);
    let mut c = Centres::new(start, k, d);
    ws.labels.fill(u32::MAX);
    let mut n_iter = 0;
    let mut converged = false;
    for it in 0..max_iter {
        interrupt::check()?;
        if hamerly && it > 0 {
            ws.drift.set_gaps(&c);
            hamerly_pass::<false>(
                pts,
                &c,
                &ws.drift,
                &mut ws.labels,
                &mut ws.upper,
                &mut ws.lower,
                &mut ws.part,
            );
        } else if it > 0 {
            // the sums and counts carry over: the pass adds their changes
            full_pass(pts, &c, &mut ws.labels, &mut ws.part, FullMode::AccumulateChanges, None);
        } else {
            ws.sums.fill(0.0);
            ws.counts.fill(0.0);
            let (mode, bounds) = if hamerly {
                ws.drift.reset();
                (FullMode::AccumulateBounds, Some(Bounds { upper: &mut ws.upper, lower: &mut ws.lower }))
            } else {
                (FullMode::Accumulate, None)
            };
            full_pass(pts, &c, &mut ws.labels, &mut ws.part, mode, bounds);
        }
        let (changed, _) = ws.part.reduce_into(&mut ws.sums, &mut ws.counts);
        let moved = if ws.counts.iter().any(|&n| n <= 0.0) {
            relocate_empty(pts, &c, &mut ws.labels, &mut ws.sums, &mut ws.counts)
        } else {
            Vec::new()
        };
        let shift_total = c.update(&ws.sums, &ws.counts, &mut ws.drift.moved);
        if hamerly {
            ws.drift.record();
            // a relocated point is its new centre; unknown bounds force a recomputation
            for &i in &moved {
                ws.upper[i] = f64::INFINITY;
                ws.lower[i] = f64::NEG_INFINITY;
            }
        }
        n_iter = it + 1;
        if changed == 0 && moved.is_empty() {
            converged = true;
            break;
        }
        if shift_total <= tol {
            break;
        }
    }
    let inertia = if converged {
        inertia_pass(pts, &c, &ws.labels)
    } else if hamerly {
        ws.drift.set_gaps(&c);
        hamerly_pass::<true>(pts, &c, &ws.drift, &mut ws.labels, &mut ws.upper, &mut ws.lower, &mut ws.part);
        ws.part.reduce_into(&mut [], &mut []).1
    } else {
        assign(pts, &c, &mut ws.labels, &mut ws.part)
    };
    let counts = label_counts(&ws.labels, k, pts.block_rows());
    Ok(Run { centres: c.into_rows(), labels: ws.labels.clone(), inertia, n_iter, counts })
}

impl KMeans {
    /// A model with the given centres and no fitting history (inertia 0,
    /// `n_iter` 0, counts 0): the start of a `partial_fit` sequence, or a way to
    /// predict with centres computed elsewhere.
    pub fn from_centres(centres: Array2<f64>) -> Result<Self> {
        if centres.nrows() == 0 || centres.ncols() == 0 {
            return Err(ParamError::new("centres", "need at least one centre and one column").into());
        }
        if centres.iter().any(|&v| !in_range(v)) {
            return Err(ParamError::new(
                "centres",
                format!("centres must be finite and within +/-{MAX_ABS_VALUE:e}"),
            )
            .into());
        }
        let k = centres.nrows();
        Ok(KMeans { centres, inertia: 0.0, n_iter: 0, counts: Array1::zeros(k) })
    }

    /// The centres, `n_clusters x n_features`.
    pub fn centres(&self) -> &Array2<f64> {
        &self.centres
    }
    /// Sum of squared distances of the training rows to their centre (for a
    /// `partial_fit` model: of the last batch, against the centres before its update).
    pub fn inertia(&self) -> f64 {
        self.inertia
    }
    /// Iterations of the kept run (for `partial_fit`: batches seen).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Training rows per cluster (for `partial_fit`: all rows seen so far).
    pub fn counts(&self) -> &Array1<f64> {
        &self.counts
    }
    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.centres.nrows()
    }
    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.centres.ncols()
    }

    fn matrix<'a>(&self, x: ArrayView2<'a, f64>) -> Result<Matrix<'a>> {
        if x.ncols() != self.n_features() {
            return Err(ParamError::new(
                "X",
                format!(
                    "X has {} features, but KMeans is expecting {} features as input",
                    x.ncols(),
                    self.n_features()
                ),
            )
            .into());
        }
        Matrix::new(x)
    }

    fn view_centres(&self) -> Centres {
        Centres::new(self.centres.iter().copied().collect(), self.n_clusters(), self.n_features())
    }

    /// The closest centre of every row, and the total squared distance to it.
    pub fn predict_with_inertia(&self, x: ArrayView2<'_, f64>) -> Result<(Array1<u32>, f64)> {
        rayon::scope(|_| self.predict_in_pool(x))
    }

    fn predict_in_pool(&self, x: ArrayView2<'_, f64>) -> Result<(Array1<u32>, f64)> {
        let m = self.matrix(x)?;
        let pts = m.points();
        let mut labels = vec![0u32; pts.n];
        let mut part = Partials::new(&pts, self.n_clusters());
        let inertia = assign(&pts, &self.view_centres(), &mut labels, &mut part);
        Ok((Array1::from(labels), inertia))
    }

    /// The closest centre of every row.
    pub fn predict_labels(&self, x: ArrayView2<'_, f64>) -> Result<Array1<u32>> {
        Ok(self.predict_with_inertia(x)?.0)
    }

    /// Opposite of the inertia of `x` against the centres (scikit-learn's `score`).
    pub fn score(&self, x: ArrayView2<'_, f64>) -> Result<f64> {
        Ok(-self.predict_with_inertia(x)?.1)
    }

    /// Euclidean distance of every row to every centre, `n x n_clusters`.
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let m = self.matrix(x)?;
        let pts = m.points();
        let k = self.n_clusters();
        let c = self.view_centres();
        let mut out = vec![0.0; pts.n * k];
        out.par_chunks_mut(k).enumerate().for_each(|(i, row)| {
            for (j, v) in row.iter_mut().enumerate() {
                *v = sq_dist(pts.row(i), c.row(j)).sqrt();
            }
        });
        Array2::from_shape_vec((pts.n, k), out).map_err(|e| ParamError::new("X", e.to_string()).into())
    }

    /// One mini-batch update (see [`KMeansValidParams::partial_fit`]); returns the batch labels.
    pub fn partial_fit(&mut self, x: ArrayView2<'_, f64>) -> Result<Array1<u32>> {
        let m = self.matrix(x)?;
        let pts = m.points();
        let (k, d) = (self.n_clusters(), self.n_features());
        let c = self.view_centres();
        let mut labels = vec![u32::MAX; pts.n];
        let mut part = Partials::new(&pts, k);
        full_pass(&pts, &c, &mut labels, &mut part, FullMode::Accumulate, None);
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0.0; k];
        let (_, inertia) = part.reduce_into(&mut sums, &mut counts);
        for j in 0..k {
            if counts[j] > 0.0 {
                let total = self.counts[j] + counts[j];
                for f in 0..d {
                    let old = self.centres[[j, f]];
                    self.centres[[j, f]] = (old * self.counts[j] + sums[j * d + f]) / total;
                }
                self.counts[j] = total;
            }
        }
        self.inertia = inertia;
        self.n_iter += 1;
        Ok(Array1::from(labels))
    }
}

/// linfa: `params.fit(&dataset)` on any dataset whose records are an `f64` matrix.
impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, Error> for KMeansValidParams {
    type Object = KMeans;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<KMeans> {
        Ok(self.fit_array(dataset.records.view())?.model)
    }
}

/// linfa: `params.fit_with(Some(model) | None, &batch)`, the mini-batch path.
impl<'a, D: Data<Elem = f64> + 'a, T: 'a> FitWith<'a, ArrayBase<D, Ix2>, T, Error> for KMeansValidParams {
    type ObjectIn = Option<KMeans>;
    type ObjectOut = KMeans;

    fn fit_with(
        &self,
        model: Option<KMeans>,
        dataset: &'a DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Result<KMeans> {
        Ok(self.partial_fit(model, dataset.records.view())?.0)
    }
}

/// linfa: `model.predict(&records)` -> cluster per row.
///
/// # Panics
/// Like every linfa model, when the records have a different number of
/// columns than the centres or hold NaN/inf; use [`KMeans::predict_labels`]
/// for a checked call.
impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for KMeans {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        assert_eq!(x.nrows(), y.len(), "one target per record");
        match self.predict_labels(x.view()) {
            Ok(labels) => y.iter_mut().zip(labels).for_each(|(t, l)| *t = l as usize),
            Err(e) => panic!("KMeans::predict: {e}"),
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}
