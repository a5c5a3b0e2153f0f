//! Customer segmentation with k-means.
//!
//! - [`KMeansParams`] -> `check()` -> [`KMeansValidParams`] -> `fit_array` /
//!   linfa's [`Fit`](linfa::traits::Fit) -> a serde-serialisable [`KMeans`] model
//!   (`predict_labels`, `transform`, `score`, `partial_fit`; linfa's `Predict`).
//! - The iteration is exact Lloyd, fused (assignment and centre sums in one
//!   pass over fixed row blocks, per-block partial sums reduced in block order:
//!   the result does not depend on the thread count), with Hamerly's bounds
//!   from the second iteration on; empty clusters take the farthest points.
//! - [`metrics`]: silhouette, Calinski-Harabasz and Davies-Bouldin, exact
//!   (scikit-learn's definitions); [`select_k`] runs them over a range of k.
//!
//! ```
//! use linfa::traits::{Fit, Predict};
//! use linfa::{DatasetBase, ParamGuard};
//! use ndarray::{array, Array1};
//! use patronage_core::cluster::{KMeans, KMeansParams};
//!
//! let x = array![[1.0, 1.0], [1.5, 2.0], [8.0, 8.0], [9.0, 8.5], [1.0, 0.5]];
//! let model: KMeans = KMeansParams::new(2).seed(3).check().unwrap().fit(&DatasetBase::from(x.clone())).unwrap();
//! let labels: Array1<usize> = model.predict(&x);
//! assert_eq!(labels[0], labels[1]);
//! assert_ne!(labels[0], labels[2]);
//! let json = serde_json::to_string(&model).unwrap();
//! let back: KMeans = serde_json::from_str(&json).unwrap();
//! assert_eq!(back, model);
//! ```

mod init;
mod input;
mod kernel;
pub mod metrics;
mod model;
mod params;
mod select;
#[cfg(test)]
mod tests;
mod tile;
mod wide;

pub use input::MAX_ABS_VALUE;
pub use model::{KMeans, KMeansFit};
pub use params::{Algorithm, Init, KMeansParams, KMeansValidParams};
pub use select::{elbow, recommend, select_k, KScores};
