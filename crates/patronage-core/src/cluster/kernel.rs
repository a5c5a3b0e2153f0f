//! The Lloyd iteration and Hamerly's bounds.
//!
//! Every pass walks fixed blocks of rows, each block writing its own partial
//! sums, reduced in block order. Block boundaries depend only on `n`, never
//! on the thread count, so results are bit-identical with 1 or 64 threads.
//!
//! Distances are computed for [`LANES`] rows at once (a tile, transposed so
//! that rows are SIMD lanes: see `tile`; a Lloyd fit with 2 to 7 features
//! makes them once and its passes read them), eight centres at a time (then four,
//! then one), the centres of a group stored feature by feature, with the
//! number of features a compile-time constant up to 8 (see `dispatch_d`).
//! With 8 or more features on AVX-512, the rows are read as they are and the
//! centres are the lanes instead (see `wide`), with the same results.
//! The hot loops run inside `pulp`'s runtime dispatch (AVX-512 or AVX2 + FMA where the CPU
//! has them, safe code). Every distance is the same sequence of fused
//! multiply-adds (exactly rounded with or without hardware FMA) and every sum
//! has a fixed order, so results do not depend on the CPU or its SIMD width.
//!
//! Hamerly's bounds are kept *lazily*: each point stores its upper bound
//! minus the total distance its centre had moved when the bound was set, and
//! its lower bound plus the total of the largest moves. A point whose bounds
//! still prove it keeps its centre is only read, never written: a skipped
//! point costs 20 bytes of reads and no arithmetic on its features.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

pub(crate) use super::tile::{load_tile, tile_rows, Cpu, Lane, Rows, TilePair, LANES};
use super::wide;

/// How many candidates ahead Hamerly's own-distance sweep prefetches a row.
const CANDIDATES_AHEAD: usize = 16;

/// Rows per block: at least 512, and at most 128 blocks (bounded partial-sum
/// memory); a whole number of tiles.
pub(crate) fn block_rows(n: usize) -> usize {
    n.div_ceil(128).max(512).next_multiple_of(LANES)
}

/// A row-major `n x d` matrix of points.
#[derive(Clone, Copy)]
pub(crate) struct Points<'a> {
    pub x: &'a [f64],
    pub n: usize,
    pub d: usize,
    /// The whole tiles of `x` when a fit made them (see [`MadeTiles`](super::tile::MadeTiles)), else empty.
    pub tiles: &'a [Lane],
}

impl<'a> Points<'a> {
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
    pub fn block_rows(&self) -> usize {
        block_rows(self.n)
    }
    pub fn n_blocks(&self) -> usize {
        self.n.div_ceil(self.block_rows())
    }
    /// The made tiles of block `b` (empty when there are none).
    pub fn block_tiles(&self, b: usize) -> &'a [Lane] {
        let per = self.block_rows() / LANES * self.d;
        let from = (b * per).min(self.tiles.len());
        &self.tiles[from..(from + per).min(self.tiles.len())]
    }
}

/// Squared Euclidean distance.
#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// [`sq_dist`] inside the SIMD-dispatched kernels: four running sums
/// (feature `f` goes to sum `f % 4`), so the fused multiply-adds do not wait
/// on each other, and the order of the additions, hence the result, is the
/// same whatever the SIMD width. No closure: a closure is compiled apart,
/// without the CPU's FMA.
#[inline(always)]
fn sq_dist_fma(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (qa, qb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (qa.remainder(), qb.remainder());
    for (x, y) in qa.zip(qb) {
        for q in 0..4 {
            let t = x[q] - y[q];
            acc[q] = t.mul_add(t, acc[q]);
        }
    }
    for (q, (x, y)) in ra.iter().zip(rb).enumerate() {
        let t = x - y;
        acc[q] = t.mul_add(t, acc[q]);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// The nearest centre of each row of a tile: index, smallest squared
/// distance, second smallest (when asked for).
pub(crate) struct Nearest {
    pub best: [u64; LANES],
    pub d1: Lane,
    pub d2: Lane,
}

/// [`Nearest`] for the rows of one SIMD vector.
#[derive(Clone, Copy)]
pub(crate) struct NearestV<S: Simd> {
    pub best: S::u64s,
    pub d1: S::f64s,
    pub d2: S::f64s,
}

impl<S: Simd> NearestV<S> {
    #[inline(always)]
    fn single(simd: S, j: usize, dist: S::f64s) -> Self {
        NearestV { best: simd.splat_u64s(j as u64), d1: dist, d2: simd.splat_f64s(f64::INFINITY) }
    }
    /// Merges `later` (centres after all of `self`'s) in: ties stay with the first centre.
    #[inline(always)]
    pub fn merge<const SECOND: bool>(self, simd: S, later: Self) -> Self {
        let lower = simd.less_than_f64s(later.d1, self.d1);
        let d2 = if SECOND {
            let x = simd.select_f64s(lower, self.d1, later.d1);
            let y = simd.select_f64s(lower, later.d2, self.d2);
            simd.min_f64s(x, y)
        } else {
            self.d2
        };
        NearestV {
            best: simd.select_u64s(lower, later.best, self.best),
            // vminpd gives `later` only when strictly smaller (never NaN
            // here): the select's value, without waiting on the compare
            d1: simd.min_f64s(later.d1, self.d1),
            d2,
        }
    }
}

/// Centres compared at once: eight (else four, else one) independent chains
/// of fused multiply-adds keep both FMA units busy through their latency, and
/// their minimum is merged as a tree.
pub(crate) const GROUP: usize = 8;
pub(crate) const HALF_GROUP: usize = GROUP / 2;

/// How many centres from centre `j` (of `k`) form the next group.
#[inline(always)]
pub(crate) fn group_len(k: usize, j: usize) -> usize {
    match k - j {
        left if left >= GROUP => GROUP,
        left if left >= HALF_GROUP => HALF_GROUP,
        _ => 1,
    }
}

/// Squared distances of the rows in SIMD vector `v` of the tile `xt` to the
/// `G` centres `cg` (`d x G`, feature by feature: see [`grouped`]).
#[inline(always)]
pub(crate) fn distances<S: Simd, const G: usize>(simd: S, xt: &[Lane], cg: &[f64], v: usize) -> [S::f64s; G] {
    let mut acc = [simd.splat_f64s(0.0); G];
    for (lane, c) in xt.iter().zip(cg.chunks_exact(G)) {
        let x = S::as_simd_f64s(lane).0[v];
        for (a, &cf) in acc.iter_mut().zip(c) {
            let t = simd.sub_f64s(x, simd.splat_f64s(cf));
            // fused on every path: pulp's `mul_add_e` is unfused on its scalar fallback
            *a = simd.mul_add_f64s(t, t, *a);
        }
    }
    acc
}

/// The nearest of centres `j..j + G` for SIMD vector `v` of the tile.
#[inline(always)]
fn group<S: Simd, const SECOND: bool, const G: usize>(
    simd: S,
    xt: &[Lane],
    cg: &[f64],
    j: usize,
    v: usize,
) -> NearestV<S> {
    let d = xt.len();
    nearest_of_group::<S, SECOND, G>(simd, distances::<S, G>(simd, xt, &cg[j * d..(j + G) * d], v), j)
}

/// The nearest of centres `j..j + G`, from their distances `acc`: a tree
/// of merges, neighbours first (ties stay with the lower index).
#[inline(always)]
pub(crate) fn nearest_of_group<S: Simd, const SECOND: bool, const G: usize>(
    simd: S,
    acc: [S::f64s; G],
    j: usize,
) -> NearestV<S> {
    let mut level = [NearestV::single(simd, j, acc[0]); G];
    for (g, &a) in acc.iter().enumerate().skip(1) {
        level[g] = NearestV::single(simd, j + g, a);
    }
    let mut width = G;
    while width > 1 {
        for i in 0..width / 2 {
            level[i] = level[2 * i].merge::<SECOND>(simd, level[2 * i + 1]);
        }
        width /= 2;
    }
    level[0]
}

/// The nearest centre of the tile's rows: `cg` holds the centres (`k x d`,
/// `d = xt.len()`, laid out by [`grouped`]); the second smallest distance
/// only when `SECOND`.
#[inline(always)]
pub(crate) fn nearest_tile<S: Simd, const SECOND: bool>(simd: S, xt: &[Lane], cg: &[f64]) -> Nearest {
    let d = xt.len();
    let k = cg.len() / d;
    let mut out = Nearest { best: [0; LANES], d1: [0.0; LANES], d2: [f64::INFINITY; LANES] };
    let best = S::as_mut_simd_u64s(&mut out.best).0;
    let d1 = S::as_mut_simd_f64s(&mut out.d1).0;
    let d2 = S::as_mut_simd_f64s(&mut out.d2).0;
    for v in 0..best.len() {
        let mut near = nearest_in_group::<S, SECOND>(simd, xt, cg, 0, v);
        let mut j = group_len(k, 0);
        while j < k {
            near = near.merge::<SECOND>(simd, nearest_in_group::<S, SECOND>(simd, xt, cg, j, v));
            j += group_len(k, j);
        }
        best[v] = near.best;
        d1[v] = near.d1;
        d2[v] = near.d2;
    }
    out
}

/// The nearest of the group of centres that starts at centre `j` (see [`group_len`]).
#[inline(always)]
fn nearest_in_group<S: Simd, const SECOND: bool>(
    simd: S,
    xt: &[Lane],
    cg: &[f64],
    j: usize,
    v: usize,
) -> NearestV<S> {
    match group_len(cg.len() / xt.len(), j) {
        GROUP => group::<S, SECOND, GROUP>(simd, xt, cg, j, v),
        HALF_GROUP => group::<S, SECOND, HALF_GROUP>(simd, xt, cg, j, v),
        _ => group::<S, SECOND, 1>(simd, xt, cg, j, v),
    }
}

/// Calls `$f::<D>($args)` with `D = $d` for 1..=MAX_CONST_D features (the
/// tile in registers), `D = 0` (any number, the tile in scratch) otherwise.
macro_rules! dispatch_d {
    ($d:expr, $f:ident::<$($g:tt),+>($($arg:expr),* $(,)?)) => {
        match $d {
            1 => $f::<1, $($g),+>($($arg),*),
            2 => $f::<2, $($g),+>($($arg),*),
            3 => $f::<3, $($g),+>($($arg),*),
            4 => $f::<4, $($g),+>($($arg),*),
            5 => $f::<5, $($g),+>($($arg),*),
            6 => $f::<6, $($g),+>($($arg),*),
            7 => $f::<7, $($g),+>($($arg),*),
            8 => $f::<8, $($g),+>($($arg),*),
            _ => $f::<0, $($g),+>($($arg),*),
        }
    };
    ($d:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $d {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*),
            8 => $f::<8>($($arg),*),
            _ => $f::<0>($($arg),*),
        }
    };
}
pub(crate) use dispatch_d;

/// Centres in the layout the kernels need.
pub(crate) struct Centres {
    pub k: usize,
    pub d: usize,
    /// Row-major `k x d`.
    rows: Vec<f64>,
    /// What [`distances`] reads: see [`grouped`].
    grouped: Vec<f64>,
    /// What the wide kernel reads ([`LANES`] or more features, else
    /// empty): see [`wide::layout`].
    wide: Vec<f64>,
}

impl Centres {
    pub fn new(rows: Vec<f64>, k: usize, d: usize) -> Self {
        let grouped = grouped(&rows, d);
        let mut c = Centres { k, d, rows, grouped, wide: Vec::new() };
        c.set_wide();
        c
    }
    pub fn row(&self, j: usize) -> &[f64] {
        &self.rows[j * self.d..(j + 1) * self.d]
    }
    pub fn into_rows(self) -> Vec<f64> {
        self.rows
    }
    /// Moves every centre to the mean of its points (`sums / counts`, both
    /// `k x d` / `k`); writes how far each moved and returns the total squared shift.
    pub fn update(&mut self, sums: &[f64], counts: &[f64], moved: &mut [f64]) -> f64 {
        let d = self.d;
        let mut shift_total = 0.0;
        for (j, row) in self.rows.chunks_exact_mut(d).enumerate() {
            let mut moved_sq = 0.0;
            for (v, s) in row.iter_mut().zip(&sums[j * d..(j + 1) * d]) {
                let new = s / counts[j];
                moved_sq += (new - *v) * (new - *v);
                *v = new;
            }
            moved[j] = moved_sq.sqrt();
            shift_total += moved_sq;
        }
        regroup(&self.rows, d, &mut self.grouped);
        self.set_wide();
        shift_total
    }
    fn set_wide(&mut self) {
        if self.d >= wide::MIN_FEATURES {
            wide::layout(&self.rows, self.k, self.d, &mut self.wide);
        }
    }
    /// The nearest centres of the tile `this`: by the wide kernel from the
    /// rows of `xb` when `tiles` has it, else from the transposed tile (and
    /// `tiles` loads `next`).
    #[inline(always)]
    fn nearest<S: Simd, const SECOND: bool>(
        &self,
        simd: S,
        tiles: &mut TilePair,
        xb: &[f64],
        this: &Rows,
        next: Option<&Rows>,
    ) -> Nearest {
        match tiles.wide {
            Some(w) => wide::nearest::<SECOND>(w, tiles.cpu, xb, this, &self.wide, self.k, self.d),
            None => nearest_tile::<S, SECOND>(simd, tiles.advance(xb, next), &self.grouped),
        }
    }
}

/// Centres `k x d` with each group of [`group_len`] centres stored feature
/// by feature (`[f][g]`, so [`distances`] reads one stream). Centre `j`'s
/// group still starts at `j * d`.
pub(crate) fn grouped(rows: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; rows.len()];
    regroup(rows, d, &mut out);
    out
}

fn regroup(rows: &[f64], d: usize, out: &mut [f64]) {
    let k = rows.len() / d.max(1);
    let mut j = 0;
    while j < k {
        let len = group_len(k, j);
        let (src, dst) = (&rows[j * d..(j + len) * d], &mut out[j * d..(j + len) * d]);
        for g in 0..len {
            for f in 0..d {
                dst[f * len + g] = src[g * d + f];
            }
        }
        j += len;
    }
}

/// Per-block partial results, allocated once per fit.
///
/// Block layout: `k` rows of sums (each `padded(d)` long), `k` counts (under
/// 8 features the counts are in the rows instead: see [`Tally`]), then
/// `[changed, inertia]`. Every block starts on a 64-byte line and each row of
/// sums fills whole lines: a point is added as whole vectors (see
/// [`BlockOut::add`]) that never split a line, so each add forwards from the
/// previous store instead of stalling. Each block also owns two tiles of
/// scratch, and (for Hamerly's passes, allocated on the first) room for a
/// list of its row numbers.
pub(crate) struct Partials {
    k: usize,
    d: usize,
    buf: Vec<f64>,
    scratch: Vec<Lane>,
    rows: Vec<u32>,
}

/// Row length of one cluster's sums: whole 64-byte lines.
fn padded(d: usize) -> usize {
    d.next_multiple_of(LANES)
}

impl Partials {
    pub fn new(pts: &Points, k: usize) -> Self {
        let d = pts.d;
        let blocks = pts.n_blocks();
        let stride = Self::stride_of(k, d);
        Partials {
            k,
            d,
            buf: vec![0.0; blocks * stride + LANES],
            scratch: vec![[0.0; LANES]; blocks * 2 * d.max(1)],
            rows: Vec::new(),
        }
    }
    fn stride_of(k: usize, d: usize) -> usize {
        (k * padded(d) + k + 2).next_multiple_of(LANES)
    }
    fn stride(&self) -> usize {
        Self::stride_of(self.k, self.d)
    }
    /// The blocks' part of `buf` (from its first 64-byte line).
    fn lines(&self) -> std::ops::Range<usize> {
        let start = self.buf.as_ptr().align_offset(64).min(LANES - 1);
        start..start + (self.buf.len() - LANES) / self.stride() * self.stride()
    }
    /// Adds every block's sums and counts into `sums`/`counts` (block order)
    /// and returns (label changes, inertia).
    pub fn reduce_into(&self, sums: &mut [f64], counts: &mut [f64]) -> (usize, f64) {
        let (k, d, dp) = (self.k, self.d, padded(self.d));
        let (mut changed, mut inertia) = (0.0, 0.0);
        for b in self.buf[self.lines()].chunks_exact(self.stride()) {
            for (s, v) in sums.chunks_exact_mut(d).zip(b[..k * dp].chunks_exact(dp)) {
                for (s, v) in s.iter_mut().zip(v) {
                    *s += v;
                }
            }
            if counts_in_rows(d) {
                for (c, row) in counts.iter_mut().zip(b[..k * dp].chunks_exact(dp)) {
                    *c += row[d];
                }
            } else {
                for (c, v) in counts.iter_mut().zip(&b[k * dp..k * dp + k]) {
                    *c += v;
                }
            }
            let t = k * dp + k;
            changed += b[t];
            inertia += b[t + 1];
        }
        (changed as usize, inertia)
    }
    /// The blocks' (partial buffer, tile scratch), for a parallel pass.
    fn blocks(&mut self) -> impl IndexedParallelIterator<Item = (&mut [f64], &mut [Lane])> {
        let (stride, d, lines) = (self.stride(), 2 * self.d.max(1), self.lines());
        self.buf[lines].par_chunks_mut(stride).zip(self.scratch.par_chunks_mut(d))
    }
    /// [`Partials::blocks`] with room for `br` row numbers each.
    #[allow(clippy::type_complexity)]
    fn blocks_with_rows(
        &mut self,
        n: usize,
        br: usize,
    ) -> impl IndexedParallelIterator<Item = ((&mut [f64], &mut [Lane]), &mut [u32])> {
        if self.rows.len() < n {
            self.rows = vec![0; n];
        }
        let (stride, d, lines) = (self.stride(), 2 * self.d.max(1), self.lines());
        let rows = &mut self.rows[..n];
        self.buf[lines]
            .par_chunks_mut(stride)
            .zip(self.scratch.par_chunks_mut(d))
            .zip(rows.par_chunks_mut(br))
    }
}

/// One block's partial results, zeroed.
struct BlockOut<'a> {
    sums: &'a mut [f64],
    counts: &'a mut [f64],
    tail: &'a mut [f64],
    dp: usize,
    tally: Option<Tally>,
}

/// Whether a block keeps each count in its row of sums (see [`Tally`]).
fn counts_in_rows(d: usize) -> bool {
    d < LANES
}

/// Under [`LANES`] features a row of sums is one line with room after the
/// features: the count is kept there, in lane `d`, so adding a row is one
/// vector operation and no separate count. A row `x` is added as
/// `x * keep + one` (exact: `x`, then `1`, then zeros).
struct Tally {
    keep: Lane,
    one: Lane,
}

impl<'a> BlockOut<'a> {
    fn new(b: &'a mut [f64], k: usize, d: usize) -> Self {
        b.fill(0.0);
        let dp = padded(d);
        let (sums, rest) = b.split_at_mut(k * dp);
        let (counts, tail) = rest.split_at_mut(k);
        let tally = counts_in_rows(d).then(|| Tally {
            keep: std::array::from_fn(|l| if l < d { 1.0 } else { 0.0 }),
            one: std::array::from_fn(|l| if l == d { 1.0 } else { 0.0 }),
        });
        BlockOut { sums, counts, tail, dp, tally }
    }
    /// Adds the `d`-feature row at the start of `rest` (the block's rows from
    /// it on) to cluster `j`. Where the block holds them, a whole padded row
    /// of values is added, as whole SIMD vectors (a few vector adds, not `d`
    /// scalar ones): from 8 features the values past the row land in the
    /// padding, which is never read; under 8, see [`Tally`].
    #[inline(always)]
    fn add<S: Simd>(&mut self, simd: S, j: usize, rest: &[f64], d: usize) {
        self.update::<S, true>(simd, j, rest, d);
    }
    /// Moves the row from cluster `from` to cluster `to` (a point that
    /// changed cluster, in passes that record changes: taken out, then added,
    /// each as [`BlockOut::add`]).
    #[inline(always)]
    fn move_row<S: Simd>(&mut self, simd: S, from: usize, to: usize, rest: &[f64], d: usize) {
        self.update::<S, false>(simd, from, rest, d);
        self.update::<S, true>(simd, to, rest, d);
    }
    #[inline(always)]
    fn update<S: Simd, const ADD: bool>(&mut self, simd: S, j: usize, rest: &[f64], d: usize) {
        let dp = self.dp;
        let sums = &mut self.sums[j * dp..(j + 1) * dp];
        let step = if ADD { 1.0 } else { -1.0 };
        let counted = match (rest.get(..dp), &self.tally) {
            (Some(x), Some(Tally { keep, one })) => {
                // one line: `dp == LANES`, a whole number of vectors
                let (x, keep, one) = (S::as_simd_f64s(x).0, S::as_simd_f64s(keep).0, S::as_simd_f64s(one).0);
                for (((s, &x), &keep), &one) in
                    S::as_mut_simd_f64s(sums).0.iter_mut().zip(x).zip(keep).zip(one)
                {
                    let x = simd.mul_add_e_f64s(x, keep, one);
                    *s = if ADD { simd.add_f64s(*s, x) } else { simd.sub_f64s(*s, x) };
                }
                true
            }
            (Some(x), None) => {
                // `dp` is a whole number of vectors, so there is no tail
                let (x, _) = S::as_simd_f64s(x);
                for (s, &x) in S::as_mut_simd_f64s(sums).0.iter_mut().zip(x) {
                    *s = if ADD { simd.add_f64s(*s, x) } else { simd.sub_f64s(*s, x) };
                }
                false
            }
            (None, tally) => {
                for (s, v) in sums.iter_mut().zip(&rest[..d]) {
                    *s = if ADD { *s + v } else { *s - v };
                }
                if tally.is_some() {
                    sums[d] += step;
                }
                tally.is_some()
            }
        };
        if !counted {
            self.counts[j] += step;
        }
    }
}

/// How far the centres have moved: what Hamerly's lazy bounds need.
pub(crate) struct Drift {
    /// Distance each centre moved in the last update.
    pub moved: Vec<f64>,
    /// Total distance each centre has moved since the bounds were started.
    pub total: Vec<f64>,
    /// Sum over updates of the largest move.
    pub max_total: f64,
    /// Half the distance from each centre to its nearest other centre.
    pub half_gap: Vec<f64>,
}

impl Drift {
    pub fn new(k: usize) -> Self {
        Drift { moved: vec![0.0; k], total: vec![0.0; k], max_total: 0.0, half_gap: vec![f64::INFINITY; k] }
    }
    /// Back to no movement (the bounds are set afresh by a full pass).
    pub fn reset(&mut self) {
        self.total.fill(0.0);
        self.max_total = 0.0;
    }
    /// Records the moves of the last update.
    pub fn record(&mut self) {
        let mut largest = 0.0f64;
        for (t, &m) in self.total.iter_mut().zip(&self.moved) {
            *t += m;
            largest = largest.max(m);
        }
        self.max_total += largest;
    }
    /// Recomputes the half gaps for the current centres.
    pub fn set_gaps(&mut self, c: &Centres) {
        for j in 0..c.k {
            let mut m = f64::INFINITY;
            for o in 0..c.k {
                if o != j {
                    m = m.min(sq_dist(c.row(j), c.row(o)));
                }
            }
            self.half_gap[j] = 0.5 * m.sqrt();
        }
    }
}

/// Lazily stored bounds (see the module docs): `upper[i] + total[label]` is
/// at least the distance to the point's centre, `lower[i] - max_total` at
/// most the distance to any other centre.
pub(crate) struct Bounds<'a> {
    pub upper: &'a mut [f64],
    pub lower: &'a mut [f64],
}

/// A skip must hold with this relative margin, so rounding in the lazily
/// moved bounds can never skip a point that exact Lloyd would move.
const SLACK: f64 = 1.0 + 1e-10;

/// What a full pass writes besides labels, changes and inertia.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FullMode {
    /// Nothing else (prediction).
    Assign,
    /// Each block's centre sums and counts (a Lloyd iteration).
    Accumulate,
    /// Sums and counts, and fresh Hamerly bounds (the first Hamerly iteration).
    AccumulateBounds,
    /// The *changes* of sums and counts: only the points that change cluster
    /// are taken out of the old one and added to the new (a Lloyd iteration
    /// after the first, whose labels are all set). Late in a fit few points
    /// move, so this skips most of the adding that [`FullMode::Accumulate`] does.
    /// No inertia (the blocks write 0): the iterations do not use it.
    AccumulateChanges,
}

/// One full assignment pass: every point against every centre. Writes labels
/// and each block's label changes and inertia, plus what `mode` asks for.
pub(crate) fn full_pass(
    pts: &Points,
    c: &Centres,
    labels: &mut [u32],
    part: &mut Partials,
    mode: FullMode,
    bounds: Option<Bounds>,
) {
    // const flags: accumulate, fresh Hamerly bounds, changes only
    match mode {
        FullMode::Assign => {
            dispatch_d!(pts.d, full_pass_with::<false, false, false>(pts, c, labels, part, bounds))
        }
        FullMode::Accumulate => {
            dispatch_d!(pts.d, full_pass_with::<true, false, false>(pts, c, labels, part, bounds))
        }
        FullMode::AccumulateBounds => {
            dispatch_d!(pts.d, full_pass_with::<true, true, false>(pts, c, labels, part, bounds))
        }
        FullMode::AccumulateChanges => {
            dispatch_d!(pts.d, full_pass_with::<true, false, true>(pts, c, labels, part, bounds))
        }
    }
}

fn full_pass_with<const D: usize, const ACC: bool, const BOUNDS: bool, const CHANGES: bool>(
    pts: &Points,
    c: &Centres,
    labels: &mut [u32],
    part: &mut Partials,
    bounds: Option<Bounds>,
) {
    let (d, br) = (pts.d, pts.block_rows());
    let arch = Arch::new();
    let blocks = pts.x.par_chunks(br * d).zip(labels.par_chunks_mut(br)).zip(part.blocks());
    match bounds.filter(|_| BOUNDS) {
        None => blocks.enumerate().for_each(|(b, ((xb, lb), (pb, scratch)))| {
            let tb = pts.block_tiles(b);
            arch.dispatch(FullBlock::<D, ACC, false, CHANGES> { xb, tb, lb, pb, scratch, c, bounds: None })
        }),
        Some(Bounds { upper, lower }) => blocks
            .zip(upper.par_chunks_mut(br))
            .zip(lower.par_chunks_mut(br))
            .for_each(|((((xb, lb), (pb, scratch)), ub), lob)| {
                let bounds = Some((ub, lob));
                arch.dispatch(FullBlock::<D, ACC, BOUNDS, false> { xb, tb: &[], lb, pb, scratch, c, bounds })
            }),
    }
}

/// One block of [`full_pass`]. pulp runs `with_simd` inside a function
/// compiled for the CPU's best instruction set, and everything below is
/// inlined into it.
struct FullBlock<'a, const D: usize, const ACC: bool, const BOUNDS: bool, const CHANGES: bool> {
    xb: &'a [f64],
    /// The block's made tiles, or empty.
    tb: &'a [Lane],
    lb: &'a mut [u32],
    pb: &'a mut [f64],
    scratch: &'a mut [Lane],
    c: &'a Centres,
    bounds: Option<(&'a mut [f64], &'a mut [f64])>,
}

impl<const D: usize, const ACC: bool, const BOUNDS: bool, const CHANGES: bool> WithSimd
    for FullBlock<'_, D, ACC, BOUNDS, CHANGES>
{
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let FullBlock { xb, tb, lb, pb, scratch, c, mut bounds } = self;
        let (k, d) = (c.k, if D > 0 { D } else { c.d });
        let mut out = BlockOut::new(pb, k, d);
        let cpu = Cpu::detect();
        let mut changed = [0u64; LANES]; // per lane, as the inertia
        let mut inertia = [0.0f64; LANES]; // per lane: no serial chain of additions
        let n = lb.len();
        // the changes pass takes its whole tiles in batches (see
        // `move_changed_rows`); only a short last tile is left to the loop below
        let first = if CHANGES { n / LANES * LANES } else { 0 };
        if CHANGES {
            let (xw, lw) = (&xb[..first * d], &mut lb[..first]);
            let sc = &mut scratch[..d];
            changed[0] += match tb.is_empty() {
                true => move_changed_rows::<S, D, false>(simd, cpu, xw, tb, lw, sc, c, &mut out),
                false => move_changed_rows::<S, D, true>(simd, cpu, xw, tb, lw, sc, c, &mut out),
            };
        }
        let mut local = [[[0.0f64; LANES]; D]; 2];
        // not when adding: the adds read the rows, and reading the tiles as well costs more
        let made = if ACC { &[][..] } else { tb };
        let mut tiles = TilePair::new(&mut local, scratch, d, cpu.wide(d), made);
        if first < n {
            tiles.start(xb, &tile_rows(first, LANES.min(n - first)));
        }
        for start in (first..n).step_by(LANES) {
            let m = LANES.min(n - start);
            let next = (start + LANES < n).then(|| tile_rows(start + LANES, LANES.min(n - start - LANES)));
            let this = tile_rows(start, m);
            let Nearest { best, mut d1, d2 } =
                c.nearest::<S, BOUNDS>(simd, &mut tiles, xb, &this, next.as_ref());
            if CHANGES {
                // the short last tile: a bit per row that changes cluster.
                // No inertia: these passes do not report it
                let lt = &mut lb[start..start + m];
                let old: [u32; LANES] = match lt.try_into() {
                    Ok(whole) => whole,
                    Err(_) => std::array::from_fn(|l| lt[l.min(m - 1)]),
                };
                let mut moved = cpu.differ(&old, &best) & ((1u32 << m) - 1);
                changed[0] += moved.count_ones() as u64;
                while moved != 0 {
                    let l = moved.trailing_zeros() as usize;
                    moved &= moved - 1;
                    out.move_row(simd, lt[l] as usize, best[l] as usize, &xb[(start + l) * d..], d);
                    lt[l] = best[l] as u32;
                }
                continue;
            }
            // every lane is added (a vector add, not a loop of `m`): the lanes
            // past a short tile's rows count zero
            d1[m..].fill(0.0);
            for (t, &v) in inertia.iter_mut().zip(&d1) {
                *t += v;
            }
            // labels first, then sums, then bounds: three short loops the
            // compiler vectorises or keeps in registers (one loop doing all
            // three ran about 10% slower at 1M x 3)
            for ((label, &b), c) in lb[start..start + m].iter_mut().zip(&best).zip(&mut changed) {
                *c += (*label != b as u32) as u64;
                *label = b as u32;
            }
            if ACC {
                let rest = &xb[start * d..];
                for (l, &b) in best[..m].iter().enumerate() {
                    out.add(simd, b as usize, &rest[l * d..], d);
                }
            }
            if let Some((u, lo)) = bounds.as_mut() {
                // fresh bounds: no drift yet (the caller resets it)
                for l in 0..m {
                    u[start + l] = d1[l].sqrt();
                    lo[start + l] = d2[l].sqrt();
                }
            }
        }
        out.tail[0] = changed.iter().sum::<u64>() as f64;
        out.tail[1] = inertia.iter().sum();
    }
}

/// Tiles whose moves are made together in [`move_changed_rows`] (a bit per
/// row of the batch in a `u128`).
const MOVE_BATCH: usize = 16;
const _: () = assert!(MOVE_BATCH * LANES <= u128::BITS as usize);

/// The changes pass over whole tiles (`lb.len()` is a multiple of
/// [`LANES`]): labels are rewritten, and each row that changes cluster is
/// moved in the block's sums; returns how many did. With `MADE`, the tiles
/// are read from `made` (a moved row is then read back from its tile, so the
/// pass never touches `xb`), else loaded from `xb`; a const flag, so the
/// choice is not made again in every tile.
///
/// Why batches: a branch on a tile's label compare is resolved only at the
/// end of the tile's chain of dependent work, and when it is mispredicted
/// (a tile with or without changes is a coin toss early in a fit) the work
/// already started on the next tiles is thrown away. Writing every label and
/// keeping a bit per changed row, then making the moves once per
/// [`MOVE_BATCH`] tiles, costs one such branch per batch instead of up to
/// two per tile.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn move_changed_rows<S: Simd, const D: usize, const MADE: bool>(
    simd: S,
    cpu: Cpu,
    xb: &[f64],
    made: &[Lane],
    lb: &mut [u32],
    scratch: &mut [Lane],
    c: &Centres,
    out: &mut BlockOut,
) -> u64 {
    const BATCH_ROWS: usize = MOVE_BATCH * LANES;
    let d = if D > 0 { D } else { scratch.len() }; // (a constant: no wide kernel under 8 features)
    let wide = cpu.wide(d);
    let mut local = [[0.0f64; LANES]; D];
    let loaded: &mut [Lane] = if D > 0 { &mut local } else { scratch };
    let mut changed = 0;
    for (g, (xg, lg)) in xb.chunks(BATCH_ROWS * d).zip(lb.chunks_mut(BATCH_ROWS)).enumerate() {
        let tg = MADE.then(|| &made[g * MOVE_BATCH * d..]);
        let mut old = [0u32; BATCH_ROWS];
        let mut moved = 0u128; // a bit per row of the batch
        for (t, (lt, old)) in lg.chunks_exact_mut(LANES).zip(old.chunks_exact_mut(LANES)).enumerate() {
            let rows = Rows::From(t * LANES);
            // one tile buffer, not `TilePair`'s two: at 3 features, 1.49 ms
            // per Lloyd iteration at 1M rows against 1.79
            let best = match (wide, tg) {
                (Some(w), _) => wide::nearest::<false>(w, cpu, xg, &rows, &c.wide, c.k, d).best,
                (None, Some(tg)) => nearest_tile::<S, false>(simd, &tg[t * d..(t + 1) * d], &c.grouped).best,
                (None, None) => {
                    load_tile(cpu, loaded, xg, &rows);
                    nearest_tile::<S, false>(simd, loaded, &c.grouped).best
                }
            };
            let lt: &mut [u32; LANES] = lt.try_into().expect("a whole tile");
            old.copy_from_slice(lt);
            moved |= (cpu.differ(lt, &best) as u128) << (t * LANES);
            cpu.store_labels(lt, &best);
        }
        changed += moved.count_ones() as u64;
        while moved != 0 {
            let l = moved.trailing_zeros() as usize;
            moved &= moved - 1;
            let (from, to) = (old[l] as usize, lg[l] as usize);
            match tg {
                Some(tg) => {
                    // the row, padded to one vector as `move_row` reads it
                    let tile = &tg[l / LANES * d..(l / LANES + 1) * d];
                    let mut row = [0.0f64; LANES];
                    for (v, lane) in row.iter_mut().zip(tile) {
                        *v = lane[l % LANES];
                    }
                    out.move_row(simd, from, to, &row, d);
                }
                None => out.move_row(simd, from, to, &xg[l * d..], d),
            }
        }
    }
    changed
}

/// One Hamerly pass. A point is only read when its lazily moved upper bound
/// exceeds `max(half gap, lower bound)`; then its distance to its own centre
/// tightens the upper bound, and only if that still fails are all centres
/// compared (in tiles of the failing points). Blocks record the *changes* of
/// centre sums and counts (moved points only).
///
/// With `FINAL`, every point's exact distance to its (final) centre is
/// computed, so the blocks' inertia is exact; sums are not recorded.
pub(crate) fn hamerly_pass<const FINAL: bool>(
    pts: &Points,
    c: &Centres,
    drift: &Drift,
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    part: &mut Partials,
) {
    dispatch_d!(pts.d, hamerly_pass_with::<FINAL>(pts, c, drift, labels, upper, lower, part))
}

fn hamerly_pass_with<const D: usize, const FINAL: bool>(
    pts: &Points,
    c: &Centres,
    drift: &Drift,
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    part: &mut Partials,
) {
    let (d, br) = (pts.d, pts.block_rows());
    let arch = Arch::new();
    pts.x
        .par_chunks(br * d)
        .zip(labels.par_chunks_mut(br))
        .zip(upper.par_chunks_mut(br))
        .zip(lower.par_chunks_mut(br))
        .zip(part.blocks_with_rows(pts.n, br))
        .for_each(|((((xb, lb), ub), lob), ((pb, scratch), cand))| {
            arch.dispatch(HamerlyBlock::<D, FINAL> { xb, lb, ub, lob, pb, scratch, cand, c, drift })
        });
}

/// One block of [`hamerly_pass`], SIMD-dispatched like [`FullBlock`].
struct HamerlyBlock<'a, const D: usize, const FINAL: bool> {
    xb: &'a [f64],
    lb: &'a mut [u32],
    ub: &'a mut [f64],
    lob: &'a mut [f64],
    pb: &'a mut [f64],
    scratch: &'a mut [Lane],
    cand: &'a mut [u32],
    c: &'a Centres,
    drift: &'a Drift,
}

impl<const D: usize, const FINAL: bool> WithSimd for HamerlyBlock<'_, D, FINAL> {
    type Output = ();

    /// Three branch-free sweeps: the bound test over every point, the own
    /// distance over the points that failed it, then every centre for those
    /// that still fail, a tile at a time (compacted index lists in between).
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let HamerlyBlock { xb, lb, ub, lob, pb, scratch, cand, c, drift } = self;
        let (k, d, n) = (c.k, if D > 0 { D } else { c.d }, lb.len());
        let mut out = BlockOut::new(pb, k, d);
        let (total, half_gap, max_total) = (&drift.total[..], &drift.half_gap[..], drift.max_total);
        let mut n_cand = 0;
        for i in 0..n {
            let a = lb[i] as usize;
            let bound = half_gap[a].max(lob[i] - max_total);
            cand[n_cand] = i as u32;
            n_cand += (FINAL || (ub[i] + total[a]) * SLACK > bound) as usize;
        }
        let mut inertia = 0.0;
        let mut n_far = 0;
        let cpu = Cpu::detect();
        for q in 0..n_cand {
            // the candidates are scattered: hint the row a few candidates on
            if let Some(&ahead) = cand[..n_cand].get(q + CANDIDATES_AHEAD) {
                cpu.prefetch(xb, ahead as usize * d, d);
            }
            let i = cand[q] as usize;
            let a = lb[i] as usize;
            let own = sq_dist_fma(&xb[i * d..(i + 1) * d], c.row(a));
            let u = own.sqrt();
            ub[i] = u - total[a];
            let far = u * SLACK > half_gap[a].max(lob[i] - max_total);
            inertia += if far { 0.0 } else { own };
            cand[n_far] = i as u32;
            n_far += far as usize;
        }
        let mut local = [[[0.0f64; LANES]; D]; 2];
        let mut tiles = TilePair::new(&mut local, scratch, d, cpu.wide(d), &[]);
        let far = &cand[..n_far];
        #[inline(always)]
        fn tile(far: &[u32], start: usize) -> [usize; LANES] {
            let m = LANES.min(far.len() - start);
            let mut rows = [0; LANES];
            for (l, r) in rows.iter_mut().enumerate() {
                *r = far[start + l.min(m - 1)] as usize;
            }
            rows
        }
        let mut changed = 0usize;
        if n_far > 0 {
            tiles.start(xb, &Rows::Listed(tile(far, 0)));
        }
        for start in (0..n_far).step_by(LANES) {
            let rows = tile(far, start);
            let next = (start + LANES < n_far).then(|| Rows::Listed(tile(far, start + LANES)));
            let Nearest { best, d1, d2 } =
                c.nearest::<S, true>(simd, &mut tiles, xb, &Rows::Listed(rows), next.as_ref());
            for l in 0..LANES.min(n_far - start) {
                let i = rows[l];
                let (a, b) = (lb[i] as usize, best[l] as usize);
                if b != a && !FINAL {
                    out.move_row(simd, a, b, &xb[i * d..], d);
                    changed += 1;
                }
                lb[i] = b as u32;
                ub[i] = d1[l].sqrt() - total[b];
                lob[i] = d2[l].sqrt() + max_total;
                inertia += d1[l];
            }
        }
        out.tail[0] = changed as f64;
        out.tail[1] = inertia;
    }
}

/// Sum of squared distances of every point to its labelled centre.
pub(crate) fn inertia_pass(pts: &Points, c: &Centres, labels: &[u32]) -> f64 {
    let (d, br) = (pts.d, pts.block_rows());
    let arch = Arch::new();
    let parts: Vec<f64> = pts
        .x
        .par_chunks(br * d)
        .zip(labels.par_chunks(br))
        .map(|(xb, lb)| arch.dispatch(InertiaBlock { xb, lb, c }))
        .collect();
    parts.iter().sum()
}

/// One block of [`inertia_pass`].
struct InertiaBlock<'a> {
    xb: &'a [f64],
    lb: &'a [u32],
    c: &'a Centres,
}

impl WithSimd for InertiaBlock<'_> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> f64 {
        let InertiaBlock { xb, lb, c } = self;
        let mut total = 0.0;
        for (x, &l) in xb.chunks_exact(c.d).zip(lb) {
            total += sq_dist_fma(x, c.row(l as usize));
        }
        total
    }
}

/// Labels (and total inertia) of every point against fixed centres.
pub(crate) fn assign(pts: &Points, c: &Centres, labels: &mut [u32], part: &mut Partials) -> f64 {
    full_pass(pts, c, labels, part, FullMode::Assign, None);
    let mut no_sums = vec![];
    let mut no_counts = vec![];
    part.reduce_into(&mut no_sums, &mut no_counts).1
}

/// How many of `labels` (each below `k`) name each cluster, counted in
/// parallel over blocks of `block` labels (whole counts, so exact in any order).
pub(crate) fn label_counts(labels: &[u32], k: usize, block: usize) -> Vec<f64> {
    let per_block: Vec<Vec<u64>> = labels
        .par_chunks(block.max(1))
        .map(|lb| {
            // four tallies taken in turn: runs of one label do not make each
            // increment wait for the last
            let mut counts = vec![0u64; 4 * k];
            for (i, &l) in lb.iter().enumerate() {
                counts[(i % 4) * k + l as usize] += 1;
            }
            counts
        })
        .collect();
    (0..k).map(|j| per_block.iter().flat_map(|c| c.iter().skip(j).step_by(k)).sum::<u64>() as f64).collect()
}

/// Gives every empty cluster the point farthest from its centre (scikit-learn's
/// rule), taking points only from clusters that keep at least one member.
/// Updates labels, sums and counts; returns the moved rows. Rare, so it may allocate.
pub(crate) fn relocate_empty(
    pts: &Points,
    c: &Centres,
    labels: &mut [u32],
    sums: &mut [f64],
    counts: &mut [f64],
) -> Vec<usize> {
    let d = pts.d;
    let dist: Vec<f64> =
        labels.par_iter().enumerate().map(|(i, &l)| sq_dist(pts.row(i), c.row(l as usize))).collect();
    let mut order: Vec<usize> = (0..pts.n).collect();
    order.par_sort_unstable_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    let mut moved = Vec::new();
    let mut candidates = order.into_iter();
    for j in 0..c.k {
        if counts[j] > 0.0 {
            continue;
        }
        for i in candidates.by_ref() {
            let old = labels[i] as usize;
            if counts[old] > 1.0 {
                let x = pts.row(i);
                for f in 0..d {
                    sums[old * d + f] -= x[f];
                    sums[j * d + f] = x[f];
                }
                counts[old] -= 1.0;
                counts[j] = 1.0;
                labels[i] = j as u32;
                moved.push(i);
                break;
            }
        }
    }
    moved
}
