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
//!   reads each row's bins, gradient and hessian once. Blocks of features are
//!   histogrammed in parallel (rayon), each over the node's rows in order, so
//!   every sum is the same whatever the thread count. The larger child's
//!   histogram is the parent's minus the smaller child's; the children of the
//!   split that fills the tree get none (they are never split).
//! * Rows are partitioned branch-free, in parallel chunks for large nodes.

use ndarray::{s, ArrayView2};
use pulp::{Arch, Simd, WithSimd};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::{check_features_with, check_training_with};
use super::logistic::softplus;
use super::params::GbmParams;
use crate::error::{ParamError, Result};
use crate::interrupt;

/// The bin of missing (NaN) values.
pub const MISSING_BIN: u8 = 255;
/// Bins per feature histogram: 256 bin values and two unused, so that the same
/// bin of consecutive features lies 64 bytes off a multiple of 4 KiB (loads
/// whose address matches a pending store's low 12 bits wait for it: with 256
/// bins of 32 bytes, the very common bin 0 of every feature would collide).
const N_HIST: usize = 258;
const BIN_SAMPLE: usize = 200_000;
const MIN_HESSIAN: f64 = 1e-3;
/// Fewest rows of a node whose histograms are shared out by blocks of features
/// (below, rayon's overhead costs more than a second thread gains).
const PAR_HIST_ROWS: usize = 4096;
/// Rows per chunk of a large node's histograms: a node of at least two chunks
/// is histogrammed chunk by chunk (each chunk's rows in order, every feature),
/// the chunks' histograms then added in chunk order. The chunks depend on the
/// node's size alone, so the sums are the same on any thread count; each
/// thread reads only its own rows (feature blocks would have every thread
/// read every row's bins and gradients: twice the memory traffic on two).
const HIST_CHUNK: usize = 32_768;
/// Rows per chunk of a parallel partition; smaller nodes are partitioned on one thread.
const PART_CHUNK: usize = 16_384;
/// One feature's histogram.
type Hist = [Bin; N_HIST];

/// Bin edges of one feature: `bin(x)` = number of edges `< x`.
fn bin_edges(values: &mut Vec<f64>, max_bins: usize) -> Vec<f64> {
    values.retain(|v| !v.is_nan());
    values.sort_unstable_by(f64::total_cmp); // a total order: the same result as a stable sort
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

/// Sums of one histogram bin: gradient, hessian, rows and a pad, so that a
/// row adds to a bin with one 256-bit add (counts as floats are exact up to 2^53).
#[derive(Clone, Copy, Default)]
struct Bin([f64; 4]);

impl Bin {
    fn g(&self) -> f64 {
        self.0[0]
    }
    fn h(&self) -> f64 {
        self.0[1]
    }
    /// Rows in the bin.
    fn n(&self) -> f64 {
        self.0[2]
    }
    #[inline(always)]
    fn add(&mut self, o: &Bin) {
        for k in 0..4 {
            self.0[k] += o.0[k];
        }
    }
    fn minus(&self, o: &Bin) -> Bin {
        Bin(std::array::from_fn(|k| self.0[k] - o.0[k]))
    }
}

/// Recycled histogram buffers (one histogram per feature each): a fresh
/// 130 KB buffer per chunk and per node cost a page-faulted allocation and a
/// copy each, a sixth of the fit's time.
struct HistPool {
    free: std::sync::Mutex<Vec<Vec<Hist>>>,
    n_features: usize,
}

impl HistPool {
    fn new(n_features: usize) -> HistPool {
        HistPool { free: std::sync::Mutex::new(Vec::new()), n_features }
    }

    /// A zeroed buffer.
    fn get(&self) -> Vec<Hist> {
        let recycled = self.free.lock().map(|mut free| free.pop()).unwrap_or(None);
        match recycled {
            Some(mut hist) => {
                hist.iter_mut().for_each(|h| h.fill(Bin::default()));
                hist
            }
            None => vec![[Bin::default(); N_HIST]; self.n_features],
        }
    }

    /// Recycles a buffer (an empty one, taken from a finished leaf, is dropped).
    fn put(&self, hist: Vec<Hist>) {
        if hist.len() != self.n_features || hist.is_empty() {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            free.push(hist);
        }
    }
}

/// Adds rows to the histograms of one block of features, inside `pulp`'s
/// runtime SIMD dispatch (so each bin update is one vector add where the CPU
/// has AVX).
struct AddRows<'a> {
    /// The block's histograms: features `first..first + hist.len()`.
    hist: &'a mut [Hist],
    first: usize,
    /// Row-major bins, `n_features` per row.
    bins: &'a [u8],
    n_features: usize,
    gh: &'a [[f64; 2]],
    /// The rows: `rows` when given, else `lo..hi`.
    rows: Option<&'a [u32]>,
    lo: usize,
    hi: usize,
}

impl WithSimd for AddRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let AddRows { hist, first, bins, n_features: p, gh, rows, lo, hi } = self;
        // no closures: they would be compiled apart, without the dispatched CPU features
        match rows {
            Some(rows) => {
                // A leaf's rows are scattered: first load a block of their gradients and
                // touch their bins (independent loads, many in flight), then add them in
                // order (the dependent read-modify-writes then never wait on memory).
                const BLOCK: usize = 256;
                let mut block_gh = [[0.0f64; 2]; BLOCK];
                for block in rows.chunks(BLOCK) {
                    let mut touched = 0u8;
                    for (k, &i) in block.iter().enumerate() {
                        let i = i as usize;
                        block_gh[k] = gh[i];
                        touched ^= bins[i * p + first];
                    }
                    std::hint::black_box(touched);
                    for (&i, &[g, h]) in block.iter().zip(&block_gh) {
                        let at = i as usize * p + first;
                        add_row(hist, &bins[at..at + hist.len()], g, h);
                    }
                }
            }
            None => {
                for (row_bins, &[g, h]) in bins[lo * p..hi * p].chunks_exact(p).zip(&gh[lo..hi]) {
                    add_row(hist, &row_bins[first..first + hist.len()], g, h);
                }
            }
        }
    }
}

#[inline(always)]
fn add_row(hist: &mut [Hist], row_bins: &[u8], g: f64, h: f64) {
    let v = Bin([g, h, 1.0, 0.0]);
    for (hf, &b) in hist.iter_mut().zip(row_bins) {
        hf[b as usize].add(&v);
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
    /// Training rows that reached the node (TreeSHAP's weights; 0 in models
    /// saved before it was recorded, which cannot be explained).
    #[serde(default)]
    pub cover: f64,
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
        Node { feature: 0, threshold: 0.0, missing_left: false, left: 0, right: 0, value: 0.0, cover: 0.0 }
    }
}

impl Tree {
    pub(crate) fn predict_row(&self, row: &[f64]) -> f64 {
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
    /// With early stopping: the validation log-loss before the first tree and
    /// after each (empty without).
    #[serde(default)]
    pub validation_loss: Vec<f64>,
}

/// Rows held out for early stopping: `validation_fraction` of each class
/// (rounded down), drawn with the seed.
fn validation_rows(params: &GbmParams, y: &[f64]) -> Vec<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
    let mut held_out = vec![false; y.len()];
    for class in [0.0, 1.0] {
        let members: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        let k = (params.validation_fraction * members.len() as f64).floor() as usize;
        for j in sample(&mut rng, members.len(), k) {
            held_out[members[j]] = true;
        }
    }
    held_out
}

/// scikit-learn's rule: stop when none of the last `k` losses is below the
/// one `k` rounds before them minus `tol`.
fn should_stop(losses: &[f64], k: usize, tol: f64) -> bool {
    if losses.len() <= k {
        return false;
    }
    let reference = losses[losses.len() - k - 1] - tol;
    !losses[losses.len() - k..].iter().any(|&l| l < reference)
}

/// The held-out rows of early stopping, row-major.
struct Validation {
    x: Vec<f64>,
    p: usize,
    y: Vec<f64>,
    w: Vec<f64>,
}

impl Validation {
    fn new(x: &ArrayView2<'_, f64>, y: &[f64], w: &[f64], held_out: &[bool]) -> Validation {
        let rows: Vec<usize> = (0..y.len()).filter(|&i| held_out[i]).collect();
        Validation {
            x: rows.iter().flat_map(|&i| x.row(i).to_vec()).collect(),
            p: x.ncols(),
            y: rows.iter().map(|&i| y[i]).collect(),
            w: rows.iter().map(|&i| w[i]).collect(),
        }
    }

    fn add_tree(&self, tree: &Tree, raw: &mut [f64]) {
        if self.p == 0 {
            return;
        }
        raw.par_iter_mut().zip(self.x.par_chunks(self.p)).with_min_len(4096).for_each(|(r, row)| {
            *r += tree.predict_row(row);
        });
    }

    /// Weighted mean log-loss (fixed chunks added in order: thread-count independent).
    fn loss(&self, raw: &[f64]) -> f64 {
        const CHUNK: usize = 4096;
        let parts: Vec<(f64, f64)> = raw
            .par_chunks(CHUNK)
            .zip(self.y.par_chunks(CHUNK).zip(self.w.par_chunks(CHUNK)))
            .map(|(r, (y, w))| {
                r.iter()
                    .zip(y)
                    .zip(w)
                    .fold((0.0, 0.0), |(l, t), ((&z, &y), &w)| (l + w * (softplus(z) - y * z), t + w))
            })
            .collect();
        let (loss, total) = parts.iter().fold((0.0, 0.0), |(l, t), (a, b)| (l + a, t + b));
        if total > 0.0 {
            loss / total
        } else {
            0.0
        }
    }
}

#[derive(Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    missing_left: bool,
    left: Bin,
    /// Leaf values of the two children (before the learning rate).
    value_left: f64,
    value_right: f64,
}

struct Leaf {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    total: Bin,
    /// Leaf value before the learning rate (within the bounds its parent gave).
    value: f64,
    /// Bounds on the values of its children (monotonic constraints; infinite without).
    lower: f64,
    upper: f64,
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
    pool: &'a HistPool,
    /// Per feature: 1, -1 or 0 (see [`GbmParams::monotonic_cst`]); empty without constraints.
    monotonic: &'a [i8],
    partition: Vec<u32>,
    scratch: Vec<u32>,
}

/// Stable partition of `rows` in place by the split (`scratch` holds at least
/// as many rows); returns the number that go left. Branch-free: which side a
/// row goes is a coin toss the branch predictor cannot learn.
fn partition_chunk(rows: &mut [u32], scratch: &mut [u32], col: &[u8], split: &Split) -> usize {
    let (mut left, mut right) = (0, 0);
    for k in 0..rows.len() {
        let i = rows[k];
        let b = col[i as usize];
        // the missing bin (255) is above every split bin
        let goes_left = usize::from((b <= split.bin) | ((b == MISSING_BIN) & split.missing_left));
        rows[left] = i; // left <= k: row k is already read
        scratch[right] = i;
        left += goes_left;
        right += 1 - goes_left;
    }
    rows[left..].copy_from_slice(&scratch[..right]);
    left
}

fn score(b: &Bin, l2: f64) -> f64 {
    b.g() * b.g() / (b.h() + l2)
}

/// Newton leaf value `-G / (H + l2)`, within `[lower, upper]`.
fn node_value(b: &Bin, l2: f64, lower: f64, upper: f64) -> f64 {
    (-b.g() / (b.h() + l2).max(1e-300)).max(lower).min(upper)
}

impl Grower<'_> {
    fn n_features(&self) -> usize {
        self.n_features
    }

    /// Histograms of rows `partition[start..end]` (the root: every row, in
    /// order). Blocks of features are histogrammed in parallel, each over all
    /// the rows in order: every bin is a sum in row order, the same on any
    /// thread count.
    fn histogram(&self, start: usize, end: usize, root: bool) -> Vec<Hist> {
        if end - start >= 2 * HIST_CHUNK {
            return self.histogram_by_chunks(start, end, root);
        }
        let mut hist = self.pool.get();
        let p = self.n_features;
        let threads = rayon::current_num_threads();
        let width = if threads > 1 && end - start >= PAR_HIST_ROWS { p.div_ceil(threads) } else { p }.max(1);
        let rows = (!root).then(|| &self.partition[start..end]);
        let arch = Arch::new();
        let (bins, gh) = (self.bins, self.gh);
        hist.par_chunks_mut(width).enumerate().for_each(|(b, block)| {
            let first = b * width;
            arch.dispatch(AddRows { hist: block, first, bins, n_features: p, gh, rows, lo: start, hi: end });
        });
        hist
    }

    /// Histograms of a large node: fixed chunks of [`HIST_CHUNK`] rows in
    /// parallel, every feature each, added up in chunk order.
    fn histogram_by_chunks(&self, start: usize, end: usize, root: bool) -> Vec<Hist> {
        let p = self.n_features;
        let arch = Arch::new();
        let (bins, gh, partition) = (self.bins, self.gh, &self.partition);
        let parts: Vec<Vec<Hist>> = (start..end)
            .step_by(HIST_CHUNK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|lo| {
                let hi = (lo + HIST_CHUNK).min(end);
                let mut hist = self.pool.get();
                let rows = (!root).then(|| &partition[lo..hi]);
                arch.dispatch(AddRows { hist: &mut hist, first: 0, bins, n_features: p, gh, rows, lo, hi });
                hist
            })
            .collect();
        let mut parts = parts.into_iter();
        let mut hist = parts.next().unwrap_or_else(|| self.pool.get());
        for part in parts {
            for (h, q) in hist.iter_mut().zip(&part) {
                h.iter_mut().zip(q).for_each(|(a, b)| a.add(b));
            }
            self.pool.put(part);
        }
        hist
    }

    /// The best split of a leaf; with monotonic constraints (scikit-learn's
    /// rule) the children's values stay within the leaf's bounds, the gain is
    /// the loss decrease with those values, and a split of a constrained
    /// feature whose children's values go the wrong way is not a candidate.
    fn best_split(&self, hist: &[Hist], total: &Bin, lower: f64, upper: f64) -> Option<Split> {
        let l2 = self.params.l2_regularization;
        let min_leaf = self.params.min_samples_leaf as f64;
        let bounded = lower > f64::NEG_INFINITY || upper < f64::INFINITY;
        let gain_of = |b: &Bin| if bounded { -b.g() * node_value(b, l2, lower, upper) } else { score(b, l2) };
        let parent = gain_of(total);
        // sequential: 256 bins per feature is too little work to share out
        let candidates: Vec<Option<Split>> = (0..self.n_features())
            .map(|f| {
                let hf = &hist[f];
                let missing = hf[MISSING_BIN as usize];
                let nb = self.n_bins[f];
                let constraint = self.monotonic.get(f).copied().unwrap_or(0);
                let mut best: Option<Split> = None;
                let directions: &[bool] = if missing.n() > 0.0 { &[false, true] } else { &[false] };
                for &missing_left in directions {
                    let mut left = if missing_left { missing } else { Bin::default() };
                    for (b, bin) in hf.iter().enumerate().take(nb.saturating_sub(1)) {
                        left.add(bin);
                        let right = total.minus(&left);
                        if left.n() < min_leaf || right.n() < min_leaf {
                            continue;
                        }
                        if left.h() < MIN_HESSIAN || right.h() < MIN_HESSIAN {
                            continue;
                        }
                        let value_left = node_value(&left, l2, lower, upper);
                        let value_right = node_value(&right, l2, lower, upper);
                        if (constraint > 0 && value_left > value_right)
                            || (constraint < 0 && value_left < value_right)
                        {
                            continue;
                        }
                        let gain = gain_of(&left) + gain_of(&right) - parent;
                        if gain > best.map_or(1e-12, |s| s.gain) {
                            best = Some(Split {
                                gain,
                                feature: f,
                                bin: b as u8,
                                missing_left,
                                left,
                                value_left,
                                value_right,
                            });
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
    /// middle. Large nodes are cut into chunks partitioned in parallel, then
    /// their left and right parts are gathered in chunk order (a stable
    /// partition has one result, whatever the chunks).
    fn partition_rows(&mut self, start: usize, end: usize, split: &Split) -> usize {
        let col = &self.columns[split.feature];
        let rows = &mut self.partition[start..end];
        self.scratch.resize(rows.len(), 0);
        if rows.len() < 2 * PART_CHUNK || rayon::current_num_threads() == 1 {
            return start + partition_chunk(rows, &mut self.scratch, col, split);
        }
        let lefts: Vec<usize> = rows
            .par_chunks_mut(PART_CHUNK)
            .zip(self.scratch.par_chunks_mut(PART_CHUNK))
            .map(|(chunk, scratch)| partition_chunk(chunk, scratch, col, split))
            .collect();
        // each chunk is now [its left rows, its right rows]: lefts first, then rights
        let mut write = 0;
        for (chunk, &left) in rows.chunks(PART_CHUNK).zip(&lefts) {
            self.scratch[write..write + left].copy_from_slice(&chunk[..left]);
            write += left;
        }
        let mid = write;
        for (chunk, &left) in rows.chunks(PART_CHUNK).zip(&lefts) {
            self.scratch[write..write + chunk.len() - left].copy_from_slice(&chunk[left..]);
            write += chunk.len() - left;
        }
        rows.copy_from_slice(&self.scratch[..rows.len()]);
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
        let (lower, upper) = (f64::NEG_INFINITY, f64::INFINITY);
        let value = node_value(&total, self.params.l2_regularization, lower, upper);
        let mut root =
            Leaf { node: 0, start: 0, end: n, depth: 0, total, value, lower, upper, hist, split: None };
        if self.can_split(n, 0) {
            root.split = self.best_split(&root.hist, &root.total, lower, upper);
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
                cover: leaf.total.n(),
            };
            nodes.extend([Node::leaf(), Node::leaf()]);
            let right_total = leaf.total.minus(&split.left);
            let depth = leaf.depth + 1;
            // the children's histograms serve only to split them: none when the tree is then full
            let full = leaves.len() + done.len() + 2 >= self.params.max_leaf_nodes;
            let splittable = |rows: usize| !full && self.can_split(rows, depth);
            let (left_hist, right_hist) = if splittable(mid - leaf.start) || splittable(leaf.end - mid) {
                let left_small = mid - leaf.start <= leaf.end - mid;
                let small = if left_small {
                    self.histogram(leaf.start, mid, false)
                } else {
                    self.histogram(mid, leaf.end, false)
                };
                // the parent's histogram becomes the larger child's, in place
                let mut large = leaf.hist;
                for (hp, hc) in large.iter_mut().zip(&small) {
                    hp.iter_mut().zip(hc).for_each(|(a, b)| *a = a.minus(b));
                }
                if left_small {
                    (small, large)
                } else {
                    (large, small)
                }
            } else {
                self.pool.put(leaf.hist);
                (Vec::new(), Vec::new())
            };
            // a constrained split bounds every later value on each side by their midpoint
            let mid_value = 0.5 * (split.value_left + split.value_right);
            let (left_bounds, right_bounds) = match self.monotonic.get(split.feature).copied().unwrap_or(0) {
                0 => ((leaf.lower, leaf.upper), (leaf.lower, leaf.upper)),
                c if c > 0 => ((leaf.lower, mid_value), (mid_value, leaf.upper)),
                _ => ((mid_value, leaf.upper), (leaf.lower, mid_value)),
            };
            for (node, start, end, total, value, (lower, upper), hist) in [
                (left_id, leaf.start, mid, split.left, split.value_left, left_bounds, left_hist),
                (right_id, mid, leaf.end, right_total, split.value_right, right_bounds, right_hist),
            ] {
                let mut child =
                    Leaf { node, start, end, depth, total, value, lower, upper, hist, split: None };
                if splittable(end - start) {
                    child.split = self.best_split(&child.hist, &child.total, lower, upper);
                }
                if child.split.is_some() {
                    leaves.push(child);
                } else {
                    // no split possible: recycle its histogram now
                    self.pool.put(std::mem::take(&mut child.hist));
                    done.push(child);
                }
            }
        }
        let lr = self.params.learning_rate;
        for leaf in leaves.into_iter().chain(done) {
            self.pool.put(leaf.hist);
            let value = lr * leaf.value;
            nodes[leaf.node].value = value;
            nodes[leaf.node].cover = leaf.total.n();
            for &i in &self.partition[leaf.start..leaf.end] {
                raw[i as usize] += value;
            }
        }
        Tree { nodes }
    }
}

fn sigmoid(z: f64) -> f64 {
    // exp(-|z|) never overflows; both quotients are computed and one is selected,
    // since a branch on the sign of the log-odds is mispredicted half the time
    let e = (-z.abs()).exp();
    let (positive, negative) = (1.0 / (1.0 + e), e / (1.0 + e));
    if z >= 0.0 {
        positive
    } else {
        negative
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
        if !params.monotonic_cst.is_empty() && params.monotonic_cst.len() != p {
            return Err(ParamError::new(
                "monotonic_cst",
                format!("has {} values, X has {p} feature columns", params.monotonic_cst.len()),
            )
            .into());
        }
        let held_out = if params.early_stopping { validation_rows(params, y) } else { vec![false; n] };
        let train: Vec<usize> = (0..n).filter(|&i| !held_out[i]).collect();
        let valid = Validation::new(&x, y, &w, &held_out);
        let (y, w): (Vec<f64>, Vec<f64>) = train.iter().map(|&i| (y[i], w[i])).unzip();
        let n = train.len();
        let rows: Vec<usize> = if n > BIN_SAMPLE {
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            let mut s: Vec<usize> = sample(&mut rng, n, BIN_SAMPLE).into_iter().map(|k| train[k]).collect();
            s.sort_unstable();
            s
        } else {
            train.clone()
        };
        let edges: Vec<Vec<f64>> = (0..p)
            .into_par_iter()
            .map(|f| {
                let col = x.column(f);
                let mut values: Vec<f64> = rows.iter().map(|&i| col[i]).collect();
                bin_edges(&mut values, params.max_bins)
            })
            .collect();
        // row-major bins, filled by fixed row chunks in parallel
        const BIN_CHUNK: usize = 4096;
        let mut bins = vec![0u8; n * p];
        bins.par_chunks_mut(BIN_CHUNK * p).enumerate().for_each(|(c, out)| {
            for (r, row_bins) in out.chunks_mut(p).enumerate() {
                let row = x.row(train[c * BIN_CHUNK + r]);
                for ((b, &v), e) in row_bins.iter_mut().zip(row.iter()).zip(&edges) {
                    *b = bin_of(e, v);
                }
            }
        });
        let columns: Vec<Vec<u8>> =
            (0..p).into_par_iter().map(|f| bins.iter().skip(f).step_by(p).copied().collect()).collect();
        let n_bins: Vec<usize> = edges.iter().map(|e| e.len() + 1).collect();

        let total: f64 = w.iter().sum();
        let pos: f64 = w.iter().zip(&y).map(|(w, y)| w * y).sum();
        let prior = (pos / total).clamp(1e-12, 1.0 - 1e-12);
        let baseline = (prior / (1.0 - prior)).ln();
        let mut raw = vec![baseline; n];
        let mut gh = vec![[0.0f64; 2]; n];
        let mut importances = vec![0.0; p];
        let mut trees = Vec::with_capacity(params.max_iter);
        let pool = HistPool::new(p);
        let (mut partition, mut scratch) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut valid_raw = vec![baseline; valid.y.len()];
        let mut validation_loss = Vec::new();
        if params.early_stopping {
            validation_loss.push(valid.loss(&valid_raw));
        }
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
                pool: &pool,
                monotonic: &params.monotonic_cst,
                partition,
                scratch,
            };
            let tree = grower.grow(&mut raw, &mut importances);
            (partition, scratch) = (grower.partition, grower.scratch);
            if params.early_stopping {
                valid.add_tree(&tree, &mut valid_raw);
                validation_loss.push(valid.loss(&valid_raw));
            }
            trees.push(tree);
            if params.early_stopping && should_stop(&validation_loss, params.n_iter_no_change, params.tol) {
                break;
            }
        }
        let sum: f64 = importances.iter().sum();
        if sum > 0.0 {
            importances.iter_mut().for_each(|v| *v /= sum);
        }
        Ok(GbmModel {
            params: params.clone(),
            baseline,
            trees,
            feature_importances: importances,
            n_features: p,
            validation_loss,
        })
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

    /// Enough rows for the parallel paths (feature blocks of one feature on 3
    /// threads, partitions in chunks): the same model as on one thread, and
    /// the same leaves as a serial stable partition gives.
    #[test]
    fn parallel_histograms_and_partitions_give_the_one_thread_model() {
        // the root is histogrammed by row chunks, its children by feature blocks
        let n = 3 * HIST_CHUNK + 5;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * (j + 5) * 2654435761usize) % 997) as f64);
        let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from(x[[i, 0]] + 0.5 * x[[i, 1]] > 700.0))).collect();
        let params = GbmParams { max_iter: 3, ..GbmParams::default() };
        let fit = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| GbmModel::fit(&params, x.view(), &y, None).unwrap())
        };
        let one = fit(1);
        assert_eq!(fit(3), one);
        // the leaves hold the rows a plain filter of the split sends there
        let root = &one.trees[0].nodes[0];
        let left = (0..n).filter(|&i| x[[i, root.feature as usize]] <= root.threshold).count();
        assert_eq!(one.trees[0].nodes[root.left as usize].cover, left as f64);
    }

    /// Risk that first falls then rises with x0: unconstrained trees follow
    /// the dip, a `+1` constraint makes the log-odds non-decreasing in x0 at
    /// every value of the other feature.
    #[test]
    fn monotonic_constraint_holds_everywhere() {
        let n = 6000;
        let x =
            Array2::from_shape_fn((n, 2), |(i, j)| ((i * (j + 7) * 2654435761usize) % 1000) as f64 / 100.0);
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let (a, b) = (x[[i, 0]], x[[i, 1]]);
                let risk = (a - 3.0).abs() + 0.3 * b + ((i * 7919) % 13) as f64 * 0.4;
                f64::from(u8::from(risk > 5.0))
            })
            .collect();
        let grid = |m: &GbmModel, b: f64| {
            let g = Array2::from_shape_fn((101, 2), |(k, j)| if j == 0 { k as f64 / 10.0 } else { b });
            m.decision_function(g.view()).unwrap()
        };
        let increasing = |v: &[f64]| v.windows(2).all(|w| w[1] >= w[0]);
        let free =
            GbmModel::fit(&GbmParams { max_iter: 30, ..GbmParams::default() }, x.view(), &y, None).unwrap();
        assert!(!increasing(&grid(&free, 5.0)));
        let params = GbmParams { max_iter: 30, monotonic_cst: vec![1, 0], ..GbmParams::default() };
        let m = GbmModel::fit(&params, x.view(), &y, None).unwrap();
        for b in [0.0, 2.5, 5.0, 7.5, 9.99] {
            assert!(increasing(&grid(&m, b)), "b = {b}");
        }
        let down = GbmParams { monotonic_cst: vec![-1, 0], ..params.clone() };
        let m = GbmModel::fit(&down, x.view(), &y, None).unwrap();
        assert!(grid(&m, 5.0).windows(2).all(|w| w[1] <= w[0]));
        let wrong = GbmParams { monotonic_cst: vec![1], ..params };
        assert!(matches!(
            GbmModel::fit(&wrong, x.view(), &y, None),
            Err(crate::Error::Param(ParamError { name: "monotonic_cst", .. }))
        ));
    }

    #[test]
    fn early_stopping_rule_and_fit() {
        // scikit-learn's rule with k = 2: stop when neither of the last two beats the one before them by tol
        assert!(!should_stop(&[1.0, 0.9], 2, 0.0));
        assert!(!should_stop(&[1.0, 0.9, 0.95], 2, 0.0));
        assert!(should_stop(&[1.0, 0.9, 0.95, 0.9], 2, 0.0));
        assert!(!should_stop(&[1.0, 0.9, 0.95, 0.89], 2, 0.0));
        assert!(should_stop(&[1.0, 0.9, 0.95, 0.89], 2, 0.02));
        // pure noise labels: the validation loss stops improving within a few rounds
        let n = 5000;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * (j + 3) * 2654435761usize) % 1000) as f64);
        let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from((i * 7919 + i / 7) % 11 < 5))).collect();
        let params =
            GbmParams { max_iter: 500, early_stopping: true, learning_rate: 0.5, ..GbmParams::default() };
        let m = GbmModel::fit(&params, x.view(), &y, None).unwrap();
        assert!(m.trees.len() < 100, "{} trees", m.trees.len());
        assert_eq!(m.validation_loss.len(), m.trees.len() + 1);
        assert!(should_stop(&m.validation_loss, 10, 1e-7));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(pool.install(|| GbmModel::fit(&params, x.view(), &y, None).unwrap()), m);
    }
}
