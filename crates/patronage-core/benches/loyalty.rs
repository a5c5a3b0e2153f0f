//! Criterion benchmarks of the loyalty passes on a seeded simulated log.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use patronage_core::calendar::Period;
use patronage_core::groups::CustomerGroups;
use patronage_core::loyalty::{self, CohortMetric, LifecycleParams};
use patronage_core::simulate::{simulate_transactions, SimulationParams};
use patronage_core::{ReturnsPolicy, Transactions};

fn bench(c: &mut Criterion) {
    let n_customers = 200_000;
    let log = simulate_transactions(&SimulationParams {
        n_customers,
        r: 2.0,
        alpha: 60.0,
        a: 0.5,
        b: 8.0,
        seed: 1,
        ..Default::default()
    })
    .expect("valid parameters");
    let tx = Transactions::new(&log.customer, &log.day, &log.amount, n_customers, ReturnsPolicy::Net)
        .expect("valid log");
    let groups = CustomerGroups::new(&tx);
    let params = LifecycleParams::default().check().expect("valid parameters");
    let (first, last) = (tx.first_day(), tx.last_day());
    let mut g = c.benchmark_group(format!("{} transactions", log.customer.len()));
    g.sample_size(10);
    g.bench_function("groups", |b| b.iter(|| CustomerGroups::new(&tx)));
    g.bench_function("cohort_retention (grouped)", |b| {
        b.iter(|| {
            loyalty::cohort_retention(&groups, Period::Month, CohortMetric::Customers, true, first, last)
        })
    });
    g.bench_function("period_retention (grouped)", |b| {
        b.iter(|| loyalty::period_retention(&groups, Period::Month, first, last))
    });
    g.bench_function("lifecycle_stages (grouped)", |b| {
        b.iter(|| loyalty::lifecycle_stages(&groups, last + 1, &params))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
