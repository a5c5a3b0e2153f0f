//! The logistic fit's standardised design, built once per fit: column means
//! and scales, and the standardised rows of non-zero weight in blocks of
//! [`BLOCK`] rows stored column by column, so that every Newton pass reads
//! them contiguously (transposing and standardising the rows in every pass
//! took as long as the Hessian sums). It is one copy of the features, as
//! scikit-learn's `StandardScaler` makes.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::error::{DataError, Field, Result};

/// Rows per chunk: the unit of parallel work and of the presolve's subsample,
/// fixed so that results do not depend on the thread count.
pub(super) const CHUNK: usize = 4096;
/// Rows per block of the derivative passes.
pub(super) const BLOCK: usize = 64;
const BLOCKS_PER_CHUNK: usize = CHUNK / BLOCK;

/// A power of two near `1 / m` (1 for 0): multiplying by it is exact, and
/// brings `m` near 1.
fn pow2_inverse(m: f64) -> f64 {
    if m > 0.0 && m.is_finite() {
        2f64.powi(-(m.log2().floor() as i32).clamp(-1000, 1000))
    } else {
        1.0
    }
}

/// One block: `cols[a * BLOCK + r]` is standardised feature `a` of row `r`;
/// rows past the block's end have weight, label and features 0.
pub(super) struct Block<'a> {
    pub cols: &'a [f64],
    pub y: &'a [f64],
    pub w: &'a [f64],
}

/// Feature means and scales, and the standardised rows (see the module docs).
pub(super) struct Design {
    /// Column means (weighted).
    pub mean: Vec<f64>,
    /// Column standard deviations (weighted, ddof 0); 1 for constant columns.
    pub scale: Vec<f64>,
    p: usize,
    /// Blocks filled per chunk; chunk `ch` owns blocks
    /// `ch * BLOCKS_PER_CHUNK ..`.
    filled: Vec<usize>,
    cols: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
}

/// Row-major `x` cut into chunks of [`CHUNK`] rows.
fn row_chunks(x: &[f64], p: usize) -> rayon::slice::Chunks<'_, f64> {
    x.par_chunks(CHUNK * p)
}

impl Design {
    /// Standardises row-major `x` (`n x p`, finite) with weights `w`.
    ///
    /// Column mean and standard deviation are weighted (ddof 0); a column
    /// constant up to rounding gets scale 1 and standardised values 0, so it
    /// takes no part (its coefficient stays 0; with values near 1e308,
    /// `x - mean` of one ulp squared would overflow). Every column is summed
    /// multiplied by a power of two near the inverse of its largest
    /// magnitude, and the weights by one near theirs: such scaling is exact,
    /// so ordinary data gets the bits of the plain sums while columns or
    /// weights near `f64::MAX` do not overflow. A column whose values span
    /// more than the largest float (so that `x - mean` overflows) is an
    /// error. Partial sums are taken per chunk and added in chunk order.
    pub fn new(x: &[f64], p: usize, y: &[f64], w: &[f64]) -> Result<Design> {
        let bounds = row_chunks(x, p)
            .map(|rows| {
                let (mut lo, mut hi) = (vec![f64::INFINITY; p], vec![f64::NEG_INFINITY; p]);
                for row in rows.chunks_exact(p) {
                    for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                        // finite input: comparisons that vectorise
                        *l = if v < *l { v } else { *l };
                        *h = if v > *h { v } else { *h };
                    }
                }
                (lo, hi)
            })
            .reduce(
                || (vec![f64::INFINITY; p], vec![f64::NEG_INFINITY; p]),
                |(a_lo, a_hi), (b_lo, b_hi)| {
                    (
                        a_lo.iter().zip(&b_lo).map(|(a, b)| a.min(*b)).collect(),
                        a_hi.iter().zip(&b_hi).map(|(a, b)| a.max(*b)).collect(),
                    )
                },
            );
        let (lo, hi) = bounds;
        if let Some(j) = (0..p).find(|&j| !(hi[j] - lo[j]).is_finite()) {
            return Err(DataError::Invalid {
                field: Field::Feature(j),
                row: None,
                reason: format!(
                    "values span from {:e} to {:e}, wider than the largest float: rescale the column",
                    lo[j], hi[j]
                ),
            }
            .into());
        }
        let col: Vec<f64> = lo.iter().zip(&hi).map(|(l, h)| pow2_inverse(l.abs().max(h.abs()))).collect();
        let w_scale = pow2_inverse(w.iter().fold(0.0f64, |m, &v| m.max(v)));
        let sums: Vec<(f64, Vec<f64>)> = row_chunks(x, p)
            .zip(w.par_chunks(CHUNK))
            .map(|(rows, w)| {
                let (mut total, mut sum) = (0.0, vec![0.0; p]);
                for (row, &wi) in rows.chunks_exact(p).zip(w) {
                    let wi = wi * w_scale;
                    total += wi;
                    for ((s, v), c) in sum.iter_mut().zip(row).zip(&col) {
                        *s += wi * (v * c);
                    }
                }
                (total, sum)
            })
            .collect();
        let total: f64 = sums.iter().map(|(t, _)| t).sum();
        let mut mean = vec![0.0; p];
        for (_, sum) in &sums {
            mean.iter_mut().zip(sum).for_each(|(m, s)| *m += s);
        }
        mean.iter_mut().zip(&col).for_each(|(m, c)| *m = *m / total / c);

        // the rows of non-zero weight, centred, block by block; their spread
        let design = Design::centred(x, p, y, w, mean);
        let var_parts: Vec<Vec<f64>> = (0..design.chunks())
            .into_par_iter()
            .map(|ch| {
                // row by row, column by column: the additions of one pass over the rows
                let mut var = vec![0.0; p];
                for block in design.blocks(ch) {
                    for (r, &wi) in block.w.iter().enumerate().filter(|(_, &wi)| wi != 0.0) {
                        let wi_scaled = wi * w_scale;
                        for (a, (s, c)) in var.iter_mut().zip(&col).enumerate() {
                            let dc = block.cols[a * BLOCK + r] * c;
                            *s += wi_scaled * dc * dc;
                        }
                    }
                }
                var
            })
            .collect();
        let mut var = vec![0.0; p];
        for part in &var_parts {
            var.iter_mut().zip(part).for_each(|(v, s)| *v += s);
        }
        let sd: Vec<f64> = var.iter().zip(&col).map(|(&s, c)| (s / total).sqrt() / c).collect();
        // relative test: a column constant up to rounding is constant
        let varies: Vec<bool> =
            sd.iter().zip(&design.mean).map(|(&sd, m)| sd > 1e-12 * m.abs().max(1.0)).collect();
        let scale = sd.iter().zip(&varies).map(|(&sd, &v)| if v { sd } else { 1.0 }).collect();
        let factor: Vec<f64> =
            sd.iter().zip(&varies).map(|(&sd, &v)| if v { 1.0 / sd } else { 0.0 }).collect();
        Ok(design.scaled(scale, &factor))
    }

    /// The rows of non-zero weight, centred on `mean`, block by block (not
    /// yet scaled: `scale` is empty).
    fn centred(x: &[f64], p: usize, y: &[f64], w: &[f64], mean: Vec<f64>) -> Design {
        let chunks = w.len().div_ceil(CHUNK);
        let mut design = Design {
            mean,
            scale: Vec::new(),
            p,
            filled: vec![0; chunks],
            cols: vec![0.0; chunks * CHUNK * p],
            y: vec![0.0; chunks * CHUNK],
            w: vec![0.0; chunks * CHUNK],
        };
        let mean = &design.mean;
        design
            .cols
            .par_chunks_mut(CHUNK * p)
            .zip(design.y.par_chunks_mut(CHUNK))
            .zip(design.w.par_chunks_mut(CHUNK))
            .zip(design.filled.par_iter_mut())
            .zip(row_chunks(x, p).zip(y.par_chunks(CHUNK)).zip(w.par_chunks(CHUNK)))
            .for_each(|((((cols, yb), wb), filled), ((rows, y), w))| {
                let mut r = 0; // rows stored so far
                for ((row, &yi), &wi) in rows.chunks_exact(p).zip(y).zip(w) {
                    if wi == 0.0 {
                        continue; // adds nothing, and its features may lie far outside the weighted spread
                    }
                    let (block, at) = (r / BLOCK, r % BLOCK);
                    let dst = &mut cols[block * p * BLOCK..(block + 1) * p * BLOCK];
                    for (a, (v, m)) in row.iter().zip(mean).enumerate() {
                        dst[a * BLOCK + at] = v - m;
                    }
                    (yb[r], wb[r]) = (yi, wi);
                    r += 1;
                }
                *filled = r.div_ceil(BLOCK);
            });
        design
    }

    /// The centred design divided by `scale` (`factor = 1 / scale`, 0 for a
    /// constant column).
    fn scaled(mut self, scale: Vec<f64>, factor: &[f64]) -> Design {
        self.cols.par_chunks_mut(self.p * BLOCK).for_each(|block| {
            for (column, f) in block.chunks_exact_mut(BLOCK).zip(factor) {
                column.iter_mut().for_each(|v| *v *= f);
            }
        });
        self.scale = scale;
        self
    }

    /// Feature columns.
    pub fn p(&self) -> usize {
        self.p
    }

    /// Chunks of [`CHUNK`] rows.
    pub fn chunks(&self) -> usize {
        self.filled.len()
    }

    /// The blocks of chunk `ch`, in row order.
    pub fn blocks(&self, ch: usize) -> impl Iterator<Item = Block<'_>> {
        let first = ch * BLOCKS_PER_CHUNK;
        let p = self.p;
        (first..first + self.filled[ch]).map(move |b| Block {
            cols: &self.cols[b * p * BLOCK..(b + 1) * p * BLOCK],
            y: &self.y[b * BLOCK..(b + 1) * BLOCK],
            w: &self.w[b * BLOCK..(b + 1) * BLOCK],
        })
    }

    /// Total weight of chunk `ch`.
    pub fn chunk_weight(&self, ch: usize) -> f64 {
        self.blocks(ch).map(|b| b.w.iter().sum::<f64>()).sum()
    }
}

/// Standardises `x` (any layout) as [`Design::new`].
pub(super) fn design(x: &ArrayView2<'_, f64>, y: &[f64], w: &[f64]) -> Result<Design> {
    let x = x.as_standard_layout(); // no copy for C-contiguous input
    Design::new(x.as_slice().unwrap_or_default(), x.ncols(), y, w)
}

/// `x` (any layout) standardised with a given `mean` and `scale`
/// (`factor = 1 / scale`, 0 for a constant column): a batch of a fit from
/// sums, standardised as the merged passes say.
pub(super) fn standardised_design(
    x: &ArrayView2<'_, f64>,
    y: &[f64],
    w: &[f64],
    (mean, scale, factor): (Vec<f64>, Vec<f64>, &[f64]),
) -> Design {
    let x = x.as_standard_layout(); // no copy for C-contiguous input
    Design::centred(x.as_slice().unwrap_or_default(), x.ncols(), y, w, mean).scaled(scale, factor)
}
