//! Special functions the BTYD likelihoods need: `ln Γ`, its differences,
//! digamma and trigamma, for positive real arguments. (The models' Gauss
//! hypergeometric closed forms are evaluated in [`super::integrals`].)
//!
//! Both `ln Γ` and digamma shift the argument up with the recurrence until
//! the asymptotic (Stirling / de Moivre) series is accurate to ~1e-15, which
//! is simpler and as accurate as a Lanczos fit over the range the models use.

const SHIFT_TO: f64 = 15.0;
const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// `ln Γ(x)` for `x > 0` (relative error around 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut ln_shift = 0.0;
    if x < SHIFT_TO {
        // ln Γ(x) = ln Γ(x + n) - ln(x (x+1) ... (x+n-1))
        let mut prod = 1.0;
        while x < SHIFT_TO {
            prod *= x;
            x += 1.0;
        }
        ln_shift = prod.ln();
    }
    (x - 0.5) * x.ln() - x + HALF_LN_TWO_PI + stirling_tail(x) - ln_shift
}

/// The digamma function `ψ(x) = d ln Γ(x) / dx` for `x > 0`.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < SHIFT_TO {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv2
        * (1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 / 132.0))));
    x.ln() - 0.5 * inv - series + shift
}

/// The trigamma function `ψ₁(x) = d² ln Γ(x) / dx²` for `x > 0`.
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < SHIFT_TO {
        shift += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // 1/x + 1/(2x²) + Σ B_2k / x^(2k+1)
    let series = inv
        + 0.5 * inv2
        + inv
            * inv2
            * (1.0 / 6.0
                - inv2 * (1.0 / 30.0 - inv2 * (1.0 / 42.0 - inv2 * (1.0 / 30.0 - inv2 * 5.0 / 66.0))));
    series + shift
}

/// `ln B(a, b)`, accurate also when one argument is large (where
/// `ln Γ(b) - ln Γ(a + b)` would cancel).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, large) = if a < b { (a, b) } else { (b, a) };
    ln_gamma(small) - ln_gamma_ratio(large, small)
}

/// `ln Γ(x + d) - ln Γ(x)` for `x > 0`, `x + d > 0`, without the
/// cancellation of the two large logarithms when `x` is large: Stirling's
/// series of the difference, `(x - 1/2) ln(1 + d/x) + d ln(x + d) - d + ...`,
/// after shifting both arguments to at least 15.
pub fn ln_gamma_ratio(x: f64, d: f64) -> f64 {
    if x.is_nan() || d.is_nan() || x <= 0.0 || x + d <= 0.0 {
        return f64::NAN;
    }
    if d == 0.0 {
        return 0.0;
    }
    let mut x = x;
    let mut shift = 0.0;
    // ln Γ(x+d) - ln Γ(x) = [ln Γ(x+1+d) - ln Γ(x+1)] - ln((x+d)/x)
    while x < SHIFT_TO || x + d < SHIFT_TO {
        shift -= (d / x).ln_1p();
        x += 1.0;
    }
    (x - 0.5) * (d / x).ln_1p() + d * (x + d).ln() - d + stirling_tail(x + d) - stirling_tail(x) + shift
}

/// `ln Γ(x) - [(x - 1/2) ln x - x + ln √(2π)]` for `x >= 15` (the Stirling series).
fn stirling_tail(x: f64) -> f64 {
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 / 1188.0))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        let mut fact: f64 = 1.0;
        for n in 1..30 {
            assert_relative_eq!(ln_gamma(n as f64), fact.ln(), max_relative = 1e-14, epsilon = 1e-14);
            fact *= n as f64;
        }
        assert_relative_eq!(ln_gamma(0.5), 0.5 * std::f64::consts::PI.ln(), max_relative = 1e-14);
        // ln Γ(1e-3) = -ln(1e-3) - γ 1e-3 + O(1e-6), value from scipy.special.gammaln
        assert_relative_eq!(ln_gamma(1e-3), 6.907_178_885_383_853, max_relative = 1e-14);
        assert_relative_eq!(ln_gamma(1000.5), 5_908.674_175_848_678, max_relative = 1e-14);
        // scipy
    }

    #[test]
    fn digamma_known_values() {
        const EULER: f64 = 0.577_215_664_901_532_9;
        assert_relative_eq!(digamma(1.0), -EULER, max_relative = 1e-14);
        assert_relative_eq!(digamma(0.5), -EULER - 2.0 * 2f64.ln(), max_relative = 1e-14);
        // ψ(n) = H_{n-1} - γ
        let h: f64 = (1..100).map(|k| 1.0 / k as f64).sum();
        assert_relative_eq!(digamma(100.0), h - EULER, max_relative = 1e-14);
        // derivative of ln Γ by central differences
        let x = 3.7;
        let d = (ln_gamma(x + 1e-5) - ln_gamma(x - 1e-5)) / 2e-5;
        assert_relative_eq!(digamma(x), d, max_relative = 1e-8);
    }

    #[test]
    fn trigamma_known_values() {
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        assert_relative_eq!(trigamma(1.0), pi2 / 6.0, max_relative = 1e-14);
        assert_relative_eq!(trigamma(0.5), pi2 / 2.0, max_relative = 1e-14);
        let x = 2.3;
        let d = (digamma(x + 1e-5) - digamma(x - 1e-5)) / 2e-5;
        assert_relative_eq!(trigamma(x), d, max_relative = 1e-8);
        assert_relative_eq!(trigamma(50.0), 0.020_201_333_226_697_13, max_relative = 1e-13);
        // scipy polygamma(1, 50)
    }

    #[test]
    fn ln_gamma_ratio_and_ln_beta_for_large_arguments() {
        // mpmath: loggamma(1e5 + 0.5) - loggamma(1e5) = 5.7564614824851...; the plain
        // difference of two numbers near 1.05e6 keeps only ~10 digits of it.
        assert_relative_eq!(ln_gamma_ratio(1e5, 0.5), 5.756_461_482_485_114, max_relative = 1e-14);
        // small arguments: ratio of factorials, Γ(4.5)/Γ(2) = 11.6317283965674...
        assert_relative_eq!(ln_gamma_ratio(2.0, 2.5), 11.631_728_396_567_45f64.ln(), max_relative = 1e-14);
        assert_relative_eq!(ln_gamma_ratio(7.3, -6.0), ln_gamma(1.3) - ln_gamma(7.3), max_relative = 1e-13);
        // mpmath: log(beta(0.026, 1e5)) = 3.3358642647042...
        assert_relative_eq!(ln_beta(0.026, 1e5), 3.335_864_264_704_231, max_relative = 1e-14);
        assert_relative_eq!(ln_beta(2.0, 3.0), (1.0f64 / 12.0).ln(), max_relative = 1e-14);
        assert!(ln_gamma_ratio(-1.0, 2.0).is_nan());
    }
}
