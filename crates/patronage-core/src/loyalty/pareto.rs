//! Revenue concentration: the share of revenue brought by the top customers,
//! the Lorenz curve and the Gini coefficient.

use rayon::prelude::*;

use crate::error::{DataError, Field, Result};

/// Concentration of a non-negative value (spend) over customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Concentration {
    /// Positions of the customers by decreasing value (ties keep input order).
    pub order: Vec<usize>,
    /// `top_share[k]`: share of the total held by the `k + 1` largest values.
    pub top_share: Vec<f64>,
    /// Gini coefficient: 0 when everyone spends the same, (n - 1) / n when one
    /// customer spends everything.
    pub gini: f64,
}

/// Sorts `values` decreasingly and accumulates their shares.
///
/// Errors: no values, a NaN/inf or negative value (row named: a customer who
/// returned more than they bought has no place on a Lorenz curve), or a zero total.
pub fn concentration(values: &[f64]) -> Result<Concentration> {
    if values.is_empty() {
        return Err(DataError::Empty.into());
    }
    if let Some(row) = values.iter().position(|v| !v.is_finite()) {
        return Err(DataError::NonFinite { field: Field::Amount, row }.into());
    }
    if let Some(row) = values.iter().position(|&v| v < 0.0) {
        return Err(DataError::Invalid {
            field: Field::Amount,
            row: Some(row),
            reason: format!("negative spend {} cannot be ranked on a Lorenz curve", values[row]),
        }
        .into());
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.par_sort_by(|&i, &j| values[j].total_cmp(&values[i]));
    let total: f64 = order.iter().map(|&i| values[i]).sum();
    if total.is_infinite() {
        // found by the proptest battery: [f64::MAX, f64::MAX] gave a Gini of NaN
        return Err(DataError::Invalid {
            field: Field::Amount,
            row: None,
            reason: "the values sum beyond the largest double: shares would be 0 or NaN; rescale them".into(),
        }
        .into());
    }
    if total.is_nan() || total <= 0.0 {
        return Err(DataError::Invalid {
            field: Field::Amount,
            row: None,
            reason: "total spend is zero".into(),
        }
        .into());
    }
    let n = values.len();
    let mut running = 0.0;
    let mut weighted = 0.0;
    let mut top_share = Vec::with_capacity(n);
    for (j, &i) in order.iter().enumerate() {
        running += values[i];
        top_share.push(running / total);
        // ascending rank of the j-th largest value is n - j; shares, not
        // values, so that rank x spend cannot overflow
        weighted += (n - j) as f64 * (values[i] / total);
    }
    let nf = n as f64;
    let gini = 2.0 * weighted / nf - (nf + 1.0) / nf;
    Ok(Concentration { order, top_share, gini })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use approx::assert_relative_eq;

    #[test]
    fn concentration_by_hand() {
        let c = concentration(&[1.0, 3.0, 0.0, 6.0]).unwrap();
        assert_eq!(c.order, vec![3, 1, 0, 2]);
        assert_eq!(c.top_share, vec![0.6, 0.9, 1.0, 1.0]);
        // Gini = sum_i sum_j |x_i - x_j| / (2 n^2 mean) = 40 / (2 * 16 * 2.5)
        assert_relative_eq!(c.gini, 0.5, epsilon = 1e-12);
        let equal = concentration(&[2.0; 5]).unwrap();
        assert_relative_eq!(equal.gini, 0.0, epsilon = 1e-12);
    }

    #[test]
    fn rejects_each_rule() {
        assert!(matches!(concentration(&[]), Err(Error::Data(DataError::Empty))));
        assert!(matches!(
            concentration(&[1.0, f64::NAN]),
            Err(Error::Data(DataError::NonFinite { row: 1, .. }))
        ));
        assert!(matches!(
            concentration(&[1.0, -1.0]),
            Err(Error::Data(DataError::Invalid { row: Some(1), .. }))
        ));
        assert!(matches!(concentration(&[0.0, 0.0]), Err(Error::Data(DataError::Invalid { row: None, .. }))));
    }
}
