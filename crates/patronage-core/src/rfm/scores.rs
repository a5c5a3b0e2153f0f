//! Quantile scores 1..bins and the named RFM segments.

use rayon::prelude::*;

use crate::error::ParamError;

/// Scores each value 1..=`bins` by its percentile rank: `ceil(bins * rank / n)`
/// where `rank` is the lowest 1-based rank of the value's tie block (pandas'
/// `rank(method="min")`). Distinct values fall into equal-frequency bins; equal
/// values
/// always get equal scores, so a heavy tie (most customers with one order)
/// lands in one score instead of being split arbitrarily, and no bin edge can
/// collapse. `higher_is_better = false` reverses the order (recency: fewer
/// days since the last order scores higher).
pub fn quantile_scores(values: &[f64], bins: u8, higher_is_better: bool) -> Result<Vec<u8>, ParamError> {
    if bins < 2 {
        return Err(ParamError::new("bins", format!("must be at least 2, got {bins}")));
    }
    if values.iter().any(|v| v.is_nan()) {
        return Err(ParamError::new("values", "contain NaN"));
    }
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    let key = |i: usize| {
        if higher_is_better {
            values[i]
        } else {
            -values[i]
        }
    };
    order.par_sort_unstable_by(|&i, &j| key(i).total_cmp(&key(j)));
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && key(order[end]) == key(order[start]) {
            end += 1;
        }
        // lowest rank of the tie block [start, end), as a percentile
        let q = (start + 1) as f64 / n as f64;
        let s = (bins as f64 * q).ceil().clamp(1.0, bins as f64) as u8;
        for &i in &order[start..end] {
            scores[i] = s;
        }
        start = end;
    }
    Ok(scores)
}

/// The combined frequency-monetary score: the mean of F and M rounded half up.
pub fn fm_score(f: u8, m: u8) -> u8 {
    (f + m).div_ceil(2)
}

/// Segment names, in the order of [`SEGMENT_GRID`] rows' best cells first.
pub const SEGMENTS: [&str; 11] = [
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Cannot Lose Them",
    "Hibernating",
    "Lost",
];

/// The default segment map on a 5 x 5 grid: row = R score 5..1, column = FM score 1..5.
pub const SEGMENT_GRID: [[&str; 5]; 5] = [
    ["New Customers", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"], // R = 5
    ["Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Champions"],         // R = 4
    ["About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"],                // R = 3
    ["Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"],                // R = 2
    ["Lost", "Lost", "At Risk", "Cannot Lose Them", "Cannot Lose Them"],                     // R = 1
];

/// The named segment of an (R, FM) pair scored on `bins` bins; scores are
/// first rescaled to the 1..5 grid by their bin's midpoint,
/// `ceil((score - 1/2) * 5 / bins)`, so the lowest and highest bins always map
/// to 1 and 5.
pub fn segment_of(r: u8, fm: u8, bins: u8) -> &'static str {
    let to5 = |s: u8| ((2 * s as u32 - 1) * 5).div_ceil(2 * bins as u32).clamp(1, 5) as usize;
    SEGMENT_GRID[5 - to5(r)][to5(fm) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_average_rank() {
        // ranks 1..10 -> ceil(5 * r / 10) = 1,1,2,2,3,3,4,4,5,5
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_scores(&v, 5, true).unwrap(), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(quantile_scores(&v, 5, false).unwrap(), vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    }

    #[test]
    fn ties_share_a_score() {
        // seven ones (lowest rank 1 -> ceil(5 * 1 / 10) = 1), then ranks 8, 9, 10
        let v = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_scores(&v, 5, true).unwrap(), vec![1, 1, 1, 1, 1, 1, 1, 4, 5, 5]);
        // four equal values: lowest rank 1 of 4 -> ceil(5 / 4) = 2
        assert_eq!(quantile_scores(&[3.0; 4], 5, true).unwrap(), vec![2; 4]);
    }

    #[test]
    fn rejects_bad_bins_and_nan() {
        assert_eq!(quantile_scores(&[1.0], 1, true).unwrap_err().name, "bins");
        assert!(quantile_scores(&[f64::NAN], 5, true).is_err());
    }

    #[test]
    fn segments() {
        assert_eq!(segment_of(5, 5, 5), "Champions");
        assert_eq!(segment_of(1, 1, 5), "Lost");
        assert_eq!(segment_of(1, 5, 5), "Cannot Lose Them");
        assert_eq!(segment_of(5, 1, 5), "New Customers");
        assert_eq!(segment_of(3, 3, 5), "Need Attention");
        // 10 bins: 10 -> 5, 1 -> 1; 4 bins: 1 -> 1, 2 -> 2, 3 -> 4, 4 -> 5
        assert_eq!(segment_of(10, 10, 10), "Champions");
        assert_eq!(segment_of(1, 1, 4), "Lost");
        assert_eq!(segment_of(3, 2, 4), "Potential Loyalist");
        assert_eq!(fm_score(4, 5), 5);
        assert_eq!(fm_score(3, 4), 4);
        assert_eq!(fm_score(1, 2), 2);
        let mut all: Vec<&str> = SEGMENT_GRID.iter().flatten().copied().collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), SEGMENTS.len());
    }
}
