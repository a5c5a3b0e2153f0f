//! Turning integer customer ids into dense codes `0..n`, in sorted id order.
//!
//! Integer ids are the common case (loyalty-card numbers, database keys), and
//! pandas' hash-based `factorize` is the slowest step of a groupby on them.
//! When ids fall in a range not much larger than the log, a direct table does
//! it in two streaming passes; otherwise a parallel sort of the distinct ids
//! and a hash map.

use hashbrown::HashMap;
use rayon::prelude::*;

/// Dense codes and the distinct ids they index, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factorized {
    /// `codes[i]` is the position of `ids[i]` in `uniques`.
    pub codes: Vec<i64>,
    /// Distinct ids, ascending.
    pub uniques: Vec<i64>,
}

/// Factorizes integer ids; codes follow ascending id order, like
/// `pandas.factorize(ids, sort=True)`.
pub fn factorize_i64(ids: &[i64]) -> Factorized {
    if ids.is_empty() {
        return Factorized { codes: vec![], uniques: vec![] };
    }
    let (lo, hi) = ids
        .par_iter()
        .fold(|| (i64::MAX, i64::MIN), |(a, b), &x| (a.min(x), b.max(x)))
        .reduce(|| (i64::MAX, i64::MIN), |x, y| (x.0.min(y.0), x.1.max(y.1)));
    let range = (hi as i128 - lo as i128) as u128 + 1;
    if range <= (4 * ids.len() as u128).max(1 << 16) {
        by_table(ids, lo, range as usize)
    } else {
        by_hash(ids)
    }
}

fn by_table(ids: &[i64], lo: i64, range: usize) -> Factorized {
    let mut code_of = vec![u32::MAX; range];
    for &x in ids {
        code_of[(x - lo) as usize] = 0;
    }
    let mut uniques = Vec::new();
    for (offset, slot) in code_of.iter_mut().enumerate() {
        if *slot == 0 {
            *slot = uniques.len() as u32;
            uniques.push(lo + offset as i64);
        }
    }
    let codes = ids.par_iter().map(|&x| code_of[(x - lo) as usize] as i64).collect();
    Factorized { codes, uniques }
}

fn by_hash(ids: &[i64]) -> Factorized {
    let mut uniques = ids.to_vec();
    uniques.par_sort_unstable();
    uniques.dedup();
    let code_of: HashMap<i64, i64> = uniques.iter().enumerate().map(|(c, &x)| (x, c as i64)).collect();
    let codes = ids.par_iter().map(|x| code_of[x]).collect();
    Factorized { codes, uniques }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_paths_agree_with_sorting() {
        let small = vec![30, 10, 20, 10, -5];
        let f = factorize_i64(&small);
        assert_eq!(f.uniques, vec![-5, 10, 20, 30]);
        assert_eq!(f.codes, vec![3, 1, 2, 1, 0]);
        let wide = vec![i64::MAX, 0, i64::MIN, 0];
        let f = factorize_i64(&wide);
        assert_eq!(f.uniques, vec![i64::MIN, 0, i64::MAX]);
        assert_eq!(f.codes, vec![2, 1, 0, 1]);
    }
}
