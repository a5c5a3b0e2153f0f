//! Histogram gradient boosting for the binary log-loss (the LightGBM /
//! scikit-learn `HistGradientBoostingClassifier` algorithm).
//!
//! * Each feature is binned once into at most `max_bins` quantile bins
//!   (edges from at most 200,000 rows, sampled with the seed); NaN gets a bin
//!   of its own, [`MISSING_BIN`].
//! * Trees grow leaf-wise (best gain first) up to `max_leaf_nodes`, with
//!   `min_samples_leaf`, `max_depth` and an L2 penalty on leaf values. At every
//!   split the missing values go to whichever side gains more (to the larger
//!   child when the node had none).
//! * Bins are stored row-major (one byte per feature), so a histogram pass
//!   reads each row's bins, gradient and hessian once. Rows are cut into
//!   fixed chunks histogrammed in parallel (rayon) and the partial histograms
//!   are added in chunk order, so results do not depend on the thread count.
//!   The larger child's histogram is the parent's minus the smaller child's.

use ndarray::{s, ArrayView2};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::{check_features_with, check_training_with};
use super::params::GbmParams;
use crate::error::Result;
use crate::interrupt;

/// The bin of missing (NaN) values.
pub const MISSING_BIN: u8 = 255;
const N_HIST: usize = 256;
const BIN_SAMPLE: usize = 200_000;
const MIN_HESSIAN: f64 = 1e-3;
/// Rows per histogram chunk (fixed: the sums must not depend on the thread count).
const HIST_CHUNK: usize = 16_384;
/// One feature's histogram.
type Hist = [Bin; N_HIST];

/// Bin edges of one feature: `bin(x)` = number of edges `< x`.
fn bin_edges(values: &mut Vec<f64>, max_bins: usize) -> Vec<f64> {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    let mut distinct = values.clone();
    distinct.dedup();
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    }
    // percentiles 100 k / max_bins, k = 1..max_bins-1, midpoint interpolation
    let n = values.len();
    let mut edges: Vec<f64> = (1..max_bins)
        .map(|k| {
            let pos = k as f64 / max_bins as f64 * (n - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            0.5 * (values[lo] + values[hi])
        })
        .collect();
    edges.dedup();
    edges
}

fn bin_of(edges: &[f64], v: f64) -> u8 {
    if v.is_nan() {
        MISSING_BIN
    } else {
        edges.partition_point(|&e| e < v) as u8
    }
}

#[derive(Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

impl Bin {
    fn add(&mut self, o: &Bin) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }
    fn minus(&self, o: &Bin) -> Bin {
        Bin { g: self.g - o.g, h: self.h - o.h, n: self.n - o.n }
    }
}

/// One node of a fitted tree. A leaf has `left == 0` (the root is never a child).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Split feature.
    pub feature: u32,
    /// Rows with `x <= threshold` go left.
    pub threshold: f64,
    /// Where NaN goes.
    pub missing_left: bool,
    /// Left child index (0 for a leaf).
    pub left: u32,
    /// Right child index.
    pub right: u32,
    /// Leaf value (already multiplied by the learning rate).
    pub value: f64,
}

/// A fitted regression tree on the log-odds scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes; the root is node 0.
    pub nodes: Vec<Node>,
}

impl Node {
    /// A leaf (its value is set once the tree is grown).
    fn leaf() -> Node {
        Node { feature: 0, threshold: 0.0, missing_left: false, left: 0, right: 0, value: 0.0 }
    }
}

impl Tree {
    fn predict_row(&self, row: &[f64]) -> f64 {
        let mut node = &self.nodes[0];
        while node.left != 0 {
            let v = row[node.feature as usize];
            let left = if v.is_nan() { node.missing_left } else { v <= node.threshold };
            node = &self.nodes[if left { node.left } else { node.right } as usize];
        }
        node.value
    }
}

/// A fitted gradient-boosting model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbmModel {
    /// The parameters it was fitted with.
    pub params: GbmParams,
    /// Starting log-odds (the weighted prior).
    pub baseline: f64,
    /// The trees, in boosting order.
    pub trees: Vec<Tree>,
    /// Total split gain per feature, normalised to sum to 1 (all 0 without splits).
    pub feature_importances: Vec<f64>,
    /// Number of features.
    pub n_features: usize,
}

#[derive(Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    missing_left: bool,
    left: Bin,
}

struct Leaf {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    total: Bin,
    hist: Vec<Hist>,
    split: Option<Split>,
}

struct Grower<'a> {
    /// Row-major bins: row `i` is `bins[i * n_features..(i + 1) * n_features]`.
    bins: &'a [u8],
    /// The same bins column-major (for partitioning by one feature).
    columns: &'a [Vec<u8>],
    n_features: usize,
    n_bins: &'a [usize],
    edges: &'a [Vec<f64>],
    /// Gradient and hessian of each row, side by side (one load per row).
    gh: &'a [[f64; 2]],
    params: &'a GbmParams,
    partition: Vec<u32>,
    scratch: Vec<u32>,
}

fn score(b: &Bin, l2: f64) -> f64 {
    b.g * b.g / (b.h + l2)
}

impl Grower<'_> {
    fn n_features(&self) -> usize {
        self.n_features
    }

    /// Histograms of rows `partition[start..end]` (the root: every row, in order).
    fn histogram(&self, start: usize, end: usize, root: bool) -> Vec<Hist> {
        let p = self.n_features;
        let idx = &self.partition[start..end];
        let n_chunks = (end - start).div_ceil(HIST_CHUNK).max(1);
        let add_row = |hist: &mut [Hist], i: usize| {
            let [gi, hi] = self.gh[i];
            for (hf, &b) in hist.iter_mut().zip(&self.bins[i * p..(i + 1) * p]) {
                let bin = &mut hf[b as usize];
                bin.g += gi;
                bin.h += hi;
                bin.n += 1;
            }
        };
        let chunk = |c: usize| {
            let mut hist = vec![[Bin::default(); N_HIST]; p];
            let lo = start + c * HIST_CHUNK;
            let hi = (lo + HIST_CHUNK).min(end);
            if root {
                (lo..hi).for_each(|i| add_row(&mut hist, i));
            } else {
                idx[lo - start..hi - start].iter().for_each(|&i| add_row(&mut hist, i as usize));
            }
            hist
        };
        let partials: Vec<Vec<Hist>> =
            if n_chunks == 1 { vec![chunk(0)] } else { (0..n_chunks).into_par_iter().map(chunk).collect() };
        let mut parts = partials.into_iter();
        let mut total = parts.next().unwrap_or_else(|| vec![[Bin::default(); N_HIST]; p]);
        for part in parts {
            for (t, q) in total.iter_mut().zip(&part) {
                t.iter_mut().zip(q).for_each(|(a, b)| a.add(b));
            }
        }
        total
    }

    fn best_split(&self, hist: &[Hist], total: &Bin) -> Option<Split> {
        let l2 = self.params.l2_regularization;
        let min_leaf = self.params.min_samples_leaf as u32;
        let parent = score(total, l2);
        // sequential: 256 bins per feature is too little work to share out
        let candidates: Vec<Option<Split>> = (0..self.n_features())
            .map(|f| {
                let hf = &hist[f];
                let missing = hf[MISSING_BIN as usize];
                let nb = self.n_bins[f];
                let mut best: Option<Split> = None;
                let directions: &[bool] = if missing.n > 0 { &[false, true] } else { &[false] };
                for &missing_left in directions {
                    let mut left = if missing_left { missing } else { Bin::default() };
                    for (b, bin) in hf.iter().enumerate().take(nb.saturating_sub(1)) {
                        left.add(bin);
                        let right = total.minus(&left);
                        if left.n < min_leaf || right.n < min_leaf {
                            continue;
                        }
                        if left.h < MIN_HESSIAN || right.h < MIN_HESSIAN {
                            continue;
                        }
                        let gain = score(&left, l2) + score(&right, l2) - parent;
                        if gain > best.map_or(1e-12, |s| s.gain) {
                            best = Some(Split { gain, feature: f, bin: b as u8, missing_left, left });
                        }
                    }
                }
                best
            })
            .collect();
        // the first feature wins ties: deterministic
        candidates.into_iter().flatten().fold(None, |acc, s| match acc {
            Some(a) if a.gain >= s.gain => Some(a),
            _ => Some(s),
        })
    }

    fn can_split(&self, leaf_rows: usize, depth: usize) -> bool {
        leaf_rows >= 2 * self.params.min_samples_leaf && self.params.max_depth.is_none_or(|d| depth < d)
    }

    /// Stable partition of `partition[start..end]` by the split; returns the
    /// middle. Fixed chunks are split in parallel and written back in order.
    fn partition_rows(&mut self, start: usize, end: usize, split: &Split) -> usize {
        const PART_CHUNK: usize = 65_536;
        let col = &self.columns[split.feature];
        let goes_left = |i: u32| {
            let b = col[i as usize];
            if b == MISSING_BIN {
                split.missing_left
            } else {
                b <= split.bin
            }
        };
        let rows = &mut self.partition[start..end];
        if rows.len() <= PART_CHUNK {
            self.scratch.clear();
            let mut write = 0;
            for k in 0..rows.len() {
                let i = rows[k];
                if goes_left(i) {
                    rows[write] = i;
                    write += 1;
                } else {
                    self.scratch.push(i);
                }
            }
            rows[write..].copy_from_slice(&self.scratch);
            return start + write;
        }
        let parts: Vec<(Vec<u32>, Vec<u32>)> =
            rows.par_chunks(PART_CHUNK).map(|chunk| chunk.iter().partition(|&&i| goes_left(i))).collect();
        let mut write = 0;
        for (left, _) in &parts {
            rows[write..write + left.len()].copy_from_slice(left);
            write += left.len();
        }
        let mid = write;
        for (_, right) in &parts {
            rows[write..write + right.len()].copy_from_slice(right);
            write += right.len();
        }
        start + mid
    }

    /// Grows one tree; adds `value` of each leaf to `raw` of its rows.
    fn grow(&mut self, raw: &mut [f64], importances: &mut [f64]) -> Tree {
        let n = self.gh.len();
        self.partition.clear();
        self.partition.extend(0..n as u32);
        let hist = self.histogram(0, n, true);
        let mut total = Bin::default();
        hist[0].iter().for_each(|b| total.add(b));
        let mut nodes = vec![Node::leaf()];
        let mut root = Leaf { node: 0, start: 0, end: n, depth: 0, total, hist, split: None };
        if self.can_split(n, 0) {
            root.split = self.best_split(&root.hist, &root.total);
        }
        let mut leaves = vec![root];
        let mut done: Vec<Leaf> = Vec::new();
        while leaves.len() + done.len() < self.params.max_leaf_nodes {
            // the splittable leaf with the largest gain (first one on ties)
            let pick = leaves.iter().enumerate().filter_map(|(k, l)| l.split.map(|s| (k, s.gain))).fold(
                None,
                |acc: Option<(usize, f64)>, (k, g)| match acc {
                    Some((_, best)) if best >= g => acc,
                    _ => Some((k, g)),
                },
            );
            let Some((k, _)) = pick else { break };
            let leaf = leaves.swap_remove(k);
            let Some(split) = leaf.split else { break };
            importances[split.feature] += split.gain;
            let mid = self.partition_rows(leaf.start, leaf.end, &split);
            let (left_id, right_id) = (nodes.len(), nodes.len() + 1);
            let edges = &self.edges[split.feature];
            nodes[leaf.node] = Node {
                feature: split.feature as u32,
                threshold: edges.get(split.bin as usize).copied().unwrap_or(f64::MAX),
                missing_left: split.missing_left,
                left: left_id as u32,
                right: right_id as u32,
                value: 0.0,
            };
            nodes.extend([Node::leaf(), Node::leaf()]);
            let right_total = leaf.total.minus(&split.left);
            let left_small = mid - leaf.start <= leaf.end - mid;
            let small = if left_small {
                self.histogram(leaf.start, mid, false)
            } else {
                self.histogram(mid, leaf.end, false)
            };
            let large: Vec<Hist> = leaf
                .hist
                .iter()
                .zip(&small)
                .map(|(hp, hc)| std::array::from_fn(|b| hp[b].minus(&hc[b])))
                .collect();
            let (left_hist, right_hist) = if left_small { (small, large) } else { (large, small) };
            let depth = leaf.depth + 1;
            for (node, start, end, total, hist) in [
                (left_id, leaf.start, mid, split.left, left_hist),
                (right_id, mid, leaf.end, right_total, right_hist),
            ] {
                let mut child = Leaf { node, start, end, depth, total, hist, split: None };
                if self.can_split(end - start, depth) {
                    child.split = self.best_split(&child.hist, &child.total);
                }
                if child.split.is_some() {
                    leaves.push(child);
                } else {
                    // no split possible: free its histogram now
                    child.hist = Vec::new();
                    done.push(child);
                }
            }
        }
        let l2 = self.params.l2_regularization;
        let lr = self.params.learning_rate;
        for leaf in leaves.iter().chain(&done) {
            let value = -lr * leaf.total.g / (leaf.total.h + l2).max(1e-300);
            nodes[leaf.node].value = value;
            for &i in &self.partition[leaf.start..leaf.end] {
                raw[i as usize] += value;
            }
        }
        Tree { nodes }
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

impl GbmModel {
    /// Fits the model to `x` (`n x p`, NaN allowed), labels in {0, 1} and
    /// optional sample weights. Looks for a stop ([`crate::interrupt`])
    /// before each tree.
    pub fn fit(
        params: &GbmParams,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        sample_weight: Option<&[f64]>,
    ) -> Result<GbmModel> {
        params.check()?;
        let w = check_training_with(&x, y, sample_weight, true)?;
        let (n, p) = x.dim();
        let rows: Option<Vec<usize>> = (n > BIN_SAMPLE).then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            let mut s = sample(&mut rng, n, BIN_SAMPLE).into_vec();
            s.sort_unstable();
            s
        });
        let edges: Vec<Vec<f64>> = (0..p)
            .into_par_iter()
            .map(|f| {
                let col = x.column(f);
                let mut values: Vec<f64> = match &rows {
                    Some(r) => r.iter().map(|&i| col[i]).collect(),
                    None => col.to_vec(),
                };
                bin_edges(&mut values, params.max_bins)
            })
            .collect();
        // row-major bins, filled by fixed row chunks in parallel
        const BIN_CHUNK: usize = 4096;
        let mut bins = vec![0u8; n * p];
        bins.par_chunks_mut(BIN_CHUNK * p).enumerate().for_each(|(c, out)| {
            for (r, row_bins) in out.chunks_mut(p).enumerate() {
                let row = x.row(c * BIN_CHUNK + r);
                for ((b, &v), e) in row_bins.iter_mut().zip(row.iter()).zip(&edges) {
                    *b = bin_of(e, v);
                }
            }
        });
        let columns: Vec<Vec<u8>> =
            (0..p).into_par_iter().map(|f| bins.iter().skip(f).step_by(p).copied().collect()).collect();
        let n_bins: Vec<usize> = edges.iter().map(|e| e.len() + 1).collect();

        let total: f64 = w.iter().sum();
        let pos: f64 = w.iter().zip(y).map(|(w, y)| w * y).sum();
        let prior = (pos / total).clamp(1e-12, 1.0 - 1e-12);
        let baseline = (prior / (1.0 - prior)).ln();
        let mut raw = vec![baseline; n];
        let mut gh = vec![[0.0f64; 2]; n];
        let mut importances = vec![0.0; p];
        let mut trees = Vec::with_capacity(params.max_iter);
        let (mut partition, mut scratch) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..params.max_iter {
            interrupt::check()?;
            gh.par_iter_mut()
                .zip(raw.par_iter())
                .zip(y.par_iter().zip(w.par_iter()))
                .with_min_len(8192)
                .for_each(|((d, &r), (&yi, &wi))| {
                    let p = sigmoid(r);
                    *d = [wi * (p - yi), wi * p * (1.0 - p)];
                });
            let mut grower = Grower {
                bins: &bins,
                columns: &columns,
                n_features: p,
                n_bins: &n_bins,
                edges: &edges,
                gh: &gh,
                params,
                partition,
                scratch,
            };
            trees.push(grower.grow(&mut raw, &mut importances));
            (partition, scratch) = (grower.partition, grower.scratch);
        }
        let sum: f64 = importances.iter().sum();
        if sum > 0.0 {
            importances.iter_mut().for_each(|v| *v /= sum);
        }
        Ok(GbmModel { params: *params, baseline, trees, feature_importances: importances, n_features: p })
    }

    /// Checks a deserialised model: children after their parent and in
    /// range, features in range (so prediction cannot index out of bounds or loop).
    pub fn check_structure(&self) -> std::result::Result<(), String> {
        if self.feature_importances.len() != self.n_features {
            return Err("feature_importances does not have n_features values".into());
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(format!("tree {t} has no nodes"));
            }
            for (k, node) in tree.nodes.iter().enumerate() {
                if node.left == 0 {
                    continue;
                }
                let (l, r) = (node.left as usize, node.right as usize);
                if l <= k || r <= k || l >= tree.nodes.len() || r >= tree.nodes.len() {
                    return Err(format!("tree {t}, node {k}: child index out of order or range"));
                }
                if node.feature as usize >= self.n_features {
                    return Err(format!("tree {t}, node {k}: feature {} out of range", node.feature));
                }
            }
        }
        Ok(())
    }

    /// Log-odds of the positive class for each row of `x` (NaN allowed);
    /// chunks of rows skip their work once a stop is raised.
    pub fn decision_function(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        check_features_with(&x, self.n_features, true)?;
        const CHUNK: usize = 1024;
        let mut out = vec![self.baseline; x.nrows()];
        let stop = interrupt::current();
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(ch, dst)| {
            if stop.is_raised() {
                return;
            }
            let rows = x.slice(s![ch * CHUNK..ch * CHUNK + dst.len(), ..]);
            let mut buf = vec![0.0; self.n_features];
            for (d, row) in dst.iter_mut().zip(rows.rows()) {
                buf.iter_mut().zip(row).for_each(|(b, v)| *b = *v);
                for tree in &self.trees {
                    *d += tree.predict_row(&buf);
                }
            }
        });
        interrupt::check()?;
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
    fn edges_are_midpoints_of_few_distinct_values() {
        let mut v = vec![3.0, 1.0, f64::NAN, 2.0, 1.0];
        assert_eq!(bin_edges(&mut v, 255), vec![1.5, 2.5]);
        assert_eq!(bin_of(&[1.5, 2.5], 1.0), 0);
        assert_eq!(bin_of(&[1.5, 2.5], 2.5), 1);
        assert_eq!(bin_of(&[1.5, 2.5], 9.0), 2);
        assert_eq!(bin_of(&[1.5, 2.5], f64::NAN), MISSING_BIN);
        let mut many: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(bin_edges(&mut many, 4), vec![249.5, 499.5, 749.5]);
    }

    /// One boosting round with one split on a binary feature: each leaf value
    /// is `-lr * G / H` of its rows, computed by hand from the prior.
    #[test]
    fn one_stump_matches_hand_computation() {
        let x = Array2::from_shape_vec((8, 1), vec![0., 0., 0., 0., 1., 1., 1., 1.]).unwrap();
        let y = [1., 0., 0., 0., 1., 1., 1., 0.];
        let params = GbmParams {
            max_iter: 1,
            max_leaf_nodes: 2,
            min_samples_leaf: 1,
            learning_rate: 0.5,
            ..GbmParams::default()
        };
        let m = GbmModel::fit(&params, x.view(), &y, None).unwrap();
        assert_relative_eq!(m.baseline, 0.0);
        // p = 0.5 everywhere: g = p - y, h = 0.25
        let left = -0.5 * (4.0 * 0.5 - 1.0) / (4.0 * 0.25);
        let right = -0.5 * (4.0 * 0.5 - 3.0) / (4.0 * 0.25);
        let raw = m.decision_function(x.view()).unwrap();
        assert_relative_eq!(raw[0], left, epsilon = 1e-12);
        assert_relative_eq!(raw[7], right, epsilon = 1e-12);
        assert_eq!(m.feature_importances, vec![1.0]);
    }

    /// Missing values follow the side that gains more: here NaN rows are all
    /// positives, like the high-x rows, so they must go right with them.
    #[test]
    fn missing_values_go_to_the_better_side() {
        let xs = [0., 0., 0., 0., 1., 1., f64::NAN, f64::NAN];
        let x = Array2::from_shape_vec((8, 1), xs.to_vec()).unwrap();
        let y = [0., 0., 0., 0., 1., 1., 1., 1.];
        let params =
            GbmParams { max_iter: 1, max_leaf_nodes: 2, min_samples_leaf: 1, ..GbmParams::default() };
        let m = GbmModel::fit(&params, x.view(), &y, None).unwrap();
        assert!(!m.trees[0].nodes[0].missing_left);
        let raw = m.decision_function(x.view()).unwrap();
        assert!(raw[6] > 0.0 && raw[0] < 0.0);
        assert_relative_eq!(raw[6], raw[4]);
    }

    #[test]
    fn learns_an_interaction_and_is_deterministic() {
        let n = 4000;
        let x =
            Array2::from_shape_fn((n, 3), |(i, j)| ((i * (j + 3) * 2654435761usize) % 1000) as f64 / 1000.0);
        let y: Vec<f64> =
            (0..n).map(|i| f64::from(u8::from((x[[i, 0]] > 0.5) ^ (x[[i, 1]] > 0.5)))).collect();
        let params = GbmParams { max_iter: 30, ..GbmParams::default() };
        let m = GbmModel::fit(&params, x.view(), &y, None).unwrap();
        let p = m.predict_proba(x.view()).unwrap();
        let acc = p.iter().zip(&y).filter(|(p, y)| (**p > 0.5) == (**y > 0.5)).count() as f64 / n as f64;
        assert!(acc > 0.95, "accuracy {acc}");
        // the noise feature only picks up leftover splits
        assert!(m.feature_importances[2] < 0.2);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let m1 = pool.install(|| GbmModel::fit(&params, x.view(), &y, None).unwrap());
        assert_eq!(m, m1);
    }
}
