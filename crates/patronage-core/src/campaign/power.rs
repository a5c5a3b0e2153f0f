//! Power analysis for a two-group comparison by the normal approximation,
//! the same model as statsmodels' `NormalIndPower` (two-sided: both tails
//! count towards the power).
//!
//! With the standardized effect `d` (Cohen's `h = 2 asin √p1 - 2 asin √p0`
//! for proportions, `difference / sd` for means), `n1` treated and
//! `n2 = ratio * n1` controls, the power at two-sided level `alpha` is
//! `Φ(d √m - z) + Φ(-d √m - z)` with `m = n1 n2 / (n1 + n2)` and
//! `z = Φ⁻¹(1 - alpha / 2)`. Both solvers find `s = d √m` where that power
//! equals the target, by Newton steps from `z + Φ⁻¹(power)`.

use crate::dist::{normal_cdf, normal_quantile};
use crate::error::{ParamError, Result};

/// The most customers per group a plan may need before it is rejected as
/// unreachable (the effect is too small to detect).
pub const MAX_GROUP_SIZE: f64 = 1e12;

/// Significance level, power and group-size ratio of a test.
///
/// Defaults: `alpha = 0.05`, `power = 0.8`, `ratio = 1` (controls per treated).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerParams {
    /// Two-sided significance level, in (0, 1).
    pub alpha: f64,
    /// The wanted probability of detecting the effect, in (alpha, 1).
    pub power: f64,
    /// Controls per treated customer, in (0, 1e6].
    pub ratio: f64,
}

impl Default for PowerParams {
    fn default() -> Self {
        PowerParams { alpha: 0.05, power: 0.8, ratio: 1.0 }
    }
}

/// Parameters that passed [`PowerParams::check`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidPowerParams(PowerParams);

impl PowerParams {
    /// Validates every field, naming the first bad one.
    pub fn check(self) -> Result<ValidPowerParams, ParamError> {
        let PowerParams { alpha, power, ratio } = self;
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(ParamError::new("alpha", format!("must lie strictly between 0 and 1, got {alpha}")));
        }
        if !(power > alpha && power < 1.0) {
            return Err(ParamError::new(
                "power",
                format!("must lie strictly between alpha ({alpha}) and 1, got {power}"),
            ));
        }
        if !(ratio > 0.0 && ratio <= 1e6) {
            return Err(ParamError::new("ratio", format!("must lie in (0, 1e6], got {ratio}")));
        }
        Ok(ValidPowerParams(self))
    }
}

impl ValidPowerParams {
    /// `s = d √m` at which the two-sided power equals the target.
    fn noncentrality(&self) -> f64 {
        let PowerParams { alpha, power, .. } = self.0;
        let z = normal_quantile(1.0 - alpha / 2.0);
        let mut s = z + normal_quantile(power);
        for _ in 0..100 {
            let gap = normal_cdf(s - z) + normal_cdf(-s - z) - power;
            let slope = (-(s - z).powi(2) / 2.0).exp() - (-(s + z).powi(2) / 2.0).exp();
            let step = gap / (slope / (2.0 * std::f64::consts::PI).sqrt());
            s -= step;
            if step.abs() <= 1e-15 * s {
                break;
            }
        }
        s
    }

    /// `n1 / m` with `m = n1 n2 / (n1 + n2)`.
    fn size_factor(&self) -> f64 {
        (1.0 + self.0.ratio) / self.0.ratio
    }
}

/// Treated customers needed (not rounded) to detect the standardized effect
/// `effect_size` (its sign does not matter); controls are `ratio` times that.
pub fn sample_size(effect_size: f64, params: &ValidPowerParams) -> Result<f64> {
    let d = effect_size.abs();
    if !(d.is_finite() && d > 0.0) {
        return Err(
            ParamError::new("effect", format!("must be finite and non-zero, got {effect_size}")).into()
        );
    }
    let n = (params.noncentrality() / d).powi(2) * params.size_factor();
    if !n.is_finite() || n > MAX_GROUP_SIZE {
        return Err(ParamError::new(
            "effect",
            format!("{effect_size} is too small: detecting it needs more than {MAX_GROUP_SIZE:e} per group"),
        )
        .into());
    }
    Ok(n)
}

/// The smallest standardized effect detectable with `n_treated` treated customers.
pub fn detectable_effect_size(n_treated: f64, params: &ValidPowerParams) -> Result<f64> {
    if !(1.0..=MAX_GROUP_SIZE).contains(&n_treated) {
        return Err(ParamError::new(
            "n_treated",
            format!("must lie in [1, {MAX_GROUP_SIZE:e}], got {n_treated}"),
        )
        .into());
    }
    if n_treated * params.0.ratio < 1.0 {
        return Err(ParamError::new("ratio", "leaves fewer than one control").into());
    }
    Ok(params.noncentrality() / (n_treated / params.size_factor()).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use approx::assert_relative_eq;

    #[test]
    fn matches_mpmath_and_statsmodels() {
        // the root of the power equation by mpmath (40 digits): 392.44302546630990...; statsmodels'
        // NormalIndPower().solve_power(0.2, alpha=0.05, power=0.8) stops at 392.4430232577885 (its
        // root finder's tolerance, 6e-9 relative)
        let p = PowerParams::default().check().unwrap();
        assert_relative_eq!(sample_size(0.2, &p).unwrap(), 392.443_025_466_309_9, max_relative = 1e-12);
        assert_relative_eq!(
            detectable_effect_size(392.443_025_466_309_9, &p).unwrap(),
            0.2,
            max_relative = 1e-12
        );
        // the textbook closed form 2 (1.96 + 0.8416)^2 / d^2 ignores the far tail: within 1e-4 here
        let closed = 2.0 * (1.959_963_984_540_054f64 + 0.841_621_233_572_914_3).powi(2) / 0.04;
        assert_relative_eq!(sample_size(0.2, &p).unwrap(), closed, max_relative = 1e-4);
    }

    #[test]
    fn each_rule_has_its_error() {
        let bad = |p: PowerParams| p.check().unwrap_err().name;
        assert_eq!(bad(PowerParams { alpha: 0.0, ..Default::default() }), "alpha");
        assert_eq!(bad(PowerParams { power: 0.01, ..Default::default() }), "power");
        assert_eq!(bad(PowerParams { ratio: f64::NAN, ..Default::default() }), "ratio");
        let p = PowerParams::default().check().unwrap();
        assert!(matches!(sample_size(0.0, &p), Err(Error::Param(ParamError { name: "effect", .. }))));
        assert!(matches!(sample_size(1e-9, &p), Err(Error::Param(ParamError { name: "effect", .. }))));
        assert!(matches!(
            detectable_effect_size(0.5, &p),
            Err(Error::Param(ParamError { name: "n_treated", .. }))
        ));
    }
}
