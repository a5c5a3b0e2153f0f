//! Evaluation metrics with scikit-learn's exact definitions (ties included).

use crate::error::{DataError, Field, ParamError, Result};

fn check(y: &[f64], proba: &[f64], need_both: bool) -> Result<()> {
    if y.is_empty() {
        return Err(DataError::Empty.into());
    }
    if proba.len() != y.len() {
        return Err(
            DataError::LengthMismatch { field: Field::Label, got: y.len(), expected: proba.len() }.into()
        );
    }
    if let Some(row) = y.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(DataError::Invalid {
            field: Field::Label,
            row: Some(row),
            reason: format!("labels must be 0 or 1, got {}", y[row]),
        }
        .into());
    }
    if let Some(row) = proba.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(ParamError::new(
            "proba",
            format!("probabilities must be in [0, 1], got {} at row {row}", proba[row]),
        )
        .into());
    }
    if need_both && (y.iter().all(|&v| v == 1.0) || y.iter().all(|&v| v == 0.0)) {
        return Err(DataError::Invalid {
            field: Field::Label,
            row: None,
            reason: "only one class is present; ROC-AUC and PR-AUC need both".into(),
        }
        .into());
    }
    Ok(())
}

/// Cumulative (false positives, true positives) at each distinct score,
/// scores taken in decreasing order.
fn curve(y: &[f64], score: &[f64]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut fp, mut tp) = (0.0, 0.0);
    let mut out = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        tp += y[i];
        fp += 1.0 - y[i];
        let last_of_tie = order.get(k + 1).is_none_or(|&j| score[j] != score[i]);
        if last_of_tie {
            out.push((fp, tp));
        }
    }
    out
}

/// Area under the ROC curve (tied scores form one step: the trapezoid).
pub fn roc_auc(y: &[f64], score: &[f64]) -> Result<f64> {
    check(y, score, true).or_else(|e| match e {
        // scores need not be probabilities here
        crate::Error::Param(_) => check(y, &vec![0.0; y.len()], true),
        other => Err(other),
    })?;
    let pts = curve(y, score);
    let (n_neg, n_pos) = pts[pts.len() - 1];
    let (mut area, mut prev) = (0.0, (0.0, 0.0));
    for &(fp, tp) in &pts {
        area += (fp - prev.0) * (tp + prev.1) * 0.5;
        prev = (fp, tp);
    }
    Ok(area / (n_neg * n_pos))
}

/// Average precision: `sum_k (R_k - R_{k-1}) P_k` over decreasing thresholds
/// (scikit-learn's `average_precision_score`, no interpolation).
pub fn average_precision(y: &[f64], score: &[f64]) -> Result<f64> {
    check(y, score, true).or_else(|e| match e {
        crate::Error::Param(_) => check(y, &vec![0.0; y.len()], true),
        other => Err(other),
    })?;
    let pts = curve(y, score);
    let n_pos = pts[pts.len() - 1].1;
    let (mut ap, mut prev_recall) = (0.0, 0.0);
    for &(fp, tp) in &pts {
        let recall = tp / n_pos;
        ap += (recall - prev_recall) * tp / (tp + fp);
        prev_recall = recall;
    }
    Ok(ap)
}

/// Mean binary log-loss, probabilities clipped to `[eps, 1 - eps]` with
/// `eps` = machine epsilon (scikit-learn >= 1.5).
pub fn log_loss(y: &[f64], proba: &[f64]) -> Result<f64> {
    check(y, proba, false)?;
    let eps = f64::EPSILON;
    let sum: f64 = y
        .iter()
        .zip(proba)
        .map(|(&t, &p)| {
            let p = p.clamp(eps, 1.0 - eps);
            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        })
        .sum();
    Ok(sum / y.len() as f64)
}

/// Brier score: mean squared difference between probability and label.
pub fn brier(y: &[f64], proba: &[f64]) -> Result<f64> {
    check(y, proba, false)?;
    let sum: f64 = y.iter().zip(proba).map(|(t, p)| (p - t) * (p - t)).sum();
    Ok(sum / y.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed_values() {
        // pairs (pos, neg): 0.8>0.1, 0.8>0.4, 0.4=0.4 (half), 0.4>0.1 -> 3.5 / 4
        let y = [1.0, 0.0, 1.0, 0.0];
        let s = [0.8, 0.4, 0.4, 0.1];
        assert_relative_eq!(roc_auc(&y, &s).unwrap(), 3.5 / 4.0);
        // thresholds 0.8: P=1, R=.5; 0.4: P=2/3, R=1 -> .5 + .5 * 2/3
        assert_relative_eq!(average_precision(&y, &s).unwrap(), 0.5 + 1.0 / 3.0);
        assert_relative_eq!(brier(&y, &s).unwrap(), (0.04 + 0.16 + 0.36 + 0.01) / 4.0);
        let ll = -(0.8f64.ln() + 0.6f64.ln() + 0.4f64.ln() + 0.9f64.ln()) / 4.0;
        assert_relative_eq!(log_loss(&y, &s).unwrap(), ll, epsilon = 1e-15);
        // scores need not be probabilities for AUC
        assert_relative_eq!(roc_auc(&y, &[8.0, 4.0, 4.0, -1.0]).unwrap(), 3.5 / 4.0);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(roc_auc(&[1.0, 1.0], &[0.2, 0.3]).is_err());
        assert!(log_loss(&[1.0, 2.0], &[0.2, 0.3]).is_err());
        assert!(matches!(
            brier(&[1.0, 0.0], &[0.2, 1.3]),
            Err(crate::Error::Param(ParamError { name: "proba", .. }))
        ));
        assert!(brier(&[1.0], &[0.2, 0.3]).is_err());
    }
}
