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
        tol: float = 1e-7,
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

def customer_lifetime_value(
    bg: BetaGeoModel,
    gg: GammaGammaModel,
    frequency: _F64,
    recency: _F64,
    t: _F64,
    monetary_value: _F64,
    horizon: int,
    units_per_month: float,
    discount_rate: float,
    margin: float,
) -> _F64: ...
