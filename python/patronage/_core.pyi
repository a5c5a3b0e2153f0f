"""Type stubs of the compiled module ``patronage._core`` (see crates/patronage-py)."""

from typing import Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str
SEGMENTS: List[str]
SEGMENT_GRID: List[List[str]]

_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
_U8 = npt.NDArray[np.uint8]

def factorize_int(ids: _I64) -> Tuple[_I64, _I64]: ...
def rfm_table(
    customer: _I64, day: _I64, amount: _F64, n_customers: int, returns: str, as_of: Optional[int] = None
) -> Dict[str, np.ndarray]: ...
def quantile_scores(values: _F64, bins: int, higher_is_better: bool) -> _U8: ...
def fm_scores(f: _U8, m: _U8) -> _U8: ...
def btyd_summary(
    customer: _I64,
    day: _I64,
    amount: _F64,
    n_customers: int,
    returns: str,
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
