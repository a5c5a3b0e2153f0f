//! The normal and Student's t distributions to full double precision, and
//! Wilson's score interval: every confidence interval in the crate (survey
//! scores in `loyalty`, campaign effects in `campaign`) comes from here, and
//! equals scipy's and statsmodels' to 1e-9, which the rational first guesses
//! in [`guess`] (1e-5 for t) do not reach.
//!
//! The normal tail is the regularized incomplete gamma `Q(1/2, x²/2)`, the t
//! tail the regularized incomplete beta (both by series / continued fraction,
//! Numerical Recipes 6.2 and 6.4); quantiles polish a rational first guess by
//! Newton (Halley for the normal) steps on these tails.

use crate::btyd::special::{ln_beta, ln_gamma, ln_gamma_ratio};
mod guess;

use guess::{normal_quantile as normal_quantile_guess, student_t_quantile as t_quantile_guess};

const TINY: f64 = 1e-300;
const EPS: f64 = 1e-16;
const MAX_TERMS: usize = 100_000;

/// Regularized upper incomplete gamma `Q(a, x)` for `a > 0`, `x >= 0`.
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (a * x.ln() - x - ln_gamma(a)).exp();
    if x < a + 1.0 {
        // the series of P(a, x)
        let (mut ap, mut del) = (a, 1.0 / a);
        let mut sum = del;
        for _ in 0..MAX_TERMS {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        1.0 - sum * front
    } else {
        // Lentz's continued fraction of Q(a, x)
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..MAX_TERMS {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        front * h
    }
}

/// `P(Z > x)` for a standard normal `Z`.
pub fn normal_sf(x: f64) -> f64 {
    let q = 0.5 * gamma_q(0.5, 0.5 * x * x);
    if x >= 0.0 {
        q
    } else {
        1.0 - q
    }
}

/// `P(Z <= x)` for a standard normal `Z`.
pub fn normal_cdf(x: f64) -> f64 {
    normal_sf(-x)
}

/// The standard normal density.
fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal quantile for `p` in (0, 1): Acklam's approximation
/// (1e-9) polished by one Halley step.
pub fn normal_quantile(p: f64) -> f64 {
    let x = normal_quantile_guess(p);
    // Φ(x) - p, from the smaller tail
    let e = if p > 0.5 { (1.0 - p) - normal_sf(x) } else { normal_cdf(x) - p };
    let u = e / normal_pdf(x);
    x - u / (1.0 + 0.5 * x * u)
}

/// Continued fraction of the incomplete beta (Numerical Recipes `betacf`).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..MAX_TERMS {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Regularized incomplete beta `I_x(a, b)`, with `y = 1 - x` passed in so
/// that `x` close to 1 keeps its precision.
fn beta_inc(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let front = (a * x.ln() + b * y.ln() - ln_beta(a, b)).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, y) / b
    }
}

/// `P(|T| > t)` for Student's t with `df > 0` degrees of freedom.
pub fn t_two_tailed(t: f64, df: f64) -> f64 {
    let t2 = t * t;
    beta_inc(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2))
}

/// Student's t density.
fn t_pdf(t: f64, df: f64) -> f64 {
    (ln_gamma_ratio(0.5 * df, 0.5)
        - 0.5 * (df * std::f64::consts::PI).ln()
        - 0.5 * (df + 1.0) * (t * t / df).ln_1p())
    .exp()
}

/// The `t > 0` with `P(|T| > t) = two_tailed` (Hill's approximation polished
/// by Newton steps on [`t_two_tailed`]).
pub fn t_quantile(two_tailed: f64, df: f64) -> f64 {
    let mut t = t_quantile_guess(two_tailed, df);
    for _ in 0..50 {
        let step = (t_two_tailed(t, df) - two_tailed) / (2.0 * t_pdf(t, df));
        t += step;
        if step.abs() <= 1e-15 * t {
            break;
        }
    }
    t
}

/// Wilson's score interval of `k` successes in `n` at normal quantile `z`:
/// unlike the Wald interval it keeps its coverage near 0 and 1 and never
/// leaves [0, 1].
pub fn wilson(k: f64, n: f64, z: f64) -> (f64, f64) {
    let p = k / n;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z / (1.0 + z2n) * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn normal_matches_scipy() {
        // scipy.stats.norm.ppf / sf
        assert_relative_eq!(normal_quantile(0.975), 1.959_963_984_540_054, max_relative = 1e-15);
        assert_relative_eq!(normal_quantile(0.8), 0.841_621_233_572_914_3, max_relative = 1e-14);
        assert_relative_eq!(normal_quantile(0.001), -3.090_232_306_167_813, max_relative = 1e-14);
        assert_relative_eq!(normal_sf(1.959_963_984_540_054), 0.025, max_relative = 1e-13);
        assert_relative_eq!(normal_sf(5.0), 2.866_515_718_791_933e-7, max_relative = 1e-12);
        assert_relative_eq!(normal_cdf(-0.3), 0.382_088_577_811_047_4, max_relative = 1e-14);
    }

    #[test]
    fn t_matches_scipy() {
        // scipy.stats.t.ppf(0.975, df), t.sf(t, df) * 2
        for (df, t) in [
            (3.0, 3.182_446_305_283_708),
            (9.0, 2.262_157_162_798_205),
            (29.5, 2.043_724_966_772_122),
            (42_000.0, 1.960_020_468_788_484_3),
        ] {
            assert_relative_eq!(t_quantile(0.05, df), t, max_relative = 1e-12);
        }
        assert_relative_eq!(t_two_tailed(2.5, 12.0), 0.027_915_399_571_325_24, max_relative = 1e-12);
        assert_relative_eq!(t_two_tailed(0.4, 40_000.0), 0.689_158_652_738_556_4, max_relative = 1e-12);
    }
}
