//! Special functions the BTYD likelihoods need: `ln Γ`, digamma and the
//! Gauss hypergeometric series `₂F₁`, for positive real arguments.
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
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv
        * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 / 1188.0))));
    (x - 0.5) * x.ln() - x + HALF_LN_TWO_PI + series - ln_shift
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

/// `ln B(a, b)`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Most terms summed by [`hyp2f1`] before it gives up.
pub const HYP2F1_MAX_TERMS: usize = 1_000_000;

/// `₂F₁(a, b; c; z)` by its power series, for `0 <= z < 1` and `c > 0`.
///
/// Callers transform their arguments (Euler: `₂F₁(a,b;c;z) = (1-z)^(c-a-b)
/// ₂F₁(c-a,c-b;c;z)`) so that the series terms stay small; `None` when the
/// series has not converged within [`HYP2F1_MAX_TERMS`] terms or the
/// arguments are outside that domain.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || c.is_nan() || c <= 0.0 || !a.is_finite() || !b.is_finite() {
        return None;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..HYP2F1_MAX_TERMS {
        let kf = k as f64;
        term *= (a + kf) * (b + kf) / ((c + kf) * (kf + 1.0)) * z;
        sum += term;
        // Past the turning point the terms shrink geometrically (ratio -> z),
        // so the remaining tail is below |term| z / (1 - z).
        if term == 0.0 || (kf > (a.abs() + b.abs()) && term.abs() * z / (1.0 - z) <= 1e-16 * sum.abs()) {
            return sum.is_finite().then_some(sum);
        }
    }
    None
}

/// `(₂F₁(a, b; c; z) - 1) / b`, by the same series without its first term:
/// exact for `b = 0` and free of the cancellation in `F - 1` for small `z`.
/// Same domain as [`hyp2f1`].
pub fn hyp2f1_excess_over_b(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || c.is_nan() || c <= 0.0 || !a.is_finite() || !b.is_finite() {
        return None;
    }
    // k-th term divided by b: (a)_k (b+1)_(k-1) / ((c)_k k!) z^k
    let mut term = a * z / c;
    let mut sum = term;
    for k in 1..HYP2F1_MAX_TERMS {
        let kf = k as f64;
        term *= (a + kf) * (b + kf) / ((c + kf) * (kf + 1.0)) * z;
        sum += term;
        if term == 0.0 || (kf > (a.abs() + b.abs()) && term.abs() * z / (1.0 - z) <= 1e-16 * sum.abs()) {
            return sum.is_finite().then_some(sum);
        }
    }
    None
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
    fn hyp2f1_closed_forms() {
        // 2F1(1,1;2;z) = -ln(1-z)/z
        let z = 0.9;
        assert_relative_eq!(hyp2f1(1.0, 1.0, 2.0, z).unwrap(), -(1.0 - z).ln() / z, max_relative = 1e-13);
        // 2F1(a,b;b;z) = (1-z)^-a
        assert_relative_eq!(hyp2f1(0.3, 2.5, 2.5, 0.6).unwrap(), 0.4f64.powf(-0.3), max_relative = 1e-13);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_none());
        assert!(hyp2f1(1.0, 1.0, -0.5, 0.5).is_none());
        let (a, b, c, z) = (1.7, 0.3, 2.9, 0.45);
        assert_relative_eq!(
            hyp2f1_excess_over_b(a, b, c, z).unwrap(),
            (hyp2f1(a, b, c, z).unwrap() - 1.0) / b,
            max_relative = 1e-12
        );
        // b -> 0: d/db 2F1 at b = 0 is sum (a)_k (k-1)! / ((c)_k k!) z^k; for a = c it is -ln(1-z)
        assert_relative_eq!(
            hyp2f1_excess_over_b(2.0, 0.0, 2.0, z).unwrap(),
            -(1.0 - z).ln(),
            max_relative = 1e-13
        );
    }
}
