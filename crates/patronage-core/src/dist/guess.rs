//! Rational first guesses of the normal and t quantiles, polished to full
//! precision by [`super::normal_quantile`] and [`super::t_quantile`].

/// Quantile of the standard normal distribution (P. J. Acklam's rational
/// approximation, relative error below 1.2e-9). `p` must lie in (0, 1).
pub(super) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

/// Upper quantile of Student's t with `df` degrees of freedom: the `t` with
/// `P(|T| > t) = two_tailed` (G. W. Hill 1970, CACM algorithm 396; exact for
/// df = 1 and 2, within about 1e-5 relative otherwise).
pub(super) fn student_t_quantile(two_tailed: f64, df: f64) -> f64 {
    use std::f64::consts::FRAC_PI_2;
    let p = two_tailed;
    let n = df;
    if (n - 1.0).abs() < 1e-12 {
        return (p * FRAC_PI_2).cos() / (p * FRAC_PI_2).sin();
    }
    if (n - 2.0).abs() < 1e-12 {
        return (2.0 / (p * (2.0 - p)) - 2.0).sqrt();
    }
    let a = 1.0 / (n - 0.5);
    let b = 48.0 / (a * a);
    let mut c = ((20_700.0 * a / b - 98.0) * a - 16.0) * a + 96.36;
    let d = ((94.5 / (b + c) - 3.0) / b + 1.0) * (a * FRAC_PI_2).sqrt() * n;
    let mut x = d * p;
    let mut y = x.powf(2.0 / n);
    if y > 0.05 + a {
        x = normal_quantile(0.5 * p);
        y = x * x;
        if n < 5.0 {
            c += 0.3 * (n - 4.5) * (x + 0.6);
        }
        c += (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b;
        y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x;
        y = a * y * y;
        y = if y > 0.002 { y.exp() - 1.0 } else { 0.5 * y * y + y };
    } else {
        y = ((1.0 / (((n + 6.0) / (n * y) - 0.089 * d - 0.822) * (n + 2.0) * 3.0) + 0.5 / (n + 4.0)) * y
            - 1.0)
            * (n + 1.0)
            / (n + 2.0)
            + 1.0 / y;
    }
    (n * y).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn normal_quantiles_match_tables() {
        assert_relative_eq!(normal_quantile(0.975), 1.959_963_984_540_054, epsilon = 1e-8);
        assert_relative_eq!(normal_quantile(0.5), 0.0, epsilon = 1e-12);
        assert_relative_eq!(normal_quantile(0.005), -2.575_829_303_548_901, epsilon = 1e-8);
        assert_relative_eq!(normal_quantile(0.9999), 3.719_016_485_455_68, epsilon = 1e-7);
    }

    #[test]
    fn t_quantiles_match_tables() {
        // scipy.stats.t.ppf(0.975, df)
        for (df, t) in [
            (1.0, 12.706_204_736_174_7),
            (2.0, 4.302_652_729_749_464),
            (3.0, 3.182_446_305_284_263),
            (4.0, 2.776_445_105_197_799),
            (9.0, 2.262_157_162_798_205),
            (29.0, 2.045_229_642_132_703),
            (200.0, 1.971_896_224_079_5),
        ] {
            assert_relative_eq!(student_t_quantile(0.05, df), t, max_relative = 1e-4);
        }
        // scipy.stats.t.ppf(0.995, 5)
        assert_relative_eq!(student_t_quantile(0.01, 5.0), 4.032_142_983_557_536, max_relative = 1e-4);
    }
}
