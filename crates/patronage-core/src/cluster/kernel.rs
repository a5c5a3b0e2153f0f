//! The Lloyd iteration: assignment and centre sums fused in one pass over
//! fixed blocks of rows, each block writing its own partial sums, reduced in
//! block order. Block boundaries depend only on `n`, never on the thread
//! count, so results are bit-identical with 1 or 64 threads.

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

/// Squared distances from `x` to every centre; `ct` holds the centres
/// transposed (`d x k`) so the inner loop runs over centres and vectorises.
#[inline]
fn sq_dists(x: &[f64], ct: &[f64], out: &mut [f64]) {
    let k = out.len();
    out.fill(0.0);
    for (xd, row) in x.iter().zip(ct.chunks_exact(k)) {
        for (o, c) in out.iter_mut().zip(row) {
            let t = xd - c;
            *o += t * t;
        }
    }
}

/// Index of the smallest value (first on ties), the smallest and the second smallest.
#[inline]
fn argmin2(d: &[f64]) -> (usize, f64, f64) {
    let (mut best, mut d1, mut d2) = (0, f64::INFINITY, f64::INFINITY);
    for (j, &v) in d.iter().enumerate() {
        if v < d1 {
            d2 = d1;
            d1 = v;
            best = j;
        } else if v < d2 {
            d2 = v;
        }
    }
    (best, d1, d2)
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
        let mut c = Centres {
            k,
            d,
            rows,
            cols: vec![0.0; k * d],
        };
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
        Partials {
            k,
            d,
            buf: vec![0.0; pts.n_blocks() * Self::stride_of(k, d)],
        }
    }
    fn stride_of(k: usize, d: usize) -> usize {
        k * d + 2 * k + 2
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
            changed += b[kd + 2 * self.k];
            inertia += b[kd + 2 * self.k + 1];
        }
        (changed as usize, inertia)
    }
}

/// Splits one block's partial buffer into (sums, counts, scratch, tail).
fn split_block(
    b: &mut [f64],
    k: usize,
    d: usize,
) -> (&mut [f64], &mut [f64], &mut [f64], &mut [f64]) {
    let (sums, rest) = b.split_at_mut(k * d);
    let (counts, rest) = rest.split_at_mut(k);
    let (scratch, tail) = rest.split_at_mut(k);
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
    let (k, d, br) = (c.k, pts.d, pts.block_rows());
    let stride = part.stride();
    let blocks = pts
        .x
        .par_chunks(br * d)
        .zip(labels.par_chunks_mut(br))
        .zip(part.buf.par_chunks_mut(stride));
    let body =
        |xb: &[f64], lb: &mut [u32], pb: &mut [f64], mut ub: Option<(&mut [f64], &mut [f64])>| {
            let (sums, counts, scratch, tail) = split_block(pb, k, d);
            let (mut changed, mut inertia) = (0usize, 0.0);
            for (i, (x, l)) in xb.chunks_exact(d).zip(lb.iter_mut()).enumerate() {
                sq_dists(x, &c.cols, scratch);
                let (best, d1, d2) = argmin2(scratch);
                if *l != best as u32 {
                    changed += 1;
                    *l = best as u32;
                }
                inertia += d1;
                if accumulate {
                    for (s, v) in sums[best * d..(best + 1) * d].iter_mut().zip(x) {
                        *s += v;
                    }
                    counts[best] += 1.0;
                }
                if let Some((u, lo)) = ub.as_mut() {
                    u[i] = d1.sqrt();
                    lo[i] = d2.sqrt();
                }
            }
            tail[0] = changed as f64;
            tail[1] = inertia;
        };
    match bounds {
        None => blocks.for_each(|((xb, lb), pb)| body(xb, lb, pb, None)),
        Some(Bounds { upper, lower }) => blocks
            .zip(upper.par_chunks_mut(br))
            .zip(lower.par_chunks_mut(br))
            .for_each(|((((xb, lb), pb), ub), lob)| body(xb, lb, pb, Some((ub, lob)))),
    }
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
        Shifts {
            moved: vec![0.0; k],
            half_gap: vec![f64::INFINITY; k],
        }
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
    let (k, d, br) = (c.k, pts.d, pts.block_rows());
    let stride = part.stride();
    let (r, p1, p2) = shifts.top2();
    pts.x
        .par_chunks(br * d)
        .zip(labels.par_chunks_mut(br))
        .zip(upper.par_chunks_mut(br))
        .zip(lower.par_chunks_mut(br))
        .zip(part.buf.par_chunks_mut(stride))
        .for_each(|((((xb, lb), ub), lob), pb)| {
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
                sq_dists(x, &c.cols, scratch);
                let (best, d1, d2) = argmin2(scratch);
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
        });
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
    let dist: Vec<f64> = labels
        .par_iter()
        .enumerate()
        .map(|(i, &l)| sq_dist(pts.row(i), c.row(l as usize)))
        .collect();
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
