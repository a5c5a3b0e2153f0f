//! linfa KMeans on a raw little-endian f64 matrix, for benches/bench_cluster.py.
//!
//! usage: linfa-kmeans-peer DATA N D K fixed ITERS CENTRES   (from given centres, ITERS iterations)
//!        linfa-kmeans-peer DATA N D K default SEED          (linfa defaults, one run)
//! prints one JSON line: seconds, centroids (row-major).

use std::time::Instant;

use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

fn read_matrix(path: &str, rows: usize, cols: usize) -> Array2<f64> {
    let bytes = std::fs::read(path).expect("readable data file");
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    Array2::from_shape_vec((rows, cols), values).expect("N x D values")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| args[i].parse::<usize>().expect("a number");
    let (n, d, k) = (num(2), num(3), num(4));
    let x = read_matrix(&args[1], n, d);
    let dataset = DatasetBase::from(x);
    let start = Instant::now();
    let model = match args[5].as_str() {
        "fixed" => {
            let centres = read_matrix(&args[7], k, d);
            KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(0))
                .init_method(KMeansInit::Precomputed(centres))
                .n_runs(1)
                .max_n_iterations(num(6) as u64)
                .tolerance(1e-300)
                .fit(&dataset)
                .expect("fits")
        }
        _ => KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(num(6) as u64))
            .n_runs(1)
            .fit(&dataset)
            .expect("fits"),
    };
    let seconds = start.elapsed().as_secs_f64();
    let c: Vec<f64> = model.centroids().iter().copied().collect();
    println!("{}", serde_json::json!({"seconds": seconds, "centroids": c}));
}
