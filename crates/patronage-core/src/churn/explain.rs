//! Per-row explanations: each feature's contribution to the log-odds, such
//! that the base value plus the contributions is the model's log-odds.
//!
//! * Logistic model: the exact linear terms `coef_j (x_j - mean_j) / scale_j`
//!   (the coefficient per unit of the original feature times the distance
//!   from the training mean), base value the intercept: the log-odds of a
//!   customer at the training means.
//! * Gradient boosting: path-dependent TreeSHAP (Lundberg, Erion and Lee
//!   2018, Algorithm 2; Lundberg et al. 2020), the exact Shapley values of
//!   the game whose value of a feature set `S` is the tree's expected output
//!   when the features of `S` are known and the others follow the training
//!   rows through the tree (each node's rows, its "cover", weigh its
//!   children). Base value: the baseline plus each tree's cover-weighted mean
//!   leaf value, i.e. the mean log-odds over the training rows. Rows are
//!   explained in parallel, in fixed chunks (no sum crosses rows, so the
//!   result does not depend on the thread count), each chunk skipping its work
//!   once a stop is raised.

use ndarray::{s, Array2, ArrayView2};
use rayon::prelude::*;

use super::data::check_features_with;
use super::gbm::{GbmModel, Tree};
use super::logistic::LogisticModel;
use crate::error::{ParamError, Result};
use crate::interrupt;

/// Rows per parallel chunk of an explanation.
const CHUNK: usize = 256;
/// Followed path elements unwound together at a leaf.
const LANES: usize = 4;
/// Feature index of the path's root element (no feature).
const NO_FEATURE: u32 = u32::MAX;

/// Contributions of every feature to every row's log-odds.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The log-odds every row starts from (the same for every row).
    pub base_value: f64,
    /// `n x p`: row `i`'s log-odds is `base_value + contributions.row(i).sum()`.
    pub contributions: Array2<f64>,
}

impl LogisticModel {
    /// The exact linear terms of each row (see the [module](self) doc).
    pub fn explain(&self, x: ArrayView2<'_, f64>) -> Result<Explanation> {
        // the same input and overflow rules as prediction
        self.decision_function(x)?;
        let inv_scale: Vec<f64> = self.scale.iter().map(|s| 1.0 / s).collect();
        let p = self.mean.len();
        let mut contributions = Array2::zeros((x.nrows(), p));
        contributions
            .axis_chunks_iter_mut(ndarray::Axis(0), CHUNK * 16)
            .into_par_iter()
            .zip(x.axis_chunks_iter(ndarray::Axis(0), CHUNK * 16))
            .for_each(|(mut out, rows)| {
                for (mut o, row) in out.rows_mut().into_iter().zip(rows.rows()) {
                    for j in 0..p {
                        // the very term decision_function adds
                        o[j] = (row[j] - self.mean[j]) * inv_scale[j] * self.coef[j];
                    }
                }
            });
        Ok(Explanation { base_value: self.intercept, contributions })
    }
}

/// One element of the path of unique features from the root to a node.
#[derive(Clone, Copy, Default)]
struct PathElement {
    feature: u32,
    /// Share of the rows that follow this path without knowing the feature.
    zero_fraction: f64,
    /// 1 if the explained row follows it, else 0.
    one_fraction: f64,
    /// Permutation weight of the subsets of each size.
    pweight: f64,
}

/// Appends an element to the path (`inv_d1 = 1 / (depth + 1)`).
fn extend_path(
    path: &mut [PathElement],
    depth: usize,
    zero_fraction: f64,
    one_fraction: f64,
    feature: u32,
    inv_d1: f64,
) {
    path[depth] =
        PathElement { feature, zero_fraction, one_fraction, pweight: if depth == 0 { 1.0 } else { 0.0 } };
    let (zero, one) = (zero_fraction * inv_d1, one_fraction * inv_d1);
    for i in (0..depth).rev() {
        path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64;
        path[i].pweight = zero * path[i].pweight * (depth - i) as f64;
    }
}

fn unwind_path(path: &mut [PathElement], depth: usize, index: usize) {
    let PathElement { one_fraction, zero_fraction, .. } = path[index];
    let d1 = (depth + 1) as f64;
    let mut next_one_portion = path[depth].pweight;
    for i in (0..depth).rev() {
        if one_fraction != 0.0 {
            let tmp = path[i].pweight;
            path[i].pweight = next_one_portion * d1 / ((i + 1) as f64 * one_fraction);
            next_one_portion = tmp - path[i].pweight * zero_fraction * (depth - i) as f64 / d1;
        } else {
            path[i].pweight = path[i].pweight * d1 / (zero_fraction * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

/// TreeSHAP of one tree for one row, added to `phi`.
struct TreeShap<'a> {
    tree: &'a Tree,
    row: &'a [f64],
    phi: &'a mut [f64],
    /// `recip[k] = 1 / k` for every path length `k` (divisions cost more than
    /// the rest of the leaf's arithmetic).
    recip: &'a [f64],
}

impl TreeShap<'_> {
    /// Adds a leaf's share to every feature of its path (`path[1..=depth]`).
    ///
    /// Each element's share is its permutation weight with the element
    /// unwound from the path (Algorithm 2's `UnwoundSum`), times its
    /// `one_fraction - zero_fraction`, times the leaf value. One fractions
    /// are exactly 0 or 1, which makes two shortcuts exact in real numbers:
    /// * unwinding an element the row does not follow (one fraction 0)
    ///   divides every weight by its zero fraction `z`, which its factor
    ///   `0 - z` cancels: all of them get the same `-cold_sum * value`, one
    ///   O(depth) sum per leaf instead of one per element;
    /// * unwinding one it follows needs no division by its one fraction.
    fn add_leaf(&mut self, path: &[PathElement], depth: usize, value: f64) {
        let r = self.recip;
        let d1 = (depth + 1) as f64;
        let mut cold_sum = 0.0;
        for (j, el) in path[..depth].iter().enumerate() {
            cold_sum += el.pweight * r[depth - j];
        }
        let cold_share = -cold_sum * d1 * value;
        // the followed elements, unwound LANES at a time (independent chains
        // that the processor overlaps); each feature appears once on a path,
        // so the order of the additions to `phi` does not change any bits
        let mut hot = [(0u32, 0.0f64); LANES];
        let mut fill = 0;
        for el in &path[1..=depth] {
            if el.one_fraction == 0.0 {
                self.phi[el.feature as usize] += cold_share;
            } else {
                hot[fill] = (el.feature, el.zero_fraction);
                fill += 1;
                if fill == LANES {
                    self.add_hot(path, depth, value, &hot, fill);
                    fill = 0;
                }
            }
        }
        if fill > 0 {
            self.add_hot(path, depth, value, &hot, fill);
        }
    }

    /// The shares of the first `fill` followed elements `(feature, zero
    /// fraction)` of `hot` (Algorithm 2's `UnwoundSum` with one fraction 1).
    #[inline(always)]
    fn add_hot(
        &mut self,
        path: &[PathElement],
        depth: usize,
        value: f64,
        hot: &[(u32, f64); LANES],
        fill: usize,
    ) {
        let r = self.recip;
        let d1 = (depth + 1) as f64;
        let inv_d1 = r[depth + 1];
        let z: [f64; LANES] = std::array::from_fn(|l| hot[l].1);
        let mut next_one_portion = [path[depth].pweight; LANES];
        let mut total = [0.0; LANES];
        for i in (0..depth).rev() {
            let up = d1 * r[i + 1];
            let down = (depth - i) as f64 * inv_d1;
            for l in 0..LANES {
                let tmp = next_one_portion[l] * up;
                total[l] += tmp;
                next_one_portion[l] = path[i].pweight - tmp * z[l] * down;
            }
        }
        for l in 0..fill {
            self.phi[hot[l].0 as usize] += total[l] * (1.0 - z[l]) * value;
        }
    }

    /// `path[..]` holds the parent's path in its first `depth` elements; this
    /// node's path is built in the same buffer after them (the parent's stays
    /// intact for the sibling).
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &mut self,
        node: usize,
        buf: &mut [PathElement],
        depth: usize,
        zero_fraction: f64,
        one_fraction: f64,
        feature: u32,
    ) {
        // this node's path: a copy of the parent's, extended
        let (parent, rest) = buf.split_at_mut(depth);
        let path = &mut rest[..];
        path[..depth].copy_from_slice(&parent[..depth]);
        extend_path(path, depth, zero_fraction, one_fraction, feature, self.recip[depth + 1]);
        let n = &self.tree.nodes[node];
        if n.left == 0 {
            self.add_leaf(path, depth, n.value);
            return;
        }
        let v = self.row[n.feature as usize];
        let goes_left = if v.is_nan() { n.missing_left } else { v <= n.threshold };
        let (hot, cold) = if goes_left { (n.left, n.right) } else { (n.right, n.left) };
        let nodes = &self.tree.nodes;
        let hot_zero = nodes[hot as usize].cover / n.cover;
        let cold_zero = nodes[cold as usize].cover / n.cover;
        let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
        let mut depth = depth;
        // a feature met again on the path: undo its earlier split
        if let Some(k) = (0..=depth).find(|&k| path[k].feature == n.feature) {
            incoming_zero = path[k].zero_fraction;
            incoming_one = path[k].one_fraction;
            unwind_path(path, depth, k);
            depth -= 1;
        }
        let next = &mut rest[..];
        self.recurse(hot as usize, next, depth + 1, hot_zero * incoming_zero, incoming_one, n.feature);
        self.recurse(cold as usize, next, depth + 1, cold_zero * incoming_zero, 0.0, n.feature);
    }
}

impl Tree {
    /// Depth of the deepest leaf (0 for a single leaf).
    fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((k, d)) = stack.pop() {
            let n = &self.nodes[k];
            if n.left == 0 {
                deepest = deepest.max(d);
            } else {
                stack.push((n.left as usize, d + 1));
                stack.push((n.right as usize, d + 1));
            }
        }
        deepest
    }

    /// Mean leaf value over the training rows (cover-weighted).
    fn expected_value(&self) -> f64 {
        let root = self.nodes[0].cover;
        self.nodes.iter().filter(|n| n.left == 0).map(|n| n.cover / root * n.value).sum()
    }

    /// Whether every node has rows and each split's children share them out.
    fn covers_are_consistent(&self) -> bool {
        self.nodes.iter().all(|n| {
            n.cover > 0.0
                && (n.left == 0 || {
                    let (l, r) = (self.nodes[n.left as usize].cover, self.nodes[n.right as usize].cover);
                    (l + r - n.cover).abs() <= 1e-9 * n.cover
                })
        })
    }
}

impl GbmModel {
    /// Path-dependent TreeSHAP of each row of `x` (NaN allowed; see the
    /// [module](self) doc).
    pub fn explain(&self, x: ArrayView2<'_, f64>) -> Result<Explanation> {
        check_features_with(&x, self.n_features, true)?;
        if !self.trees.iter().all(Tree::covers_are_consistent) {
            return Err(ParamError::new(
                "model",
                "has no node covers (it was saved before they were recorded): refit it to explain it",
            )
            .into());
        }
        let base_value = self.baseline + self.trees.iter().map(Tree::expected_value).sum::<f64>();
        let depth = self.trees.iter().map(Tree::depth).max().unwrap_or(0);
        // each level keeps its own copy of a path of up to depth + 2 elements
        let buffer = (depth + 2) * (depth + 3) / 2;
        let recip: Vec<f64> = (0..depth + 3).map(|k| 1.0 / k as f64).collect();
        let p = self.n_features;
        let mut contributions = Array2::zeros((x.nrows(), p));
        let stop = interrupt::current();
        contributions.axis_chunks_iter_mut(ndarray::Axis(0), CHUNK).into_par_iter().enumerate().for_each(
            |(ch, mut out)| {
                if stop.is_raised() {
                    return;
                }
                let rows = x.slice(s![ch * CHUNK..ch * CHUNK + out.nrows(), ..]);
                let mut path = vec![PathElement::default(); buffer];
                let mut row = vec![0.0; p];
                let mut phi = vec![0.0; p];
                for (mut o, r) in out.rows_mut().into_iter().zip(rows.rows()) {
                    row.iter_mut().zip(r).for_each(|(a, b)| *a = *b);
                    phi.iter_mut().for_each(|v| *v = 0.0);
                    for tree in &self.trees {
                        if tree.nodes.len() > 1 {
                            let mut shap = TreeShap { tree, row: &row, phi: &mut phi, recip: &recip };
                            shap.recurse(0, &mut path, 0, 1.0, 1.0, NO_FEATURE);
                        }
                    }
                    o.iter_mut().zip(&phi).for_each(|(a, b)| *a = *b);
                }
            },
        );
        interrupt::check()?;
        Ok(Explanation { base_value, contributions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::{GbmParams, LogisticParams, Node};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The value of feature set `known` (a bit mask): the tree's output when
    /// those features are known and the others follow the covers.
    fn conditional_value(tree: &Tree, node: usize, row: &[f64], known: u32) -> f64 {
        let n = &tree.nodes[node];
        if n.left == 0 {
            return n.value;
        }
        let (l, r) = (n.left as usize, n.right as usize);
        if known & (1 << n.feature) != 0 {
            let v = row[n.feature as usize];
            let left = if v.is_nan() { n.missing_left } else { v <= n.threshold };
            conditional_value(tree, if left { l } else { r }, row, known)
        } else {
            (tree.nodes[l].cover * conditional_value(tree, l, row, known)
                + tree.nodes[r].cover * conditional_value(tree, r, row, known))
                / n.cover
        }
    }

    /// Exact Shapley values by the definition: every subset of the others.
    fn brute_force(tree: &Tree, row: &[f64], m: usize) -> Vec<f64> {
        let fact = |k: usize| (1..=k).map(|v| v as f64).product::<f64>();
        (0..m)
            .map(|j| {
                (0u32..1 << m)
                    .filter(|s| s & (1 << j) == 0)
                    .map(|s| {
                        let size = s.count_ones() as usize;
                        let weight = fact(size) * fact(m - size - 1) / fact(m);
                        weight
                            * (conditional_value(tree, 0, row, s | (1 << j))
                                - conditional_value(tree, 0, row, s))
                    })
                    .sum()
            })
            .collect()
    }

    /// A random tree of `leaves` leaves on `m` features (features repeat on
    /// paths), with random covers and values.
    fn random_tree(rng: &mut ChaCha8Rng, leaves: usize, m: usize) -> Tree {
        let mut nodes = vec![Node {
            feature: 0,
            threshold: 0.0,
            missing_left: false,
            left: 0,
            right: 0,
            value: 0.0,
            cover: 1000.0,
        }];
        let mut open = vec![0usize];
        while open.len() < leaves {
            let k = open.swap_remove(rng.gen_range(0..open.len()));
            let cover = nodes[k].cover;
            let share = rng.gen_range(0.05..0.95);
            let left = nodes.len();
            nodes[k].feature = rng.gen_range(0..m as u32);
            nodes[k].threshold = rng.gen_range(-1.0..1.0);
            nodes[k].missing_left = rng.gen_bool(0.5);
            nodes[k].left = left as u32;
            nodes[k].right = left as u32 + 1;
            for c in [cover * share, cover * (1.0 - share)] {
                nodes.push(Node { cover: c, value: rng.gen_range(-1.0..1.0), ..nodes[0].clone() });
                nodes.last_mut().expect("pushed").left = 0;
            }
            open.extend([left, left + 1]);
        }
        Tree { nodes }
    }

    #[test]
    fn tree_shap_equals_brute_force_shapley_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for case in 0..200 {
            let m = 1 + case % 6;
            let tree = random_tree(&mut rng, 2 + case % 15, m);
            let model = GbmModel {
                params: GbmParams::default(),
                baseline: 0.3,
                trees: vec![tree.clone()],
                feature_importances: vec![0.0; m],
                n_features: m,
                validation_loss: Vec::new(),
            };
            let x = Array2::from_shape_fn((4, m), |(i, _)| {
                if i == 3 && rng.gen_bool(0.3) {
                    f64::NAN
                } else {
                    rng.gen_range(-1.2..1.2)
                }
            });
            let e = model.explain(x.view()).unwrap();
            let raw = model.decision_function(x.view()).unwrap();
            assert!((e.base_value - 0.3 - conditional_value(&tree, 0, &[], 0)).abs() < 1e-12);
            for (i, r) in x.rows().into_iter().enumerate() {
                let exact = brute_force(&tree, r.as_slice().unwrap(), m);
                for (j, want) in exact.iter().enumerate() {
                    let got = e.contributions[[i, j]];
                    assert!((got - want).abs() < 1e-12, "case {case}, row {i}, feature {j}: {got} vs {want}");
                }
                assert!((e.base_value + e.contributions.row(i).sum() - raw[i]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn fitted_gbm_contributions_add_up_on_any_thread_count() {
        let n = 3000;
        let x =
            Array2::from_shape_fn((n, 4), |(i, j)| ((i * (j + 3) * 2654435761usize) % 1000) as f64 / 1000.0);
        let y: Vec<f64> = (0..n).map(|i| f64::from(u8::from(x[[i, 0]] + 0.5 * x[[i, 1]] > 0.7))).collect();
        let m =
            GbmModel::fit(&GbmParams { max_iter: 20, ..GbmParams::default() }, x.view(), &y, None).unwrap();
        let e = m.explain(x.view()).unwrap();
        let raw = m.decision_function(x.view()).unwrap();
        for (row, z) in e.contributions.rows().into_iter().zip(&raw) {
            assert!((e.base_value + row.sum() - z).abs() < 1e-9);
        }
        // the unused features get nothing; the informative one the most
        let mean_abs: Vec<f64> =
            (0..4).map(|j| e.contributions.column(j).mapv(f64::abs).mean().unwrap()).collect();
        assert!(mean_abs[0] > mean_abs[1] && mean_abs[1] > mean_abs[2], "{mean_abs:?}");
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(pool.install(|| m.explain(x.view()).unwrap()), e);
        let mut old = m.clone();
        old.trees[0].nodes.iter_mut().for_each(|n| n.cover = 0.0);
        assert!(matches!(old.explain(x.view()), Err(crate::Error::Param(ParamError { name: "model", .. }))));
    }

    #[test]
    fn logistic_terms_add_up_to_the_log_odds() {
        let x = Array2::from_shape_fn((300, 3), |(i, j)| ((i * 7 + j * 13) % 17) as f64 * (j as f64 + 0.5));
        let y: Vec<f64> = (0..300).map(|i| f64::from(u8::from((i * 7) % 17 > 8 || i % 5 == 0))).collect();
        let m = LogisticModel::fit(&LogisticParams::default(), x.view(), &y, None).unwrap();
        let e = m.explain(x.view()).unwrap();
        let raw = m.decision_function(x.view()).unwrap();
        let coef = m.coef_unscaled();
        for i in 0..300 {
            assert!((e.base_value + e.contributions.row(i).sum() - raw[i]).abs() < 1e-12);
            for j in 0..3 {
                // per unit of the original feature, from the training mean
                assert!((e.contributions[[i, j]] - coef[j] * (x[[i, j]] - m.mean[j])).abs() < 1e-9);
            }
        }
    }
}
