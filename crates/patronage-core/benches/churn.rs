//! Criterion benchmarks of churn: the data set and both models, on seeded data.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use patronage_core::churn::{
    churn_dataset, ChurnDatasetParams, GbmModel, GbmParams, LogisticModel, LogisticParams,
};
use patronage_core::simulate::{simulate_transactions, SimulationParams};
use patronage_core::{ReturnsPolicy, Transactions};

fn bench(c: &mut Criterion) {
    let n = 200_000;
    let log = simulate_transactions(&SimulationParams {
        n_customers: n,
        r: 2.0,
        alpha: 60.0,
        a: 0.5,
        b: 8.0,
        seed: 1,
        ..Default::default()
    })
    .expect("valid parameters");
    let tx =
        Transactions::new(&log.customer, &log.day, &log.amount, n, ReturnsPolicy::Net).expect("valid log");
    let params = ChurnDatasetParams {
        cutoff: tx.first_day() + 400,
        horizon_days: 90,
        window_days: None,
        observation_end: None,
    };
    let ds = churn_dataset(&tx, &params).expect("valid cutoff");
    let y: Vec<f64> = ds.label.iter().map(|&l| l as f64).collect();
    let mut g = c.benchmark_group(format!("churn, {} transactions", log.customer.len()));
    g.sample_size(10);
    g.bench_function("churn_dataset", |b| b.iter(|| churn_dataset(&tx, &params)));
    g.bench_function("logistic fit", |b| {
        b.iter(|| LogisticModel::fit(&LogisticParams::default(), ds.features.view(), &y, None))
    });
    let gbm = GbmParams { max_iter: 20, ..GbmParams::default() };
    g.bench_function("gbm fit, 20 trees", |b| b.iter(|| GbmModel::fit(&gbm, ds.features.view(), &y, None)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
