//! Checked k-means hyperparameters (linfa's `ParamGuard` pattern).

use linfa::ParamGuard;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::input::{in_range, MAX_ABS_VALUE};
use crate::ParamError;

/// How the first centres of each run are chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Init {
    /// Greedy k-means++ as scikit-learn does it: each new centre is the best
    /// (lowest resulting inertia) of `2 + ln(k)` candidates drawn with
    /// probability proportional to the squared distance to the centres so far.
    KMeansPlusPlus,
    /// `n_clusters` distinct rows drawn uniformly.
    Random,
    /// Explicit centres, `n_clusters x n_features` (every run starts from them).
    Centres(Array2<f64>),
}

/// The Lloyd-iteration kernel. Both give the same labels; they differ in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// Plain fused Lloyd: every point is compared with every centre in each iteration.
    Lloyd,
    /// Hamerly's bounds: a point whose upper bound on the distance to its centre
    /// is below the lower bound on the distance to any other centre is skipped
    /// (not even read), and centre sums are updated incrementally.
    Hamerly,
    /// Hamerly with 8 or more features and more than 8 clusters, Lloyd
    /// otherwise (with few features a skipped point costs about as much
    /// memory traffic as reading it; with up to 8 clusters a Lloyd pass is
    /// one group of centres; both measured in `benches/`).
    Auto,
}

/// k-means hyperparameters before checking.
///
/// Defaults: `n_init = 1` (k-means++ or explicit centres; 10 for `Init::Random`,
/// as scikit-learn's `n_init="auto"`), `max_iter = 300`, `tol = 1e-4`
/// (scaled by the mean feature variance, as scikit-learn does), `seed = 0`,
/// `init = Init::KMeansPlusPlus`, `algorithm = Algorithm::Auto`.
///
/// ```
/// use linfa::ParamGuard;
/// use patronage_core::cluster::KMeansParams;
///
/// let params = KMeansParams::new(3).n_init(4).seed(7).check().unwrap();
/// assert_eq!(params.n_clusters(), 3);
/// assert!(KMeansParams::new(0).check().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams(KMeansValidParams);

/// Checked k-means hyperparameters (obtained from [`KMeansParams::check`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeansValidParams {
    pub(crate) n_clusters: usize,
    pub(crate) n_init: Option<usize>,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) seed: u64,
    pub(crate) init: Init,
    pub(crate) algorithm: Algorithm,
}

impl KMeansParams {
    /// Parameters for `n_clusters` clusters with the defaults above.
    pub fn new(n_clusters: usize) -> Self {
        KMeansParams(KMeansValidParams {
            n_clusters,
            n_init: None,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            init: Init::KMeansPlusPlus,
            algorithm: Algorithm::Auto,
        })
    }

    /// Number of independent runs; the one with the lowest inertia is kept.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.0.n_init = Some(n_init);
        self
    }

    /// Maximum Lloyd iterations per run.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.0.max_iter = max_iter;
        self
    }

    /// Convergence tolerance on the squared centre shift, relative to the mean
    /// feature variance (0 runs until the labels stop changing).
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }

    /// Seed of every random choice (initialisation, restarts).
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// The initialisation method.
    pub fn init(mut self, init: Init) -> Self {
        self.0.init = init;
        self
    }

    /// The iteration kernel.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.0.algorithm = algorithm;
        self
    }
}

impl KMeansValidParams {
    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }
    /// Number of runs actually made (the `"auto"` default resolved).
    pub fn n_init(&self) -> usize {
        self.n_init.unwrap_or(match self.init {
            Init::Random => 10,
            _ => 1,
        })
    }
    /// Maximum iterations per run.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// Relative tolerance.
    pub fn tol(&self) -> f64 {
        self.tol
    }
    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Initialisation.
    pub fn init(&self) -> &Init {
        &self.init
    }
    /// Kernel.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl ParamGuard for KMeansParams {
    type Checked = KMeansValidParams;
    type Error = ParamError;

    fn check_ref(&self) -> Result<&KMeansValidParams, ParamError> {
        let p = &self.0;
        if p.n_clusters < 1 {
            return Err(ParamError::new("n_clusters", format!("must be at least 1, got {}", p.n_clusters)));
        }
        if p.n_init == Some(0) {
            return Err(ParamError::new("n_init", "must be at least 1, got 0"));
        }
        if p.max_iter < 1 {
            return Err(ParamError::new("max_iter", "must be at least 1, got 0"));
        }
        if !(p.tol.is_finite() && p.tol >= 0.0) {
            return Err(ParamError::new("tol", format!("must be a finite number >= 0, got {}", p.tol)));
        }
        if let Init::Centres(c) = &p.init {
            if c.nrows() != p.n_clusters {
                return Err(ParamError::new(
                    "init",
                    format!(
                        "the initial centres have {} rows, expected n_clusters={}",
                        c.nrows(),
                        p.n_clusters
                    ),
                ));
            }
            if c.ncols() == 0 {
                return Err(ParamError::new("init", "the initial centres have 0 columns"));
            }
            if let Some(((i, j), v)) = c.indexed_iter().find(|(_, &v)| !in_range(v)) {
                return Err(ParamError::new(
                    "init",
                    format!("initial centre {i} is {v} in column {j}; centres must be finite and within +/-{MAX_ABS_VALUE:e}"),
                ));
            }
        }
        Ok(p)
    }

    fn check(self) -> Result<KMeansValidParams, ParamError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn bad(p: KMeansParams) -> &'static str {
        match p.check() {
            Err(ParamError { name, .. }) => name,
            Ok(_) => "accepted",
        }
    }

    #[test]
    fn each_rule_names_its_parameter() {
        assert!(matches!(KMeansParams::new(0).check(), Err(ParamError { name: "n_clusters", .. })));
        assert_eq!(bad(KMeansParams::new(2).n_init(0)), "n_init");
        assert_eq!(bad(KMeansParams::new(2).max_iter(0)), "max_iter");
        assert_eq!(bad(KMeansParams::new(2).tol(-1.0)), "tol");
        assert_eq!(bad(KMeansParams::new(2).tol(f64::NAN)), "tol");
        let c = array![[0.0, 1.0]];
        assert_eq!(bad(KMeansParams::new(2).init(Init::Centres(c))), "init");
        let c = array![[0.0, 1.0], [f64::INFINITY, 0.0]];
        assert_eq!(bad(KMeansParams::new(2).init(Init::Centres(c))), "init");
        assert_eq!(bad(KMeansParams::new(2).init(Init::Centres(Array2::zeros((2, 0))))), "init");
    }

    #[test]
    fn n_init_auto_follows_scikit_learn() {
        let p = KMeansParams::new(3).check().unwrap();
        assert_eq!(p.n_init(), 1);
        let p = KMeansParams::new(3).init(Init::Random).check().unwrap();
        assert_eq!(p.n_init(), 10);
        let p = KMeansParams::new(3).n_init(4).check().unwrap();
        assert_eq!(p.n_init(), 4);
    }
}
