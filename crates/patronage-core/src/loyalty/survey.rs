//! Survey metrics from integer answers: NPS, CSAT (a share) and CES (a mean),
//! each with counts and a confidence interval, per group.
//!
//! Answers arrive as `f64` so that NaN can mark a non-response: it is excluded
//! from every statistic and counted in `n_missing`. Anything else that is not
//! an integer of the scale is an error naming its row.

use crate::dist::{normal_quantile, t_quantile, wilson};
use crate::error::{DataError, Field, ParamError, Result};

/// Answer counts per group and scale level.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    /// Lowest level of the scale.
    pub low: i64,
    /// Number of levels (`high - low + 1`).
    pub n_levels: usize,
    /// `counts[g * n_levels + (answer - low)]`.
    pub counts: Vec<i64>,
    /// Non-responses (NaN) per group.
    pub missing: Vec<i64>,
}

impl Tally {
    /// Number of groups.
    pub fn n_groups(&self) -> usize {
        self.missing.len()
    }

    /// The counts of group `g`, one per level.
    pub fn group(&self, g: usize) -> &[i64] {
        &self.counts[g * self.n_levels..(g + 1) * self.n_levels]
    }

    /// A tally from merged counts (an engine adds the tallies of its batches):
    /// `counts[g * n_levels + j]` answers of level `low + j` in group `g`.
    ///
    /// Errors (`counts`): a scale of no or more than [`MAX_SCALE_LEVELS`] levels,
    /// shapes that do not match, a negative count, or a group whose total
    /// (answers plus non-responses) overflows `i64`.
    pub fn from_counts(low: i64, n_levels: usize, counts: Vec<i64>, missing: Vec<i64>) -> Result<Tally> {
        if n_levels == 0 || n_levels > MAX_SCALE_LEVELS || low.checked_add(n_levels as i64 - 1).is_none() {
            return Err(ParamError::new(
                "counts",
                format!("{n_levels} answer levels from {low}; between 1 and {MAX_SCALE_LEVELS} levels"),
            )
            .into());
        }
        if Some(counts.len()) != missing.len().checked_mul(n_levels) {
            return Err(ParamError::new(
                "counts",
                format!("{} counts for {} groups x {n_levels} levels", counts.len(), missing.len()),
            )
            .into());
        }
        if counts.iter().chain(&missing).any(|&c| c < 0) {
            return Err(ParamError::new("counts", "a count is negative").into());
        }
        let t = Tally { low, n_levels, counts, missing };
        for g in 0..t.n_groups() {
            if t.group(g).iter().chain([&t.missing[g]]).try_fold(0i64, |acc, &c| acc.checked_add(c)).is_none()
            {
                return Err(ParamError::new(
                    "counts",
                    format!("group {g}'s answers overflow a 64-bit count"),
                )
                .into());
            }
        }
        Ok(t)
    }
}

/// Most answer levels of a scale: 0..100 (a percentage slider) is the widest
/// in use, and every level costs a counter per group and a column of output.
pub const MAX_SCALE_LEVELS: usize = 101;

/// Counts the answers `low..=high` of each group (`group[i]` in `0..n_groups`).
///
/// Errors: an empty scale or one of more than [`MAX_SCALE_LEVELS`] levels
/// (`scale`); a non-integer or out-of-range answer, or a group code out of
/// range, each with its row (`Field::Label` is the answer column).
pub fn tally(scores: &[f64], group: &[i64], n_groups: usize, low: i64, high: i64) -> Result<Tally> {
    if high < low {
        return Err(ParamError::new("scale", format!("empty scale {low}..{high}")).into());
    }
    // i128: the width of any pair of i64 is exact
    let width = i128::from(high) - i128::from(low) + 1;
    if width > MAX_SCALE_LEVELS as i128 {
        return Err(ParamError::new(
            "scale",
            format!("{low}..{high} has {width} answer levels; at most {MAX_SCALE_LEVELS} (e.g. 0..100)"),
        )
        .into());
    }
    let n_levels = width as usize;
    let Some(n_cells) = n_groups.checked_mul(n_levels) else {
        return Err(ParamError::new("by", format!("{n_groups} groups x {n_levels} levels overflow")).into());
    };
    if group.len() != scores.len() {
        return Err(DataError::LengthMismatch {
            field: Field::Feature(0),
            got: group.len(),
            expected: scores.len(),
        }
        .into());
    }
    let mut counts = vec![0i64; n_cells];
    let mut missing = vec![0i64; n_groups];
    for (row, (&s, &g)) in scores.iter().zip(group).enumerate() {
        if g < 0 || g as usize >= n_groups {
            return Err(DataError::CodeOutOfRange {
                field: Field::Feature(0),
                row,
                code: g,
                n_customers: n_groups,
            }
            .into());
        }
        let g = g as usize;
        if s.is_nan() {
            missing[g] += 1;
            continue;
        }
        if s.fract() != 0.0 || s < low as f64 || s > high as f64 {
            return Err(DataError::Invalid {
                field: Field::Label,
                row: Some(row),
                reason: format!("answer {s} is not an integer from {low} to {high}"),
            }
            .into());
        }
        counts[g * n_levels + (s as i64 - low) as usize] += 1;
    }
    Ok(Tally { low, n_levels, counts, missing })
}

fn check_confidence(confidence: f64) -> Result<f64> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(ParamError::new(
            "confidence",
            format!("must lie strictly between 0 and 1, got {confidence}"),
        )
        .into());
    }
    Ok(normal_quantile(0.5 + confidence / 2.0))
}

/// Net Promoter Score per group, on the usual -100..100 scale.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NpsStats {
    /// Respondents (non-missing answers).
    pub n: Vec<i64>,
    /// Non-responses.
    pub n_missing: Vec<i64>,
    /// Answers 9-10.
    pub promoters: Vec<i64>,
    /// Answers 7-8.
    pub passives: Vec<i64>,
    /// Answers 0-6.
    pub detractors: Vec<i64>,
    /// Share of promoters among respondents.
    pub share_promoters: Vec<f64>,
    /// Share of passives.
    pub share_passives: Vec<f64>,
    /// Share of detractors.
    pub share_detractors: Vec<f64>,
    /// `100 * (share_promoters - share_detractors)`.
    pub nps: Vec<f64>,
    /// Standard error of `nps`.
    pub se: Vec<f64>,
    /// Lower confidence bound (clipped to -100).
    pub ci_low: Vec<f64>,
    /// Upper confidence bound (clipped to 100).
    pub ci_high: Vec<f64>,
}

/// NPS of a 0..10 tally. The interval is Wald's for a difference of two
/// multinomial shares: `var = (p_pro + p_det - (p_pro - p_det)^2) / n`.
/// Groups without respondents get NaN statistics.
pub fn nps_stats(t: &Tally, confidence: f64) -> Result<NpsStats> {
    let z = check_confidence(confidence)?;
    if t.low != 0 || t.n_levels != 11 {
        return Err(ParamError::new("scale", "NPS answers run from 0 to 10").into());
    }
    let mut s = NpsStats::default();
    for g in 0..t.n_groups() {
        let c = t.group(g);
        let det: i64 = c[..7].iter().sum();
        let pas: i64 = c[7..9].iter().sum();
        let pro: i64 = c[9..].iter().sum();
        let n = det + pas + pro;
        let nf = n as f64;
        let (pp, pd) = (pro as f64 / nf, det as f64 / nf);
        let diff = pp - pd;
        let se = ((pp + pd - diff * diff).max(0.0) / nf).sqrt();
        s.n.push(n);
        s.n_missing.push(t.missing[g]);
        s.promoters.push(pro);
        s.passives.push(pas);
        s.detractors.push(det);
        s.share_promoters.push(pp);
        s.share_passives.push(pas as f64 / nf);
        s.share_detractors.push(pd);
        s.nps.push(100.0 * diff);
        s.se.push(100.0 * se);
        s.ci_low.push((100.0 * (diff - z * se)).max(-100.0));
        s.ci_high.push((100.0 * (diff + z * se)).min(100.0));
    }
    Ok(s)
}

/// A share per group (CSAT: share of satisfied answers) with Wilson's interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareStats {
    /// Respondents.
    pub n: Vec<i64>,
    /// Non-responses.
    pub n_missing: Vec<i64>,
    /// Respondents whose answer is in the chosen set.
    pub n_yes: Vec<i64>,
    /// `n_yes / n`.
    pub share: Vec<f64>,
    /// Wilson score interval, lower bound.
    pub ci_low: Vec<f64>,
    /// Wilson score interval, upper bound.
    pub ci_high: Vec<f64>,
}

/// The share of answers whose level is in `yes` (answer values), per group.
/// Wilson's score interval keeps its coverage near 0 and 1, where CSAT lives.
pub fn share_stats(t: &Tally, yes: &[i64], confidence: f64) -> Result<ShareStats> {
    let z = check_confidence(confidence)?;
    let high = t.low + t.n_levels as i64 - 1;
    if let Some(&bad) = yes.iter().find(|&&v| v < t.low || v > high) {
        return Err(ParamError::new(
            "satisfied",
            format!("answer {bad} is outside the scale {}..{high}", t.low),
        )
        .into());
    }
    let mut s = ShareStats::default();
    for g in 0..t.n_groups() {
        let c = t.group(g);
        let n: i64 = c.iter().sum();
        let k: i64 = yes.iter().map(|&v| c[(v - t.low) as usize]).sum();
        let (low, high) = wilson(k as f64, n as f64, z);
        s.n.push(n);
        s.n_missing.push(t.missing[g]);
        s.n_yes.push(k);
        s.share.push(k as f64 / n as f64);
        s.ci_low.push(low);
        s.ci_high.push(high);
    }
    Ok(s)
}

/// A mean answer per group (CES) with Student's t interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeanStats {
    /// Respondents.
    pub n: Vec<i64>,
    /// Non-responses.
    pub n_missing: Vec<i64>,
    /// Mean answer.
    pub mean: Vec<f64>,
    /// Sample standard deviation (ddof = 1; NaN with one respondent).
    pub std: Vec<f64>,
    /// Standard error of the mean.
    pub se: Vec<f64>,
    /// `mean - t * se` (NaN with one respondent).
    pub ci_low: Vec<f64>,
    /// `mean + t * se`.
    pub ci_high: Vec<f64>,
}

/// Mean answer per group with a t interval on `n - 1` degrees of freedom.
pub fn mean_stats(t: &Tally, confidence: f64) -> Result<MeanStats> {
    check_confidence(confidence)?;
    let mut s = MeanStats::default();
    for g in 0..t.n_groups() {
        let c = t.group(g);
        let n: i64 = c.iter().sum();
        let nf = n as f64;
        let level = |j: usize| (t.low + j as i64) as f64;
        let mean = c.iter().enumerate().map(|(j, &k)| k as f64 * level(j)).sum::<f64>() / nf;
        let ss: f64 = c.iter().enumerate().map(|(j, &k)| k as f64 * (level(j) - mean).powi(2)).sum();
        let std = if n > 1 { (ss / (nf - 1.0)).sqrt() } else { f64::NAN };
        let se = std / nf.sqrt();
        let half = if n > 1 { t_quantile(1.0 - confidence, nf - 1.0) * se } else { f64::NAN };
        s.n.push(n);
        s.n_missing.push(t.missing[g]);
        s.mean.push(mean);
        s.std.push(std);
        s.se.push(se);
        s.ci_low.push(mean - half);
        s.ci_high.push(mean + half);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use approx::assert_relative_eq;

    #[test]
    fn tally_counts_and_missing() {
        let t = tally(&[0.0, 10.0, f64::NAN, 10.0, 7.0], &[0, 0, 0, 1, 1], 2, 0, 10).unwrap();
        assert_eq!(t.group(0)[0], 1);
        assert_eq!(t.group(0)[10], 1);
        assert_eq!(t.missing, vec![1, 0]);
        assert_eq!(t.group(1).iter().sum::<i64>(), 2);
    }

    #[test]
    fn tally_rejects_each_rule() {
        assert!(matches!(
            tally(&[3.5], &[0], 1, 0, 10),
            Err(Error::Data(DataError::Invalid { row: Some(0), .. }))
        ));
        assert!(matches!(
            tally(&[1.0, 11.0], &[0, 0], 1, 0, 10),
            Err(Error::Data(DataError::Invalid { row: Some(1), .. }))
        ));
        assert!(matches!(
            tally(&[1.0], &[2], 1, 0, 10),
            Err(Error::Data(DataError::CodeOutOfRange { row: 0, .. }))
        ));
        assert!(matches!(
            tally(&[1.0], &[0, 0], 1, 0, 10),
            Err(Error::Data(DataError::LengthMismatch { .. }))
        ));
        assert!(matches!(tally(&[1.0], &[0], 1, 5, 1), Err(Error::Param(ParamError { name: "scale", .. }))));
        // widths that once aborted (2^40 levels), overflowed (2^62) or wrapped to 0 (2^64)
        for (low, high) in [(1, 1 << 40), (-(1 << 62), 1 << 62), (i64::MIN, i64::MAX), (0, 101)] {
            assert!(matches!(
                tally(&[1.0], &[0], 1, low, high),
                Err(Error::Param(ParamError { name: "scale", .. }))
            ));
        }
        assert_eq!(tally(&[100.0], &[0], 1, 0, 100).unwrap().n_levels, MAX_SCALE_LEVELS);
    }

    #[test]
    fn from_counts_round_trips_and_rejects_each_rule() {
        let t = tally(&[0.0, 10.0, f64::NAN, 10.0, 7.0], &[0, 0, 0, 1, 1], 2, 0, 10).unwrap();
        let back = Tally::from_counts(0, 11, t.counts.clone(), t.missing.clone()).unwrap();
        assert_eq!(back, t);
        let counts = |r: Result<Tally>| matches!(r, Err(Error::Param(ParamError { name: "counts", .. })));
        assert!(counts(Tally::from_counts(0, 0, vec![], vec![])));
        assert!(counts(Tally::from_counts(0, 102, vec![0; 102], vec![0])));
        assert!(counts(Tally::from_counts(i64::MAX, 2, vec![0; 2], vec![0])));
        assert!(counts(Tally::from_counts(0, 11, vec![0; 10], vec![0])));
        assert!(counts(Tally::from_counts(0, 2, vec![1, -1], vec![0])));
        assert!(counts(Tally::from_counts(0, 2, vec![0, 0], vec![-1])));
        assert!(counts(Tally::from_counts(0, 2, vec![i64::MAX, 1], vec![0])));
    }

    #[test]
    fn nps_by_hand() {
        // 3 promoters, 1 passive, 2 detractors, 1 non-response: NPS = 100 * (3 - 2) / 6.
        let t = tally(&[10.0, 9.0, 9.0, 8.0, 6.0, 0.0, f64::NAN], &[0; 7], 1, 0, 10).unwrap();
        let s = nps_stats(&t, 0.95).unwrap();
        assert_eq!((s.promoters[0], s.passives[0], s.detractors[0]), (3, 1, 2));
        assert_eq!((s.n[0], s.n_missing[0]), (6, 1));
        assert_relative_eq!(s.nps[0], 100.0 / 6.0, epsilon = 1e-12);
        let var = (0.5 + 1.0 / 3.0 - (1.0f64 / 6.0).powi(2)) / 6.0;
        assert_relative_eq!(s.se[0], 100.0 * var.sqrt(), epsilon = 1e-12);
        assert_relative_eq!(
            s.ci_high[0],
            100.0 / 6.0 + 1.959_963_984_540_054 * 100.0 * var.sqrt(),
            epsilon = 1e-6
        );
        assert!(matches!(nps_stats(&t, 1.0), Err(Error::Param(ParamError { name: "confidence", .. }))));
    }

    #[test]
    fn wilson_interval_by_hand() {
        // 4 of 5 satisfied: Wilson 95% interval (0.37553, 0.96378), checked with scipy.
        let t = tally(&[5.0, 4.0, 4.0, 5.0, 2.0], &[0; 5], 1, 1, 5).unwrap();
        let s = share_stats(&t, &[4, 5], 0.95).unwrap();
        assert_relative_eq!(s.share[0], 0.8);
        assert_relative_eq!(s.ci_low[0], 0.375_534_629_762_525, epsilon = 1e-8);
        assert_relative_eq!(s.ci_high[0], 0.963_775_891_367_57, epsilon = 1e-8);
        assert!(matches!(
            share_stats(&t, &[6], 0.95),
            Err(Error::Param(ParamError { name: "satisfied", .. }))
        ));
    }

    #[test]
    fn mean_interval_by_hand() {
        let t = tally(&[1.0, 2.0, 3.0], &[0; 3], 1, 1, 7).unwrap();
        let s = mean_stats(&t, 0.95).unwrap();
        assert_relative_eq!(s.mean[0], 2.0);
        assert_relative_eq!(s.std[0], 1.0);
        assert_relative_eq!(s.ci_high[0], 2.0 + 4.302_652_729_749_464 / 3f64.sqrt(), epsilon = 1e-6);
        let one = mean_stats(&tally(&[4.0], &[0], 1, 1, 7).unwrap(), 0.95).unwrap();
        assert!(one.ci_low[0].is_nan() && one.mean[0] == 4.0);
    }
}
