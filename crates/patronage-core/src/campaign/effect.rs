//! The effect of each treatment against the control group.
//!
//! - **Binary outcome** (0/1): the difference of proportions with Newcombe's
//!   hybrid score interval (method 10 of Newcombe 1998: Wilson intervals of
//!   both groups combined), the p-value of the pooled two-proportion z test.
//! - **Continuous outcome**: the difference of means with Welch's interval
//!   and t test (Welch-Satterthwaite degrees of freedom).
//! - **Bootstrap** (either outcome): the percentile interval of the
//!   difference and of the lift over `n_resamples` resamples drawn with
//!   replacement within each group; resample `b` of comparison `c` runs on its
//!   own ChaCha8 stream, so the interval depends on the seed only, never on
//!   the thread count. The p-value stays the analytic one.
//! - **Relative lift** `mean_treated / mean_control - 1`, its interval from
//!   the log ratio by the delta method (Katz's log interval for proportions);
//!   NaN when either mean is not positive (the log ratio is undefined).
//! - **CUPED** (Deng et al. 2013): with a pre-period covariate `x`, the
//!   outcome becomes `y - θ (x - x̄)` with `θ = cov(x, y) / var(x)` over both
//!   groups of the comparison, and Welch's interval (or the bootstrap) is taken
//!   on it; `variance_reduction = 1 - se² (CUPED) / se² (plain Welch)`.
//! - **Incremental total** `difference × n_treated` (extra conversions or
//!   revenue caused), its interval the difference's interval times `n_treated`.
//! - **Holm's step-down correction** of the p-values of all the comparisons
//!   in one table (every treatment in every segment).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::dist::{normal_quantile, normal_sf, t_quantile, t_two_tailed, wilson};
use crate::error::{DataError, Field, ParamError, Result};
use crate::interrupt;

/// The most bootstrap resamples allowed.
pub const MAX_RESAMPLES: usize = 100_000;
/// The fewest bootstrap resamples allowed (a 95% percentile interval needs
/// enough resamples in each tail).
pub const MIN_RESAMPLES: usize = 100;
/// Resamples per interrupt check.
const RESAMPLE_CHUNK: usize = 64;

/// What the outcome measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 0/1 (visited, converted, reactivated).
    Binary,
    /// Any real number (spend, revenue).
    Continuous,
}

/// How the interval of a comparison is built.
///
/// Defaults: `confidence = 0.95`, analytic intervals (`n_resamples = None`),
/// `seed = 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EffectParams {
    /// Confidence level of every interval, in (0, 1).
    pub confidence: f64,
    /// `Some(n)`: percentile bootstrap intervals from `n` resamples.
    pub n_resamples: Option<usize>,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl Default for EffectParams {
    fn default() -> Self {
        EffectParams { confidence: 0.95, n_resamples: None, seed: 0 }
    }
}

/// Parameters that passed [`EffectParams::check`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValidEffectParams(EffectParams);

impl EffectParams {
    /// Validates every field, naming the first bad one.
    pub fn check(self) -> Result<ValidEffectParams, ParamError> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(ParamError::new(
                "confidence",
                format!("must lie strictly between 0 and 1, got {}", self.confidence),
            ));
        }
        if let Some(n) = self.n_resamples {
            if !(MIN_RESAMPLES..=MAX_RESAMPLES).contains(&n) {
                return Err(ParamError::new(
                    "n_resamples",
                    format!("must lie in {MIN_RESAMPLES}..={MAX_RESAMPLES}, got {n}"),
                ));
            }
        }
        Ok(ValidEffectParams(self))
    }
}

/// One comparison of a treated group with the control group.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Effect {
    /// Treated rows.
    pub n_treated: usize,
    /// Control rows.
    pub n_control: usize,
    /// Mean outcome of the treated (CUPED-adjusted with a covariate).
    pub mean_treated: f64,
    /// Mean outcome of the controls (CUPED-adjusted with a covariate).
    pub mean_control: f64,
    /// `mean_treated - mean_control`.
    pub difference: f64,
    /// Lower bound of the difference's interval.
    pub ci_low: f64,
    /// Upper bound of the difference's interval.
    pub ci_high: f64,
    /// Two-sided p-value (pooled z test for binary outcomes, Welch's t test otherwise).
    pub p_value: f64,
    /// `mean_treated / mean_control - 1`.
    pub lift: f64,
    /// Lower bound of the lift's interval.
    pub lift_low: f64,
    /// Upper bound of the lift's interval.
    pub lift_high: f64,
    /// CUPED's `θ` (NaN without a covariate).
    pub theta: f64,
    /// `1 - se² (CUPED) / se² (plain Welch)` (NaN without a covariate).
    pub variance_reduction: f64,
}

/// The comparisons of [`effects`], in order of (segment, treated group), with
/// Holm-adjusted p-values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EffectTable {
    /// Segment code of each comparison.
    pub segment: Vec<usize>,
    /// Treated group code of each comparison.
    pub group: Vec<usize>,
    /// The comparisons.
    pub effects: Vec<Effect>,
    /// Holm-adjusted p-values over the whole table.
    pub p_adjusted: Vec<f64>,
}

/// The experiment's columns: one row per customer.
#[derive(Clone, Copy, Debug)]
pub struct Experiment<'a> {
    /// The outcome.
    pub outcome: &'a [f64],
    /// Group codes `0..n_groups`.
    pub group: &'a [i64],
    /// The number of groups.
    pub n_groups: usize,
    /// The control group's code.
    pub control: usize,
    /// Segment codes `0..n_segments` (all 0 without segments).
    pub segment: Option<&'a [i64]>,
    /// The number of segments (1 without segments).
    pub n_segments: usize,
    /// The pre-period covariate for CUPED.
    pub covariate: Option<&'a [f64]>,
}

impl Experiment<'_> {
    fn validate(&self, kind: Outcome) -> Result<()> {
        let n = self.outcome.len();
        let check_len = |field: Field, got: usize| {
            if got != n {
                Err(DataError::LengthMismatch { field, got, expected: n })
            } else {
                Ok(())
            }
        };
        check_len(Field::Feature(0), self.group.len())?;
        if let Some(s) = self.segment {
            check_len(Field::Feature(1), s.len())?;
        }
        if let Some(x) = self.covariate {
            check_len(Field::Feature(2), x.len())?;
            if let Some(row) = x.iter().position(|v| !v.is_finite()) {
                return Err(DataError::NonFinite { field: Field::Feature(2), row }.into());
            }
        }
        if n == 0 {
            return Err(DataError::Empty.into());
        }
        if let Some(row) = self.outcome.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFinite { field: Field::Label, row }.into());
        }
        if kind == Outcome::Binary {
            if let Some(row) = self.outcome.iter().position(|&v| v != 0.0 && v != 1.0) {
                return Err(DataError::Invalid {
                    field: Field::Label,
                    row: Some(row),
                    reason: format!("a binary outcome must be 0 or 1, got {}", self.outcome[row]),
                }
                .into());
            }
        }
        if self.control >= self.n_groups {
            return Err(ParamError::new(
                "control",
                format!("code {} is outside 0..{}", self.control, self.n_groups),
            )
            .into());
        }
        let codes = |field: Field, c: &[i64], k: usize| -> Result<()> {
            match c.iter().position(|&g| g < 0 || g as usize >= k) {
                Some(row) => {
                    Err(DataError::CodeOutOfRange { field, row, code: c[row], n_customers: k }.into())
                }
                None => Ok(()),
            }
        };
        codes(Field::Feature(0), self.group, self.n_groups)?;
        if let Some(s) = self.segment {
            codes(Field::Feature(1), s, self.n_segments)?;
        }
        Ok(())
    }
}

/// Every treated group against the control group, within each segment.
///
/// Rules (each its own error): columns of one length; no NaN/inf in the
/// outcome or covariate; a binary outcome only 0/1; codes in range; at least
/// two rows in every compared group of every segment; some variance in the
/// outcome (and covariate) of each comparison.
pub fn effects(data: &Experiment<'_>, kind: Outcome, params: &ValidEffectParams) -> Result<EffectTable> {
    data.validate(kind)?;
    let n_cells = data
        .n_segments
        .checked_mul(data.n_groups)
        .ok_or_else(|| ParamError::new("segment", "too many segment x group cells"))?;
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); n_cells];
    for (row, &g) in data.group.iter().enumerate() {
        let s = data.segment.map_or(0, |s| s[row] as usize);
        rows_of[s * data.n_groups + g as usize].push(row);
    }
    if (0..data.n_groups)
        .all(|g| g == data.control || (0..data.n_segments).all(|s| rows_of[s * data.n_groups + g].is_empty()))
    {
        return Err(DataError::Invalid {
            field: Field::Feature(0),
            row: None,
            reason: "has only the control group: nothing to compare".into(),
        }
        .into());
    }
    let mut table = EffectTable::default();
    for s in 0..data.n_segments {
        let control = &rows_of[s * data.n_groups + data.control];
        for g in (0..data.n_groups).filter(|&g| g != data.control) {
            let treated = &rows_of[s * data.n_groups + g];
            if treated.is_empty() && data.n_segments == 1 {
                continue; // a group label with no rows at all (a pandas category)
            }
            for (rows, what) in [(treated, "treated"), (control, "control")] {
                if rows.len() < 2 {
                    return Err(DataError::Invalid {
                        field: Field::Feature(1),
                        row: None,
                        reason: format!(
                            "segment {s}, group {}: {} {what} rows, at least 2 are needed",
                            if what == "control" { data.control } else { g },
                            rows.len()
                        ),
                    }
                    .into());
                }
            }
            let comparison = table.effects.len() as u64;
            let e = compare(data, treated, control, kind, params, comparison)?;
            table.segment.push(s);
            table.group.push(g);
            table.effects.push(e);
        }
    }
    let p: Vec<f64> = table.effects.iter().map(|e| e.p_value).collect();
    table.p_adjusted = holm(&p);
    Ok(table)
}

/// Mean and variance (ddof = 1) of `v`.
fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|x| (x - mean).powi(2)).sum();
    (mean, ss / (n - 1.0))
}

/// Welch's difference `(diff, se, df)`.
fn welch(t: &[f64], c: &[f64]) -> (f64, f64, f64) {
    let (mt, vt) = mean_var(t);
    let (mc, vc) = mean_var(c);
    let (at, ac) = (vt / t.len() as f64, vc / c.len() as f64);
    let df = (at + ac).powi(2) / (at * at / (t.len() as f64 - 1.0) + ac * ac / (c.len() as f64 - 1.0));
    (mt - mc, (at + ac).sqrt(), df)
}

fn no_variance(what: &str) -> crate::Error {
    DataError::Invalid {
        field: if what == "covariate" { Field::Feature(2) } else { Field::Label },
        row: None,
        reason: format!("the {what} is constant in both groups of a comparison: no interval can be built"),
    }
    .into()
}

fn compare(
    data: &Experiment<'_>,
    treated: &[usize],
    control: &[usize],
    kind: Outcome,
    params: &ValidEffectParams,
    comparison: u64,
) -> Result<Effect> {
    let EffectParams { confidence, n_resamples, seed } = params.0;
    let alpha = 1.0 - confidence;
    let z = normal_quantile(1.0 - alpha / 2.0);
    let pick = |rows: &[usize], v: &[f64]| -> Vec<f64> { rows.iter().map(|&r| v[r]).collect() };
    let (mut yt, mut yc) = (pick(treated, data.outcome), pick(control, data.outcome));
    let (nt, nc) = (yt.len() as f64, yc.len() as f64);
    let mut e = Effect {
        n_treated: yt.len(),
        n_control: yc.len(),
        theta: f64::NAN,
        variance_reduction: f64::NAN,
        ..Default::default()
    };

    if let Some(x) = data.covariate {
        let (xt, xc) = (pick(treated, x), pick(control, x));
        let n = nt + nc;
        let x_mean = (xt.iter().sum::<f64>() + xc.iter().sum::<f64>()) / n;
        let y_mean = (yt.iter().sum::<f64>() + yc.iter().sum::<f64>()) / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (xs, ys) in [(&xt, &yt), (&xc, &yc)] {
            for (xv, yv) in xs.iter().zip(ys.iter()) {
                sxy += (xv - x_mean) * (yv - y_mean);
                sxx += (xv - x_mean).powi(2);
            }
        }
        if sxx == 0.0 {
            return Err(no_variance("covariate"));
        }
        let theta = sxy / sxx;
        let (_, se_plain, _) = welch(&yt, &yc);
        for (xs, ys) in [(&xt, &mut yt), (&xc, &mut yc)] {
            for (xv, yv) in xs.iter().zip(ys.iter_mut()) {
                *yv -= theta * (xv - x_mean);
            }
        }
        let (_, se_cuped, _) = welch(&yt, &yc);
        e.theta = theta;
        e.variance_reduction = 1.0 - (se_cuped / se_plain).powi(2);
    }

    let (mt, vt) = mean_var(&yt);
    let (mc, vc) = mean_var(&yc);
    e.mean_treated = mt;
    e.mean_control = mc;
    e.difference = mt - mc;
    let binary_plain = kind == Outcome::Binary && data.covariate.is_none();
    // the squared standard errors of the two means
    let (at, ac) =
        if binary_plain { (mt * (1.0 - mt) / nt, mc * (1.0 - mc) / nc) } else { (vt / nt, vc / nc) };
    if binary_plain {
        let (lt, ut) = wilson(mt * nt, nt, z);
        let (lc, uc) = wilson(mc * nc, nc, z);
        e.ci_low = e.difference - ((mt - lt).powi(2) + (uc - mc).powi(2)).sqrt();
        e.ci_high = e.difference + ((ut - mt).powi(2) + (mc - lc).powi(2)).sqrt();
        let pooled = (mt * nt + mc * nc) / (nt + nc);
        let se0 = (pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nc)).sqrt();
        e.p_value = if se0 > 0.0 { 2.0 * normal_sf((e.difference / se0).abs()) } else { 1.0 };
    } else {
        let (diff, se, df) = welch(&yt, &yc);
        if se == 0.0 {
            return Err(no_variance("outcome"));
        }
        let half = t_quantile(alpha, df) * se;
        e.ci_low = diff - half;
        e.ci_high = diff + half;
        e.p_value = t_two_tailed(diff / se, df);
    }
    if mt > 0.0 && mc > 0.0 {
        e.lift = mt / mc - 1.0;
        let se_log = (at / (mt * mt) + ac / (mc * mc)).sqrt();
        e.lift_low = ((mt / mc).ln() - z * se_log).exp() - 1.0;
        e.lift_high = ((mt / mc).ln() + z * se_log).exp() - 1.0;
    } else {
        e.lift = if mc != 0.0 { mt / mc - 1.0 } else { f64::NAN };
        e.lift_low = f64::NAN;
        e.lift_high = f64::NAN;
    }
    if let Some(b) = n_resamples {
        let (diffs, lifts) = bootstrap(&yt, &yc, b, seed, comparison)?;
        (e.ci_low, e.ci_high) = percentile_interval(diffs, alpha);
        (e.lift_low, e.lift_high) =
            if mt > 0.0 && mc > 0.0 { percentile_interval(lifts, alpha) } else { (f64::NAN, f64::NAN) };
    }
    Ok(e)
}

/// Differences and lifts of the means over `b` resamples of both groups.
fn bootstrap(yt: &[f64], yc: &[f64], b: usize, seed: u64, comparison: u64) -> Result<(Vec<f64>, Vec<f64>)> {
    let stop = interrupt::current();
    let chunks: Vec<Vec<(f64, f64)>> = (0..b.div_ceil(RESAMPLE_CHUNK))
        .into_par_iter()
        .map(|chunk| {
            if stop.is_raised() {
                return Vec::new();
            }
            let start = chunk * RESAMPLE_CHUNK;
            (start..(start + RESAMPLE_CHUNK).min(b))
                .map(|r| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream((comparison << 32) | r as u64);
                    let mut resampled_mean = |v: &[f64]| {
                        let n = v.len();
                        (0..n).map(|_| v[rng.gen_range(0..n)]).sum::<f64>() / n as f64
                    };
                    let (mt, mc) = (resampled_mean(yt), resampled_mean(yc));
                    (mt - mc, mt / mc - 1.0)
                })
                .collect()
        })
        .collect();
    interrupt::check()?;
    Ok(chunks.into_iter().flatten().unzip())
}

/// The `alpha / 2` and `1 - alpha / 2` quantiles (linear interpolation, as
/// numpy's default), ignoring non-finite values (a resample whose control
/// mean is 0 has no lift).
fn percentile_interval(mut v: Vec<f64>, alpha: f64) -> (f64, f64) {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (v.len() - 1) as f64;
        let (lo, frac) = (pos.floor() as usize, pos.fract());
        let hi = (lo + 1).min(v.len() - 1);
        v[lo] + frac * (v[hi] - v[lo])
    };
    (at(alpha / 2.0), at(1.0 - alpha / 2.0))
}

/// Holm's step-down adjusted p-values (in the input's order).
///
/// ```
/// use patronage_core::campaign::holm;
/// // sorted: 0.01 * 3, max(0.02 * 2, 0.03), max(0.04 * 1, 0.04)
/// assert_eq!(holm(&[0.04, 0.01, 0.02]), vec![0.04, 0.03, 0.04]);
/// ```
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use approx::assert_relative_eq;

    fn experiment<'a>(y: &'a [f64], g: &'a [i64]) -> Experiment<'a> {
        Experiment {
            outcome: y,
            group: g,
            n_groups: 2,
            control: 0,
            segment: None,
            n_segments: 1,
            covariate: None,
        }
    }

    #[test]
    fn newcombe_by_hand() {
        // 3/4 treated vs 1/4 control: Wilson bounds (z = 1.959964) by hand
        let y = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0];
        let g = [0, 0, 0, 0, 1, 1, 1, 1];
        let p = EffectParams::default().check().unwrap();
        let t = effects(&experiment(&y, &g), Outcome::Binary, &p).unwrap();
        let e = t.effects[0];
        let z = 1.959_963_984_540_054;
        let (lt, ut) = wilson(3.0, 4.0, z);
        let (lc, uc) = wilson(1.0, 4.0, z);
        assert_relative_eq!(e.difference, 0.5);
        assert_relative_eq!(
            e.ci_low,
            0.5 - ((0.75 - lt).powi(2) + (uc - 0.25).powi(2)).sqrt(),
            epsilon = 1e-14
        );
        assert_relative_eq!(
            e.ci_high,
            0.5 + ((ut - 0.75).powi(2) + (0.25 - lc).powi(2)).sqrt(),
            epsilon = 1e-14
        );
        // Wilson(1, 4): centre (0.25 + z²/8) / (1 + z²/4)
        let c = (0.25 + z * z / 8.0) / (1.0 + z * z / 4.0);
        assert_relative_eq!((lc + uc) / 2.0, c, epsilon = 1e-14);
    }

    #[test]
    fn bootstrap_is_seeded() {
        let y: Vec<f64> = (0..400).map(|i| ((i * 37) % 101) as f64).collect();
        let g: Vec<i64> = (0..400).map(|i| i % 2).collect();
        let p = EffectParams { n_resamples: Some(500), seed: 3, ..Default::default() }.check().unwrap();
        let a = effects(&experiment(&y, &g), Outcome::Continuous, &p).unwrap();
        let b = effects(&experiment(&y, &g), Outcome::Continuous, &p).unwrap();
        // (theta is NaN without a covariate, so compare the intervals, not the structs)
        let (e, f) = (a.effects[0], b.effects[0]);
        assert_eq!(
            (e.ci_low, e.ci_high, e.lift_low, e.lift_high),
            (f.ci_low, f.ci_high, f.lift_low, f.lift_high)
        );
        assert!(e.ci_low < e.difference && e.difference < e.ci_high);
    }

    #[test]
    fn each_rule_has_its_error() {
        let p = EffectParams::default().check().unwrap();
        let run = |y: &[f64], g: &[i64], kind| effects(&experiment(y, g), kind, &p);
        assert!(matches!(
            run(&[0.0, f64::NAN, 1.0, 0.0], &[0, 0, 1, 1], Outcome::Continuous),
            Err(Error::Data(DataError::NonFinite { field: Field::Label, row: 1 }))
        ));
        assert!(matches!(
            run(&[0.0, 2.0, 1.0, 0.0], &[0, 0, 1, 1], Outcome::Binary),
            Err(Error::Data(DataError::Invalid { field: Field::Label, row: Some(1), .. }))
        ));
        assert!(matches!(
            run(&[0.0, 1.0, 1.0, 0.0], &[0, 0, 0, 0], Outcome::Binary),
            Err(Error::Data(DataError::Invalid { field: Field::Feature(0), row: None, .. }))
        ));
        assert!(matches!(
            run(&[0.0, 1.0, 1.0], &[0, 0, 1], Outcome::Binary),
            Err(Error::Data(DataError::Invalid { field: Field::Feature(1), .. }))
        ));
        assert!(matches!(
            run(&[1.0, 1.0, 1.0, 1.0], &[0, 0, 1, 1], Outcome::Continuous),
            Err(Error::Data(DataError::Invalid { field: Field::Label, row: None, .. }))
        ));
        assert!(matches!(run(&[], &[], Outcome::Binary), Err(Error::Data(DataError::Empty))));
        assert!(matches!(
            EffectParams { confidence: 1.0, ..Default::default() }.check(),
            Err(ParamError { name: "confidence", .. })
        ));
        assert!(matches!(
            EffectParams { n_resamples: Some(10), ..Default::default() }.check(),
            Err(ParamError { name: "n_resamples", .. })
        ));
    }
}
