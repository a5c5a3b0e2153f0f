//! Seeded stratified control assignment.
//!
//! Each stratum draws exactly its requested number of controls by a partial
//! Fisher-Yates shuffle of its rows (in row order) on its own ChaCha8 stream
//! (`seed`, stream = stratum code), so the same seed, rows and sizes give the
//! same control group whatever the thread count, and one stratum's draw does
//! not depend on any other stratum.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{DataError, Field, ParamError, Result};

/// `true` for the rows drawn into the control group: `n_control[s]` of the
/// rows whose stratum code is `s` (codes `0..n_control.len()`).
///
/// ```
/// use patronage_core::campaign::assign_control;
///
/// let strata = [0, 0, 0, 0, 1, 1];
/// let control = assign_control(&strata, &[2, 1], 7).unwrap();
/// assert_eq!(control.iter().filter(|&&c| c).count(), 3);
/// assert_eq!(control, assign_control(&strata, &[2, 1], 7).unwrap());
/// ```
pub fn assign_control(strata: &[i64], n_control: &[u64], seed: u64) -> Result<Vec<bool>> {
    let n_strata = n_control.len();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_strata];
    for (row, &s) in strata.iter().enumerate() {
        match usize::try_from(s).ok().filter(|&s| s < n_strata) {
            Some(s) => members[s].push(row),
            None => {
                return Err(DataError::CodeOutOfRange {
                    field: Field::Label,
                    row,
                    code: s,
                    n_customers: n_strata,
                }
                .into())
            }
        }
    }
    for (s, (rows, &k)) in members.iter().zip(n_control).enumerate() {
        if k > rows.len() as u64 {
            return Err(ParamError::new(
                "n_control",
                format!("stratum {s} has {} rows, fewer than the {k} controls asked for", rows.len()),
            )
            .into());
        }
    }
    let drawn: Vec<Vec<usize>> = members
        .into_par_iter()
        .zip(n_control.par_iter())
        .enumerate()
        .map(|(s, (mut rows, &k))| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(s as u64);
            let k = k as usize;
            for i in 0..k {
                let j = rng.gen_range(i..rows.len());
                rows.swap(i, j);
            }
            rows.truncate(k);
            rows
        })
        .collect();
    let mut control = vec![false; strata.len()];
    for row in drawn.into_iter().flatten() {
        control[row] = true;
    }
    Ok(control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn exact_counts_per_stratum_and_reproducible() {
        let strata: Vec<i64> = (0..1000).map(|i| i % 3).collect();
        let control = assign_control(&strata, &[10, 0, 333], 42).unwrap();
        for (s, want) in [(0, 10), (1, 0), (2, 333)] {
            let got = strata.iter().zip(&control).filter(|(&g, &c)| g == s && c).count();
            assert_eq!(got, want);
        }
        assert_eq!(control, assign_control(&strata, &[10, 0, 333], 42).unwrap());
        assert_ne!(control, assign_control(&strata, &[10, 0, 333], 43).unwrap());
    }

    #[test]
    fn each_rule_has_its_error() {
        assert!(matches!(
            assign_control(&[0, 1], &[1], 0),
            Err(Error::Data(DataError::CodeOutOfRange { row: 1, .. }))
        ));
        assert!(matches!(
            assign_control(&[0], &[2], 0),
            Err(Error::Param(ParamError { name: "n_control", .. }))
        ));
    }
}
