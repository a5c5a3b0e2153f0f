"""Buy-till-you-die: repeat-purchase summaries (and, with the BTYD models, BG/NBD and CLV)."""

from __future__ import annotations

import abc
import contextlib
import html
import json
import re
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Type, TypeVar, Union

import numpy as np
import pandas as pd

from . import _core
from ._base import ParamsMixin, json_document, model_file
from ._input import follows_input
from ._frame import finite_column, float_column, plain, read_transactions, require_columns, to_day
from .exceptions import (ColumnTypeError, ConvergenceWarning, DataError, ModelFileError, NotFittedError,
                         ParameterError, PatronageError)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_BG = TypeVar("_BG", bound="_PurchaseModel")  # fit and from_params return the subclass they are called on

__all__ = ["btyd_summary", "BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "GammaGamma",
           "customer_lifetime_value", "value_at_risk"]


@follows_input
def btyd_summary(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: Optional[str] = "amount",
    *,
    freq: str = "D",
    freq_multiplier: float = 1,
    observation_end: Any = None,
    calibration_end: Any = None,
    returns: str = "net",
    order: Optional[str] = None,
    date_format: Optional[str] = None,
) -> pd.DataFrame:
    """The ``frequency, recency, T, monetary_value`` table BTYD models are fitted on.

    The conventions (and parameter meanings) are those of ``lifetimes``'
    ``summary_data_from_transaction_data`` and ``calibration_and_holdout_data``
    and of pymc-marketing's ``rfm_summary``, with purchases and returns as in
    :func:`patronage.rfm_table` (a return is never a purchase):

    * purchase days are bucketed into periods of ``freq`` (``"D"`` days,
      ``"W"`` weeks ending on Sunday, ``"M"`` calendar months); a period with
      at least one order counts once, however many orders (``order=``) it
      holds; periods after ``observation_end`` are ignored;
    * ``frequency`` is the number of repeat purchase periods;
    * ``recency`` is the time from the first to the last purchase period and
      ``T`` from the first purchase period to the period of ``observation_end``
      (default: the last transaction), in periods divided by
      ``freq_multiplier`` (``freq="D", freq_multiplier=7`` gives weeks counted
      in days; months are whole calendar months between period starts);
    * ``monetary_value`` is the mean net spend of the repeat periods (0
      without): a period's spend is its purchases minus the returns matched to
      them, so a repeat buyer who returned as much as they bought has a
      ``monetary_value`` of zero or below (:class:`GammaGamma` leaves them out
      of its fit).

    With ``calibration_end`` the table describes the calibration period
    (columns ``frequency_cal``, ``recency_cal``, ``T_cal``,
    ``monetary_value_cal``; they see only rows up to ``calibration_end``) and
    adds the holdout up to ``observation_end``: ``frequency_holdout`` (purchase
    periods), ``monetary_value_holdout`` (net spend of the holdout purchases
    per purchase line: lifetimes' mean per transaction when there are no
    returns; a holdout return of a calibration purchase counts in neither
    part) and ``duration_holdout``.

    Parameters
    ----------
    tx : DataFrame
        The transaction log (see :func:`patronage.rfm_table` for the accepted
        dtypes and the ``returns`` policy). Not modified.
    amount : str or None
        The amount column; ``None`` leaves out the monetary columns.
    order : str, optional
        The order (invoice) id column (see :func:`patronage.rfm_table`).
    date_format : str, optional
        The format of non-ISO date strings (see :func:`patronage.rfm_table`).

    Returns
    -------
    DataFrame
        Float columns, indexed by customer id (sorted).

    See Also
    --------
    BetaGeo : BG/NBD fitted on it.
    GammaGamma : Spend per purchase.
    rfm_table : RFM per customer.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                    "date": ["2024-01-01", "2024-01-08", "2024-01-22", "2024-01-15"],
    ...                    "amount": [10.0, 20.0, 40.0, 7.0]})
    >>> patronage.btyd_summary(tx, observation_end="2024-01-31")
                 frequency  recency     T  monetary_value
    customer_id
    1                  2.0     21.0  30.0            30.0
    2                  0.0      0.0  16.0             0.0
    """
    log = read_transactions(tx, customer, date, amount, returns, order, date_format)
    if isinstance(freq_multiplier, bool) or not isinstance(freq_multiplier, (int, float)):
        raise ParameterError(f"freq_multiplier must be a positive number, got {freq_multiplier!r}",
                             "freq_multiplier")
    obs = None if observation_end is None else to_day(observation_end, "observation_end")
    cal = None if calibration_end is None else to_day(calibration_end, "calibration_end")
    with log.labelled_errors():
        cols = _core.btyd_summary(log.core_args(returns), str(freq), float(freq_multiplier), obs, cal)
    index = log.customer_index(cols.pop("customer"))
    names = ["frequency", "recency", "T"] + (["monetary_value"] if amount is not None else [])
    cols["T"] = cols.pop("t")
    suffix = "_cal" if cal is not None else ""
    out = pd.DataFrame({f"{n}{suffix}": cols[n] for n in names}, index=index, copy=False)
    if cal is not None:
        out["frequency_holdout"] = cols["frequency_holdout"]
        if amount is not None:
            out["monetary_value_holdout"] = cols["monetary_value_holdout"]
        out["duration_holdout"] = float(cols["duration_holdout"])
    return out


# --------------------------------------------------------------------------------------------
# Models: BG/NBD, Gamma-Gamma, customer lifetime value
# --------------------------------------------------------------------------------------------

#: Longest :func:`customer_lifetime_value` horizon, in months (100 years; one term per month).
MAX_HORIZON_MONTHS = 1200

#: Time units of the summary per month, as in lifetimes' ``customer_lifetime_value``.
UNITS_PER_MONTH = {"D": 30.0, "W": 4.345, "M": 1.0, "H": 30.0 * 24.0}

#: |Pearson correlation| between frequency and monetary value (repeat buyers) above which
#: :class:`GammaGamma` warns that its independence assumption is doubtful. Fader & Hardie's
#: CDNOW example has 0.11 and is deemed fine; 0.3 is the usual "moderate" cut-off.
CORRELATION_THRESHOLD = 0.3

_FORMAT = 1
_Z95 = 1.959963984540054  # two-sided 95% normal quantile
_BG_COLUMNS = ("frequency", "recency", "T")
_GG_COLUMNS = ("frequency", "monetary_value")


class _Columns:
    """The model columns taken from a summary (DataFrame or 2-D array), as float64."""

    def __init__(self, data: Any, names: Sequence[str], what: str, *, checked_by_core: bool = False) -> None:
        # checked_by_core: the columns go straight to a core call that rejects NaN/inf itself
        # (relabelled by labelled_errors), so the scan for them here is skipped
        self.names = list(names)
        column = float_column if checked_by_core else finite_column
        if isinstance(data, pd.DataFrame):
            self.index = data.index
            self.labels = [self._find(data, n, what) for n in names]
            self.arrays = [column(data, c) for c in self.labels]
        elif isinstance(data, (pd.Series, str, bytes)) or data is None:
            raise TypeError(f"{what} must be a DataFrame (e.g. from btyd_summary) or a 2-D array with "
                            f"columns {self.names}, got {type(data).__name__}")
        else:
            values = np.asarray(data)
            if values.ndim != 2 or values.shape[1] != len(names):
                raise DataError(f"{what} as an array must be 2-D with {len(names)} columns "
                                f"({', '.join(names)}), got shape {values.shape}")
            if not (np.issubdtype(values.dtype, np.number) and values.dtype != np.bool_):
                raise ColumnTypeError(f"{what} must be numeric, got dtype {values.dtype}")
            frame = pd.DataFrame(values.astype(np.float64), columns=list(names))
            self.index = frame.index
            self.labels = list(names)
            self.arrays = [column(frame, c) for c in names]
        if len(self.index) == 0:
            raise DataError(f"{what} is empty")

    @staticmethod
    def _find(frame: pd.DataFrame, name: str, what: str) -> str:
        for candidate in (name, f"{name}_cal"):
            if candidate in frame.columns:
                return candidate
        require_columns(frame, [name], what)
        return name  # pragma: no cover (require_columns raised)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[self.names.index(name)]

    def series(self, values: np.ndarray, name: str) -> pd.Series:
        """The core's result per row, indexed like the input: its array, not a copy (pandas 3 copies
        an array given to ``pd.Series`` by default; nothing else holds this one)."""
        return pd.Series(values, index=self.index, name=name, copy=False)

    def weights(self, weights: Any, data: Any) -> Optional[np.ndarray]:
        """``weights`` as float64: None, a column name of ``data`` or an array of its length."""
        if weights is None:
            return None
        if isinstance(weights, str):
            if not isinstance(data, pd.DataFrame):
                raise ParameterError("weights given as a column name needs a DataFrame", "weights")
            require_columns(data, [weights], "summary")
            return finite_column(data, weights)
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(w) != len(self.index):
            raise ParameterError(f"weights has {len(w)} values for {len(self.index)} rows", "weights")
        return finite_column(pd.DataFrame({"weights": w}, index=self.index), "weights")

    @contextlib.contextmanager
    def labelled_errors(self) -> Iterator[None]:
        """Core data errors (about "feature j", row i) renamed to the user's column and label."""
        try:
            yield
        except DataError as exc:
            match = re.fullmatch(r"feature (\d+)", exc.field or "")
            if match is None:
                raise
            pos = int(match.group(1))
            names = {4: "weights", **dict(zip([_CORE_FIELDS[n] for n in self.names], self.labels))}
            column = names.get(pos, exc.field)
            reason = re.sub(r"^feature \d+:? ?", "", str(exc))
            reason = re.sub(r" at row \d+$", "", reason)
            sep = " " if reason.startswith("is ") else ": "  # "column 'T' is NaN or infinite", as finite_column says
            if "T" in self.names:  # recency > T: name both of the user's columns
                t_label = self.labels[self.names.index("T")]
                reason = re.sub(r"^recency \((.*?)\) is greater than T \(", lambda m: f"recency ({m[1]}) is "
                                f"greater than {t_label!r} (", reason)
            label = None
            if exc.row is not None and exc.row < len(self.index):
                label = plain(self.index[exc.row])
                reason += f" at index label {label!r} (row {exc.row})"
            raise DataError(f"column {column!r}{sep}{reason}", field=column, row=exc.row, label=label) from None


# Positions of the core's `Field::Feature(j)` (crates/patronage-core/src/btyd/data.rs).
_CORE_FIELDS = {"frequency": 0, "recency": 1, "T": 2, "monetary_value": 3}


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number, got {value!r}", name)
    return float(value)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}", name)
    return int(value)


class _Model(ParamsMixin, abc.ABC):
    """What BetaGeo and GammaGamma share: fitting diagnostics, persistence, display."""

    _core_class: Any = None
    _param_index: tuple = ()
    _title = ""

    def _require_fitted(self) -> Any:
        model = getattr(self, "_model", None)
        if model is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() first")
        return model

    def _set_model(self, model: Any) -> None:
        self._model = model
        self.params_ = pd.Series(model.params, index=list(self._param_index), dtype=float, name="coef")
        info = model.fit_info()
        self.fit_info_ = info
        self.identification_issues_ = [] if info is None else [issue["message"] for issue in info["issues"]]
        self.identified_ = not self.identification_issues_
        if info is None:  # from known parameters
            self.standard_errors_ = pd.Series(np.nan, index=self.params_.index, name="se(coef)")
            self.log_likelihood_ = np.nan
            self.n_customers_ = 0.0
            return
        se = info["standard_errors"]
        self.standard_errors_ = pd.Series(se if se is not None else np.nan, index=self.params_.index,
                                          dtype=float, name="se(coef)")
        self.log_likelihood_ = float(info["log_likelihood"])
        self.n_customers_ = float(info["n_customers"])

    # Histories a loaded model must predict finitely for (what a fitted model
    # does on its own data): none to 100 repeat purchases, recency 0 to T, ages
    # of a day to ten years, in days. The frame is built on first use: one made at import would make
    # pandas 3 import pyarrow for its string column index.
    _PROBE_COLUMNS = {"frequency": [0.0, 1.0, 10.0, 100.0, 1.0, 100.0],
                      "recency": [0.0, 1.0, 300.0, 3650.0, 30.0, 100.0],
                      "T": [1.0, 1.0, 400.0, 3650.0, 3650.0, 3650.0],
                      "monetary_value": [0.0, 1.0, 50.0, 1e4, 0.01, 1e6]}

    @classmethod
    def _probe(cls) -> pd.DataFrame:
        return pd.DataFrame(cls._PROBE_COLUMNS)

    @abc.abstractmethod
    def _probe_predictions(self) -> List[Callable[[], Any]]:
        """The predictions to make on :meth:`_probe`, each a call (a DataError from one is not silent)."""

    def _check_loaded(self) -> Any:
        """``self`` if its predictions on :meth:`_probe` are finite or clear errors, else a
        ParameterError naming the parameter furthest from 1 on a log scale (the one that ran off)."""
        values = []
        for predict in self._probe_predictions():
            try:
                with np.errstate(all="ignore"):
                    values.append(np.asarray(predict(), dtype=np.float64))
            except DataError:  # a clear error when used (q <= 1, a series that does not converge): not silent
                pass
        if not all(np.isfinite(v).all() for v in values):
            params = self.params_
            name = params.index[int(np.abs(np.log(params.to_numpy())).argmax())]
            raise ParameterError(
                f"{type(self).__name__} parameters {dict((k, float(v)) for k, v in params.items())} give "
                f"predictions that are not finite (NaN or infinite) for ordinary customers; {name}={params[name]:g} "
                "is the most extreme: these cannot be a fitted model's parameters", name)
        return self

    def _warn_fit(self, stacklevel: int = 3) -> None:
        info = self.fit_info_
        if not info["converged"]:
            warnings.warn(ConvergenceWarning(
                f"{type(self).__name__} did not converge (status {info['status']!r} after "
                f"{info['iterations']} iterations, {info['starts']} start(s), gradient norm "
                f"{info['gradient_norm']:.3g}); the estimates "
                f"{ {k: round(float(v), 6) for k, v in self.params_.items()} } are the best "
                "found. Try a larger max_iter or a small penalizer."), stacklevel=stacklevel)
        if not self.identified_:
            warnings.warn(ConvergenceWarning(self.identification_text()), stacklevel=stacklevel)

    def identification_text(self) -> str:
        """In plain words: which parameters the data do not determine and what they do determine
        (the message of the :class:`~patronage.exceptions.ConvergenceWarning` of such a fit);
        empty for a model the data identify."""
        self._require_fitted()
        if self.identified_:
            return ""
        text = f"{type(self).__name__} is not identified on this data. " + " ".join(self.identification_issues_)
        determined = self.fit_info_["determined"]
        if determined:
            text += " What the data do determine: " + "; ".join(
                f"{d['name']} = {d['value']:.4g} (95% interval {d['lower']:.4g} to {d['upper']:.4g}), "
                f"{d['meaning']}" for d in determined) + "."
        return text + " The other estimates, and predictions that depend on them, are not facts about the data."

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and 95 % intervals (log-likelihood in ``attrs``).

        Every parameter is positive, so the interval is the Wald interval of its logarithm,
        ``coef * exp(+/- 1.96 * se(log coef))`` (never negative, and the scale on which the fit
        is made and the likelihood is close to quadratic); ``se(coef) = coef * se(log coef)`` is
        the same standard error by the delta method. ``attrs["identified"]`` says whether the
        data determine every parameter (see :meth:`identification_text`).
        """
        self._require_fitted()
        coef, se = self.params_, self.standard_errors_
        log_se = se / coef
        with np.errstate(over="ignore"):  # a parameter the data do not determine: (0, inf)
            lower, upper = coef * np.exp(-_Z95 * log_se), coef * np.exp(_Z95 * log_se)
        out = pd.DataFrame({"coef": coef, "se(coef)": se, "se(log coef)": log_se, "lower 95% bound": lower,
                            "upper 95% bound": upper})
        out.attrs["log_likelihood"] = self.log_likelihood_
        out.attrs["n_customers"] = self.n_customers_
        out.attrs["identified"] = self.identified_
        return out

    def _repr_html_(self) -> str:
        if getattr(self, "_model", None) is None:
            return f"<p>{html.escape(repr(self))} (not fitted)</p>"
        head = (f"<p><b>{self._title}</b> {html.escape(repr(self))}<br>log-likelihood "
                f"{self.log_likelihood_:.4f}, customers {self.n_customers_:g}")
        if self.fit_info_ is not None:
            head += f", converged {self.fit_info_['converged']} ({self.fit_info_['status']})"
        head += "</p>"
        if not self.identified_:
            head += f"<p><b>Not identified:</b> {html.escape(self.identification_text())}</p>"
        return head + self.summary().to_html(float_format=lambda v: f"{v:.4g}")

    # persistence: the core's serde JSON (parameters + fit metadata, no data)
    def to_json(self) -> str:
        """The fitted model as JSON (constructor arguments, estimates, fit diagnostics; no data)."""
        model = self._require_fitted()
        return json.dumps({"format": _FORMAT, "class": type(self).__name__, "params": self.get_params(),
                           "model": json.loads(model.to_json())})

    @classmethod
    def from_json(cls, text: str) -> Any:
        """Rebuild a model written by :meth:`to_json`."""
        with json_document(text, cls.__name__) as doc:
            if doc.get("format") != _FORMAT or doc.get("class") != cls.__name__:
                raise DataError(f"not a {cls.__name__} JSON document (format {_FORMAT})")
            obj = cls(**doc["params"])
            obj._set_model(cls._core_class.from_json(json.dumps(doc["model"])))
            return obj._check_loaded()

    def __getstate__(self) -> Dict[str, Any]:
        model = getattr(self, "_model", None)
        return {"format": _FORMAT, "params": self.get_params(),
                "model": None if model is None else model.to_json()}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        with model_file(f"pickled {type(self).__name__}"):
            if not isinstance(state, dict) or state.get("format") != _FORMAT:
                raise ModelFileError(f"cannot unpickle {type(self).__name__}: format "
                                     f"{state.get('format') if isinstance(state, dict) else state!r}, "
                                     f"expected {_FORMAT!r}")
            for k, v in state["params"].items():
                setattr(self, k, v)
            if state["model"] is not None:
                self._set_model(self._core_class.from_json(state["model"]))
                self._check_loaded()


class _PurchaseModel(_Model):
    """What the BG/NBD family and the Pareto/NBD share: fitting, P(alive), expected purchases, plots."""

    _core_class = _core.BetaGeoModel
    _param_index = ("r", "alpha", "a", "b")
    _title = "BG/NBD"
    _modified = False

    def __init__(self, penalizer: float = 0.0, *, max_iter: int = 1000, tol: float = 1e-9) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol

    @classmethod
    def from_params(cls: Type[_BG], r: float, alpha: float, a: float, b: float) -> _BG:
        """A model with known parameters (e.g. published estimates), ready to predict."""
        obj = cls()
        values = (_number(v, n) for v, n in zip((r, alpha, a, b), cls._param_index))
        obj._set_model(_core.BetaGeoModel.from_params(*values, modified=cls._modified))
        return obj._check_loaded()

    def _probe_predictions(self) -> List[Callable[[], Any]]:
        probe = self._probe()[["frequency", "recency", "T"]]
        return [lambda: self.p_alive(probe), lambda: self.expected_purchases(probe, 30.0)]

    def fit(self: _BG, summary: Any, weights: Any = None) -> _BG:
        """Fit on ``frequency, recency, T`` (or their ``_cal`` columns).

        Parameters
        ----------
        summary : DataFrame or array of shape (n, 3)
            A :func:`btyd_summary` table, or columns frequency, recency, T.
            Not modified.
        weights : None, str or array, optional
            Number of customers each row stands for (a column name or values).

        Returns
        -------
        BetaGeo
            ``self``, fitted.
        """
        penalizer = _number(self.penalizer, "penalizer")
        max_iter, tol = _count(self.max_iter, "max_iter"), _number(self.tol, "tol")
        cols = _Columns(summary, _BG_COLUMNS, "summary")
        w = cols.weights(weights, summary)
        with cols.labelled_errors():
            model = self._fit_core(cols["frequency"], cols["recency"], cols["T"], w, penalizer, max_iter, tol)
        self._set_model(model)
        self._warn_fit()
        return self

    @classmethod
    def _fit_core(cls, *args: Any) -> Any:
        """The core fit of the columns, weights and options (the one line that differs per model)."""
        return _core.BetaGeoModel.fit(*args, cls._modified)

    def _history(self, summary: Any) -> _Columns:
        self._require_fitted()
        return _Columns(summary, _BG_COLUMNS, "summary", checked_by_core=True)

    def log_likelihood(self, summary: Any, weights: Any = None) -> float:
        """The BG/NBD log-likelihood of ``summary`` under the fitted parameters (paper eq. 6)."""
        cols = self._history(summary)
        w = cols.weights(weights, summary)
        with cols.labelled_errors():
            return float(self._model.log_likelihood(cols["frequency"], cols["recency"], cols["T"], w))

    def p_alive(self, summary: Any) -> pd.Series:
        """P(still a customer at T | history); 1 for customers without a repeat purchase.

        Returns
        -------
        Series
            Named ``p_alive``, indexed like ``summary``.
        """
        cols = self._history(summary)
        with cols.labelled_errors():
            values = self._model.p_alive(cols["frequency"], cols["recency"], cols["T"])
        return cols.series(values, "p_alive")

    def expected_purchases(self, summary: Any, t: float) -> pd.Series:
        """Expected repeat purchases of each customer in the next ``t`` time units (paper eq. 10).

        Returns
        -------
        Series
            Named ``expected_purchases``, indexed like ``summary``.
        """
        t = _number(t, "t")
        cols = self._history(summary)
        with cols.labelled_errors():
            values = self._model.expected_purchases(t, cols["frequency"], cols["recency"], cols["T"])
        return cols.series(values, "expected_purchases")

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """Expected repeat purchases of a newly acquired customer in ``(0, t]`` (paper eq. 9).

        ``t`` a number gives a float, an array gives a Series indexed by ``t``.
        """
        self._require_fitted()
        scalar = np.ndim(t) == 0
        times = np.ascontiguousarray(np.atleast_1d(np.asarray(t, dtype=np.float64)))
        values = self._model.expected_purchases_new_customer(times)
        if scalar:
            return float(values[0])
        return pd.Series(values, index=pd.Index(times, name="t"), name="expected_purchases")

    # plots (matplotlib imported lazily)
    def plot_p_alive_matrix(self, summary: Any = None, *, max_frequency: Optional[int] = None,
                            max_recency: Optional[float] = None, ax: Any = None, time_unit: str = "periods",
                            **kwargs: Any) -> Axes:
        """Heat map of P(alive) over repeat purchases x time since the last purchase, for customers
        of age ``max_recency``.

        Defaults come from ``summary`` (the 99th percentile of frequency, the largest T);
        without it give both limits. ``time_unit`` names the summary's period in the labels
        (e.g. ``"weeks"``); other keyword arguments go to ``Axes.imshow``. Returns the
        matplotlib Axes.
        """
        from ._btyd_plot import p_alive_matrix
        self._require_fitted()
        return p_alive_matrix(self, summary, max_frequency, max_recency, ax, time_unit, **kwargs)

    def plot_holdout_purchases(self, summary: Any, max_frequency: int = 7, ax: Any = None, **kwargs: Any) -> Axes:
        """Mean holdout purchases, actual vs expected, by calibration frequency (paper Figure 4).
        ``summary`` is a :func:`btyd_summary` made with ``calibration_end``. Other keyword arguments
        go to the model's line (``Axes.plot``). Returns the Axes."""
        from ._btyd_plot import holdout_purchases
        self._require_fitted()
        return holdout_purchases(self, summary, max_frequency, ax, **kwargs)


class BetaGeo(_PurchaseModel):
    """The BG/NBD model of repeat purchasing and dropout (Fader, Hardie & Lee 2005).

    While alive a customer buys as a Poisson process with rate
    ``lambda ~ Gamma(r, alpha)``; after each purchase they leave for good with
    probability ``p ~ Beta(a, b)``. Fitted by maximum likelihood (L-BFGS on the
    log-parameters with the analytic gradient, several starts if needed) on a
    :func:`btyd_summary` table; ``alpha`` is in the summary's time unit.

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty ``penalizer * (r**2 + (alpha / max T)**2 + a**2 + b**2)`` added
        to the mean negative log-likelihood, as lifetimes' ``penalizer_coef``.
    max_iter : int, default 1000
        Most optimiser iterations per starting point.
    tol : float, default 1e-9
        Gradient tolerance of the optimiser.

    Attributes
    ----------
    params_ : Series
        ``r, alpha, a, b``.
    standard_errors_ : Series
        Standard errors of the estimates: ``coef * se(log coef)``, the delta method
        applied to the covariance of the log-parameters (the inverse Hessian of the
        penalised negative log-likelihood in ``log r, log alpha, ...``, where the fit
        is made). NaN when that Hessian is not positive definite. Intervals are
        taken on the log scale: see :meth:`summary`.
    log_likelihood_ : float
        The log-likelihood at the estimates (the paper's, eq. 6).
    n_customers_ : float
        Customers fitted (sum of the weights).
    identified_ : bool
        Whether the data determine every parameter (True for :meth:`from_params`).
    identification_issues_ : list of str
        Why not, in plain words (empty when identified); see Notes.
    fit_info_ : dict
        Optimiser diagnostics: ``converged``, ``status``, ``iterations``,
        ``evaluations``, ``gradient_norm``, ``starts``, ``n_patterns``; ``issues``
        (``kind``, ``parameters``, ``message``) and ``determined`` (the combinations of
        parameters the data do determine when some parameters are not: ``name``,
        ``meaning``, ``value``, ``lower``, ``upper``).

    Notes
    -----
    A fit that does not converge keeps the best estimates found and emits a
    :class:`~patronage.exceptions.ConvergenceWarning` with the diagnostics; it
    never returns NaN parameters.

    A fit the data do not identify also emits a ``ConvergenceWarning`` (the text of
    :meth:`identification_text`) and has ``identified_ == False``: a parameter lies
    along a flat direction of the likelihood (singular or indefinite Hessian), has a
    standard error of its logarithm above 2 (its 95% interval spans more than three
    orders of magnitude), or ran towards 0 or infinity (the Newton step from the
    estimates still moves its logarithm by more than 0.5). On weekly Online Retail
    data, for instance, ``a`` and ``b`` run off together and only the mean dropout
    probability ``a/(a+b)`` is determined. The same checks apply to
    :class:`ModifiedBetaGeo`, :class:`ParetoNBD` and :class:`GammaGamma`.

    See Also
    --------
    ModifiedBetaGeo : MBG/NBD.
    ParetoNBD : Pareto/NBD.
    GammaGamma : Spend per purchase.
    btyd_summary : Its input.

    Examples
    --------
    >>> import patronage
    >>> from patronage.datasets import simulate_transactions
    >>> tx = simulate_transactions(3000, random_state=7)
    >>> summary = patronage.btyd_summary(tx, freq="D", freq_multiplier=7)  # weeks
    >>> bg = patronage.BetaGeo().fit(summary)
    >>> bg.params_.round(2).to_dict()
    {'r': 0.26, 'alpha': 4.92, 'a': 1.09, 'b': 3.28}
    >>> bool(bg.p_alive(summary).between(0, 1).all())
    True
    """

    def probability_of_n_purchases(self, t: float, n: Any) -> Any:
        """P(X(t) = n): probability that a new customer makes ``n`` repeat purchases in ``(0, t]``
        (paper eq. 8). ``n`` an integer gives a float, a sequence a Series indexed by ``n``."""
        self._require_fitted()
        t = _number(t, "t")
        scalar = np.ndim(n) == 0
        ns = np.atleast_1d(np.asarray(n))
        if not np.issubdtype(ns.dtype, np.integer) or (ns < 0).any():
            raise ParameterError(f"n must be non-negative integers, got {n!r}", "n")
        values = [self._model.probability_of_n_purchases(t, int(k)) for k in ns]
        if scalar:
            return values[0]
        return pd.Series(values, index=pd.Index(ns, name="n"), name="probability")

    def plot_period_transactions(self, summary: Any, max_frequency: int = 7, ax: Any = None,
                                 **kwargs: Any) -> Axes:
        """Calibration check: customers by number of repeat purchases, actual vs the model's
        expectation given each customer's T (paper Figure 2). Other keyword arguments go to the
        model's bars (``Axes.bar``). Returns the Axes."""
        from ._btyd_plot import period_transactions
        self._require_fitted()
        return period_transactions(self, summary, max_frequency, ax, **kwargs)


class ModifiedBetaGeo(BetaGeo):
    """The modified BG/NBD (MBG/NBD) of Batislam, Denizel & Filiztekin (2007).

    As :class:`BetaGeo`, except that a customer may also drop out right after
    the first purchase, so customers without repeat purchases are not
    certainly alive (their P(alive) is below 1). Same parameters, attributes
    and methods; the definitions of lifetimes' ``ModifiedBetaGeoFitter``.

    Parameters
    ----------
    penalizer, max_iter, tol
        As in :class:`BetaGeo` (L2 penalty, most optimiser iterations per
        starting point, gradient tolerance).

    See Also
    --------
    BetaGeo : BG/NBD.
    ParetoNBD : Pareto/NBD.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> mbg = patronage.ModifiedBetaGeo.from_params(r=0.25, alpha=4.4, a=0.8, b=2.4)
    >>> new = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [38.86]})
    >>> round(float(mbg.p_alive(new).iloc[0]), 4)
    0.6288
    """

    _modified = True
    _title = "MBG/NBD"


class ParetoNBD(_PurchaseModel):
    """The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

    While alive a customer buys at rate ``lambda ~ Gamma(r, alpha)``; lifetimes
    are exponential with rate ``mu ~ Gamma(s, beta)`` (dropout at any time, not
    only after purchases). Fitted by maximum likelihood (Fader, Hardie & Lee's
    2005 note): damped Newton with the exact gradient and Hessian, the
    likelihood's hypergeometric term evaluated as the integral it comes from,
    at a bounded cost for any parameter values. Provides ``p_alive``,
    ``expected_purchases``, ``expected_purchases_new_customer`` and
    ``log_likelihood`` (no ``probability_of_n_purchases``), and works with
    :func:`customer_lifetime_value`.

    Some data cannot identify all four parameters: the likelihood keeps rising
    along a ridge (``s`` and ``beta`` growing together: one dropout rate for
    everyone; ``r`` and ``alpha`` together: one purchase rate; or ``s``
    falling to 0: no visible dropout). The fit then stops where the likelihood
    is flat, keeps those finite estimates and reports the fit as not identified
    like any other (``identified_`` False, a ``fit_info_["issues"]`` entry of kind
    ``"ridge"`` naming the parameters, and a
    :class:`~patronage.exceptions.ConvergenceWarning` that says which ratio the
    data determine).

    Parameters
    ----------
    penalizer, max_iter, tol
        As in :class:`BetaGeo` (L2 penalty, most optimiser iterations per
        starting point, gradient tolerance).

    See Also
    --------
    BetaGeo : BG/NBD, faster to fit.
    ModifiedBetaGeo : MBG/NBD.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> pnbd = patronage.ParetoNBD.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    >>> one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    >>> round(float(pnbd.expected_purchases(one, 39).iloc[0]), 3)
    1.45
    """

    _core_class = _core.ParetoNbdModel
    _param_index = ("r", "alpha", "s", "beta")
    _title = "Pareto/NBD"

    @classmethod
    def from_params(cls, r: float, alpha: float, s: float, beta: float) -> "ParetoNBD":  # type: ignore[override]
        """A model with known parameters (e.g. published estimates), ready to predict."""
        obj = cls()
        values = (_number(v, n) for v, n in zip((r, alpha, s, beta), cls._param_index))
        obj._set_model(_core.ParetoNbdModel.from_params(*values))
        return obj._check_loaded()

    @classmethod
    def _fit_core(cls, *args: Any) -> Any:
        return _core.ParetoNbdModel.fit(*args)


class GammaGamma(_Model):
    """The Gamma-Gamma model of spend per transaction (Fader & Hardie 2013).

    Transaction values of a customer are ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)``
    across customers; fitted on the repeat buyers (rows with ``frequency > 0``) of a
    :func:`btyd_summary` table, whose ``monetary_value`` is the mean repeat spend.
    The model assumes spend does not depend on purchase frequency: after the fit
    a :class:`UserWarning` is emitted when ``|corr(frequency, monetary_value)|``
    among repeat buyers exceeds ``correlation_threshold``.

    Spend values must be positive. A repeat buyer whose ``monetary_value`` is
    zero or negative (returns cancelled their repeat purchases, or they were
    free) carries no usable spend: :meth:`fit` leaves them out with a
    :class:`UserWarning` giving their number, :meth:`log_likelihood` leaves
    them out, and :meth:`expected_average_spend` (so also
    :func:`customer_lifetime_value`) gives them the population mean
    ``p v / (q - 1)``, as for customers without repeats.

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty ``penalizer * (p**2 + q**2 + v**2)`` on the mean negative
        log-likelihood (lifetimes' ``penalizer_coef``).
    max_iter, tol
        As in :class:`BetaGeo`.
    correlation_threshold : float, default 0.3
        See above (:data:`CORRELATION_THRESHOLD`).

    Attributes
    ----------
    params_ : Series
        ``p, q, v``.
    standard_errors_, log_likelihood_, n_customers_, identified_, identification_issues_, fit_info_
        As in :class:`BetaGeo` (customers = repeat buyers).
    frequency_spend_correlation_ : float
        Pearson correlation of frequency and monetary value among repeat buyers.

    See Also
    --------
    BetaGeo : The purchase process.
    customer_lifetime_value : Both combined.

    Examples
    --------
    >>> import patronage
    >>> from patronage.datasets import simulate_transactions
    >>> tx = simulate_transactions(3000, spend="gamma-gamma", random_state=7)
    >>> summary = patronage.btyd_summary(tx, freq="D", freq_multiplier=7)
    >>> gg = patronage.GammaGamma().fit(summary)
    >>> gg.params_.round(1).to_dict()
    {'p': 5.7, 'q': 3.8, 'v': 18.3}
    >>> spend = gg.expected_average_spend(summary)  # population mean for non-repeaters
    """

    _core_class = _core.GammaGammaModel
    _param_index = ("p", "q", "v")
    _title = "Gamma-Gamma"

    def __init__(self, penalizer: float = 0.0, *, max_iter: int = 1000, tol: float = 1e-9,
                 correlation_threshold: float = CORRELATION_THRESHOLD) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol
        self.correlation_threshold = correlation_threshold

    @classmethod
    def from_params(cls, p: float, q: float, v: float) -> "GammaGamma":
        """A model with known parameters (e.g. published estimates), ready to predict."""
        obj = cls()
        obj._set_model(_core.GammaGammaModel.from_params(*(_number(x, n) for x, n in
                                                            zip((p, q, v), cls._param_index))))
        return obj._check_loaded()

    def _probe_predictions(self) -> List[Callable[[], Any]]:
        probe = self._probe()
        buyers = probe[probe["frequency"] > 0][["frequency", "monetary_value"]]
        return [lambda: self.expected_average_spend(buyers)]

    def _set_model(self, model: Any) -> None:
        super()._set_model(model)
        corr = model.frequency_spend_correlation
        self.frequency_spend_correlation_ = np.nan if corr is None else float(corr)

    def fit(self, summary: Any, weights: Any = None) -> "GammaGamma":
        """Fit on the repeat buyers' ``frequency, monetary_value`` (or ``_cal`` columns).

        Parameters
        ----------
        summary : DataFrame or array of shape (n, 2)
            Rows with frequency 0 are ignored, and so are repeat buyers whose
            monetary_value is zero or negative (with a warning giving their number).
        weights : None, str or array, optional
            Number of customers each row stands for.

        Returns
        -------
        GammaGamma
            ``self``, fitted.
        """
        penalizer, max_iter, tol = self._fit_settings()
        cols = _Columns(summary, _GG_COLUMNS, "summary")
        w = cols.weights(weights, summary)
        frequency, unusable = _spending_frequency(cols)
        self._warn_unusable(unusable)
        with cols.labelled_errors():
            model = _core.GammaGammaModel.fit(frequency, cols["monetary_value"], w, penalizer, max_iter, tol)
        return self._fitted(model)

    def _fit_settings(self) -> tuple:
        """``(penalizer, max_iter, tol)``, checked (and ``correlation_threshold``)."""
        _number(self.correlation_threshold, "correlation_threshold")
        return (_number(self.penalizer, "penalizer"), _count(self.max_iter, "max_iter"),
                _number(self.tol, "tol"))

    @staticmethod
    def _warn_unusable(unusable: int) -> None:
        if unusable:
            warnings.warn(
                f"GammaGamma: {unusable} repeat buyer(s) with a monetary_value of zero or less (returns "
                "cancelled their repeat spend) are left out of the fit; their expected spend is the "
                "population mean.", UserWarning, stacklevel=3)

    def _fitted(self, model: Any) -> "GammaGamma":
        """``self`` holding the core ``model``, with the fit's warnings."""
        self._set_model(model)
        self._warn_fit(stacklevel=4)  # the caller of fit
        threshold = _number(self.correlation_threshold, "correlation_threshold")
        corr = self.frequency_spend_correlation_
        if np.isfinite(corr) and abs(corr) > threshold:
            warnings.warn(
                f"frequency and monetary_value are correlated among repeat buyers (Pearson r = {corr:.3f}, "
                f"threshold {threshold}): the Gamma-Gamma model assumes they are independent, so its "
                "spend predictions may be biased.", UserWarning, stacklevel=3)
        return self

    def log_likelihood(self, summary: Any, weights: Any = None) -> float:
        """Log-likelihood of the repeat buyers in ``summary`` (those with a positive
        monetary_value) under the fitted parameters."""
        self._require_fitted()
        cols = _Columns(summary, _GG_COLUMNS, "summary")
        w = cols.weights(weights, summary)
        frequency, _ = _spending_frequency(cols)
        with cols.labelled_errors():
            return float(self._model.log_likelihood(frequency, cols["monetary_value"], w))

    def expected_average_spend(self, summary: Any) -> pd.Series:
        """E[spend per transaction | frequency, monetary_value] per customer (the population
        mean ``p v / (q - 1)`` for customers without repeats, or whose monetary_value is
        zero or negative).

        Returns
        -------
        Series
            Named ``expected_average_spend``, indexed like ``summary``.
        """
        self._require_fitted()
        cols = _Columns(summary, _GG_COLUMNS, "summary")
        with cols.labelled_errors():
            values = self._model.expected_average_spend(cols["frequency"], self._usable_spend(cols))
        return cols.series(values, "expected_average_spend")

    def _usable_spend(self, cols: "_Columns") -> np.ndarray:
        """monetary_value with the population mean in place of a repeat buyer's non-positive one.

        The posterior mean spend is a weighted average of the population mean and the
        customer's own mean, so it is the population mean when the two are equal.
        """
        monetary = cols["monetary_value"]
        unusable = (cols["frequency"] > 0) & (monetary <= 0)
        if not unusable.any():
            return monetary
        p, q, v = (float(x) for x in self.params_)
        mean = p * v / (q - 1.0) if q > 1.0 else 1.0  # q <= 1: the core reports the infinite mean
        return np.where(unusable, mean, monetary)

    #: lifetimes' name
    conditional_expected_average_profit = expected_average_spend


def _spending_frequency(cols: _Columns) -> tuple:
    """frequency with 0 for repeat buyers whose monetary_value is not positive (the spend
    model skips frequency-0 rows), and how many there are."""
    frequency = cols["frequency"]
    unusable = (frequency > 0) & (cols["monetary_value"] <= 0)
    return np.where(unusable, 0.0, frequency), int(unusable.sum())


def _units_per_month(freq: Any) -> float:
    if freq not in UNITS_PER_MONTH:
        raise ParameterError(f"freq must be the summary's time unit, one of {sorted(UNITS_PER_MONTH)}, "
                             f"got {freq!r}", "freq")
    return UNITS_PER_MONTH[freq]


def customer_lifetime_value(
    bg: Union[BetaGeo, ParetoNBD],
    gg: GammaGamma,
    summary: Any,
    horizon: int = 12,
    freq: str = "M",
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> pd.Series:
    """Discounted expected value of each customer over the next ``horizon`` months.

    The definition of lifetimes' ``customer_lifetime_value``::

        CLV = margin * sum_{k=1..horizon} E[spend] * (E[X(k f)] - E[X((k-1) f)]) / (1 + discount_rate)**k

    with ``E[X(t)]`` the purchase model's expected purchases in the next ``t`` time units,
    ``E[spend]`` the Gamma-Gamma expected average spend and ``f`` the number of the
    summary's time units per month (``freq``: ``"D"`` 30, ``"W"`` 4.345, ``"M"`` 1,
    ``"H"`` 720). ``E[X(t)] = P(alive) E[X(t) | alive]``, so ``CLV = P(alive) x
    value_if_alive`` (see :func:`value_at_risk`).

    Parameters
    ----------
    bg : BetaGeo, ModifiedBetaGeo or ParetoNBD
        The fitted purchase model (on this summary's time unit).
    gg : GammaGamma
        The fitted spend model.
    summary : DataFrame
        ``frequency, recency, T, monetary_value`` (or ``_cal``) per customer. Not modified.
    horizon : int, default 12
        Months, at most :data:`MAX_HORIZON_MONTHS` (1200).
    freq : {"D", "W", "M", "H"}, default "M"
        The time unit of ``summary`` (and of ``bg``).
    discount_rate : float, default 0.01
        Per month.
    margin : float, default 1
        Profit margin applied to spend.

    Returns
    -------
    Series
        Named ``clv``, indexed like ``summary``.

    See Also
    --------
    value_at_risk : Value if alive and the part at risk.
    BetaGeo : The purchase model.
    GammaGamma : The spend model.

    Examples
    --------
    >>> import patronage
    >>> from patronage.datasets import simulate_transactions
    >>> summary = patronage.btyd_summary(simulate_transactions(3000, random_state=7), freq="M")
    >>> bg, gg = patronage.BetaGeo().fit(summary), patronage.GammaGamma().fit(summary)
    >>> clv = patronage.customer_lifetime_value(bg, gg, summary, horizon=12, freq="M")
    >>> bool((clv >= 0).all()), clv.index.equals(summary.index)
    (True, True)
    """
    return _lifetime_value(bg, gg, summary, horizon, freq, discount_rate, margin, if_alive=False)


def _lifetime_value(bg: Union[BetaGeo, ParetoNBD], gg: GammaGamma, summary: Any, horizon: int, freq: str,
                    discount_rate: float, margin: float, *, if_alive: bool) -> pd.Series:
    """The CLV (named ``clv``), or with ``if_alive`` the value if alive (``value_if_alive``)."""
    name = "value_if_alive" if if_alive else "clv"
    if not isinstance(bg, _PurchaseModel) or not isinstance(gg, GammaGamma):
        raise TypeError("customer_lifetime_value needs a BetaGeo, ModifiedBetaGeo or ParetoNBD model and a "
                        f"GammaGamma model, got {type(bg).__name__} and {type(gg).__name__}")
    bg_core, gg_core = bg._require_fitted(), gg._require_fitted()
    units = _units_per_month(freq)
    horizon = _count(horizon, "horizon")
    if horizon > MAX_HORIZON_MONTHS:
        raise ParameterError(f"horizon must be at most {MAX_HORIZON_MONTHS} months (100 years), got {horizon}",
                             "horizon")
    rate, margin = _number(discount_rate, "discount_rate"), _number(margin, "margin")
    cols = _Columns(summary, _BG_COLUMNS + ("monetary_value",), "summary")
    with cols.labelled_errors():
        values = _core.customer_lifetime_value(bg_core, gg_core, cols["frequency"], cols["recency"], cols["T"],
                                               gg._usable_spend(cols), horizon, units, rate, margin, if_alive)
    return cols.series(values, name)


def value_at_risk(
    bg: Union[BetaGeo, ParetoNBD],
    gg: GammaGamma,
    summary: Any,
    horizon: int = 12,
    freq: str = "M",
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> pd.DataFrame:
    """The value each customer would bring if still alive, and the part of it at risk.

    One definition, used everywhere in Patronage (the win-back list, the
    report and its CSV)::

        value_if_alive = the CLV sum of customer_lifetime_value with E[X(t) | alive] for E[X(t)]
        clv            = p_alive * value_if_alive
        value_at_risk  = (1 - p_alive) * value_if_alive      (so clv + value_at_risk = value_if_alive)

    ``value_at_risk`` is the expected value lost because the customer may
    already be gone: large for valuable customers who look lapsed. (It is not
    ``(1 - p_alive) * clv``, which would count P(alive) twice.) The value if
    alive is computed directly, never as ``clv / p_alive``.

    Same arguments as :func:`customer_lifetime_value`.

    Parameters
    ----------
    bg, gg : BetaGeo, GammaGamma
        Fitted models (on this summary's time unit).
    summary : DataFrame
        ``frequency, recency, T, monetary_value`` (or ``_cal``) per customer. Not modified.
    horizon : int, default 12
        Months.
    freq : {"D", "W", "M", "H"}, default "M"
        The time unit of ``summary`` (and of ``bg``).
    discount_rate : float, default 0.01
        Per month.
    margin : float, default 1
        Profit margin applied to spend.

    Returns
    -------
    DataFrame
        ``p_alive``, ``clv``, ``value_if_alive`` and ``value_at_risk``, indexed
        like ``summary``.

    See Also
    --------
    customer_lifetime_value : The CLV alone.
    winback_list : Whom to win back.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> bg = patronage.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> gg = patronage.GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    >>> summary = pd.DataFrame({"frequency": [2.0, 2.0, 0.0], "recency": [30.43, 3.0, 0.0],
    ...                         "T": [38.86, 38.86, 38.86], "monetary_value": [22.35, 22.35, 0.0]})
    >>> risk = patronage.value_at_risk(bg, gg, summary, freq="W")
    >>> risk.round(2)
       p_alive    clv  value_if_alive  value_at_risk
    0     0.73  36.29           49.95          13.66
    1     0.08   3.81           49.95          46.13
    2     1.00   8.37            8.37           0.00
    """
    p_alive = bg.p_alive(summary)
    value = _lifetime_value(bg, gg, summary, horizon, freq, discount_rate, margin, if_alive=True)
    clv = (p_alive * value).rename("clv")
    return pd.DataFrame({"p_alive": p_alive, "clv": clv, "value_if_alive": value,
                         "value_at_risk": (1.0 - p_alive) * value})


#: Half the 95% quantile of chi-square with 1 degree of freedom: the likelihood-ratio 95% range.
_LR95 = 1.9207294103470876


def predictions_on_the_ridge(bg: BetaGeo, summary: Any, predictions: Any, *, tolerance: float = 0.05) -> pd.DataFrame:
    """What a BG/NBD fit whose ``a`` and ``b`` the data do not determine still says, and with what range.

    On such data the likelihood is nearly flat along a ridge on which ``a``
    and ``b`` grow or shrink together (their ratio, the dropout chance per
    purchase, is what the data pin down). ``predictions`` maps names to
    functions of a model that return a number (e.g. the mean P(alive), a CLV
    total). Each is evaluated at the fit
    and at the models with ``(a, b)`` scaled by ``k`` (``r`` and ``alpha``
    kept), ``k`` = 10^-3, 10^-2.5, ..., 10^3, keeping those whose
    log-likelihood on ``summary`` is within 1.92 of the fit's (the
    likelihood-ratio 95% range along the ridge). A prediction is **stable**
    when its range over those models is within ``tolerance`` (default 5%) of
    its value at the fit: the data determine it even though they do not
    determine ``a`` and ``b``. One that cannot be evaluated at some of them
    (a series that does not converge) is not stable.

    Returns
    -------
    DataFrame
        One row per prediction: ``estimate`` (at the fit), ``low``, ``high``
        and ``stable``; ``attrs["k"]`` holds the scale factors kept.

    Examples
    --------
    >>> import pandas as pd, patronage
    >>> summary = patronage.btyd_summary(patronage.datasets.simulate_transactions(500, random_state=0),
    ...                                  freq="W")
    >>> bg = patronage.BetaGeo().fit(summary)
    >>> ridge = patronage.predictions_on_the_ridge(bg, summary, {"mean P(alive)": lambda m: m.p_alive(summary).mean()})
    >>> list(ridge.columns)
    ['estimate', 'low', 'high', 'stable']
    """
    model = bg._require_fitted()
    if not isinstance(bg, BetaGeo):
        raise TypeError(f"bg must be a fitted BetaGeo, got {type(bg).__name__}")
    tolerance = _number(tolerance, "tolerance")
    r, alpha, a, b = (float(v) for v in model.params)
    if not isinstance(predictions, Mapping) or not all(callable(f) for f in predictions.values()):
        raise ParameterError("predictions must map names to functions of a model", "predictions")
    best = bg.log_likelihood(summary)
    estimate = pd.Series({name: float(f(bg)) for name, f in predictions.items()}, dtype=float)
    values, kept = [estimate], []
    for k in 10.0 ** np.arange(-3.0, 3.01, 0.5):
        candidate = type(bg).from_params(r, alpha, a * k, b * k)
        if not candidate.log_likelihood(summary) >= best - _LR95:
            continue
        kept.append(k)
        row = {}
        for name, f in predictions.items():  # one prediction failing here leaves the others standing
            try:
                row[name] = float(f(candidate))
            except PatronageError:
                row[name] = np.nan
        values.append(pd.Series(row, dtype=float))
    table = pd.concat(values, axis=1)
    out = pd.DataFrame({"estimate": estimate, "low": table.min(axis=1), "high": table.max(axis=1)})
    out["stable"] = table.notna().all(axis=1) & ((out["high"] - out["low"]) <= tolerance * out["estimate"].abs())
    out.attrs["k"] = np.array(kept)
    return out
