//! The Lloyd iteration: assignment and centre sums fused in one pass over
//! fixed blocks of rows, each block writing its own partial sums, reduced in
//! block order. Block boundaries depend only on `n`, never on the thread
//! count, so results are bit-identical with 1 or 64 threads.
//!
//! The hot loops run inside `pulp`'s runtime dispatch (AVX2 + FMA where the
//! CPU has them, safe code). Distances use `f64::mul_add`, which is exactly
//! rounded with or without hardware FMA, so results do not depend on the CPU.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

/// Rows per block: at least 512, and at most 128 blocks (bounded partial-sum memory).
pub(crate) fn block_rows(n: usize) -> usize {
    n.div_ceil(128).max(512)
}

/// A row-major `n x d` matrix of points.
#[derive(Clone, Copy)]
pub(crate) struct Points<'a> {
    pub x: &'a [f64],
    pub n: usize,
    pub d: usize,
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
}

/// Squared Euclidean distance.
#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the closest centre (first on ties), its squared distance, and
/// the second smallest squared distance. `ct` holds the centres transposed
/// (`d x K`) so the inner loop runs over centres and vectorises; with `K` a
/// constant the accumulators live in registers and the minimum search is
/// branch-free.
#[inline(always)]
fn nearest_const<const K: usize>(x: &[f64], ct: &[f64], _scratch: &mut [f64]) -> (usize, f64, f64) {
    let mut acc = [0.0f64; K];
    for (f, &xf) in x.iter().enumerate() {
        let row = &ct[f * K..f * K + K];
        for j in 0..K {
            let t = xf - row[j];
            acc[j] = t.mul_add(t, acc[j]);
        }
    }
    argmin2(&acc)
}

/// [`nearest_const`] for any number of centres (uses `scratch`, length k).
#[inline]
fn nearest_dyn(x: &[f64], ct: &[f64], scratch: &mut [f64]) -> (usize, f64, f64) {
    let k = scratch.len();
    scratch.fill(0.0);
    for (xf, row) in x.iter().zip(ct.chunks_exact(k)) {
        for (o, c) in scratch.iter_mut().zip(row) {
            let t = xf - c;
            *o = t.mul_add(t, *o);
        }
    }
    argmin2(scratch)
}

/// Rows handled together by [`nearest_tile`] (one SIMD lane each).
pub(crate) const LANES: usize = 8;

/// The nearest centre of `LANES` rows at once: `xt` is the rows transposed
/// (`d x LANES`), `rows` the centres (`k x d`). Lanes are rows, so the
/// distance and the running minimum vectorise for any `k` and `d`. Returns
/// per row (closest index, smallest, second smallest squared distance);
/// ties go to the first centre.
#[inline(always)]
fn nearest_tile(xt: &[f64], rows: &[f64], d: usize) -> ([f64; LANES], [f64; LANES], [f64; LANES]) {
    let mut best = [0.0f64; LANES];
    let mut d1 = [f64::INFINITY; LANES];
    let mut d2 = [f64::INFINITY; LANES];
    for (j, c) in rows.chunks_exact(d).enumerate() {
        let mut acc = [0.0f64; LANES];
        for (cf, xs) in c.iter().zip(xt.chunks_exact(LANES)) {
            for l in 0..LANES {
                let t = xs[l] - cf;
                // one FMA: this runs inside pulp's AVX2+FMA dispatch
                acc[l] = t.mul_add(t, acc[l]);
            }
        }
        let jf = j as f64;
        for l in 0..LANES {
            let lower = acc[l] < d1[l];
            let second = if acc[l] < d2[l] { acc[l] } else { d2[l] };
            d2[l] = if lower { d1[l] } else { second };
            d1[l] = if lower { acc[l] } else { d1[l] };
            best[l] = if lower { jf } else { best[l] };
        }
    }
    (best, d1, d2)
}

/// Index of the smallest value (first on ties), the smallest and the second smallest.
#[inline(always)]
fn argmin2(d: &[f64]) -> (usize, f64, f64) {
    let (mut best, mut d1, mut d2) = (0, f64::INFINITY, f64::INFINITY);
    for (j, &v) in d.iter().enumerate() {
        let lower = v < d1;
        d2 = if lower {
            d1
        } else if v < d2 {
            v
        } else {
            d2
        };
        d1 = if lower { v } else { d1 };
        best = if lower { j } else { best };
    }
    (best, d1, d2)
}

/// The nearest centre with `K` centres known at compile time (`K = 0`: any number).
#[inline(always)]
fn nearest<const K: usize>(x: &[f64], ct: &[f64], scratch: &mut [f64]) -> (usize, f64, f64) {
    if K == 0 {
        nearest_dyn(x, ct, scratch)
    } else {
        nearest_const::<K>(x, ct, scratch)
    }
}

/// Calls `$f::<K>($args)` with `K = $k` for 2..=12 and 16 centres (kernels
/// specialised to a constant K), `K = 0` (the general kernel) otherwise.
macro_rules! dispatch_k {
    ($k:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $k {
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*),
            8 => $f::<8>($($arg),*),
            9 => $f::<9>($($arg),*),
            10 => $f::<10>($($arg),*),
            11 => $f::<11>($($arg),*),
            12 => $f::<12>($($arg),*),
            16 => $f::<16>($($arg),*),
            _ => $f::<0>($($arg),*),
        }
    };
}

/// Centres in both layouts the kernels need.
pub(crate) struct Centres {
    pub k: usize,
    pub d: usize,
    /// Row-major `k x d`.
    pub rows: Vec<f64>,
    /// Transposed `d x k`.
    pub cols: Vec<f64>,
}

impl Centres {
    pub fn new(rows: Vec<f64>, k: usize, d: usize) -> Self {
        let mut c = Centres { k, d, rows, cols: vec![0.0; k * d] };
        c.sync();
        c
    }
    /// Refreshes the transposed copy after `rows` changed.
    pub fn sync(&mut self) {
        for j in 0..self.k {
            for f in 0..self.d {
                self.cols[f * self.k + j] = self.rows[j * self.d + f];
            }
        }
    }
    pub fn row(&self, j: usize) -> &[f64] {
        &self.rows[j * self.d..(j + 1) * self.d]
    }
}

/// Per-block scratch and partial results, allocated once per fit.
///
/// Block layout: `k*d` sums, `k` counts, `k` distance scratch, then
/// `[changed, inertia]`.
pub(crate) struct Partials {
    k: usize,
    d: usize,
    buf: Vec<f64>,
}

impl Partials {
    pub fn new(pts: &Points, k: usize) -> Self {
        let d = pts.d;
        Partials { k, d, buf: vec![0.0; pts.n_blocks() * Self::stride_of(k, d)] }
    }
    fn stride_of(k: usize, d: usize) -> usize {
        k * d + k + scratch_len(k, d) + 2
    }
    fn stride(&self) -> usize {
        Self::stride_of(self.k, self.d)
    }
    /// Adds every block's sums and counts into `sums`/`counts` (block order)
    /// and returns (label changes, inertia).
    pub fn reduce_into(&self, sums: &mut [f64], counts: &mut [f64]) -> (usize, f64) {
        let kd = self.k * self.d;
        let (mut changed, mut inertia) = (0.0, 0.0);
        for b in self.buf.chunks_exact(self.stride()) {
            for (s, v) in sums.iter_mut().zip(&b[..kd]) {
                *s += v;
            }
            for (c, v) in counts.iter_mut().zip(&b[kd..kd + self.k]) {
                *c += v;
            }
            let t = b.len() - 2;
            changed += b[t];
            inertia += b[t + 1];
        }
        (changed as usize, inertia)
    }
}

/// Scratch per block: a transposed tile of `LANES` rows, or `k` distances.
fn scratch_len(k: usize, d: usize) -> usize {
    k.max(d * LANES)
}

/// Splits one block's partial buffer into (sums, counts, scratch, tail).
fn split_block(b: &mut [f64], k: usize, d: usize) -> (&mut [f64], &mut [f64], &mut [f64], &mut [f64]) {
    let (sums, rest) = b.split_at_mut(k * d);
    let (counts, rest) = rest.split_at_mut(k);
    let (scratch, tail) = rest.split_at_mut(scratch_len(k, d));
    sums.fill(0.0);
    counts.fill(0.0);
    tail.fill(0.0);
    (sums, counts, scratch, tail)
}

/// What a full pass also maintains.
pub(crate) struct Bounds<'a> {
    pub upper: &'a mut [f64],
    pub lower: &'a mut [f64],
}

/// One full assignment pass: every point against every centre. Writes labels,
/// and (when `accumulate`) each block's centre sums and counts; always the
/// block's label changes and inertia. With `bounds`, also sets Hamerly's
/// bounds (distance to the closest and second closest centre).
pub(crate) fn full_pass(
    pts: &Points,
    c: &Centres,
    labels: &mut [u32],
    part: &mut Partials,
    accumulate: bool,
    bounds: Option<Bounds>,
) {
    full_pass_with(pts, c, labels, part, accumulate, bounds)
}

#[inline(always)]
fn full_pass_with(
    pts: &Points,
    c: &Centres,
    labels: &mut [u32],
    part: &mut Partials,
    accumulate: bool,
    bounds: Option<Bounds>,
) {
    let (k, d, br) = (c.k, pts.d, pts.block_rows());
    let stride = part.stride();
    let arch = Arch::new();
    let ct = &c.rows[..];
    let blocks = pts.x.par_chunks(br * d).zip(labels.par_chunks_mut(br)).zip(part.buf.par_chunks_mut(stride));
    match bounds {
        None => blocks.for_each(|((xb, lb), pb)| {
            arch.dispatch(FullBlock { xb, lb, pb, ct, k, d, accumulate, bounds: None })
        }),
        Some(Bounds { upper, lower }) => blocks
            .zip(upper.par_chunks_mut(br))
            .zip(lower.par_chunks_mut(br))
            .for_each(|((((xb, lb), pb), ub), lob)| {
                arch.dispatch(FullBlock { xb, lb, pb, ct, k, d, accumulate, bounds: Some((ub, lob)) })
            }),
    }
}

/// One block of [`full_pass`]. pulp runs `with_simd` inside a function
/// compiled for the CPU's best instruction set (AVX2 + FMA here), and
/// everything below is inlined into it.
struct FullBlock<'a> {
    xb: &'a [f64],
    lb: &'a mut [u32],
    pb: &'a mut [f64],
    ct: &'a [f64],
    k: usize,
    d: usize,
    accumulate: bool,
    bounds: Option<(&'a mut [f64], &'a mut [f64])>,
}

impl WithSimd for FullBlock<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let FullBlock { xb, lb, pb, ct, k, d, accumulate, bounds } = self;
        full_block(xb, lb, pb, ct, k, d, accumulate, bounds)
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn full_block(
    xb: &[f64],
    lb: &mut [u32],
    pb: &mut [f64],
    rows: &[f64],
    k: usize,
    d: usize,
    accumulate: bool,
    mut bounds: Option<(&mut [f64], &mut [f64])>,
) {
    let (sums, counts, scratch, tail) = split_block(pb, k, d);
    let xt = &mut scratch[..d * LANES];
    let mut changed = 0usize;
    let mut inertia = [0.0f64; LANES]; // per lane: no serial chain of additions
    let n = lb.len();
    for start in (0..n).step_by(LANES) {
        let m = LANES.min(n - start);
        // transpose the tile; a short last tile repeats its last row
        for l in 0..LANES {
            let r = start + l.min(m - 1);
            for (f, v) in xb[r * d..(r + 1) * d].iter().enumerate() {
                xt[f * LANES + l] = *v;
            }
        }
        let (best, d1, d2) = nearest_tile(xt, rows, d);
        for l in 0..m {
            inertia[l] += d1[l];
        }
        for l in 0..m {
            let i = start + l;
            let b = best[l] as usize;
            changed += (lb[i] != b as u32) as usize;
            lb[i] = b as u32;
            if accumulate {
                let x = &xb[i * d..(i + 1) * d];
                for (s, v) in sums[b * d..(b + 1) * d].iter_mut().zip(x) {
                    *s += v;
                }
                counts[b] += 1.0;
            }
            if let Some((u, lo)) = bounds.as_mut() {
                u[i] = d1[l].sqrt();
                lo[i] = d2[l].sqrt();
            }
        }
    }
    tail[0] = changed as f64;
    tail[1] = inertia.iter().sum();
}

/// How far each centre moved in the last update, and what Hamerly needs from it.
pub(crate) struct Shifts {
    /// Distance each centre moved.
    pub moved: Vec<f64>,
    /// Half the distance from each centre to its nearest other centre.
    pub half_gap: Vec<f64>,
}

impl Shifts {
    pub fn new(k: usize) -> Self {
        Shifts { moved: vec![0.0; k], half_gap: vec![f64::INFINITY; k] }
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
    /// (index of the largest shift, largest, second largest).
    fn top2(&self) -> (usize, f64, f64) {
        let (mut r, mut p1, mut p2) = (0, 0.0, 0.0);
        for (j, &p) in self.moved.iter().enumerate() {
            if p > p1 {
                p2 = p1;
                p1 = p;
                r = j;
            } else if p > p2 {
                p2 = p;
            }
        }
        (r, p1, p2)
    }
}

/// One Hamerly pass. Bounds are first moved by the last centre shifts; a point
/// is only read when its upper bound exceeds `max(half gap, lower bound)`.
/// Blocks record the *changes* of centre sums and counts (moved points only).
pub(crate) fn hamerly_pass(
    pts: &Points,
    c: &Centres,
    shifts: &Shifts,
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    part: &mut Partials,
) {
    dispatch_k!(c.k, hamerly_pass_with(pts, c, shifts, labels, upper, lower, part))
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn hamerly_pass_with<const K: usize>(
    pts: &Points,
    c: &Centres,
    shifts: &Shifts,
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    part: &mut Partials,
) {
    let (d, br) = (pts.d, pts.block_rows());
    let stride = part.stride();
    let arch = Arch::new();
    pts.x
        .par_chunks(br * d)
        .zip(labels.par_chunks_mut(br))
        .zip(upper.par_chunks_mut(br))
        .zip(lower.par_chunks_mut(br))
        .zip(part.buf.par_chunks_mut(stride))
        .for_each(|((((xb, lb), ub), lob), pb)| {
            arch.dispatch(HamerlyBlock::<K> { xb, lb, ub, lob, pb, c, shifts })
        });
}

/// One block of [`hamerly_pass`], SIMD-dispatched like [`FullBlock`].
struct HamerlyBlock<'a, const K: usize> {
    xb: &'a [f64],
    lb: &'a mut [u32],
    ub: &'a mut [f64],
    lob: &'a mut [f64],
    pb: &'a mut [f64],
    c: &'a Centres,
    shifts: &'a Shifts,
}

impl<const K: usize> WithSimd for HamerlyBlock<'_, K> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let HamerlyBlock { xb, lb, ub, lob, pb, c, shifts } = self;
        hamerly_block::<K>(xb, lb, ub, lob, pb, c, shifts)
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn hamerly_block<const K: usize>(
    xb: &[f64],
    lb: &mut [u32],
    ub: &mut [f64],
    lob: &mut [f64],
    pb: &mut [f64],
    c: &Centres,
    shifts: &Shifts,
) {
    let (k, d) = (c.k, c.d);
    let (r, p1, p2) = shifts.top2();
    let (sums, counts, scratch, tail) = split_block(pb, k, d);
    let mut changed = 0usize;
    for (i, l) in lb.iter_mut().enumerate() {
        let a = *l as usize;
        let u = ub[i] + shifts.moved[a];
        let lo = lob[i] - if a == r { p2 } else { p1 };
        ub[i] = u;
        lob[i] = lo;
        let m = shifts.half_gap[a].max(lo);
        if u <= m {
            continue;
        }
        let x = &xb[i * d..(i + 1) * d];
        let da = sq_dist(x, c.row(a)).sqrt();
        ub[i] = da;
        if da <= m {
            continue;
        }
        let (best, d1, d2) = nearest::<K>(x, &c.cols, &mut scratch[..k]);
        if best != a {
            changed += 1;
            *l = best as u32;
            for f in 0..d {
                sums[a * d + f] -= x[f];
                sums[best * d + f] += x[f];
            }
            counts[a] -= 1.0;
            counts[best] += 1.0;
        }
        ub[i] = d1.sqrt();
        lob[i] = d2.sqrt();
    }
    tail[0] = changed as f64;
}

/// Labels (and total inertia) of every point against fixed centres.
pub(crate) fn assign(pts: &Points, c: &Centres, labels: &mut [u32], part: &mut Partials) -> f64 {
    full_pass(pts, c, labels, part, false, None);
    let mut no_sums = vec![];
    let mut no_counts = vec![];
    part.reduce_into(&mut no_sums, &mut no_counts).1
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
