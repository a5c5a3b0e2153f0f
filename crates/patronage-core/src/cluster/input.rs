//! Validation of a feature matrix, shared by fitting, prediction and metrics.

use ndarray::{ArrayView2, CowArray, Ix2};
use rayon::prelude::*;

use super::kernel::{block_rows, Points};
use crate::{DataError, Field, Result};

/// A validated, row-major feature matrix (borrowed when it already was one).
pub(crate) struct Matrix<'a> {
    data: CowArray<'a, f64, Ix2>,
}

impl<'a> Matrix<'a> {
    /// Checks that `x` has at least one column and only finite values
    /// (the first offending row and column are named).
    pub fn new(x: ArrayView2<'a, f64>) -> Result<Self> {
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
        let m = Matrix { data };
        m.check_finite()?;
        Ok(m)
    }

    pub fn points(&self) -> Points<'_> {
        let (n, d) = self.data.dim();
        Points {
            // as_standard_layout guarantees a contiguous slice
            x: self.data.as_slice().unwrap_or(&[]),
            n,
            d,
        }
    }

    fn check_finite(&self) -> Result<()> {
        let p = self.points();
        let br = block_rows(p.n) * p.d;
        // a branch-free test per block (it vectorises); the position only on failure
        let all_finite = |xb: &[f64]| xb.iter().fold(true, |ok, v| ok & v.is_finite());
        let bad = p.x.par_chunks(br).enumerate().find_map_first(|(b, xb)| {
            if all_finite(xb) {
                None
            } else {
                xb.iter().position(|v| !v.is_finite()).map(|i| b * br + i)
            }
        });
        match bad {
            Some(pos) => {
                Err(DataError::NonFinite { field: Field::Feature(pos % p.d), row: pos / p.d }.into())
            }
            None => Ok(()),
        }
    }
}
