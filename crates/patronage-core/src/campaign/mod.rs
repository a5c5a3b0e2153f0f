//! Campaigns: design a randomised test and measure what it did.
//!
//! - [`assign_control`]: a seeded, stratified control group with exact sizes
//!   per stratum.
//! - [`sample_size`] / [`detectable_effect_size`]: power analysis by the
//!   normal approximation (as statsmodels' `NormalIndPower`).
//! - [`effects`]: every treatment against the control, per segment: Newcombe
//!   (binary) or Welch (continuous) intervals, a seeded percentile bootstrap,
//!   relative lift, incremental totals, CUPED and Holm-adjusted p-values.
//!
//! The distribution functions in `dist` are exact to double precision so the
//! intervals equal scipy's and statsmodels' to 1e-9.

mod assign;
mod effect;
mod power;

pub use assign::assign_control;
pub use effect::{
    effects, holm, Effect, EffectParams, EffectTable, Experiment, Outcome, ValidEffectParams, MAX_RESAMPLES,
    MIN_RESAMPLES,
};
pub use power::{detectable_effect_size, sample_size, PowerParams, ValidPowerParams, MAX_GROUP_SIZE};
