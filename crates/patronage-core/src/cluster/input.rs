//! Validation of a feature matrix, shared by fitting, prediction and metrics.

use ndarray::{ArrayView2, CowArray, Ix2};
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use super::kernel::{block_rows, dispatch_d, Points};
use super::tile::MadeTiles;
use crate::{DataError, Field, Result};

/// Largest magnitude a feature value may have. k-means sums squared
/// differences: with every value within +/-1e100, a squared distance is at
/// most `d * 4e200` and the inertia at most `n * d * 4e200`, finite for any
/// matrix that fits in memory; larger values (1e200 rows gave an inertia of
/// inf) would make the inertia, the centres or the metrics inf or NaN.
pub const MAX_ABS_VALUE: f64 = 1e100;

/// The error for the value `v` at flat position `pos` of a `d`-column matrix
/// that fails the scan (non-finite, or beyond [`MAX_ABS_VALUE`]).
pub(crate) fn value_error(v: f64, pos: usize, d: usize) -> crate::Error {
    let (field, row) = (Field::Feature(pos % d), pos / d);
    if v.is_finite() {
        DataError::Invalid {
            field,
            row: Some(row),
            reason: format!(
                "is {v:e}, beyond +/-{MAX_ABS_VALUE:e}: k-means squares distances, which would overflow; \
                 rescale the column"
            ),
        }
        .into()
    } else {
        DataError::NonFinite { field, row }.into()
    }
}

/// Whether `v` may be clustered: finite and within [`MAX_ABS_VALUE`] (one compare, as `is_finite`).
#[inline(always)]
pub(crate) fn in_range(v: f64) -> bool {
    v.abs() <= MAX_ABS_VALUE
}

/// A validated, row-major feature matrix (borrowed when it already was one).
pub(crate) struct Matrix<'a> {
    data: CowArray<'a, f64, Ix2>,
    /// Made by [`Matrix::make_tiles`] (else none).
    tiles: MadeTiles,
}

impl<'a> Matrix<'a> {
    /// Checks that `x` has at least one column and only finite values within
    /// [`MAX_ABS_VALUE`] (the first offending row and column are named).
    pub fn new(x: ArrayView2<'a, f64>) -> Result<Self> {
        let m = Matrix::unchecked(x)?;
        m.scan(false)?;
        Ok(m)
    }

    /// [`Matrix::new`], and the mean per-feature variance (`np.var(X,
    /// axis=0).mean()`, what scikit-learn scales `tol` by) from the same pass.
    pub fn with_mean_variance(x: ArrayView2<'a, f64>) -> Result<(Self, f64)> {
        let m = Matrix::unchecked(x)?;
        let var = m.scan(true)?;
        Ok((m, var))
    }

    /// `x` row-major (borrowed when it already is), values not yet checked.
    fn unchecked(x: ArrayView2<'a, f64>) -> Result<Self> {
        if x.ncols() == 0 {
            return Err(DataError::Invalid {
                field: Field::Feature(0),
                row: None,
                reason: "X has no feature columns".into(),
            }
            .into());
        }
        let data = if x.is_standard_layout() {
            CowArray::from(x)
        } else {
            CowArray::from(x.as_standard_layout().into_owned())
        };
        Ok(Matrix { data, tiles: MadeTiles::default() })
    }

    /// Transposes the rows into tiles once, for a Lloyd fit (see [`MadeTiles`]).
    pub fn make_tiles(&mut self) {
        let (n, d) = self.data.dim();
        self.tiles = MadeTiles::new(self.data.as_slice().unwrap_or(&[]), n, d);
    }

    pub fn points(&self) -> Points<'_> {
        let (n, d) = self.data.dim();
        Points {
            // as_standard_layout guarantees a contiguous slice
            x: self.data.as_slice().unwrap_or(&[]),
            n,
            d,
            tiles: self.tiles.tiles(),
        }
    }

    /// One parallel pass: every value finite and within [`MAX_ABS_VALUE`]
    /// (else the first offending row and column), and with `stats` the mean
    /// per-feature variance (sums of deviations from the first row, so large
    /// offsets cancel exactly).
    fn scan(&self, stats: bool) -> Result<f64> {
        let p = self.points();
        let br = block_rows(p.n) * p.d;
        let shift = p.row(0);
        let arch = Arch::new();
        let blocks: Vec<ScanOut> =
            p.x.par_chunks(br).map(|xb| dispatch_d!(p.d, scan_block(arch, xb, shift, stats))).collect();
        if let Some(b) = blocks.iter().position(|o| !o.finite) {
            let xb = &p.x[b * br..((b + 1) * br).min(p.x.len())];
            let at = xb.iter().position(|&v| !in_range(v)).unwrap_or(0);
            return Err(value_error(xb[at], b * br + at, p.d));
        }
        if !stats {
            return Ok(0.0);
        }
        let (n, d) = (p.n as f64, p.d);
        let mut var = 0.0;
        for f in 0..d {
            let (s, q) = blocks.iter().fold((0.0, 0.0), |(s, q), o| (s + o.sum[f], q + o.sq[f]));
            var += (q - s * s / n).max(0.0) / n;
        }
        Ok(var / d as f64)
    }
}

/// One block's scan: all in range, per-feature sums of deviations and squares.
struct ScanOut {
    finite: bool,
    sum: Vec<f64>,
    sq: Vec<f64>,
}

fn scan_block<const D: usize>(arch: Arch, xb: &[f64], shift: &[f64], stats: bool) -> ScanOut {
    arch.dispatch(ScanBlock::<D> { xb, shift, stats })
}

struct ScanBlock<'a, const D: usize> {
    xb: &'a [f64],
    shift: &'a [f64],
    stats: bool,
}

impl<const D: usize> WithSimd for ScanBlock<'_, D> {
    type Output = ScanOut;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> ScanOut {
        let ScanBlock { xb, shift, stats } = self;
        let d = if D > 0 { D } else { shift.len() };
        let mut finite = true;
        for &v in xb {
            finite &= in_range(v);
        }
        let (mut sum, mut sq) = (vec![0.0; d], vec![0.0; d]);
        if stats && finite {
            for x in xb.chunks_exact(d) {
                for f in 0..d {
                    let t = x[f] - shift[f];
                    sum[f] += t;
                    sq[f] = t.mul_add(t, sq[f]);
                }
            }
        }
        ScanOut { finite, sum, sq }
    }
}
