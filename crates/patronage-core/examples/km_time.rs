#![allow(missing_docs, clippy::unwrap_used, clippy::erasing_op)]
use linfa::ParamGuard;
use ndarray::Array2;
use patronage_core::cluster::{Algorithm, Init, KMeansParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn data(n: usize, d: usize) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(42 + d as u64);
    let centres: Vec<f64> = (0..12 * d).map(|_| rng.gen_range(-10.0..10.0)).collect();
    Array2::from_shape_fn((n, d), |(i, f)| {
        let noise: f64 = (0..3).map(|_| rng.gen_range(-1.0..1.0)).sum();
        let c = (i * 7919 + 13) % 12;
        centres[c * d + f] + 2.0 * noise
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args[1].parse().unwrap();
    let d: usize = args[2].parse().unwrap();
    let algo = match args[3].as_str() {
        "lloyd" => Algorithm::Lloyd,
        "hamerly" => Algorithm::Hamerly,
        _ => Algorithm::Auto,
    };
    let iters: usize = args[4].parse().unwrap();
    let x = data(n, d);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let start = Array2::from_shape_fn((8, d), |(j, f)| x[[rng.gen_range(0..n) * 0 + (j * 104729) % n, f]]);
    let p = if iters > 0 {
        KMeansParams::new(8).init(Init::Centres(start)).max_iter(iters).tol(0.0).algorithm(algo)
    } else {
        KMeansParams::new(8).seed(0).algorithm(algo)
    }
    .check()
    .unwrap();
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..7 {
        let t = Instant::now();
        let f = p.fit_array(x.view()).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(f);
    }
    let f = out.unwrap();
    let mut pbest = f64::INFINITY;
    for _ in 0..7 {
        let t = Instant::now();
        let _ = f.model.predict_labels(x.view()).unwrap();
        pbest = pbest.min(t.elapsed().as_secs_f64());
    }
    println!("predict (check + 1 assign pass) {:.3} ms", pbest * 1e3);
    println!(
        "n={n} d={d} {:?} iters={} total {:.2} ms, per iter {:.3} ms, inertia {:.10e}",
        args[3],
        f.model.n_iter(),
        best * 1e3,
        best * 1e3 / f.model.n_iter() as f64,
        f.model.inertia()
    );
}
