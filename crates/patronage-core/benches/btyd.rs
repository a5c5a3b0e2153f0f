//! Criterion benchmarks of the BTYD model fits and CLV on seeded data.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use patronage_core::btyd::{
    btyd_summary, customer_lifetime_value, BetaGeoParams, ClvParams, GammaGammaParams, RfmData, SpendData,
    SummaryParams,
};
use patronage_core::simulate::{simulate_transactions, SimulationParams, Spend};
use patronage_core::{ReturnsPolicy, Transactions};

fn bench(c: &mut Criterion) {
    let n = 100_000;
    let log = simulate_transactions(&SimulationParams {
        n_customers: n,
        spend: Spend::GammaGamma { p: 6.25, q: 3.74, v: 15.44 },
        seed: 2024,
        ..Default::default()
    })
    .expect("valid parameters");
    let tx =
        Transactions::new(&log.customer, &log.day, &log.amount, n, ReturnsPolicy::Net).expect("valid log");
    let s = btyd_summary(&tx, &SummaryParams::default()).expect("a summary");
    let hist = RfmData::new(&s.frequency, &s.recency, &s.t, None).expect("valid summary");
    let spend = SpendData::new(&s.frequency, &s.monetary_value, None).expect("valid summary");
    let bg_params = BetaGeoParams::default().check().expect("defaults");
    let gg_params = GammaGammaParams::default().check().expect("defaults");
    let bg = bg_params.fit(&hist).expect("fit");
    let gg = gg_params.fit(&spend).expect("fit");
    let clv = ClvParams { horizon: 12, units_per_month: 30.0, discount_rate: 0.01, margin: 1.0 };
    let mut g = c.benchmark_group(format!("{n} customers (days)"));
    g.sample_size(10);
    g.bench_function("BG/NBD fit", |b| b.iter(|| bg_params.fit(&hist)));
    g.bench_function("Gamma-Gamma fit", |b| b.iter(|| gg_params.fit(&spend)));
    g.bench_function("CLV 12 months", |b| {
        b.iter(|| customer_lifetime_value(&bg, &gg, &hist, &s.monetary_value, &clv))
    });
    g.bench_function("p_alive", |b| b.iter(|| bg.p_alive(&hist)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
