//! Shared checks of model inputs: feature matrices, labels and weights.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::error::{DataError, Field, Result};

/// Most total sample weight: gradient-boosting gains square sums of weighted
/// gradients and the logistic Hessian sums weight times squared features, so
/// totals far beyond any real data (1e308 per row) would overflow to inf/NaN.
pub const MAX_TOTAL_WEIGHT: f64 = 1e100;

/// First non-finite cell of `x` (row-major order), as a `NonFinite` error.
fn first_non_finite(x: &ArrayView2<'_, f64>) -> Option<DataError> {
    let row = (0..x.nrows())
        .into_par_iter()
        .with_min_len(4096)
        .position_first(|i| x.row(i).iter().any(|v| !v.is_finite()))?;
    let col = x.row(row).iter().position(|v| !v.is_finite())?;
    Some(DataError::NonFinite { field: Field::Feature(col), row })
}

/// Prediction input: the right number of columns; NaN allowed only if `allow_nan`.
pub(crate) fn check_features_with(x: &ArrayView2<'_, f64>, n_features: usize, allow_nan: bool) -> Result<()> {
    if x.ncols() != n_features {
        return Err(DataError::Invalid {
            field: Field::Feature(x.ncols()),
            row: None,
            reason: format!("X has {} feature columns, the model was fitted on {n_features}", x.ncols()),
        }
        .into());
    }
    if allow_nan {
        let bad = (0..x.nrows())
            .into_par_iter()
            .with_min_len(4096)
            .position_first(|i| x.row(i).iter().any(|v| v.is_infinite()));
        if let Some(row) = bad {
            let col = x.row(row).iter().position(|v| v.is_infinite()).unwrap_or(0);
            return Err(DataError::NonFinite { field: Field::Feature(col), row }.into());
        }
    } else if let Some(e) = first_non_finite(x) {
        return Err(e.into());
    }
    Ok(())
}

/// Prediction input of a model that needs finite features.
pub(crate) fn check_features(x: &ArrayView2<'_, f64>, n_features: usize) -> Result<()> {
    check_features_with(x, n_features, false)
}

/// Training input: finite `x` (unless `allow_nan`), labels in {0, 1} with both
/// classes present, weights finite and non-negative. Returns the weights
/// (all 1 when none are given).
pub(crate) fn check_training_with(
    x: &ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
    allow_nan: bool,
) -> Result<Vec<f64>> {
    let n = x.nrows();
    if n == 0 {
        return Err(DataError::Empty.into());
    }
    if x.ncols() == 0 {
        return Err(DataError::Invalid {
            field: Field::Feature(0),
            row: None,
            reason: "X has no feature columns".into(),
        }
        .into());
    }
    if y.len() != n {
        return Err(DataError::LengthMismatch { field: Field::Label, got: y.len(), expected: n }.into());
    }
    check_features_with(x, x.ncols(), allow_nan)?;
    if let Some(row) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(DataError::Invalid {
            field: Field::Label,
            row: Some(row),
            reason: format!("labels must be 0 or 1, got {}", y[row]),
        }
        .into());
    }
    let w = match sample_weight {
        Some(w) => {
            if w.len() != n {
                return Err(DataError::LengthMismatch {
                    field: Field::SampleWeight,
                    got: w.len(),
                    expected: n,
                }
                .into());
            }
            if let Some(row) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(DataError::Invalid {
                    field: Field::SampleWeight,
                    row: Some(row),
                    reason: format!("sample weights must be finite and non-negative, got {}", w[row]),
                }
                .into());
            }
            let total: f64 = w.iter().sum();
            if total > MAX_TOTAL_WEIGHT {
                return Err(DataError::Invalid {
                    field: Field::SampleWeight,
                    row: None,
                    reason: format!(
                        "sample weights sum to {total:e}, above the limit of {MAX_TOTAL_WEIGHT:e} (beyond it \
                         the fits' weighted sums overflow): divide the weights by a constant"
                    ),
                }
                .into());
            }
            w.to_vec()
        }
        None => vec![1.0; n],
    };
    let pos: f64 = w.iter().zip(y).map(|(w, y)| w * y).sum();
    let neg: f64 = w.iter().zip(y).map(|(w, y)| w * (1.0 - y)).sum();
    if pos <= 0.0 || neg <= 0.0 {
        return Err(DataError::Invalid {
            field: Field::Label,
            row: None,
            reason: "labels hold only one class (with positive weight); a classifier needs both".into(),
        }
        .into());
    }
    Ok(w)
}

/// Training input of a model that needs finite features.
pub(crate) fn check_training(
    x: &ArrayView2<'_, f64>,
    y: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>> {
    check_training_with(x, y, sample_weight, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use ndarray::array;

    #[test]
    fn rejects_each_rule() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let ok = check_training(&x.view(), &[0.0, 1.0], None);
        assert_eq!(ok.unwrap(), vec![1.0, 1.0]);
        let nan = array![[1.0, 2.0], [3.0, f64::NAN]];
        assert!(matches!(
            check_training(&nan.view(), &[0.0, 1.0], None),
            Err(Error::Data(DataError::NonFinite { field: Field::Feature(1), row: 1 }))
        ));
        assert!(check_training_with(&nan.view(), &[0.0, 1.0], None, true).is_ok());
        assert!(matches!(
            check_training(&x.view(), &[0.0, 2.0], None),
            Err(Error::Data(DataError::Invalid { field: Field::Label, row: Some(1), .. }))
        ));
        assert!(matches!(
            check_training(&x.view(), &[1.0, 1.0], None),
            Err(Error::Data(DataError::Invalid { field: Field::Label, row: None, .. }))
        ));
        assert!(matches!(
            check_training(&x.view(), &[1.0], None),
            Err(Error::Data(DataError::LengthMismatch { .. }))
        ));
        assert!(matches!(
            check_training(&x.view(), &[0.0, 1.0], Some(&[1.0, -1.0])),
            Err(Error::Data(DataError::Invalid { field: Field::SampleWeight, row: Some(1), .. }))
        ));
        assert!(matches!(
            check_training(&x.view(), &[0.0, 1.0], Some(&[1e308, 1e308])),
            Err(Error::Data(DataError::Invalid { field: Field::SampleWeight, row: None, .. }))
        ));
        assert!(check_training(&x.view(), &[0.0, 1.0], Some(&[1e99, 1e99])).is_ok());
        assert!(matches!(check_features(&x.view(), 3), Err(Error::Data(DataError::Invalid { .. }))));
    }
}
