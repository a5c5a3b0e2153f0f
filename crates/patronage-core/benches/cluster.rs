//! Criterion benchmarks of k-means on seeded data: one fit of a fixed number
//! of Lloyd iterations from the same initial centres (plain fused Lloyd vs
//! Hamerly), and k-means++ initialisation. Divide by the iterations for the
//! time per iteration; the Python bench compares against scikit-learn/linfa.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use linfa::ParamGuard;
use ndarray::Array2;
use patronage_core::cluster::{Algorithm, Init, KMeansParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const K: usize = 8;
const ITERS: usize = 10;

/// `n` points around 12 Gaussian-ish centres (sum of uniforms), `d` features.
fn data(n: usize, d: usize) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let centres: Vec<f64> = (0..12 * d).map(|_| rng.gen_range(-10.0..10.0)).collect();
    Array2::from_shape_fn((n, d), |(i, f)| {
        let noise: f64 = (0..3).map(|_| rng.gen_range(-1.0..1.0)).sum();
        centres[(i % 12) * d + f] + 2.0 * noise
    })
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    for d in [3, 16] {
        let x = data(n, d);
        let start = x.slice(ndarray::s![..K, ..]).to_owned();
        let mut g = c.benchmark_group(format!("kmeans {n}x{d} k={K}"));
        g.sample_size(10);
        for (name, algorithm) in [("lloyd", Algorithm::Lloyd), ("hamerly", Algorithm::Hamerly)] {
            let p = KMeansParams::new(K)
                .init(Init::Centres(start.clone()))
                .max_iter(ITERS)
                .tol(0.0)
                .algorithm(algorithm)
                .check()
                .expect("valid parameters");
            g.bench_function(format!("{name} {ITERS} iterations"), |b| {
                b.iter(|| p.fit_array(x.view()).expect("fits"))
            });
        }
        let p = KMeansParams::new(K).max_iter(1).seed(1).check().expect("valid");
        g.bench_function("k-means++ and 1 iteration", |b| b.iter(|| p.fit_array(x.view()).expect("fits")));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
