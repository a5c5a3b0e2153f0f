//! k-means behaviour: known answers, kernels agreeing, determinism, edge cases.

use approx::assert_abs_diff_eq;
use linfa::traits::{Fit, FitWith, Predict};
use linfa::{DatasetBase, ParamGuard};
use ndarray::{array, Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::{DataError, Error, Field, ParamError};

/// `n` points around `k` well separated centres in `d` dimensions.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<f64> = (0..k * d).map(|_| rng.gen_range(-20.0..20.0)).collect();
    Array2::from_shape_fn((n, d), |(i, f)| centres[(i % k) * d + f] + rng.gen_range(-1.0..1.0))
}

fn fit(p: KMeansParams, x: &Array2<f64>) -> KMeansFit {
    p.check().unwrap().fit_array(x.view()).unwrap()
}

#[test]
fn two_obvious_clusters() {
    let x = array![[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]];
    let f = fit(KMeansParams::new(2).n_init(3), &x);
    assert_eq!(f.labels[0], f.labels[1]);
    assert_eq!(f.labels[2], f.labels[3]);
    assert_ne!(f.labels[0], f.labels[2]);
    assert_abs_diff_eq!(f.model.inertia(), 4.0, epsilon = 1e-12);
    let mut rows: Vec<Vec<f64>> = f.model.centres().rows().into_iter().map(|r| r.to_vec()).collect();
    rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
    assert_eq!(rows, vec![vec![0.0, 1.0], vec![10.0, 1.0]]);
    assert_eq!(f.model.counts().to_vec(), vec![2.0, 2.0]);
}

/// Lloyd by hand from given centres on 1-D data: converges to the means.
#[test]
fn explicit_centres_follow_lloyd_by_hand() {
    let x = array![[1.0], [2.0], [3.0], [10.0], [11.0], [30.0]];
    let init = Init::Centres(array![[1.0], [2.0], [3.0]]);
    let f = fit(KMeansParams::new(3).init(init).tol(0.0), &x);
    // 1 -> {1}, {2}, {3, 10, 11, 30}; then means 1, 2, 13.5 -> {1}, {2, 3}, {10, 11, 30}
    // -> 1, 2.5, 17 -> {1, 2}, {3, 10}? no: 3 is closer to 2.5; 10 to 2.5 (7.5) vs 17 (7): 17.
    // -> {1}, {2, 3}, {10, 11, 30}: unchanged -> centres 1, 2.5, 17
    assert_eq!(f.labels.to_vec(), vec![0, 1, 1, 2, 2, 2]);
    assert_abs_diff_eq!(f.model.centres()[[2, 0]], 17.0, epsilon = 1e-12);
    assert_abs_diff_eq!(f.model.inertia(), 0.5 + 49.0 + 36.0 + 169.0, epsilon = 1e-9);
}

/// Each Lloyd iteration moves every centre to the mean of the rows nearest
/// to it, computed naively here: after one iteration (every row added) and
/// after four (the later ones add only the changes); for every number of
/// features up to 21 (padded rows of sums, added a whole line at a time, and
/// the rows at the end of a block, added value by value) and a last block of
/// odd length.
#[test]
fn lloyd_iterations_give_the_means_of_the_nearest_rows() {
    for d in 1..=21 {
        let (n, k) = (1037, 5);
        let x = blobs(n, d, k, d as u64);
        let start = x.slice(ndarray::s![..k, ..]).to_owned();
        // the first iteration adds every row; later ones only the rows that change cluster
        for iterations in [1, 4] {
            let init = Init::Centres(start.clone());
            let params =
                KMeansParams::new(k).init(init).max_iter(iterations).tol(0.0).algorithm(Algorithm::Lloyd);
            let f = fit(params, &x);
            let mut centres = start.clone();
            for _ in 0..iterations {
                let mut sums = Array2::<f64>::zeros((k, d));
                let mut counts = vec![0.0; k];
                for row in x.rows() {
                    let dist = |j: usize| {
                        row.iter().zip(centres.row(j)).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
                    };
                    let nearest = (1..k).fold(0, |best, j| if dist(j) < dist(best) { j } else { best });
                    sums.row_mut(nearest).scaled_add(1.0, &row);
                    counts[nearest] += 1.0;
                }
                for (j, &count) in counts.iter().enumerate() {
                    assert!(count > 0.0, "d = {d}: an empty cluster would make this check moot");
                    centres.row_mut(j).assign(&(&sums.row(j) / count));
                }
            }
            for j in 0..k {
                for col in 0..d {
                    let (got, want) = (f.model.centres()[[j, col]], centres[[j, col]]);
                    assert_abs_diff_eq!(got, want, epsilon = 1e-9);
                }
            }
        }
    }
}

#[test]
fn hamerly_and_lloyd_agree() {
    for (d, seed) in [(2, 1), (3, 2), (16, 3)] {
        let x = blobs(3000, d, 6, seed);
        let base = KMeansParams::new(8).seed(seed).tol(0.0);
        let a = fit(base.clone().algorithm(Algorithm::Lloyd), &x);
        let b = fit(base.algorithm(Algorithm::Hamerly), &x);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.model.n_iter(), b.model.n_iter());
        assert_abs_diff_eq!(a.model.inertia(), b.model.inertia(), epsilon = 1e-9 * a.model.inertia());
    }
}

/// The lazily moved bounds never skip a point exact Lloyd would move: every
/// centre-group shape (k below, at and above a multiple of 4), constant and
/// general feature counts, fixed iterations and scikit-learn's tol.
#[test]
fn hamerly_matches_lloyd_iteration_by_iteration() {
    for (d, k, seed) in
        [(1, 3, 11), (3, 8, 16), (5, 13, 12), (8, 4, 13), (12, 9, 14), (16, 8, 17), (20, 7, 15)]
    {
        let x = blobs(4000, d, 10, seed);
        for (tol, max_iter) in [(0.0, 4), (0.0, 300), (1e-4, 300)] {
            let base =
                KMeansParams::new(k).seed(seed).tol(tol).max_iter(max_iter).init(Init::Random).n_init(1);
            let a = fit(base.clone().algorithm(Algorithm::Lloyd), &x);
            let b = fit(base.algorithm(Algorithm::Hamerly), &x);
            assert_eq!(a.labels, b.labels, "d={d} k={k} tol={tol} max_iter={max_iter}");
            assert_eq!(a.model.n_iter(), b.model.n_iter());
            assert_abs_diff_eq!(a.model.inertia(), b.model.inertia(), epsilon = 1e-9 * a.model.inertia());
            for (p, q) in a.model.centres().iter().zip(b.model.centres()) {
                assert_abs_diff_eq!(*p, *q, epsilon = 1e-9 * (1.0 + p.abs()));
            }
        }
    }
}

/// tol is scaled by the mean feature variance, measured in the same pass as
/// the finiteness check: equal to the two-pass variance even far from 0.
#[test]
fn tol_scale_is_the_two_pass_variance() {
    let mut x = blobs(3001, 3, 4, 8);
    x.column_mut(1).mapv_inplace(|v| 1e6 + v);
    let (_, var) = input::Matrix::with_mean_variance(x.view()).unwrap();
    let n = x.nrows() as f64;
    let two_pass: f64 = x
        .columns()
        .into_iter()
        .map(|c| {
            let mean = c.sum() / n;
            c.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n
        })
        .sum::<f64>()
        / 3.0;
    assert_abs_diff_eq!(var, two_pass, epsilon = 1e-9 * two_pass);
}

#[test]
fn same_seed_same_result_whatever_the_thread_count() {
    let x = blobs(20_000, 3, 5, 7);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fit(KMeansParams::new(5).n_init(2).seed(11), &x))
    };
    let (a, b) = (run(1), run(3));
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.model, b.model); // bit-identical centres and inertia
}

#[test]
fn restarts_keep_the_lowest_inertia() {
    let x = blobs(2000, 2, 9, 5);
    let one = fit(KMeansParams::new(9).seed(3).n_init(1), &x).model.inertia();
    let many = fit(KMeansParams::new(9).seed(3).n_init(8), &x).model.inertia();
    assert!(many <= one);
}

#[test]
fn identical_points_give_zero_inertia() {
    let x = Array2::from_elem((10, 3), 4.5);
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let f = fit(KMeansParams::new(3).algorithm(algorithm), &x);
        assert_eq!(f.model.inertia(), 0.0);
        assert!(f.model.centres().iter().all(|&v| v == 4.5));
    }
}

#[test]
fn empty_clusters_are_reseeded_from_the_farthest_points() {
    // Three centres start on top of each other: clusters 1 and 2 are empty
    // after the first assignment and take the two farthest points (9.1, 9.0),
    // then Lloyd is stuck in that local optimum (scikit-learn gives the same).
    let x = array![[0.0], [0.1], [5.0], [5.1], [9.0], [9.1]];
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let init = Init::Centres(array![[0.0], [0.0], [0.0]]);
        let f = fit(KMeansParams::new(3).init(init).algorithm(algorithm), &x);
        assert_eq!(f.labels.to_vec(), vec![0, 0, 0, 0, 2, 1]);
        for (c, want) in f.model.centres().iter().zip([2.55, 9.1, 9.0]) {
            assert_abs_diff_eq!(*c, want, epsilon = 1e-12);
        }
        assert_abs_diff_eq!(f.model.inertia(), 2.0 * 2.55 * 2.55 + 2.0 * 2.45 * 2.45, epsilon = 1e-12);
    }
}

#[test]
fn bad_data_is_named() {
    let p = KMeansParams::new(2).check().unwrap();
    let x = array![[0.0, 1.0], [2.0, f64::NAN], [3.0, 4.0]];
    assert!(matches!(
        p.fit_array(x.view()),
        Err(Error::Data(DataError::NonFinite { field: Field::Feature(1), row: 1 }))
    ));
    let x = array![[0.0, 1.0]];
    let err = p.fit_array(x.view()).unwrap_err();
    assert!(matches!(err, Error::Param(ParamError { name: "n_clusters", .. })));
    assert!(err.to_string().contains("n_samples=1"));
    let x = Array2::<f64>::zeros((3, 0));
    assert!(matches!(p.fit_array(x.view()), Err(Error::Data(DataError::Invalid { .. }))));
    let p = KMeansParams::new(2).init(Init::Centres(array![[0.0], [1.0]])).check().unwrap();
    assert!(matches!(
        p.fit_array(array![[0.0, 1.0], [1.0, 1.0]].view()),
        Err(Error::Param(ParamError { name: "init", .. }))
    ));
}

/// Values beyond MAX_ABS_VALUE (1e200 rows once gave an inertia of inf, 1e308
/// rows NaN centres) are refused with their row and column, in fit, predict
/// and the metrics; values at the limit give a finite inertia equal to the
/// scaled inertia of the unscaled data.
#[test]
fn values_beyond_the_limit_are_named() {
    let p = KMeansParams::new(2).seed(1).check().unwrap();
    let x = blobs(40, 2, 2, 3);
    for big in [1e200, 1e308, -1.5e100] {
        let mut bad = x.clone();
        bad[[7, 1]] = big;
        let err = p.fit_array(bad.view()).unwrap_err();
        assert!(
            matches!(err, Error::Data(DataError::Invalid { field: Field::Feature(1), row: Some(7), .. })),
            "{err}"
        );
        let model = p.fit_array(x.view()).unwrap().model;
        assert!(model.predict_labels(bad.view()).is_err());
        let labels: Vec<u32> = (0..40).map(|i| (i % 2) as u32).collect();
        assert!(metrics::silhouette_score(bad.view(), &labels, None).is_err());
    }
    // a power-of-two unit: exact, so the scaled fit is the fit, scaled
    let unit = 2f64.powi(300); // 2e90: values up to about 5e91
    let f = p.fit_array(x.view()).unwrap();
    let g = p.fit_array(x.mapv(|v| v * unit).view()).unwrap();
    assert_eq!(g.labels, f.labels);
    assert_eq!(g.model.inertia(), f.model.inertia() * unit * unit);
    assert!(g.model.inertia().is_finite());
    assert!(KMeans::from_centres(array![[1e101]]).is_err());
}

/// A stop raised before the fit ends it with `Interrupted` (k-means++ and
/// Lloyd look for it once per centre and per iteration).
#[test]
fn a_raised_stop_ends_the_fit() {
    let x = blobs(500, 3, 4, 9);
    let stop = crate::interrupt::Stop::new();
    stop.raise();
    for init in [Init::KMeansPlusPlus, Init::Random] {
        let p = KMeansParams::new(4).init(init).check().unwrap();
        let got = crate::interrupt::with_stop(&stop, || p.fit_array(x.view()));
        assert!(matches!(got, Err(Error::Interrupted)));
    }
}

#[test]
fn predict_transform_score_and_json() {
    let x = blobs(500, 3, 4, 9);
    let f = fit(KMeansParams::new(4).seed(2), &x);
    let (labels, inertia) = f.model.predict_with_inertia(x.view()).unwrap();
    assert_eq!(labels, f.labels);
    assert_abs_diff_eq!(inertia, f.model.inertia(), epsilon = 1e-9 * inertia);
    let t = f.model.transform(x.view()).unwrap();
    for (i, row) in t.rows().into_iter().enumerate() {
        let closest = row.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(closest as u32, labels[i]);
    }
    assert_abs_diff_eq!(f.model.score(x.view()).unwrap(), -inertia);
    let back: KMeans = serde_json::from_str(&serde_json::to_string(&f.model).unwrap()).unwrap();
    assert_eq!(back, f.model);
    let err = f.model.predict_labels(array![[1.0, 2.0]].view()).unwrap_err();
    assert!(err.to_string().contains("X has 2 features, but KMeans is expecting 3"));
}

#[test]
fn linfa_traits_compose() {
    let x = blobs(300, 2, 3, 4);
    let ds = DatasetBase::from(x.clone());
    let model: KMeans = KMeansParams::new(3).seed(1).fit(&ds).unwrap();
    let labels: Array1<usize> = model.predict(&x);
    let direct = model.predict_labels(x.view()).unwrap();
    assert!(labels.iter().zip(direct.iter()).all(|(a, &b)| *a == b as usize));
    // checked params error through linfa's blanket Fit
    let bad: Result<KMeans, Error> = KMeansParams::new(0).fit(&ds);
    assert!(matches!(bad, Err(Error::Param(ParamError { name: "n_clusters", .. }))));
    // mini-batch path through FitWith
    let p = KMeansParams::new(3).seed(1).check().unwrap();
    let m1 = p.fit_with(None, &DatasetBase::from(x.slice(ndarray::s![..150, ..]).to_owned())).unwrap();
    let m2 = p.fit_with(Some(m1), &DatasetBase::from(x.slice(ndarray::s![150.., ..]).to_owned())).unwrap();
    assert_eq!(m2.n_iter(), 2);
    assert_eq!(m2.counts().sum(), 300.0);
}

/// partial_fit keeps each centre at the exact mean of everything assigned to it.
#[test]
fn partial_fit_is_a_running_mean() {
    let start = array![[0.0], [10.0]];
    let mut m = KMeans::from_centres(start).unwrap();
    let l1 = m.partial_fit(array![[1.0], [2.0], [9.0]].view()).unwrap();
    assert_eq!(l1.to_vec(), vec![0, 0, 1]);
    assert_eq!(m.centres().column(0).to_vec(), vec![1.5, 9.0]);
    m.partial_fit(array![[3.0], [11.0], [13.0]].view()).unwrap();
    assert_eq!(m.centres().column(0).to_vec(), vec![2.0, 11.0]);
    assert_eq!(m.counts().to_vec(), vec![3.0, 3.0]);
    assert!(m.partial_fit(array![[1.0, 2.0]].view()).is_err());
}

#[test]
fn select_k_finds_the_planted_clusters() {
    let x = blobs(600, 2, 4, 21);
    let p = KMeansParams::new(2).seed(5).n_init(3).check().unwrap();
    let ks: Vec<usize> = (2..8).collect();
    let scores = select_k(x.view(), &ks, &p, None).unwrap();
    assert_eq!(scores.len(), 6);
    assert!(scores.windows(2).all(|w| w[1].inertia <= w[0].inertia));
    assert_eq!(recommend(&scores), Some(4));
    assert!(matches!(
        select_k(x.view(), &[1, 2], &p, None),
        Err(Error::Param(ParamError { name: "k_range", .. }))
    ));
}

/// The fitted counts are the label histogram, counted by hand (blocks of
/// uneven length, runs of one label, labels never used).
#[test]
fn label_counts_match_a_hand_count() {
    let labels: Vec<u32> = (0..1003u32).map(|i| if i < 500 { 2 } else { i % 3 }).collect();
    let by_hand = [168.0, 167.0, 500.0 + 168.0, 0.0];
    for block in [1, 7, 512, 5000] {
        assert_eq!(kernel::label_counts(&labels, 4, block), by_hand, "block {block}");
    }
    let f = fit(KMeansParams::new(3).seed(4), &blobs(3001, 2, 3, 9));
    let mut counted = [0.0; 3];
    for &l in &f.labels {
        counted[l as usize] += 1.0;
    }
    assert_eq!(f.model.counts().to_vec(), counted.to_vec());
}

/// The distance kernel fuses its multiply-adds on every SIMD path, the
/// portable scalar fallback too (pulp's `mul_add_e` is unfused there): one
/// exactly rounded `t * t + acc` per feature, in feature order.
#[test]
fn scalar_fallback_distances_are_fused() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let d = 3;
    let xt: Vec<tile::Lane> = (0..d).map(|_| std::array::from_fn(|_| rng.gen_range(-1e3..1e3))).collect();
    let centre: Vec<f64> = (0..d).map(|_| rng.gen_range(-1e3..1e3)).collect();
    let mut unfused_differs = false;
    for v in 0..tile::LANES {
        let [got] = kernel::distances::<pulp::Scalar, 1>(pulp::Scalar::new(), &xt, &centre, v);
        let (mut fused, mut unfused) = (0.0f64, 0.0f64);
        for (lane, &c) in xt.iter().zip(&centre) {
            let t = lane[v] - c;
            fused = t.mul_add(t, fused);
            unfused += t * t;
        }
        assert_eq!(got.to_bits(), fused.to_bits(), "row {v}");
        unfused_differs |= unfused != fused;
    }
    // the data tell the two apart, so the test can fail
    assert!(unfused_differs);
}
