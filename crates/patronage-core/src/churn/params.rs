//! Checked hyper-parameters of the churn models (one [`ParamError`] per rule).

use serde::{Deserialize, Serialize};

use crate::error::ParamError;

/// L2-regularised logistic regression, fitted by Newton's method.
///
/// Minimises `0.5 |w|^2 + C sum_i s_i logloss_i` over standardised features
/// (the intercept is not penalised), as scikit-learn's `LogisticRegression(C=C)`
/// does. Defaults: `c = 1.0`, `max_iter = 100`, `tol = 1e-8` (on the largest
/// Newton step, in standardised units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    /// Inverse regularisation strength (> 0).
    pub c: f64,
    /// Maximum Newton iterations (>= 1).
    pub max_iter: usize,
    /// Stop when the largest coefficient step is below this (> 0).
    pub tol: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { c: 1.0, max_iter: 100, tol: 1e-8 }
    }
}

impl LogisticParams {
    /// Validates every rule.
    pub fn check(&self) -> Result<(), ParamError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(ParamError::new("C", format!("must be a positive finite number, got {}", self.c)));
        }
        if self.max_iter == 0 {
            return Err(ParamError::new("max_iter", "must be at least 1"));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(ParamError::new(
                "tol",
                format!("must be a positive finite number, got {}", self.tol),
            ));
        }
        Ok(())
    }
}

/// Histogram gradient boosting for the binary log-loss.
///
/// Defaults (those of scikit-learn's `HistGradientBoostingClassifier`):
/// `max_iter = 100`, `learning_rate = 0.1`, `max_leaf_nodes = 31`,
/// `max_depth = None`, `min_samples_leaf = 20`, `l2_regularization = 0`,
/// `max_bins = 255`, `seed = 0` (the row sample used to find bin edges on
/// more than 200,000 rows and the validation split are random), no early
/// stopping (`validation_fraction = 0.1`, `n_iter_no_change = 10`,
/// `tol = 1e-7` when it is on), no monotonic constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbmParams {
    /// Boosting rounds (trees), >= 1.
    pub max_iter: usize,
    /// Shrinkage of each tree, in (0, 1].
    pub learning_rate: f64,
    /// Leaves per tree, >= 2.
    pub max_leaf_nodes: usize,
    /// Maximum depth (`None`: unlimited), >= 1.
    pub max_depth: Option<usize>,
    /// Minimum samples in a leaf, >= 1.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values, >= 0.
    pub l2_regularization: f64,
    /// Bins for non-missing values, 2..=255 (missing values get their own bin).
    pub max_bins: usize,
    /// Seed of the bin-edge subsample and of the validation split.
    pub seed: u64,
    /// Hold out `validation_fraction` of the rows (stratified by label) and
    /// stop once the validation log-loss has not improved by more than `tol`
    /// over `n_iter_no_change` rounds (scikit-learn's rule; the trees grown
    /// until then are kept).
    #[serde(default)]
    pub early_stopping: bool,
    /// Share of rows held out for early stopping, in (0, 1).
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Rounds without improvement before stopping, >= 1.
    #[serde(default = "default_n_iter_no_change")]
    pub n_iter_no_change: usize,
    /// Smallest improvement of the validation loss that counts, >= 0.
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// Per feature: 1 (the log-odds never decrease as the feature grows),
    /// -1 (never increase) or 0 (free); empty for no constraint at all.
    #[serde(default)]
    pub monotonic_cst: Vec<i8>,
}

fn default_validation_fraction() -> f64 {
    0.1
}
fn default_n_iter_no_change() -> usize {
    10
}
fn default_tol() -> f64 {
    1e-7
}

impl Default for GbmParams {
    fn default() -> Self {
        GbmParams {
            max_iter: 100,
            learning_rate: 0.1,
            max_leaf_nodes: 31,
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            seed: 0,
            early_stopping: false,
            validation_fraction: default_validation_fraction(),
            n_iter_no_change: default_n_iter_no_change(),
            tol: default_tol(),
            monotonic_cst: Vec::new(),
        }
    }
}

impl GbmParams {
    /// Validates every rule.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.max_iter == 0 {
            return Err(ParamError::new("max_iter", "must be at least 1"));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(ParamError::new(
                "learning_rate",
                format!("must be in (0, 1], got {}", self.learning_rate),
            ));
        }
        if self.max_leaf_nodes < 2 {
            return Err(ParamError::new(
                "max_leaf_nodes",
                format!("must be at least 2, got {}", self.max_leaf_nodes),
            ));
        }
        if self.max_depth == Some(0) {
            return Err(ParamError::new("max_depth", "must be at least 1 or None"));
        }
        if self.min_samples_leaf == 0 {
            return Err(ParamError::new("min_samples_leaf", "must be at least 1"));
        }
        if !(self.l2_regularization.is_finite() && self.l2_regularization >= 0.0) {
            return Err(ParamError::new(
                "l2_regularization",
                format!("must be a non-negative finite number, got {}", self.l2_regularization),
            ));
        }
        if !(2..=255).contains(&self.max_bins) {
            return Err(ParamError::new("max_bins", format!("must be from 2 to 255, got {}", self.max_bins)));
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return Err(ParamError::new(
                "validation_fraction",
                format!("must be in (0, 1), got {}", self.validation_fraction),
            ));
        }
        if self.n_iter_no_change == 0 {
            return Err(ParamError::new("n_iter_no_change", "must be at least 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(ParamError::new(
                "tol",
                format!("must be a non-negative finite number, got {}", self.tol),
            ));
        }
        if let Some(v) = self.monotonic_cst.iter().find(|v| !(-1..=1).contains(*v)) {
            return Err(ParamError::new("monotonic_cst", format!("values must be -1, 0 or 1, got {v}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_rules() {
        assert!(LogisticParams::default().check().is_ok());
        let bad = |p: LogisticParams| p.check().unwrap_err().name;
        let d = LogisticParams::default();
        assert_eq!(bad(LogisticParams { c: 0.0, ..d }), "C");
        assert_eq!(bad(LogisticParams { c: f64::NAN, ..d }), "C");
        assert_eq!(bad(LogisticParams { max_iter: 0, ..d }), "max_iter");
        assert!(matches!(LogisticParams { tol: -1.0, ..d }.check(), Err(ParamError { name: "tol", .. })));
    }

    #[test]
    fn gbm_rules() {
        let d = GbmParams::default();
        assert!(d.check().is_ok());
        let bad = |p: GbmParams| p.check().unwrap_err().name;
        assert_eq!(bad(GbmParams { max_iter: 0, ..d.clone() }), "max_iter");
        assert_eq!(bad(GbmParams { learning_rate: 0.0, ..d.clone() }), "learning_rate");
        assert_eq!(bad(GbmParams { max_leaf_nodes: 1, ..d.clone() }), "max_leaf_nodes");
        assert_eq!(bad(GbmParams { max_depth: Some(0), ..d.clone() }), "max_depth");
        assert_eq!(bad(GbmParams { min_samples_leaf: 0, ..d.clone() }), "min_samples_leaf");
        assert_eq!(bad(GbmParams { l2_regularization: -1.0, ..d.clone() }), "l2_regularization");
        assert_eq!(bad(GbmParams { validation_fraction: 1.0, ..d.clone() }), "validation_fraction");
        assert_eq!(bad(GbmParams { n_iter_no_change: 0, ..d.clone() }), "n_iter_no_change");
        assert_eq!(bad(GbmParams { tol: f64::NAN, ..d.clone() }), "tol");
        assert_eq!(bad(GbmParams { monotonic_cst: vec![0, 2], ..d.clone() }), "monotonic_cst");
        assert!(matches!(GbmParams { max_bins: 256, ..d }.check(), Err(ParamError { name: "max_bins", .. })));
    }
}
