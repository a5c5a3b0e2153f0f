//! Criterion benchmarks of the transaction aggregations on seeded data.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use patronage_core::btyd::{btyd_summary, SummaryParams};
use patronage_core::groups::CustomerGroups;
use patronage_core::simulate::{simulate_transactions, SimulationParams};
use patronage_core::transactions::{Encoding, NANOS_PER_DAY};
use patronage_core::{ids, rfm, ReturnsPolicy, Transactions};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

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
    export_shaped(c);
}

/// The shape of `benches/bench_rfm.py`: a time-ordered export (nanosecond
/// timestamps) whose customers come in random order, so every row's customer
/// is far from the last one's in memory; and the same rows shuffled (no
/// longer in day order per customer: the grouped path).
fn export_shaped(c: &mut Criterion) {
    let (n, n_customers) = (2_000_000, 200_000);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut rows: Vec<(i64, i64, f64)> = (0..n)
        .map(|_| {
            let day = rng.gen_range(19_358..19_358 + 730i64);
            let date = day * NANOS_PER_DAY + rng.gen_range(0..86_400i64) * 1_000_000_000;
            (
                rng.gen_range(0..n_customers as i64),
                date,
                (rng.gen_range(5.0..100.0f64) * 100.0).round() / 100.0,
            )
        })
        .collect();
    let enc = Encoding { customer_offset: 0, day_divisor: NANOS_PER_DAY };
    for shuffled in [false, true] {
        if shuffled {
            rows.shuffle(&mut rng);
        } else {
            rows.sort_by_key(|r| r.1);
        }
        let customer: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let date: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let amount: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let tx = Transactions::with_encoding(&customer, &date, &amount, n_customers, ReturnsPolicy::Net, enc)
            .expect("valid log");
        let order = if shuffled { "shuffled" } else { "time-ordered" };
        let mut g = c.benchmark_group(format!("{n} transactions, {order}, random customers"));
        g.sample_size(10);
        g.bench_function("rfm_table", |b| b.iter(|| rfm::rfm_table(&tx, None)));
        // the same log as a Parquet read hands it over (pyarrow: 78 chunks), read in place;
        // the date column cut elsewhere than the others
        let chunked = Transactions::from_pieces(
            &pieces(&customer, 78),
            &pieces(&date, 77),
            &pieces(&amount, 78),
            n_customers,
            ReturnsPolicy::Net,
            enc,
        )
        .expect("valid log");
        g.bench_function("rfm_table, columns in 77-78 chunks", |b| b.iter(|| rfm::rfm_table(&chunked, None)));
        g.bench_function("customer_groups", |b| b.iter(|| CustomerGroups::new(&tx)));
        g.finish();
    }
}

/// `values` cut into `k` pieces of (nearly) equal length.
fn pieces<T>(values: &[T], k: usize) -> Vec<&[T]> {
    (0..k).map(|i| &values[i * values.len() / k..(i + 1) * values.len() / k]).collect()
}

criterion_group!(benches, bench);
criterion_main!(benches);
