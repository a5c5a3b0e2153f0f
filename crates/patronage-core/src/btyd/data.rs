//! The per-customer inputs of the BTYD models, validated once.
//!
//! Columns are reported through [`Field::Feature`] with the positions below
//! so that bindings can name the user's own column.

use pulp::{Arch, Scalar, Simd, WithSimd};
use rayon::prelude::*;

use crate::error::{DataError, Field, Result};

/// A non-negative whole number (NaN fails), without a `trunc` call.
#[inline(always)]
fn is_count(x: f64) -> bool {
    (x >= 0.0) & ((x >= WHOLE_ABOVE) | is_whole_below_2_52(x))
}

/// 2^52: every float from here up is a whole number.
const WHOLE_ABOVE: f64 = 4_503_599_627_370_496.0;

/// Whether `0 <= x < 2^52` is a whole number: adding 2^52 rounds it to the
/// nearest whole number. Additions vectorise where a float-to-integer cast
/// (a library-free but scalar, saturating conversion) does not.
#[inline(always)]
pub(crate) fn is_whole_below_2_52(x: f64) -> bool {
    (x + WHOLE_ABOVE) - WHOLE_ABOVE == x
}

/// Whether every row passes `ok`, checked in parallel; the caller then
/// re-scans sequentially only to name the first bad row.
fn all_rows(n: usize, ok: impl Fn(usize) -> bool + Sync + Send) -> bool {
    // whole chunks without an early exit: a branch-free loop, not a check of a shared flag per row
    const ROWS: usize = 1 << 14;
    (0..n.div_ceil(ROWS))
        .into_par_iter()
        .all(|c| (c * ROWS..((c + 1) * ROWS).min(n)).fold(true, |all, i| all & ok(i)))
}

/// `frequency` (repeat purchases, `x`).
pub const FREQUENCY: Field = Field::Feature(0);
/// `recency` (time of the last repeat purchase, `t_x`).
pub const RECENCY: Field = Field::Feature(1);
/// `T` (time since the first purchase).
pub const AGE: Field = Field::Feature(2);
/// `monetary_value` (mean spend of the repeat purchases).
pub const MONETARY: Field = Field::Feature(3);
/// Per-row weights (number of customers sharing a row).
pub const WEIGHTS: Field = Field::Feature(4);

fn invalid(field: Field, row: usize, reason: String) -> crate::Error {
    DataError::Invalid { field, row: Some(row), reason }.into()
}

fn check_len(field: Field, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(DataError::LengthMismatch { field, got, expected }.into());
    }
    Ok(())
}

fn check_frequency(frequency: &[f64]) -> Result<()> {
    for (i, &x) in frequency.iter().enumerate() {
        if !x.is_finite() {
            return Err(DataError::NonFinite { field: FREQUENCY, row: i }.into());
        }
        if !is_count(x) {
            return Err(invalid(
                FREQUENCY,
                i,
                format!("frequency must be a non-negative whole number, got {x}"),
            ));
        }
    }
    Ok(())
}

/// Optional per-row weights: finite, non-negative, not all zero.
fn check_weights(weights: Option<&[f64]>, n: usize) -> Result<()> {
    let Some(w) = weights else { return Ok(()) };
    check_len(WEIGHTS, w.len(), n)?;
    for (i, &v) in w.iter().enumerate() {
        if !v.is_finite() {
            return Err(DataError::NonFinite { field: WEIGHTS, row: i }.into());
        }
        if v < 0.0 {
            return Err(invalid(WEIGHTS, i, format!("weights must be non-negative, got {v}")));
        }
    }
    if w.iter().all(|&v| v == 0.0) {
        return Err(
            DataError::Invalid { field: WEIGHTS, row: None, reason: "all weights are zero".into() }.into()
        );
    }
    Ok(())
}

/// Purchase histories `(frequency, recency, T)` of a BG/NBD-type model.
#[derive(Debug, Clone, Copy)]
pub struct RfmData<'a> {
    frequency: &'a [f64],
    recency: &'a [f64],
    t: &'a [f64],
    weights: Option<&'a [f64]>,
    whole: Option<WholeRange>,
}

/// The largest frequency and `T` of a summary whose frequencies, recencies
/// and ages are all whole numbers up to [`WHOLE_RANGE_MAX`] (summaries in
/// days or weeks): predictions then use the values as table indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WholeRange {
    pub max_x: usize,
    pub max_t: usize,
}

/// Largest value of a whole-number column that [`WholeRange`] covers.
pub(crate) const WHOLE_RANGE_MAX: f64 = 65_536.0;

/// What one pass over the rows finds: whether every row is valid, whether
/// every value is a whole number in the [`WholeRange`] sense, and the
/// largest frequency and `T`.
#[derive(Clone, Copy)]
struct Scan {
    valid: bool,
    whole: bool,
    max_x: f64,
    max_t: f64,
}

impl Scan {
    const EMPTY: Scan = Scan { valid: true, whole: true, max_x: 0.0, max_t: 0.0 };

    /// Two scans' findings together (in any order: `&` and `max`).
    fn and(self, other: Scan) -> Scan {
        Scan {
            valid: self.valid & other.valid,
            whole: self.whole & other.whole,
            max_x: self.max_x.max(other.max_x),
            max_t: self.max_t.max(other.max_t),
        }
    }

    /// The rows of `S::f64s` vectors (`frequency`, `recency`, `T`), in
    /// `simd`'s lanes: one set of tests for every CPU and for the rows past
    /// the last whole vector ([`pulp::Scalar`], one row per "vector"). No
    /// `&&` and no `is_finite`: comparisons, which NaN and infinities fail,
    /// combined as masks; maxima by compare and select (NaN never
    /// selected). Exact tests and maxima, so the same findings on any CPU.
    #[inline(always)]
    fn vectors<S: Simd>(simd: S, xs: &[S::f64s], txs: &[S::f64s], ts: &[S::f64s]) -> Scan {
        let (zero, largest, above) =
            (simd.splat_f64s(0.0), simd.splat_f64s(f64::MAX), simd.splat_f64s(WHOLE_ABOVE));
        // below 2^52, adding 2^52 rounds to a whole number
        let whole = |v: S::f64s| simd.equal_f64s(simd.sub_f64s(simd.add_f64s(v, above), above), v);
        let and = |a, b| simd.and_m64s(a, b);
        let le = |a, b| simd.less_than_or_equal_f64s(a, b);
        let none = simd.less_than_f64s(zero, zero);
        let (mut invalid, mut not_whole) = (none, none);
        let (mut max_x, mut max_t) = (zero, zero);
        for ((&x, &tx), &age) in xs.iter().zip(txs).zip(ts) {
            // x finite and a count; 0 <= t_x <= T <= f64::MAX makes both
            // finite; a repeat purchase exactly when t_x > 0
            let count = and(
                and(le(zero, x), le(x, largest)),
                simd.or_m64s(simd.greater_than_or_equal_f64s(x, above), whole(x)),
            );
            let times = and(and(le(zero, tx), le(tx, age)), le(age, largest));
            let repeat = simd
                .not_m64s(simd.xor_m64s(simd.greater_than_f64s(x, zero), simd.greater_than_f64s(tx, zero)));
            invalid = simd.or_m64s(invalid, simd.not_m64s(and(and(count, times), repeat)));
            // a valid x is whole; the bounds are the maxima's (t_x <= T)
            not_whole = simd.or_m64s(not_whole, simd.not_m64s(and(whole(tx), whole(age))));
            max_x = simd.select_f64s(simd.greater_than_f64s(x, max_x), x, max_x);
            max_t = simd.select_f64s(simd.greater_than_f64s(age, max_t), age, max_t);
        }
        let any = |mask| simd.reduce_max_f64s(simd.select_f64s(mask, simd.splat_f64s(1.0), zero)) > 0.0;
        let (max_x, max_t) = (simd.reduce_max_f64s(max_x), simd.reduce_max_f64s(max_t));
        let whole = !any(not_whole) & (max_x <= WHOLE_RANGE_MAX) & (max_t <= WHOLE_RANGE_MAX);
        Scan { valid: !any(invalid), whole, max_x, max_t }
    }
}

/// One block's [`Scan`] inside `pulp`'s runtime SIMD dispatch: the CPU's
/// widest vectors, then the rows past the last whole vector one by one
/// (the compiler left a scalar loop of these tests scalar).
struct ScanRows<'a> {
    frequency: &'a [f64],
    recency: &'a [f64],
    t: &'a [f64],
}

impl WithSimd for ScanRows<'_> {
    type Output = Scan;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Scan {
        let (xs, x_rest) = S::as_simd_f64s(self.frequency);
        let (txs, tx_rest) = S::as_simd_f64s(self.recency);
        let (ts, t_rest) = S::as_simd_f64s(self.t);
        Scan::vectors(simd, xs, txs, ts).and(Scan::vectors(Scalar::new(), x_rest, tx_rest, t_rest))
    }
}

impl<'a> RfmData<'a> {
    /// Validates the columns: non-empty, equal lengths, finite, frequency a
    /// non-negative whole number, `0 <= recency <= T`, recency 0 exactly when
    /// frequency is 0 (a repeat purchase happens after the first one, so at a
    /// positive recency), weights (if any) non-negative and not all zero.
    pub fn new(
        frequency: &'a [f64],
        recency: &'a [f64],
        t: &'a [f64],
        weights: Option<&'a [f64]>,
    ) -> Result<Self> {
        let n = frequency.len();
        if n == 0 {
            return Err(DataError::Empty.into());
        }
        check_len(RECENCY, recency.len(), n)?;
        check_len(AGE, t.len(), n)?;
        const ROWS: usize = 1 << 14;
        let scan = (0..n.div_ceil(ROWS))
            .into_par_iter()
            .map(|c| {
                let rows = c * ROWS..((c + 1) * ROWS).min(n);
                let (frequency, recency, t) = (&frequency[rows.clone()], &recency[rows.clone()], &t[rows]);
                Arch::new().dispatch(ScanRows { frequency, recency, t })
            })
            .reduce(|| Scan::EMPTY, Scan::and);
        let fast = scan.valid;
        if !fast {
            check_frequency(frequency)?;
        }
        for (i, ((&x, &tx), &age)) in frequency.iter().zip(recency).zip(t).enumerate().filter(|_| !fast) {
            if !tx.is_finite() {
                return Err(DataError::NonFinite { field: RECENCY, row: i }.into());
            }
            if !age.is_finite() {
                return Err(DataError::NonFinite { field: AGE, row: i }.into());
            }
            if tx < 0.0 {
                return Err(invalid(RECENCY, i, format!("recency must be non-negative, got {tx}")));
            }
            if age < 0.0 {
                return Err(invalid(AGE, i, format!("T must be non-negative, got {age}")));
            }
            if tx > age {
                return Err(invalid(RECENCY, i, format!("recency ({tx}) is greater than T ({age})")));
            }
            if x == 0.0 && tx != 0.0 {
                return Err(invalid(RECENCY, i, format!("recency must be 0 when frequency is 0, got {tx}")));
            }
            if x > 0.0 && tx == 0.0 {
                return Err(invalid(
                    RECENCY,
                    i,
                    format!(
                        "recency is 0 with frequency {x}: repeat purchases come after the first, at a \
                         positive recency"
                    ),
                ));
            }
        }
        check_weights(weights, n)?;
        // valid rows: finite, so the maxima are the columns' own
        let whole =
            scan.whole.then_some(WholeRange { max_x: scan.max_x as usize, max_t: scan.max_t as usize });
        Ok(RfmData { frequency, recency, t, weights, whole })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.frequency.len()
    }

    /// Always false: empty data is rejected by [`RfmData::new`].
    pub fn is_empty(&self) -> bool {
        self.frequency.is_empty()
    }

    /// Repeat purchases `x`.
    pub fn frequency(&self) -> &'a [f64] {
        self.frequency
    }

    /// Recency `t_x`.
    pub fn recency(&self) -> &'a [f64] {
        self.recency
    }

    /// Age `T`.
    pub fn t(&self) -> &'a [f64] {
        self.t
    }

    /// The weight of row `i` (1 without weights).
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i])
    }

    /// The weights, if given.
    pub fn weights(&self) -> Option<&'a [f64]> {
        self.weights
    }

    /// The range of a whole-number summary (see [`WholeRange`]).
    pub(crate) fn whole_range(&self) -> Option<WholeRange> {
        self.whole
    }
}

/// Repeat buyers' `(frequency, monetary_value)` for the Gamma-Gamma model.
#[derive(Debug, Clone, Copy)]
pub struct SpendData<'a> {
    frequency: &'a [f64],
    monetary_value: &'a [f64],
    weights: Option<&'a [f64]>,
}

impl<'a> SpendData<'a> {
    /// Validates the columns: non-empty, equal lengths, finite, frequency a
    /// non-negative whole number, monetary value positive where frequency is
    /// positive (rows with frequency 0 carry no spend information and are
    /// skipped by the fit).
    pub fn new(frequency: &'a [f64], monetary_value: &'a [f64], weights: Option<&'a [f64]>) -> Result<Self> {
        let n = frequency.len();
        if n == 0 {
            return Err(DataError::Empty.into());
        }
        check_len(MONETARY, monetary_value.len(), n)?;
        let fast = all_rows(n, |i| {
            let (x, m) = (frequency[i], monetary_value[i]);
            x.is_finite() && is_count(x) && m.is_finite() && (x == 0.0 || m > 0.0)
        });
        if !fast {
            check_frequency(frequency)?;
        }
        for (i, (&x, &m)) in frequency.iter().zip(monetary_value).enumerate().filter(|_| !fast) {
            if !m.is_finite() {
                return Err(DataError::NonFinite { field: MONETARY, row: i }.into());
            }
            if x > 0.0 && m <= 0.0 {
                return Err(invalid(
                    MONETARY,
                    i,
                    format!("monetary_value must be positive for repeat buyers, got {m}"),
                ));
            }
        }
        check_weights(weights, n)?;
        Ok(SpendData { frequency, monetary_value, weights })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.frequency.len()
    }

    /// Always false: empty data is rejected by [`SpendData::new`].
    pub fn is_empty(&self) -> bool {
        self.frequency.is_empty()
    }

    /// Repeat purchases `x`.
    pub fn frequency(&self) -> &'a [f64] {
        self.frequency
    }

    /// Mean spend of the repeat purchases.
    pub fn monetary_value(&self) -> &'a [f64] {
        self.monetary_value
    }

    /// The weight of row `i` (1 without weights).
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i])
    }
}

/// The CDNOW 1/10 sample's calibration summary (x, t_x, T in weeks) from the
/// shared data beside the repository; `None` (the caller skips) when absent.
#[cfg(test)]
pub(crate) fn cdnow_sample_summary() -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/cdnow/cdnow_customers_summary.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return None;
    };
    let (mut x, mut tx, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        x.push(v[1]);
        tx.push(v[2]);
        t.push(v[3]);
    }
    Some((x, tx, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn field_of(e: Error) -> Option<Field> {
        match e {
            Error::Data(d) => d.field(),
            Error::Param(_) | Error::Interrupted => None,
        }
    }

    #[test]
    fn rfm_rules() {
        let ok = RfmData::new(&[0.0, 2.0], &[0.0, 3.0], &[5.0, 4.0], None).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(matches!(RfmData::new(&[], &[], &[], None), Err(Error::Data(DataError::Empty))));
        type Case<'a> = (&'a [f64], &'a [f64], &'a [f64], Field);
        let cases: [Case; 8] = [
            (&[-1.0], &[0.0], &[1.0], FREQUENCY),
            (&[1.5], &[0.0], &[1.0], FREQUENCY),
            (&[f64::NAN], &[0.0], &[1.0], FREQUENCY),
            (&[1.0], &[-1.0], &[1.0], RECENCY),
            (&[1.0], &[2.0], &[1.0], RECENCY),
            (&[0.0], &[0.5], &[1.0], RECENCY),
            (&[2.0], &[0.0], &[1.0], RECENCY),
            (&[1.0], &[0.5], &[f64::INFINITY], AGE),
        ];
        for (f, r, t, field) in cases {
            let e = RfmData::new(f, r, t, None).unwrap_err();
            assert_eq!(field_of(e), Some(field), "{f:?} {r:?} {t:?}");
        }
        assert!(matches!(
            RfmData::new(&[1.0], &[0.5], &[1.0, 2.0], None),
            Err(Error::Data(DataError::LengthMismatch { field: AGE, .. }))
        ));
        for w in [&[-1.0][..], &[0.0], &[f64::NAN]] {
            let e = RfmData::new(&[1.0], &[0.5], &[1.0], Some(w)).unwrap_err();
            assert_eq!(field_of(e), Some(WEIGHTS));
        }
    }

    /// The vector scan ([`ScanRows`]) and the scalar rows past its last
    /// vector find the same things wherever the row is: each bad value and
    /// each value outside the whole-number range, at every position of a
    /// summary longer than a few vectors.
    #[test]
    fn every_position_is_scanned() {
        let n = 41;
        let f: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
        let r: Vec<f64> = f.iter().map(|&x| if x > 0.0 { 3.0 } else { 0.0 }).collect();
        let t: Vec<f64> = (0..n).map(|i| 10.0 + i as f64).collect();
        let whole = |f: &[f64], r: &[f64], t: &[f64]| RfmData::new(f, r, t, None).unwrap().whole_range();
        assert_eq!(whole(&f, &r, &t), Some(WholeRange { max_x: 4, max_t: 50 }));
        let bad: [(f64, f64, f64, Field); 8] = [
            (-1.0, 0.0, 1.0, FREQUENCY),
            (1.5, 1.0, 1.0, FREQUENCY),
            (f64::NAN, 0.0, 1.0, FREQUENCY),
            (1.0, -1.0, 1.0, RECENCY),
            (1.0, 2.0, 1.0, RECENCY),
            (0.0, 0.5, 1.0, RECENCY),
            (2.0, 0.0, 1.0, RECENCY),
            (1.0, 0.5, f64::INFINITY, AGE),
        ];
        for p in 0..n {
            let with = |x: f64, tx: f64, age: f64| {
                let (mut f, mut r, mut t) = (f.clone(), r.clone(), t.clone());
                (f[p], r[p], t[p]) = (x, tx, age);
                (f, r, t)
            };
            for (x, tx, age, field) in bad {
                let (f, r, t) = with(x, tx, age);
                let Err(Error::Data(e)) = RfmData::new(&f, &r, &t, None) else {
                    panic!("row {p}: {x} {tx} {age}")
                };
                assert_eq!((e.field(), e.row()), (Some(field), Some(p)), "{x} {tx} {age}");
            }
            // valid, but not a whole-number summary in range
            for (x, tx, age) in [(1.0, 2.5, 7.0), (1.0, 2.0, 7.5), (1.0, 2.0, 65_537.0), (65_537.0, 2.0, 7.0)]
            {
                let (f, r, t) = with(x, tx, age);
                assert_eq!(whole(&f, &r, &t), None, "row {p}: {x} {tx} {age}");
            }
            let (f, r, t) = with(65_536.0, 1.0, 65_536.0);
            assert_eq!(whole(&f, &r, &t), Some(WholeRange { max_x: 65_536, max_t: 65_536 }), "row {p}");
        }
    }

    #[test]
    fn spend_rules() {
        assert!(SpendData::new(&[0.0, 2.0], &[0.0, 3.0], None).is_ok());
        let e = SpendData::new(&[1.0], &[0.0], None).unwrap_err();
        assert!(matches!(e, Error::Data(DataError::Invalid { field: MONETARY, row: Some(0), .. })));
        let e = SpendData::new(&[1.0], &[f64::NAN], None).unwrap_err();
        assert_eq!(field_of(e), Some(MONETARY));
    }
}
