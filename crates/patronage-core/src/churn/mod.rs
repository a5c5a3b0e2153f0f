//! Churn prediction: leakage-free labels and features from a transaction log
//! ([`churn_dataset`]), two models ([`LogisticModel`], Newton-fitted L2
//! logistic regression, and [`GbmModel`], histogram gradient boosting),
//! per-row explanations ([`Explanation`]: exact linear terms and TreeSHAP),
//! probability calibration ([`Calibrator`]) and scikit-learn-exact metrics
//! ([`metrics`]).

mod calibration;
mod data;
mod design;
mod explain;
mod features;
mod gbm;
mod logistic;
pub mod metrics;
mod params;
mod standardise;

pub use calibration::Calibrator;
pub use data::MAX_TOTAL_WEIGHT;
pub use explain::Explanation;
pub use features::{churn_dataset, ChurnDataset, ChurnDatasetParams, FEATURE_NAMES};
pub use gbm::{GbmModel, Node, Tree, MISSING_BIN};
pub use logistic::{
    logistic_design_spread, logistic_design_sums, logistic_ranges, logistic_sums, LogisticModel,
    MAX_LOGISTIC_FEATURES,
};
pub use params::{GbmParams, LogisticParams};
pub use standardise::{DesignRanges, Standardisation};
