//! Property tests of the core's pure functions (proptest): extreme magnitudes,
//! day numbers and durations anywhere in `i64`, empty to tiny logs. Each call
//! returns a result or an error, never panics or wraps; results do not depend
//! on the row order. `PROPTEST_CASES` sets the number of cases (`make
//! test-nightly` runs ten times the default).

use patronage_core::calendar::{
    check_duration, civil_from_days, days_from_civil, iso_date, Period, MAX_DURATION_DAYS,
};
use patronage_core::churn::{churn_dataset, ChurnDatasetParams};
use patronage_core::exact::{fsum, Exact};
use patronage_core::groups::CustomerGroups;
use patronage_core::loyalty::{concentration, repurchase, LifecycleParams};
use patronage_core::rfm::rfm_table;
use patronage_core::{ReturnsPolicy, Transactions};
use proptest::prelude::*;

/// Every finite double, the edges among them, and ordinary money.
fn amount() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        (-50_000i64..50_000).prop_map(|c| c as f64 / 100.0),
    ]
}

/// Day numbers: ordinary, near the log's limits (±2^31) and beyond them.
fn day() -> impl Strategy<Value = i64> {
    prop_oneof![
        -1000i64..1000,
        (i32::MIN as i64 - 3)..(i32::MIN as i64 + 3),
        (i32::MAX as i64 - 3)..(i32::MAX as i64 + 3),
        any::<i64>(),
    ]
}

/// A log of one to 12 rows over up to 4 customers, and a permutation of its rows.
fn log() -> impl Strategy<Value = (Vec<i64>, Vec<i64>, Vec<f64>, Vec<usize>)> {
    (1usize..12).prop_flat_map(|n| {
        let base = day();
        (
            proptest::collection::vec(0i64..4, n),
            (base, proptest::collection::vec(0i64..400, n)),
            proptest::collection::vec(amount(), n),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        )
            .prop_map(|(c, (b, offsets), a, order)| {
                let d = offsets.iter().map(|o| b.saturating_add(*o)).collect();
                (c, d, a, order)
            })
    })
}

fn permuted<T: Copy>(values: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&i| values[i]).collect()
}

proptest! {
    #[test]
    fn calendar_round_trips_and_periods_bracket_their_days(d in -(1i64 << 40)..(1i64 << 40)) {
        let (y, m, dd) = civil_from_days(d);
        prop_assert_eq!(days_from_civil(y, m, dd), d);
        for period in [Period::Day, Period::Week, Period::Month] {
            let ord = period.ordinal(d);
            prop_assert!(period.start_day(ord) <= d && d < period.start_day(ord + 1));
        }
    }

    #[test]
    fn iso_date_never_panics(d in any::<i64>()) {
        prop_assert!(!iso_date(d).is_empty());
    }

    #[test]
    fn durations_beyond_the_longest_are_refused_never_wrapped(days in any::<i64>()) {
        let checked = check_duration("horizon", days);
        prop_assert_eq!(checked.is_ok(), days.unsigned_abs() <= MAX_DURATION_DAYS as u64);
    }

    #[test]
    fn exact_sums_ignore_the_order(
        // within a log's limit (MAX_ABS_TOTAL = 1e300): no partial sum can overflow
        values in proptest::collection::vec(amount().prop_filter("|x| <= 1e300", |v| v.abs() <= 1e300), 0..40),
        seed in any::<u64>(),
    ) {
        let mut shuffled = values.clone();
        // a deterministic shuffle from the seed (a rotation and a reversal)
        let k = if values.is_empty() { 0 } else { (seed % values.len() as u64) as usize };
        shuffled.rotate_left(k);
        if seed % 2 == 1 {
            shuffled.reverse();
        }
        let (a, b) = (fsum(values.iter().copied()), fsum(shuffled.iter().copied()));
        prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
        let mut exact = Exact::ZERO;
        for &v in &values {
            exact = exact.plus(v);
        }
        if let Some(v) = exact.value() {
            prop_assert!(v == a || !a.is_finite(), "{} vs {}", v, a);
        }
    }

    /// Regression: [f64::MAX, f64::MAX] gave a Gini of NaN.
    #[test]
    fn concentration_is_finite_or_refused(values in proptest::collection::vec(amount(), 1..20)) {
        if let Ok(c) = concentration(&values) {
            prop_assert!(c.gini.is_finite() && (0.0..=1.0).contains(&c.gini));
            prop_assert!(c.top_share.iter().all(|s| s.is_finite() && (0.0..=1.0 + 1e-12).contains(s)));
        }
    }

    #[test]
    fn rfm_is_an_error_or_finite_and_independent_of_row_order((c, d, a, order) in log()) {
        let tx = Transactions::new(&c, &d, &a, 4, ReturnsPolicy::Net);
        let (c2, d2, a2) = (permuted(&c, &order), permuted(&d, &order), permuted(&a, &order));
        let tx2 = Transactions::new(&c2, &d2, &a2, 4, ReturnsPolicy::Net);
        prop_assert_eq!(tx.is_ok(), tx2.is_ok());
        let (Ok(tx), Ok(tx2)) = (tx, tx2) else { return Ok(()) };
        let (one, two) = (rfm_table(&tx, None), rfm_table(&tx2, None));
        prop_assert_eq!(one.is_ok(), two.is_ok());
        let (Ok(one), Ok(two)) = (one, two) else { return Ok(()) };
        prop_assert_eq!(&one.customer, &two.customer);
        prop_assert_eq!(&one.first_day, &two.first_day);
        prop_assert_eq!(&one.recency_days, &two.recency_days);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&one.total_spend), bits(&two.total_spend));
        prop_assert!(one.total_spend.iter().all(|v| v.is_finite()));
        for i in 0..one.customer.len() {
            prop_assert!(0 <= one.recency_days[i] && one.recency_days[i] <= one.tenure_days[i]);
        }
    }

    #[test]
    fn durations_anywhere_in_i64_give_a_result_or_a_parameter_error(
        (c, d, a, _) in log(), horizon in any::<i64>(), window in any::<i64>(), cutoff in day(),
    ) {
        let Ok(tx) = Transactions::new(&c, &d, &a, 4, ReturnsPolicy::Net) else { return Ok(()) };
        let params = ChurnDatasetParams { cutoff, horizon_days: horizon, window_days: Some(window), observation_end: None };
        if let Ok(set) = churn_dataset(&tx, &params) {
            prop_assert!(horizon.unsigned_abs() <= MAX_DURATION_DAYS as u64);
            prop_assert!(set.features.iter().all(|v| v.is_finite()));
        }
        let groups = CustomerGroups::new(&tx);
        if repurchase(&groups, Some(window), tx.last_day()).is_ok() {
            prop_assert!(window.unsigned_abs() <= MAX_DURATION_DAYS as u64);
        }
        let lifecycle = LifecycleParams { new_days: horizon, ..Default::default() };
        prop_assert_eq!(lifecycle.check().is_ok(), (0..=MAX_DURATION_DAYS).contains(&horizon));
    }
}
