//! Uplift evaluation: Qini and uplift curves, their normalised areas (the
//! Qini coefficient and AUUC) and uplift at the top k.
//!
//! Every definition is scikit-uplift's (`sklift.metrics`, version 0.5.1),
//! ties included: customers are ranked by decreasing predicted uplift, ties
//! taken in decreasing row order (numpy's stable ascending sort, reversed),
//! and the curves have one point per distinct score. The sort is the heavy
//! part and runs on rayon; its key (score, row) fixes the order, so the
//! result does not depend on the thread count.
//!
//! ```
//! use patronage_core::uplift::{qini_curve, UpliftSample};
//!
//! // outcome, predicted uplift, treatment (1 = contacted)
//! let y = [1.0, 0.0, 1.0, 0.0];
//! let score = [0.9, 0.5, 0.3, 0.1];
//! let treatment = [1.0, 0.0, 0.0, 1.0];
//! let sample = UpliftSample::new(&y, &score, &treatment).unwrap();
//! let curve = qini_curve(&sample).unwrap();
//! assert_eq!(curve.n_targeted, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
//! // after 3 customers: 1 treated responder - 1 control responder x (1 treated / 2 control)
//! assert_eq!(curve.value, vec![0.0, 1.0, 1.0, 0.5, 0.0]);
//! ```

mod metrics;
mod params;

pub use metrics::{
    auuc, perfect_qini_curve, perfect_uplift_curve, qini_coefficient, qini_curve, uplift_at_k, uplift_curve,
    Curve, UpliftSample,
};
pub use params::{TopK, UpliftAtKParams, UpliftError, UpliftStrategy, ValidUpliftAtK};
