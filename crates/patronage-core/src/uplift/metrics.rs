//! The curves and scores, as scikit-uplift 0.5.1 computes them.

use std::cmp::Ordering;

use rayon::prelude::*;

use super::params::{TopK, UpliftError, UpliftStrategy, ValidUpliftAtK};
use crate::error::Result;
use crate::interrupt;

/// Rows between two Ctrl-C checks in the cumulative loops.
const CHECK_EVERY: usize = 1 << 16;

/// Outcomes, predicted uplift and treatment flags that passed every rule:
/// equal lengths, at least one row, `y` and `treatment` 0/1 with both values
/// present (scikit-uplift's `check_is_binary`), finite scores.
#[derive(Debug, Clone, Copy)]
pub struct UpliftSample<'a> {
    y: &'a [f64],
    score: &'a [f64],
    treatment: &'a [f64],
}

fn check_binary(name: &'static str, values: &[f64]) -> Result<(), UpliftError> {
    if let Some(row) = values.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(UpliftError::NotBinary { name, row, value: values[row] });
    }
    let first = values[0];
    if values.iter().all(|&v| v == first) {
        return Err(UpliftError::OneValue { name, value: first });
    }
    Ok(())
}

impl<'a> UpliftSample<'a> {
    /// Checks the three columns (see the type's documentation).
    pub fn new(y: &'a [f64], score: &'a [f64], treatment: &'a [f64]) -> Result<Self, UpliftError> {
        if y.is_empty() {
            return Err(UpliftError::Empty);
        }
        for (name, len) in [("uplift", score.len()), ("treatment", treatment.len())] {
            if len != y.len() {
                return Err(UpliftError::LengthMismatch { name, got: len, expected: y.len() });
            }
        }
        check_binary("y_true", y)?;
        check_binary("treatment", treatment)?;
        if let Some(row) = score.iter().position(|s| !s.is_finite()) {
            return Err(UpliftError::NonFiniteScore { row });
        }
        Ok(UpliftSample { y, score, treatment })
    }

    /// The number of customers.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Always false: a sample has at least one row.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Rows by decreasing score, ties by decreasing row (numpy's
    /// `argsort(kind="mergesort")[::-1]`). `-0.0` and `0.0` tie, as in numpy.
    fn ranking(&self) -> Vec<usize> {
        let mut keyed: Vec<(f64, usize)> = self.score.iter().copied().zip(0..).collect();
        keyed.par_sort_unstable_by(|p, q| {
            q.0.partial_cmp(&p.0).unwrap_or(Ordering::Equal).then(q.1.cmp(&p.1))
        });
        keyed.into_iter().map(|(_, row)| row).collect()
    }
}

/// Running totals after the first `n_all` customers of a ranking.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    n_all: f64,
    n_treated: f64,
    y_treated: f64,
    y_control: f64,
}

impl Totals {
    fn add(&mut self, y: f64, t: f64) {
        self.n_all += 1.0;
        self.n_treated += t;
        self.y_treated += y * t;
        self.y_control += y * (1.0 - t);
    }

    fn n_control(&self) -> f64 {
        self.n_all - self.n_treated
    }

    /// scikit-uplift's Qini value: `y_t - y_c * n_t / n_c` (0 for `n_t / n_c` when `n_c = 0`).
    fn qini(&self) -> f64 {
        let n_c = self.n_control();
        let ratio = if n_c != 0.0 { self.n_treated / n_c } else { 0.0 };
        self.y_treated - self.y_control * ratio
    }

    /// scikit-uplift's uplift-curve value: `(y_t / n_t - y_c / n_c) * n` (a rate is 0 without its group).
    fn uplift(&self) -> f64 {
        let n_c = self.n_control();
        let rate_t = if self.n_treated != 0.0 { self.y_treated / self.n_treated } else { 0.0 };
        let rate_c = if n_c != 0.0 { self.y_control / n_c } else { 0.0 };
        (rate_t - rate_c) * self.n_all
    }
}

/// Totals at the last customer of each run of equal scores, in ranking order.
fn totals_at_thresholds(sample: &UpliftSample<'_>) -> Result<Vec<Totals>> {
    let order = sample.ranking();
    let mut running = Totals::default();
    let mut out = Vec::new();
    for (k, &row) in order.iter().enumerate() {
        if k % CHECK_EVERY == 0 {
            interrupt::check()?;
        }
        running.add(sample.y[row], sample.treatment[row]);
        let last_of_tie = order.get(k + 1).is_none_or(|&next| sample.score[next] != sample.score[row]);
        if last_of_tie {
            out.push(running);
        }
    }
    Ok(out)
}

/// Totals at each threshold when the scores take a few known values
/// (the perfect curves): the same points as [`totals_at_thresholds`]
/// without sorting, since cumulative 0/1 sums are exact.
fn totals_by_level(
    sample: &UpliftSample<'_>,
    level: impl Fn(f64, f64) -> usize,
    n_levels: usize,
) -> Vec<Totals> {
    let mut per_level = vec![Totals::default(); n_levels];
    for (&y, &t) in sample.y.iter().zip(sample.treatment) {
        per_level[level(y, t)].add(y, t);
    }
    let mut running = Totals::default();
    let mut out = Vec::new();
    for group in per_level.iter().rev().filter(|g| g.n_all > 0.0) {
        running.n_all += group.n_all;
        running.n_treated += group.n_treated;
        running.y_treated += group.y_treated;
        running.y_control += group.y_control;
        out.push(running);
    }
    out
}

/// Points of a curve: customers targeted (from 0) and the curve's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Number of customers targeted, starting at 0, one point per distinct score.
    pub n_targeted: Vec<f64>,
    /// The curve's value there (incremental responders).
    pub value: Vec<f64>,
}

impl Curve {
    fn from_totals(totals: &[Totals], value: impl Fn(&Totals) -> f64) -> Curve {
        let mut n_targeted = Vec::with_capacity(totals.len() + 1);
        let mut values = Vec::with_capacity(totals.len() + 1);
        // scikit-uplift prepends (0, 0) unless the first point is already there; it never is
        n_targeted.push(0.0);
        values.push(0.0);
        for t in totals {
            n_targeted.push(t.n_all);
            values.push(value(t));
        }
        Curve { n_targeted, value: values }
    }

    /// Trapezoidal area (scikit-learn's `auc`), summed with Neumaier's
    /// compensation so it agrees with numpy's pairwise sum to rounding.
    fn area(&self) -> f64 {
        trapezoid(&self.n_targeted, &self.value)
    }

    fn last(&self) -> (f64, f64) {
        let i = self.n_targeted.len() - 1;
        (self.n_targeted[i], self.value[i])
    }
}

fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    compensated_sum((1..x.len()).map(|i| (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0))
}

/// Neumaier's compensated sum: exact to rounding of the result.
fn compensated_sum(terms: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut compensation) = (0.0_f64, 0.0_f64);
    for term in terms {
        let t = sum + term;
        compensation += if sum.abs() >= term.abs() { (sum - t) + term } else { (term - t) + sum };
        sum = t;
    }
    sum + compensation
}

/// The Qini curve (Radcliffe 2007): after the first `n` customers by
/// predicted uplift, `y_t(n) - y_c(n) * n_t(n) / n_c(n)`, the treated
/// responders minus the control responders scaled to the treated count.
pub fn qini_curve(sample: &UpliftSample<'_>) -> Result<Curve> {
    Ok(Curve::from_totals(&totals_at_thresholds(sample)?, Totals::qini))
}

/// The uplift curve: `(y_t(n) / n_t(n) - y_c(n) / n_c(n)) * n`.
pub fn uplift_curve(sample: &UpliftSample<'_>) -> Result<Curve> {
    Ok(Curve::from_totals(&totals_at_thresholds(sample)?, Totals::uplift))
}

/// The best possible Qini curve. With `negative_effect`, customers are
/// ranked by `y t - y (1 - t)` (treated responders first, control responders
/// last); without, scikit-uplift's three points `(0, 0)`, `(r, r)`, `(n, r)`
/// with `r` the incremental responders of treating everybody.
pub fn perfect_qini_curve(sample: &UpliftSample<'_>, negative_effect: bool) -> Result<Curve> {
    if negative_effect {
        // score y t - y (1 - t) in {-1, 0, 1} -> level 0, 1, 2
        let level = |y: f64, t: f64| (1.0 + y * t - y * (1.0 - t)) as usize;
        return Ok(Curve::from_totals(&totals_by_level(sample, level, 3), Totals::qini));
    }
    let (mut y_t, mut n_t, mut y_c, mut n_c) = (0.0, 0.0, 0.0, 0.0);
    for (&y, &t) in sample.y.iter().zip(sample.treatment) {
        if t == 1.0 {
            (y_t, n_t) = (y_t + y, n_t + 1.0);
        } else {
            (y_c, n_c) = (y_c + y, n_c + 1.0);
        }
    }
    let r = y_t - n_t * y_c / n_c;
    if r < 0.0 {
        return Err(UpliftError::NegativeOverallEffect { effect: r }.into());
    }
    Ok(Curve { n_targeted: vec![0.0, r, sample.len() as f64], value: vec![0.0, r, r] })
}

/// The best possible uplift curve: scikit-uplift's ranking `2 [y = t] + s`,
/// `s` = `y` when control responders outnumber treated non-responders, else `t`.
pub fn perfect_uplift_curve(sample: &UpliftSample<'_>) -> Result<Curve> {
    let (mut control_responders, mut treated_non_responders) = (0usize, 0usize);
    for (&y, &t) in sample.y.iter().zip(sample.treatment) {
        control_responders += usize::from(y == 1.0 && t == 0.0);
        treated_non_responders += usize::from(y == 0.0 && t == 1.0);
    }
    let by_y = control_responders > treated_non_responders;
    let level = move |y: f64, t: f64| {
        let summand = if by_y { y } else { t };
        (2.0 * f64::from(u8::from(y == t)) + summand) as usize
    };
    Ok(Curve::from_totals(&totals_by_level(sample, level, 4), Totals::uplift))
}

/// `(area(actual) - area(random)) / (area(perfect) - area(random))`, the
/// random line joining `(0, 0)` to the perfect curve's last point.
fn normalised_area(actual: &Curve, perfect: &Curve, curve: &'static str) -> Result<f64> {
    let (x_end, y_end) = perfect.last();
    let random = x_end * (y_end + 0.0) / 2.0;
    let best = perfect.area() - random;
    if best == 0.0 {
        return Err(UpliftError::DegeneratePerfectCurve { curve }.into());
    }
    Ok((actual.area() - random) / best)
}

/// The Qini coefficient: scikit-uplift's `qini_auc_score`, the area between
/// the Qini curve and the random line over that of the perfect curve.
pub fn qini_coefficient(sample: &UpliftSample<'_>, negative_effect: bool) -> Result<f64> {
    normalised_area(&qini_curve(sample)?, &perfect_qini_curve(sample, negative_effect)?, "Qini")
}

/// AUUC, scikit-uplift's `uplift_auc_score`: the same normalisation on the uplift curve.
pub fn auuc(sample: &UpliftSample<'_>) -> Result<f64> {
    normalised_area(&uplift_curve(sample)?, &perfect_uplift_curve(sample)?, "uplift")
}

/// Response rate of the treated minus that of the control customers among
/// the top k by predicted uplift (scikit-uplift's `uplift_at_k`).
pub fn uplift_at_k(sample: &UpliftSample<'_>, params: ValidUpliftAtK) -> Result<f64> {
    let params = params.0;
    let n = sample.len();
    let n_treated = sample.treatment.iter().filter(|&&t| t == 1.0).count();
    let n_control = n - n_treated;
    if let TopK::Count(k) = params.k {
        if k >= n {
            return Err(UpliftError::CountOutOfRange { k, limit: n, what: "the number of customers" }.into());
        }
    }
    let order = sample.ranking();
    let rate = |rows: &mut dyn Iterator<Item = &usize>, group: &'static str, n_top: usize| {
        let (mut count, mut responders) = (0usize, 0usize);
        for &row in rows {
            count += 1;
            responders += usize::from(sample.y[row] == 1.0);
        }
        if count == 0 {
            return Err(UpliftError::EmptyGroupAtK { group, n_top });
        }
        Ok(responders as f64 / count as f64)
    };
    let is = |flag: f64| move |row: &&usize| sample.treatment[**row] == flag;
    let (rate_t, rate_c) = match params.strategy {
        UpliftStrategy::Overall => {
            let n_top = match params.k {
                TopK::Fraction(k) => (n as f64 * k) as usize,
                TopK::Count(k) => k,
            };
            let top = &order[..n_top];
            (
                rate(&mut top.iter().filter(is(1.0)), "treated", n_top)?,
                rate(&mut top.iter().filter(is(0.0)), "control", n_top)?,
            )
        }
        UpliftStrategy::ByGroup => {
            let (top_t, top_c) = match params.k {
                TopK::Fraction(k) => ((n_treated as f64 * k) as usize, (n_control as f64 * k) as usize),
                TopK::Count(k) => {
                    for (size, what) in [(n_control, "control customers"), (n_treated, "treated customers")] {
                        if k > size {
                            return Err(UpliftError::CountOutOfRange { k, limit: size + 1, what }.into());
                        }
                    }
                    (k, k)
                }
            };
            (
                rate(&mut order.iter().filter(is(1.0)).take(top_t), "treated", top_t)?,
                rate(&mut order.iter().filter(is(0.0)).take(top_c), "control", top_c)?,
            )
        }
    };
    Ok(rate_t - rate_c)
}

#[cfg(test)]
mod tests {
    use super::super::params::UpliftAtKParams;
    use super::*;
    use approx::assert_relative_eq;

    const Y: [f64; 8] = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0];
    const T: [f64; 8] = [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    const S: [f64; 8] = [0.8, 0.1, 0.3, 0.8, 0.2, 0.5, -0.4, 0.0];

    fn sample() -> UpliftSample<'static> {
        UpliftSample::new(&Y, &S, &T).unwrap()
    }

    #[test]
    fn qini_curve_by_hand() {
        // ranking: rows 3,0 (0.8 tie), 5 (0.5), 2 (0.3), 4 (0.2), 1 (0.1), 7 (0.0), 6 (-0.4)
        let c = qini_curve(&sample()).unwrap();
        assert_eq!(c.n_targeted, vec![0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        // after 4: treated 3,0,5 (2 responders), control 2 (1 responder): 2 - 1 * 3/1
        // after 8: treated 4 (2 responders), control 4 (2 responders): 2 - 2 * 4/4
        // after 6: treated 3,0,5,1 (2 responders), control 2,4 (1 responder): 2 - 1 * 4/2
        assert_eq!(c.value, vec![0.0, 2.0, 2.0, -1.0, 0.5, 0.0, 2.0 - 4.0 / 3.0, 0.0]);
    }

    #[test]
    fn uplift_curve_by_hand() {
        let c = uplift_curve(&sample()).unwrap();
        // after 2: both treated responders, no control: (1 - 0) * 2
        assert_eq!(c.value[1], 2.0);
        // after 8: 2/4 - 2/4
        assert_eq!(c.value[7], 0.0);
        // after 5: treated 3,0,5 (2/3), control 2,4 (1/2): (2/3 - 1/2) * 5
        assert_relative_eq!(c.value[4], (2.0 / 3.0 - 0.5) * 5.0, max_relative = 1e-15);
    }

    #[test]
    fn perfect_qini_curve_sorts_treated_responders_first() {
        let c = perfect_qini_curve(&sample(), true).unwrap();
        // levels: treated responders (rows 0,3), the rest (4 rows), control responders (2,6)
        assert_eq!(c.n_targeted, vec![0.0, 2.0, 6.0, 8.0]);
        assert_eq!(c.value, vec![0.0, 2.0, 2.0 - 0.0, 0.0]);
    }

    #[test]
    fn perfect_curve_by_levels_equals_the_sorted_curve() {
        let s = sample();
        let perfect: Vec<f64> = Y.iter().zip(&T).map(|(y, t)| y * t - y * (1.0 - t)).collect();
        let sorted = qini_curve(&UpliftSample::new(&Y, &perfect, &T).unwrap()).unwrap();
        assert_eq!(perfect_qini_curve(&s, true).unwrap(), sorted);
    }

    #[test]
    fn a_perfect_ranking_scores_one() {
        let s = sample();
        let perfect: Vec<f64> = Y.iter().zip(&T).map(|(y, t)| y * t - y * (1.0 - t)).collect();
        let best = UpliftSample::new(&Y, &perfect, &T).unwrap();
        assert_relative_eq!(qini_coefficient(&best, true).unwrap(), 1.0, max_relative = 1e-15);
        assert!(qini_coefficient(&s, true).unwrap() < 1.0);
    }

    #[test]
    fn neumaier_sum_recovers_cancelled_terms() {
        // a plain left-to-right sum loses both ones (1e16 + 1 rounds to 1e16)
        assert_eq!(compensated_sum([1e16, 1.0, 1.0, -1e16].into_iter()), 2.0);
        assert_eq!(trapezoid(&[0.0, 1.0, 3.0], &[0.0, 2.0, 2.0]), 5.0);
    }

    #[test]
    fn uplift_at_k_overall_and_by_group() {
        let s = sample();
        let at = |k, strategy| uplift_at_k(&s, UpliftAtKParams { k, strategy }.check().unwrap());
        // top 4: rows 3,0,5 treated (2/3), row 2 control (1/1)
        assert_relative_eq!(at(TopK::Count(4), UpliftStrategy::Overall).unwrap(), 2.0 / 3.0 - 1.0);
        // int(8 * 0.5) = 4: the same
        assert_relative_eq!(at(TopK::Fraction(0.5), UpliftStrategy::Overall).unwrap(), 2.0 / 3.0 - 1.0);
        // top 2 of each group: treated 3,0 (2/2), control 2,4 (1/2)
        assert_relative_eq!(at(TopK::Count(2), UpliftStrategy::ByGroup).unwrap(), 0.5);
        let empty = at(TopK::Count(2), UpliftStrategy::Overall).unwrap_err();
        assert_eq!(empty, UpliftError::EmptyGroupAtK { group: "control", n_top: 2 }.into());
        let too_many = at(TopK::Count(8), UpliftStrategy::Overall).unwrap_err();
        assert!(too_many.to_string().contains("`k`"));
        let by_group_too_many = at(TopK::Count(5), UpliftStrategy::ByGroup).unwrap_err();
        assert!(by_group_too_many.to_string().contains("control customers"));
    }

    #[test]
    fn ties_at_the_cut_follow_reversed_row_order() {
        // all scores equal: the ranking is rows 7, 6, ..., 0
        let flat = [0.0; 8];
        let s = UpliftSample::new(&Y, &flat, &T).unwrap();
        let p = UpliftAtKParams { k: TopK::Count(3), strategy: UpliftStrategy::Overall }.check().unwrap();
        // rows 7, 6, 5: control 7 (0), control 6 (1), treated 5 (0)
        assert_relative_eq!(uplift_at_k(&s, p).unwrap(), 0.0 - 0.5);
        // the curve has one point: the whole sample
        assert_eq!(qini_curve(&s).unwrap().n_targeted, vec![0.0, 8.0]);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let s1 = [0.0, -0.0, 1.0, 0.0, 0.5, 0.5, 1.0, -0.0];
        let s = UpliftSample::new(&Y, &s1, &T).unwrap();
        assert_eq!(qini_curve(&s).unwrap().n_targeted, vec![0.0, 2.0, 4.0, 8.0]);
    }

    #[test]
    fn every_data_rule_has_its_variant() {
        let e = |y: &[f64], s: &[f64], t: &[f64]| UpliftSample::new(y, s, t).unwrap_err();
        assert!(matches!(e(&[], &[], &[]), UpliftError::Empty));
        assert!(matches!(
            e(&[0.0, 1.0], &[0.0], &[0.0, 1.0]),
            UpliftError::LengthMismatch { name: "uplift", .. }
        ));
        assert!(matches!(
            e(&[0.0, 1.0], &[0.0, 1.0], &[0.0]),
            UpliftError::LengthMismatch { name: "treatment", .. }
        ));
        assert!(matches!(
            e(&[0.0, 2.0], &[0.0, 1.0], &[0.0, 1.0]),
            UpliftError::NotBinary { name: "y_true", row: 1, .. }
        ));
        assert!(matches!(
            e(&[0.0, 1.0], &[0.0, 1.0], &[f64::NAN, 1.0]),
            UpliftError::NotBinary { name: "treatment", row: 0, .. }
        ));
        assert!(matches!(
            e(&[1.0, 1.0], &[0.0, 1.0], &[0.0, 1.0]),
            UpliftError::OneValue { name: "y_true", .. }
        ));
        assert!(matches!(
            e(&[0.0, 1.0], &[0.0, 1.0], &[1.0, 1.0]),
            UpliftError::OneValue { name: "treatment", .. }
        ));
        assert!(matches!(
            e(&[0.0, 1.0], &[0.0, f64::INFINITY], &[0.0, 1.0]),
            UpliftError::NonFiniteScore { row: 1 }
        ));
    }

    #[test]
    fn negative_overall_effect_without_negative_effects_is_an_error() {
        // treated never respond, control always: r = 0 - 2 * 2 / 2 < 0
        let (y, t, s) = ([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]);
        let sample = UpliftSample::new(&y, &s, &t).unwrap();
        assert_eq!(
            perfect_qini_curve(&sample, false).unwrap_err(),
            UpliftError::NegativeOverallEffect { effect: -2.0 }.into()
        );
    }

    #[test]
    fn same_answer_on_one_and_many_threads() {
        let n: u64 = 50_000;
        let y: Vec<f64> = (0..n).map(|i| ((i * 7919) % 3 == 0) as u8 as f64).collect();
        let t: Vec<f64> = (0..n).map(|i| ((i * 104_729) % 2) as f64).collect();
        let s: Vec<f64> = (0..n).map(|i| ((i * 31) % 1000) as f64 / 1000.0).collect();
        let sample = UpliftSample::new(&y, &s, &t).unwrap();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let a = one.install(|| qini_curve(&sample).unwrap());
        let b = qini_curve(&sample).unwrap();
        assert_eq!(a, b);
    }
}
