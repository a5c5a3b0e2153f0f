//! A BG/NBD, MBG/NBD or Pareto/NBD prediction of a row has the same bits whatever rows
//! share its batch: alone, among neighbours with a longer `T` (another
//! largest `T`, other distinct values), with fractional times (the coded
//! index instead of the direct one), with a frequency beyond the tables, in
//! reverse order. Dask and Spark predict per partition and must reproduce the
//! whole table's values exactly (a table relative to the batch's largest `T`
//! once broke this in the last bits).

use patronage_core::btyd::{customer_lifetime_value, BetaGeo, ClvParams, GammaGamma, ParetoNbd, RfmData};
use proptest::prelude::*;

type Rows = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Whole-day histories: `x` repeat purchases, the last at `t_x <= T`.
fn rows(max_rows: usize) -> impl Strategy<Value = Rows> {
    proptest::collection::vec((0u32..120, 1u32..700, 0.0f64..=1.0), 1..max_rows).prop_map(|v| {
        let mut out = (Vec::new(), Vec::new(), Vec::new());
        for (x, t, share) in v {
            let tx = if x == 0 { 0.0 } else { (share * f64::from(t)).round().max(1.0) };
            out.0.push(f64::from(x));
            out.1.push(tx);
            out.2.push(f64::from(t));
        }
        out
    })
}

/// Neighbours that change the batch's index: a longer `T`, fractional
/// times, a frequency above the tables' limit, or just other whole days.
fn neighbours() -> impl Strategy<Value = Rows> {
    prop_oneof![
        rows(40),
        Just((vec![3.0], vec![4000.0], vec![9000.0])),
        Just((vec![2.0, 0.0], vec![10.25, 0.0], vec![30.5, 30.5])),
        Just((vec![5000.0], vec![600.0], vec![650.0])),
    ]
}

/// A model whose predictions the test compares.
enum Model {
    BetaGeo(BetaGeo),
    ParetoNbd(ParetoNbd),
}

/// BG/NBD and MBG/NBD models, and Pareto/NBD models: CDNOW's (days); α > β;
/// one where `z` nears 1 for small `t_x` only (rows split between the tables
/// and the exact path); one where every row takes the exact path (β huge).
fn models() -> Vec<Model> {
    let mut out = Vec::new();
    for (r, alpha, a, b) in [(0.243, 30.9, 0.793, 2.426), (0.774, 49.7, 0.026, 0.41), (2.0, 1.5, 3.0, 0.7)] {
        out.push(Model::BetaGeo(BetaGeo::new(r, alpha, a, b).expect("valid parameters")));
        out.push(Model::BetaGeo(BetaGeo::new_modified(r, alpha, a, b).expect("valid parameters")));
    }
    for (r, alpha, s, beta) in [
        (0.55, 74.06, 0.61, 81.69),
        (0.8, 3.0, 1.5, 0.7),
        (0.94, 61.2, 1.67, 4.3e3),
        (2.2, 170.0, 0.015, 4.7e8),
    ] {
        out.push(Model::ParetoNbd(ParetoNbd::new(r, alpha, s, beta).expect("valid parameters")));
    }
    out
}

/// The rows' p_alive, expected purchases over 30 days and 12-month CLV.
fn predictions(model: &Model, (f, rec, t): &Rows) -> Vec<Vec<u64>> {
    let data = RfmData::new(f, rec, t, None).expect("valid histories");
    let spend = GammaGamma::new(6.25, 3.74, 15.44).expect("valid parameters");
    let money: Vec<f64> = f.iter().map(|&x| if x > 0.0 { 40.0 } else { 0.0 }).collect();
    let params = ClvParams { horizon: 12, units_per_month: 30.0, discount_rate: 0.01, margin: 1.0 };
    let (alive, expected, clv) = match model {
        Model::BetaGeo(m) => (
            m.p_alive(&data),
            m.expected_purchases(30.0, &data),
            customer_lifetime_value(m, &spend, &data, &money, &params),
        ),
        Model::ParetoNbd(m) => (
            m.p_alive(&data).expect("finite probabilities"),
            m.expected_purchases(30.0, &data),
            customer_lifetime_value(m, &spend, &data, &money, &params),
        ),
    };
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect();
    vec![bits(alive), bits(expected.expect("finite expectations")), bits(clv.expect("finite values"))]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_rows_prediction_does_not_depend_on_its_batch(own in rows(30), other in neighbours(), first in any::<bool>()) {
        let n = own.0.len();
        // the batch: own rows then the neighbours (or the reverse), and the reverse of that
        let join = |a: &Vec<f64>, b: &Vec<f64>| if first { [a.as_slice(), b].concat() } else { [b.as_slice(), a].concat() };
        let batch = (join(&own.0, &other.0), join(&own.1, &other.1), join(&own.2, &other.2));
        let offset = if first { 0 } else { other.0.len() };
        let reversed: Rows = (batch.0.iter().rev().copied().collect(), batch.1.iter().rev().copied().collect(),
                              batch.2.iter().rev().copied().collect());
        let total = batch.0.len();
        for model in models() {
            let alone = predictions(&model, &own);
            let (together, backwards) = (predictions(&model, &batch), predictions(&model, &reversed));
            for (k, values) in alone.iter().enumerate() {
                for i in 0..n {
                    prop_assert_eq!(values[i], together[k][offset + i], "quantity {} row {}", k, i);
                    prop_assert_eq!(values[i], backwards[k][total - 1 - offset - i], "quantity {} row {}", k, i);
                }
                // and each row alone gives the same bits as in its own batch
                let row = (vec![own.0[0]], vec![own.1[0]], vec![own.2[0]]);
                prop_assert_eq!(predictions(&model, &row)[k][0], values[0]);
            }
        }
    }
}
