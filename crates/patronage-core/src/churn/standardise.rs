//! The logistic model's standardisation (column means and standard
//! deviations, weighted), as three passes whose per-batch results merge, so
//! that rows spread over machines standardise exactly as rows in memory:
//! [`DesignRanges`] (min/max per column, the weights' largest and total),
//! [`design_sums`] (weighted column sums) and [`design_spread`] (weighted
//! squared deviations about the merged means); [`Standardisation::from_passes`]
//! turns the merged passes into the model's `mean`, `scale` and factors.
//!
//! Every column is summed multiplied by a power of two near the inverse of
//! its largest magnitude, and the weights by one near theirs: such scaling is
//! exact, so ordinary data gets the bits of the plain sums while columns or
//! weights near `f64::MAX` do not overflow.

use ndarray::ArrayView2;

use crate::error::{DataError, Field, Result};

/// A power of two near `1 / m` (1 for 0): multiplying by it is exact, and
/// brings `m` near 1.
fn pow2_inverse(m: f64) -> f64 {
    if m > 0.0 && m.is_finite() {
        2f64.powi(-(m.log2().floor() as i32).clamp(-1000, 1000))
    } else {
        1.0
    }
}

/// The first pass over a batch of rows: per column the smallest and largest
/// value, and the weights' largest value, total and total over positive
/// labels. Batches combine with [`DesignRanges::merge`].
#[derive(Debug, Clone, PartialEq)]
pub struct DesignRanges {
    /// Smallest value per column (`+inf` for no rows).
    pub lo: Vec<f64>,
    /// Largest value per column (`-inf` for no rows).
    pub hi: Vec<f64>,
    /// Largest weight.
    pub max_weight: f64,
    /// `Σ w`.
    pub total_weight: f64,
    /// `Σ w y`.
    pub positive_weight: f64,
}

impl DesignRanges {
    /// The ranges of `x` (`n x p`), labels `y` and weights `w` (all validated).
    pub fn of(x: &ArrayView2<'_, f64>, y: &[f64], w: &[f64]) -> DesignRanges {
        let p = x.ncols();
        let (mut lo, mut hi) = (vec![f64::INFINITY; p], vec![f64::NEG_INFINITY; p]);
        for row in x.rows() {
            for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                *l = l.min(v);
                *h = h.max(v);
            }
        }
        DesignRanges {
            lo,
            hi,
            max_weight: w.iter().fold(0.0f64, |m, &v| m.max(v)),
            total_weight: w.iter().sum(),
            positive_weight: w.iter().zip(y).map(|(w, y)| w * y).sum(),
        }
    }

    /// The ranges of two batches together (same columns).
    pub fn merge(self, other: &DesignRanges) -> DesignRanges {
        let pick =
            |a: &[f64], b: &[f64], f: fn(f64, f64) -> f64| a.iter().zip(b).map(|(a, b)| f(*a, *b)).collect();
        DesignRanges {
            lo: pick(&self.lo, &other.lo, f64::min),
            hi: pick(&self.hi, &other.hi, f64::max),
            max_weight: self.max_weight.max(other.max_weight),
            total_weight: self.total_weight + other.total_weight,
            positive_weight: self.positive_weight + other.positive_weight,
        }
    }

    /// A column whose values span more than the largest float (so that
    /// `x - mean` overflows) is an error.
    pub fn check(&self) -> Result<()> {
        if let Some(j) = (0..self.lo.len()).find(|&j| !(self.hi[j] - self.lo[j]).is_finite()) {
            return Err(DataError::Invalid {
                field: Field::Feature(j),
                row: None,
                reason: format!(
                    "values span from {:e} to {:e}, wider than the largest float: rescale the column",
                    self.lo[j], self.hi[j]
                ),
            }
            .into());
        }
        Ok(())
    }

    /// The exact power-of-two factor each column is summed with.
    fn column_factors(&self) -> Vec<f64> {
        self.lo.iter().zip(&self.hi).map(|(l, h)| pow2_inverse(l.abs().max(h.abs()))).collect()
    }

    /// The exact power-of-two factor the weights are summed with.
    fn weight_factor(&self) -> f64 {
        pow2_inverse(self.max_weight)
    }
}

/// The second pass over a batch: `[Σ w', Σ w' x_1 c_1, ..., Σ w' x_p c_p]`
/// with the exact factors `w' = w s`, `c_j` of the merged `ranges`. Batches add.
pub fn design_sums(x: &ArrayView2<'_, f64>, w: &[f64], ranges: &DesignRanges) -> Vec<f64> {
    let (col, w_scale) = (ranges.column_factors(), ranges.weight_factor());
    let mut out = vec![0.0; x.ncols() + 1];
    out[0] = w.iter().map(|v| v * w_scale).sum();
    for (row, &wi) in x.rows().into_iter().zip(w) {
        let wi = wi * w_scale;
        for ((m, v), c) in out[1..].iter_mut().zip(row).zip(&col) {
            *m += wi * (v * c);
        }
    }
    out
}

/// The column means from the merged [`design_sums`].
fn design_means(sums: &[f64], ranges: &DesignRanges) -> Vec<f64> {
    sums[1..].iter().zip(ranges.column_factors()).map(|(m, c)| m / sums[0] / c).collect()
}

/// The third pass over a batch: `Σ w' (x_j c_j - mean_j c_j)²` per column,
/// about the means of the merged [`design_sums`] `sums`. Batches add.
pub fn design_spread(x: &ArrayView2<'_, f64>, w: &[f64], ranges: &DesignRanges, sums: &[f64]) -> Vec<f64> {
    let (col, w_scale) = (ranges.column_factors(), ranges.weight_factor());
    let mean = design_means(sums, ranges);
    let mut var = vec![0.0; x.ncols()];
    for (row, &wi) in x.rows().into_iter().zip(w) {
        let wi = wi * w_scale;
        for (((s, v), m), c) in var.iter_mut().zip(row).zip(&mean).zip(&col) {
            let d = v * c - m * c;
            *s += wi * d * d;
        }
    }
    var
}

/// Column means and standard deviations (ddof 0; a constant column gets 1),
/// and the factor the fit multiplies `x - mean` by: `1 / sd`, or 0 for a
/// constant column, which then takes no part (its coefficient stays 0; with
/// values near 1e308, `x - mean` of one ulp squared would overflow).
#[derive(Debug, Clone, PartialEq)]
pub struct Standardisation {
    /// Weighted column means.
    pub mean: Vec<f64>,
    /// Weighted standard deviations, 1 for constant columns.
    pub scale: Vec<f64>,
    /// `1 / scale`, 0 for constant columns.
    pub factor: Vec<f64>,
}

impl Standardisation {
    /// From the merged passes: `sums` of [`design_sums`] and `spread` of
    /// [`design_spread`] (about [`design_means`]).
    pub fn from_passes(ranges: &DesignRanges, sums: &[f64], spread: &[f64]) -> Standardisation {
        let mean = design_means(sums, ranges);
        let col = ranges.column_factors();
        let sd: Vec<f64> = spread.iter().zip(&col).map(|(&s, c)| (s / sums[0]).sqrt() / c).collect();
        // relative test: a column constant up to rounding is constant
        let varies: Vec<bool> = sd.iter().zip(&mean).map(|(&sd, m)| sd > 1e-12 * m.abs().max(1.0)).collect();
        let scale = sd.iter().zip(&varies).map(|(&sd, &v)| if v { sd } else { 1.0 }).collect();
        let factor = sd.iter().zip(&varies).map(|(&sd, &v)| if v { 1.0 / sd } else { 0.0 }).collect();
        Standardisation { mean, scale, factor }
    }
}
