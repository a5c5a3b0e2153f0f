"""Type stubs of the compiled module ``patronage._core`` (see crates/patronage-py)."""

from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np
import numpy.typing as npt

__version__: str
__all__ = [
    "SEGMENTS",
    "SEGMENT_GRID",
    "__version__",
    "_with_threads",
    "btyd_summary",
    "factorize_int",
    "log_span",
    "fm_scores",
    "quantile_scores",
    "rfm_table",
    "simulate_transactions",
    "LIFECYCLE_NOT_ACQUIRED",
    "survey_tally",
    "nps_stats",
    "share_stats",
    "mean_stats",
    "repurchase",
    "period_retention",
    "cohort_retention",
    "concentration",
    "lifecycle_stages",
    "CHURN_FEATURES",
    "Calibrator",
    "GbmModel",
    "LogisticModel",
    "binary_metrics",
    "churn_dataset",
    "BetaGeoModel",
    "GammaGammaModel",
    "ParetoNbdModel",
    "customer_lifetime_value",
    "_btyd_purchases_if_alive",
    "_btyd_ln_death_time",
    "KMeansModel",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "elbow",
    "select_k",
    "silhouette_samples",
    "silhouette_score",
    "uplift_curve",
    "uplift_score",
    "uplift_at_k",
]
__all__ += ["campaign_assign", "campaign_effects", "campaign_sample_size", "campaign_detectable_effect"]
SEGMENTS: List[str]
SEGMENT_GRID: List[List[str]]

_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
_U8 = npt.NDArray[np.uint8]
# a transaction log: (customer, date, amount, order or None, n_customers, (customer_offset, day_divisor),
# returns), each column a list of its chunks in row order
_Log = Tuple[Sequence[_I64], Sequence[_I64], Sequence[_F64], Optional[Sequence[_I64]], int, Tuple[int, int], str]

_T = TypeVar("_T")

def _with_threads(n_threads: int, f: Callable[[], _T]) -> _T: ...
def factorize_int(ids: _I64) -> Tuple[_I64, _I64]: ...
def log_span(log: _Log) -> Tuple[int, int]: ...
def rfm_table(
    log: _Log,
    as_of: Optional[int] = None,
) -> Dict[str, np.ndarray]: ...
def quantile_scores(values: _F64, bins: int, higher_is_better: bool) -> _U8: ...
def fm_scores(f: _U8, m: _U8) -> _U8: ...
def btyd_summary(
    log: _Log,
    freq: str,
    freq_multiplier: float,
    observation_end: Optional[int] = None,
    calibration_end: Optional[int] = None,
) -> Dict[str, object]: ...
def simulate_transactions(
    n_customers: int,
    start_day: int,
    acquisition_days: float,
    observation_days: float,
    r: float,
    alpha: float,
    a: float,
    b: float,
    spend: str,
    spend_params: Tuple[float, float, float],
    seed: int,
) -> Dict[str, np.ndarray]: ...

# loyalty
LIFECYCLE_NOT_ACQUIRED: int

def survey_tally(
    scores: _F64, group: _I64, n_groups: int, low: int, high: int
) -> Tuple[npt.NDArray[np.int64], _I64]: ...
def nps_stats(counts: npt.NDArray[np.int64], missing: _I64, confidence: float) -> Dict[str, np.ndarray]: ...
def share_stats(
    counts: npt.NDArray[np.int64], missing: _I64, low: int, satisfied: List[int], confidence: float
) -> Dict[str, np.ndarray]: ...
def mean_stats(
    counts: npt.NDArray[np.int64], missing: _I64, low: int, confidence: float
) -> Dict[str, np.ndarray]: ...
def repurchase(
    log: _Log,
    within: Optional[int] = None,
    end_day: Optional[int] = None,
) -> Tuple[int, int, int]: ...
def period_retention(
    log: _Log, period: str
) -> Dict[str, np.ndarray]: ...
def cohort_retention(
    log: _Log, period: str,
    metric: str,
    normalize: bool,
    span: Optional[Tuple[int, int]] = None,
) -> Dict[str, np.ndarray]: ...
def concentration(values: _F64) -> Tuple[npt.NDArray[np.uintp], _F64, float]: ...
def lifecycle_stages(
    log: _Log,
    as_of: Optional[List[int]],
    new_days: int,
    at_risk_factor: float,
    lapsed_factor: float,
    at_risk_days: Optional[float],
    lapsed_days: Optional[float],
    rhythm: str,
    default_gap: Optional[float],
) -> List[Dict[str, np.ndarray]]: ...

# --- churn ---------------------------------------------------------------------------------
from typing import final  # noqa: E402  (stub only)

CHURN_FEATURES: List[str]

def churn_dataset(
    log: _Log,
    cutoff: int,
    horizon_days: int,
    window_days: Optional[int] = None,
    observation_end: Optional[int] = None,
) -> Dict[str, np.ndarray]: ...
def binary_metrics(y: _F64, proba: _F64) -> Tuple[float, float, float, float]: ...

@final
class LogisticModel:
    @staticmethod
    def fit(
        x: npt.NDArray[np.float64], y: _F64, sample_weight: Optional[_F64], c: float, max_iter: int, tol: float
    ) -> LogisticModel: ...
    @staticmethod
    def fit_sums(
        ranges: _Ranges,
        sums: Sequence[float],
        spread: Sequence[float],
        c: float,
        max_iter: int,
        tol: float,
        sums_at: Callable[[_F64, bool], _F64],
    ) -> LogisticModel: ...
    def decision_function(self, x: npt.NDArray[np.float64]) -> _F64: ...
    def explain(self, x: npt.NDArray[np.float64]) -> Tuple[float, npt.NDArray[np.float64]]: ...
    @property
    def coef(self) -> _F64: ...
    @property
    def coef_unscaled(self) -> _F64: ...
    @property
    def intercept(self) -> float: ...
    @property
    def intercept_unscaled(self) -> float: ...
    @property
    def mean(self) -> _F64: ...
    @property
    def scale(self) -> _F64: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(s: str) -> LogisticModel: ...

@final
class GbmModel:
    @staticmethod
    def fit(
        x: npt.NDArray[np.float64],
        y: _F64,
        sample_weight: Optional[_F64],
        max_iter: int,
        learning_rate: float,
        max_leaf_nodes: int,
        max_depth: Optional[int],
        min_samples_leaf: int,
        l2_regularization: float,
        max_bins: int,
        seed: int,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-7,
        monotonic_cst: Sequence[int] = ...,
    ) -> GbmModel: ...
    def decision_function(self, x: npt.NDArray[np.float64]) -> _F64: ...
    def explain(self, x: npt.NDArray[np.float64]) -> Tuple[float, npt.NDArray[np.float64]]: ...
    @property
    def feature_importances(self) -> _F64: ...
    @property
    def n_trees(self) -> int: ...
    @property
    def validation_loss(self) -> _F64: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(s: str) -> GbmModel: ...

@final
class Calibrator:
    @staticmethod
    def fit(method: str, score: _F64, y: _F64, sample_weight: Optional[_F64]) -> Calibrator: ...
    def transform(self, score: _F64) -> _F64: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(s: str) -> Calibrator: ...
from typing import final

@final
class BetaGeoModel:
    @staticmethod
    def fit(
        frequency: _F64,
        recency: _F64,
        t: _F64,
        weights: Optional[_F64] = None,
        penalizer: float = 0.0,
        max_iter: int = 1000,
        tol: float = 1e-9,
        modified: bool = False,
    ) -> BetaGeoModel: ...
    @staticmethod
    def from_params(r: float, alpha: float, a: float, b: float, modified: bool = False) -> BetaGeoModel: ...
    @property
    def modified(self) -> bool: ...
    @staticmethod
    def from_json(text: str) -> BetaGeoModel: ...
    def to_json(self) -> str: ...
    @property
    def params(self) -> Tuple[float, float, float, float]: ...
    def fit_info(self) -> Optional[Dict[str, object]]: ...
    def log_likelihood(self, frequency: _F64, recency: _F64, t: _F64, weights: Optional[_F64] = None) -> float: ...
    def p_alive(self, frequency: _F64, recency: _F64, t: _F64) -> _F64: ...
    def expected_purchases(self, horizon: float, frequency: _F64, recency: _F64, t: _F64) -> _F64: ...
    def expected_purchases_new_customer(self, t: _F64) -> _F64: ...
    def probability_of_n_purchases(self, t: float, n: int) -> float: ...

@final
class GammaGammaModel:
    @staticmethod
    def fit(
        frequency: _F64,
        monetary_value: _F64,
        weights: Optional[_F64] = None,
        penalizer: float = 0.0,
        max_iter: int = 1000,
        tol: float = 1e-9,
    ) -> GammaGammaModel: ...
    @staticmethod
    def fit_sums(
        totals: Tuple[float, float, float, float],
        spread: Tuple[float, float, float],
        sums: Callable[[_F64, bool], _F64],
        penalizer: float = 0.0,
        max_iter: int = 1000,
        tol: float = 1e-9,
    ) -> GammaGammaModel: ...
    @staticmethod
    def from_params(p: float, q: float, v: float) -> GammaGammaModel: ...
    @staticmethod
    def from_json(text: str) -> GammaGammaModel: ...
    def to_json(self) -> str: ...
    @property
    def params(self) -> Tuple[float, float, float]: ...
    @property
    def frequency_spend_correlation(self) -> Optional[float]: ...
    def fit_info(self) -> Optional[Dict[str, object]]: ...
    def log_likelihood(self, frequency: _F64, monetary_value: _F64, weights: Optional[_F64] = None) -> float: ...
    def expected_average_spend(self, frequency: _F64, monetary_value: _F64) -> _F64: ...

@final
class ParetoNbdModel:
    @staticmethod
    def fit(
        frequency: _F64,
        recency: _F64,
        t: _F64,
        weights: Optional[_F64] = None,
        penalizer: float = 0.0,
        max_iter: int = 1000,
        tol: float = 1e-9,
    ) -> ParetoNbdModel: ...
    @staticmethod
    def from_params(r: float, alpha: float, s: float, beta: float) -> ParetoNbdModel: ...
    @staticmethod
    def from_json(text: str) -> ParetoNbdModel: ...
    def to_json(self) -> str: ...
    @property
    def params(self) -> Tuple[float, float, float, float]: ...
    def fit_info(self) -> Optional[Dict[str, object]]: ...
    def log_likelihood(self, frequency: _F64, recency: _F64, t: _F64, weights: Optional[_F64] = None) -> float: ...
    def p_alive(self, frequency: _F64, recency: _F64, t: _F64) -> _F64: ...
    def expected_purchases(self, horizon: float, frequency: _F64, recency: _F64, t: _F64) -> _F64: ...
    def expected_purchases_new_customer(self, t: _F64) -> _F64: ...

def _btyd_purchases_if_alive(k: float, a: float, b: float, u: float) -> float: ...
def _btyd_ln_death_time(alpha: float, beta: float, m: float, n: float, t_x: float, t: float) -> float: ...
def customer_lifetime_value(
    purchases: Union[BetaGeoModel, ParetoNbdModel],
    gg: GammaGammaModel,
    frequency: _F64,
    recency: _F64,
    t: _F64,
    monetary_value: _F64,
    horizon: int,
    units_per_month: float,
    discount_rate: float,
    margin: float,
    if_alive: bool = False,
) -> _F64: ...
_I32 = npt.NDArray[np.int32]
_U32 = npt.NDArray[np.uint32]
_F64_2D = npt.NDArray[np.float64]

from typing import final

@final
class KMeansModel:
    @staticmethod
    def fit(
        x: _F64_2D,
        n_clusters: int,
        init: str,
        centres: Optional[_F64_2D],
        n_init: Optional[int],
        max_iter: int,
        tol: float,
        seed: int,
        algorithm: str,
    ) -> Tuple["KMeansModel", _I32]: ...
    @staticmethod
    def partial_fit(
        model: Optional["KMeansModel"],
        x: _F64_2D,
        n_clusters: int,
        init: str,
        centres: Optional[_F64_2D],
        seed: int,
    ) -> Tuple["KMeansModel", _I32]: ...
    def predict(self, x: _F64_2D) -> Tuple[_I32, float]: ...
    def transform(self, x: _F64_2D) -> _F64_2D: ...
    @property
    def centres(self) -> _F64_2D: ...
    @property
    def counts(self) -> _F64: ...
    @property
    def inertia(self) -> float: ...
    @property
    def n_iter(self) -> int: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> "KMeansModel": ...

def silhouette_samples(x: _F64_2D, labels: _U32) -> _F64: ...
def silhouette_score(x: _F64_2D, labels: _U32, sample_size: Optional[int] = None, seed: int = 0) -> float: ...
def calinski_harabasz_score(x: _F64_2D, labels: _U32) -> float: ...
def davies_bouldin_score(x: _F64_2D, labels: _U32) -> float: ...
def select_k(
    x: _F64_2D,
    ks: List[int],
    n_init: Optional[int],
    max_iter: int,
    tol: float,
    seed: int,
    sample_size: Optional[int] = None,
) -> Dict[str, object]: ...
def elbow(ks: List[int], inertia: List[float]) -> Optional[int]: ...

# campaign: control assignment, power analysis, treatment effects
def campaign_assign(strata: _I64, n_control: List[int], seed: int) -> npt.NDArray[np.bool_]: ...
def campaign_effects(
    outcome: _F64,
    group: _I64,
    n_groups: int,
    control: int,
    segment: Optional[_I64],
    n_segments: int,
    covariate: Optional[_F64],
    binary: bool,
    confidence: float,
    n_resamples: Optional[int],
    seed: int,
) -> Dict[str, npt.NDArray[np.generic]]: ...
def campaign_sample_size(effect_size: float, alpha: float, power: float, ratio: float) -> float: ...
def campaign_detectable_effect(n_treated: float, alpha: float, power: float, ratio: float) -> float: ...
def uplift_curve(
    y: _F64, score: _F64, treatment: _F64, kind: str, perfect: bool = False, negative_effect: bool = True
) -> Tuple[_F64, _F64]: ...
def uplift_score(y: _F64, score: _F64, treatment: _F64, kind: str, negative_effect: bool = True) -> float: ...
def uplift_at_k(
    y: _F64, score: _F64, treatment: _F64, k_fraction: Optional[float], k_count: Optional[int], strategy: str
) -> float: ...

# Arrow tables in through __arrow_c_stream__ / __arrow_c_array__ (crates/patronage-py/src/arrow.rs, the
# binding's own C stream import): per column, the values of each chunk, which numpy views in place
# (ArrowValues, through __array_interface__), their kind (a numpy typestr, or "date32": int32 days), the null mask or None and
# the time zone or None; or None for a column numpy cannot hold.
__all__ += ["ArrowValues", "arrow_columns"]

@final
class ArrowValues:
    @property
    def __array_interface__(self) -> Dict[str, object]: ...

_ArrowColumn = Tuple[List[ArrowValues], str, Optional[npt.NDArray[np.bool_]], Optional[str]]

def arrow_columns(table: object) -> Tuple[List[str], List[Optional[_ArrowColumn]]]: ...
# --- fits from sums over batches of rows (patronage._fit_sums) ------------------------------
__all__ += ["gamma_gamma_totals", "gamma_gamma_spread", "gamma_gamma_sums", "logistic_batch_ranges",
            "logistic_batch_sums", "logistic_batch_spread", "logistic_batch_loss"]

# (lo, hi, max_weight, total_weight, positive_weight)
_Ranges = Tuple[Sequence[float], Sequence[float], float, float, float]

def gamma_gamma_totals(
    frequency: _F64, monetary_value: _F64, weights: Optional[_F64] = None
) -> Tuple[float, float, float, float]: ...
def gamma_gamma_spread(
    frequency: _F64, monetary_value: _F64, weights: Optional[_F64], mean_frequency: float, mean_spend: float
) -> Tuple[float, float, float]: ...
def gamma_gamma_sums(
    frequency: _F64, monetary_value: _F64, weights: Optional[_F64], params: Tuple[float, float, float], hessian: bool
) -> _F64: ...
def logistic_batch_ranges(
    x: npt.NDArray[np.float64], y: _F64, sample_weight: Optional[_F64] = None
) -> Tuple[List[float], List[float], float, float, float]: ...
def logistic_batch_sums(
    x: npt.NDArray[np.float64], y: _F64, sample_weight: Optional[_F64], ranges: _Ranges
) -> _F64: ...
def logistic_batch_spread(
    x: npt.NDArray[np.float64], y: _F64, sample_weight: Optional[_F64], ranges: _Ranges, sums: Sequence[float]
) -> _F64: ...
def logistic_batch_loss(
    x: npt.NDArray[np.float64],
    y: _F64,
    sample_weight: Optional[_F64],
    ranges: _Ranges,
    sums: Sequence[float],
    spread: Sequence[float],
    beta: Sequence[float],
    hessian: bool,
) -> _F64: ...
