//! Criterion benchmarks of the transaction aggregations on seeded data.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use patronage_core::btyd::{btyd_summary, SummaryParams};
use patronage_core::simulate::{simulate_transactions, SimulationParams};
use patronage_core::{ids, rfm, ReturnsPolicy, Transactions};

fn bench(c: &mut Criterion) {
    let log = simulate_transactions(&SimulationParams {
        n_customers: 200_000,
        r: 2.0,
        alpha: 60.0,
        a: 0.5,
        b: 8.0,
        seed: 1,
        ..Default::default()
    })
    .expect("valid parameters");
    let tx = Transactions::new(&log.customer, &log.day, &log.amount, 200_000, ReturnsPolicy::Net)
        .expect("valid log");
    let mut g = c.benchmark_group(format!("{} transactions", log.customer.len()));
    g.sample_size(10);
    g.bench_function("rfm_table", |b| b.iter(|| rfm::rfm_table(&tx, None)));
    g.bench_function("btyd_summary", |b| b.iter(|| btyd_summary(&tx, &SummaryParams::default())));
    g.bench_function("factorize_i64", |b| b.iter(|| ids::factorize_i64(&log.customer)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
