//! Integrals `∫ exp(h(t)) dt` of a unimodal log-integrand over an interval,
//! by composite 16-point Gauss–Legendre on panels laid out from bounds on
//! `h'` and `h''`.
//!
//! The BTYD closed forms are Gauss hypergeometric functions; written as the
//! integrals they come from, their integrands are unimodal with a known
//! structure, so the panels can be placed before any integrand is evaluated:
//!
//! * the panels start at the mode (the largest value, so nothing is missed)
//!   and grow outwards;
//! * each panel is short enough that `max|h'| * len <= SLOPE_BUDGET` and
//!   `max|h''| * len² <= CURVATURE_BUDGET` over it (bounds the integrand
//!   supplies), which keeps the 16-point rule's relative error near 1e-15:
//!   the rule's error on `exp(λt)` over a panel with `|λ| len = 8` is 2e-23,
//!   and on a Gaussian over 4 standard deviations (`h'' len² = 16`) below
//!   1e-15;
//! * and at most [`MAX_PANEL_LEN`] long: the models' integrands, in the
//!   variables they are written in, have their complex singularities `π`
//!   off the real axis, and a panel of length 4 keeps the rule's Bernstein
//!   ellipse `ρ = 3.43` inside that strip (error `∝ ρ^-32 ≈ 7e-18`);
//! * a side ends when a rigorous bound on the rest of it, `exp(h(t)) / s`
//!   where `h'` stays beyond `s` in that direction, is below 1e-18 of the
//!   mode's value.
//!
//! The number of panels is capped ([`MAX_PANELS`]), so the cost is bounded
//! whatever the parameters; in practice 1 to 20 panels are used.

/// Abscissae (positive half) and weights of the 16-point Gauss–Legendre rule
/// on `[-1, 1]` (computed with mpmath at 40 digits).
const GAUSS_16: [(f64, f64); 8] = [
    (0.095_012_509_837_637_44, 0.189_450_610_455_068_5),
    (0.281_603_550_779_258_9, 0.182_603_415_044_923_6),
    (0.458_016_777_657_227_4, 0.169_156_519_395_002_5),
    (0.617_876_244_402_643_7, 0.149_595_988_816_576_7),
    (0.755_404_408_355_003, 0.124_628_971_255_533_9),
    (0.865_631_202_387_831_7, 0.095_158_511_682_492_78),
    (0.944_575_023_073_232_6, 0.062_253_523_938_647_89),
    (0.989_400_934_991_649_9, 0.027_152_459_411_754_09),
];

/// Most `max|h'| * len` per panel.
const SLOPE_BUDGET: f64 = 12.0;
/// Longest panel (see the module docs).
pub(crate) const MAX_PANEL_LEN: f64 = 4.0;
/// Most `max|h''| * len²` per panel.
pub(crate) const CURVATURE_BUDGET: f64 = 25.0;
/// A side's remaining mass, relative to the mode's value, that may be dropped.
const TAIL: f64 = 1e-18;
/// Most panels of one integral.
pub(crate) const MAX_PANELS: usize = 96;

/// A log-integrand `h` on an interval, with what the panel layout needs.
pub(crate) trait LogIntegrand {
    /// `h(t)`.
    fn value(&self, t: f64) -> f64;
    /// `h'(t)`.
    fn slope(&self, t: f64) -> f64;
    /// Upper bounds of `|h'|` and `|h''|` over `[t0, t1]`.
    fn bounds(&self, t0: f64, t1: f64) -> (f64, f64);
    /// A rate `s > 0` with `h' <= -s` on `[t, ∞)` (`right`) or `h' >= s` on
    /// `(-∞, t]`, if one is known (`0` otherwise).
    fn tail_rate(&self, t: f64, right: bool) -> f64;
}

/// Panels of an integral and the log-integrand's value at the mode (the
/// scale the integrand is evaluated relative to).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// `h` at the mode.
    pub peak: f64,
    panels: [(f64, f64); MAX_PANELS],
    len: usize,
}

/// The integrand could not be resolved within [`MAX_PANELS`] panels (or its
/// bounds were not finite). Not expected for the models' integrands; an
/// error rather than a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unresolvable;

impl Layout {
    /// The panels for `∫_lo^hi exp(h)`, given the location of the mode.
    pub fn new(h: &impl LogIntegrand, lo: f64, hi: f64, mode: f64) -> Result<Layout, Unresolvable> {
        let mode = mode.clamp(lo, hi);
        let peak = h.value(mode);
        let mut layout = Layout { peak, panels: [(0.0, 0.0); MAX_PANELS], len: 0 };
        layout.side(h, mode, hi, true)?;
        layout.side(h, mode, lo, false)?;
        Ok(layout)
    }

    /// Panels from `from` towards `to`, until the rest is negligible.
    fn side(&mut self, h: &impl LogIntegrand, from: f64, to: f64, right: bool) -> Result<(), Unresolvable> {
        let dir = if right { 1.0 } else { -1.0 };
        let mut t = from;
        let ln_tail = TAIL.ln();
        while (to - t) * dir > 0.0 {
            // first guess from the bounds at t, then shrink until the bounds
            // over the whole panel hold
            let remaining = (to - t).abs();
            let (s0, c0) = h.bounds(t, t);
            let mut len =
                remaining.min(MAX_PANEL_LEN).min(SLOPE_BUDGET / s0).min((CURVATURE_BUDGET / c0).sqrt());
            for _ in 0..200 {
                let end = t + dir * len;
                let (a, b) = if right { (t, end) } else { (end, t) };
                let (s, c) = h.bounds(a, b);
                let excess = (s * len / SLOPE_BUDGET).max(c * len * len / CURVATURE_BUDGET);
                if excess <= 1.0 {
                    break;
                }
                if !excess.is_finite() {
                    return Err(Unresolvable);
                }
                len *= (0.9 / excess.sqrt()).clamp(0.1, 0.9);
            }
            if len.is_nan() || len <= 0.0 || t + dir * len == t {
                return Err(Unresolvable);
            }
            let end = if len >= remaining { to } else { t + dir * len };
            if self.len == MAX_PANELS {
                return Err(Unresolvable);
            }
            self.panels[self.len] = if right { (t, end) } else { (end, t) };
            self.len += 1;
            t = end;
            let rate = h.tail_rate(t, right);
            if rate > 0.0 && h.value(t) - self.peak - rate.ln() < ln_tail {
                break;
            }
        }
        Ok(())
    }

    /// Calls `f(t, w)` for every node `t` with its weight `w` (the panel's
    /// half-length times the rule's weight).
    pub fn for_each_node(&self, mut f: impl FnMut(f64, f64)) {
        for &(a, b) in &self.panels[..self.len] {
            let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
            for &(x, w) in &GAUSS_16 {
                f(mid - half * x, half * w);
                f(mid + half * x, half * w);
            }
        }
    }

    /// Number of panels.
    #[cfg(test)]
    pub fn panels(&self) -> usize {
        self.len
    }
}

/// The mode of a unimodal `h` on `[lo, hi]` by bisection on the sign of
/// `h'` (to within `tol`).
pub(crate) fn mode_by_bisection(h: &impl LogIntegrand, lo: f64, hi: f64, tol: f64) -> f64 {
    let start = h.slope(lo);
    if start.is_nan() || start <= 0.0 {
        return lo;
    }
    if h.slope(hi) >= 0.0 {
        return hi;
    }
    let (mut a, mut b) = (lo, hi);
    for _ in 0..200 {
        if b - a <= tol {
            break;
        }
        let mid = 0.5 * (a + b);
        if h.slope(mid) > 0.0 {
            a = mid;
        } else {
            b = mid;
        }
    }
    0.5 * (a + b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// `h(t) = λ t - c t² / 2`: exact bounds, closed-form integral.
    struct Quadratic {
        lambda: f64,
        c: f64,
    }

    impl LogIntegrand for Quadratic {
        fn value(&self, t: f64) -> f64 {
            self.lambda * t - 0.5 * self.c * t * t
        }
        fn slope(&self, t: f64) -> f64 {
            self.lambda - self.c * t
        }
        fn bounds(&self, t0: f64, t1: f64) -> (f64, f64) {
            (self.slope(t0).abs().max(self.slope(t1).abs()), self.c)
        }
        fn tail_rate(&self, t: f64, right: bool) -> f64 {
            if right {
                -self.slope(t)
            } else {
                self.slope(t)
            }
        }
    }

    fn integrate(h: &Quadratic, lo: f64, hi: f64) -> (f64, usize) {
        let mode = mode_by_bisection(h, lo, hi, 1e-6);
        let layout = Layout::new(h, lo, hi, mode).unwrap();
        let mut sum = 0.0;
        layout.for_each_node(|t, w| sum += w * (h.value(t) - layout.peak).exp());
        (sum * layout.peak.exp(), layout.panels())
    }

    #[test]
    fn rule_integrates_polynomials_of_degree_31_exactly() {
        let h = Quadratic { lambda: 0.0, c: 0.0 };
        let layout = Layout::new(&h, -1.0, 1.0, 0.0).unwrap();
        for deg in [0, 1, 2, 7, 30, 31] {
            let mut sum = 0.0;
            layout.for_each_node(|t, w| sum += w * t.powi(deg));
            let want = if deg % 2 == 0 { 2.0 / (deg as f64 + 1.0) } else { 0.0 };
            assert!((sum - want).abs() < 1e-15, "degree {deg}: {sum} vs {want}");
        }
    }

    #[test]
    fn exponentials_and_gaussians_to_full_precision() {
        // ∫_0^50 e^{-3t} = (1 - e^-150) / 3: a steep exponential, truncated
        let (v, n) = integrate(&Quadratic { lambda: -3.0, c: 0.0 }, 0.0, 50.0);
        assert_relative_eq!(v, 1.0 / 3.0, max_relative = 1e-15);
        assert!(n < 30, "{n}");
        // ∫ e^{-t²/2} over ±40 = √(2π)
        let (v, _) = integrate(&Quadratic { lambda: 0.0, c: 1.0 }, -40.0, 40.0);
        assert_relative_eq!(v, (2.0 * std::f64::consts::PI).sqrt(), max_relative = 1e-15);
        // a very narrow Gaussian far from the ends, and a wide flat one
        let (v, _) = integrate(&Quadratic { lambda: 1e3, c: 1e6 }, -1e3, 1e3);
        let want = (2.0 * std::f64::consts::PI / 1e6).sqrt() * 0.5f64.exp();
        assert_relative_eq!(v, want, max_relative = 1e-14);
        let (v, n) = integrate(&Quadratic { lambda: 1e-9, c: 0.0 }, 0.0, 10.0);
        assert_relative_eq!(v, (1e-8f64).exp_m1() / 1e-9, max_relative = 1e-15);
        assert_eq!(n, 3);
    }
}
