"""ChurnClassifier: logistic regression or histogram gradient boosting,
optionally calibrated, scikit-learn compatible."""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import pandas as pd

from .. import _core
from .._input import as_pandas_if_table
from .._base import ParamsMixin, json_document, model_file, seed_from
from ..exceptions import ConvergenceWarning, DataError, ModelFileError, NotFittedError, ParameterError
from ._encode import Design, check_impute

MODELS = ("logistic", "gbm")
CALIBRATIONS = (None, "isotonic", "platt")
_FORMAT = "patronage.ChurnClassifier"
_FORMAT_VERSION = 1


def _int_param(name: str, value: Any, minimum: int, allow_none: bool = False) -> Optional[int]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        extra = " or None" if allow_none else ""
        raise ParameterError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}", name)
    return int(value)


def _float_param(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number, got {value!r}", name)
    return float(value)


def _conversion_warning() -> type:
    """scikit-learn's DataConversionWarning when scikit-learn is in use, else UserWarning."""
    import sys

    exc = getattr(sys.modules.get("sklearn.exceptions"), "DataConversionWarning", None)
    return exc if isinstance(exc, type) else UserWarning


def _seed(random_state: Any) -> int:
    """``None`` -> 0: every result of this estimator is deterministic."""
    return 0 if random_state is None else seed_from(random_state)


class ChurnClassifier(ParamsMixin):
    """A churn model an analyst can present and a data scientist can trust.

    ``model="logistic"``: L2-regularised logistic regression on standardised
    features (scikit-learn's ``LogisticRegression(C=C)`` objective, intercept
    not penalised), fitted exactly by Newton's method in the compiled core;
    exposes ``coef_`` and ``odds_ratios_``. On more than 61,440 rows the fit
    first solves on a fixed subsample (every k-th chunk of 4,096 rows, at
    least 8 chunks, its loss scaled to stand for all rows) to a step of
    1e-3, then runs Newton on all rows from there to ``tol``: the answer is
    the full-data optimum, in the same bits on any thread count, and the
    subsample only saves passes over the data. ``model="gbm"``: histogram
    gradient boosting for the log-loss (the ``HistGradientBoostingClassifier``
    algorithm: up to ``max_bins`` quantile bins per feature, leaf-wise trees
    of ``max_leaf_nodes`` leaves), with ``feature_importances_``.

    Limits (a clear error instead of a hang or NaN): the logistic model takes
    at most 1,000 design features (its Newton step solves a
    ``(p+1) x (p+1)`` system; wider designs suit ``model="gbm"``), and sample
    weights (after ``class_weight``) must sum to at most 1e100. Fits can be
    stopped with Ctrl-C (KeyboardInterrupt within about a second).

    Any feature DataFrame works (the output of :func:`churn_dataset`, or a
    subscription table with its own churn flag). Numeric and boolean columns
    are used as they are; other columns are one-hot encoded with the
    categories seen in ``fit`` (a category unseen at fit time gets all-zero
    indicators at predict time, as a missing one does). Labels may be any two
    values; the positive class ("churned") is ``classes_[1]``, the larger one
    in sorted order (1, True, "Yes").

    Parameters
    ----------
    model : {"logistic", "gbm"}
    C : float, default 1.0
        Inverse L2 strength of the logistic model.
    class_weight : None, "balanced" or dict
        Weights per class, multiplied into ``sample_weight``
        (``"balanced"``: ``total / (2 total_class)`` with totals of
        ``sample_weight``, so both classes weigh the same, as scikit-learn).
    calibration : None, "isotonic" or "platt"
        Calibrate probabilities on out-of-fold scores of ``calibration_cv``
        folds; the final model is then refitted on all rows.
    impute : None, "median", "mean", "zero" or "native"
        Missing (NaN) numeric features: ``None`` raises a DataError naming the
        column and row; the statistics are learned in ``fit``; ``"native"``
        (gbm only) gives missing values their own bin.
    threshold : float, default 0.5
        ``predict`` says "churn" when the churn probability is above it
        (see :func:`choose_threshold`).
    random_state : None or int
        Seeds the calibration folds, the gbm bin sample and its validation
        split (None = 0, so results are always reproducible).
    max_iter : int, default 100
        Newton iterations on all rows (logistic; the subsample presolve
        has its own budget of ``max_iter``) or most boosting rounds (gbm).
    tol : float, optional
        Logistic: stop when the largest Newton step is below it (default
        1e-8). GBM with early stopping: the smallest improvement of the
        validation log-loss that counts (default 1e-7, as scikit-learn).
    learning_rate, max_leaf_nodes, max_depth, min_samples_leaf, l2_regularization, max_bins
        GBM parameters, defaults as scikit-learn's (0.1, 31, None, 20, 0, 255).
    early_stopping : "auto", bool, default "auto"
        GBM: hold out ``validation_fraction`` of the rows (stratified) and
        stop once the validation log-loss has not improved by more than
        ``tol`` for ``n_iter_no_change`` rounds; ``"auto"`` turns it on above
        10,000 rows, as scikit-learn. ``n_iter_`` is the number of trees grown.
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 10
    monotonic_cst : None, sequence or dict, optional
        GBM: per input column 1 (churn risk never decreases as the value
        grows, e.g. ``recency_days``), -1 (never increases) or 0, as a list
        in column order or a dict ``{column: constraint}``; scikit-learn's
        rule (children's values bounded by their parent split's midpoint).
        Numeric columns only.
    calibration_cv : int, default 3
        Stratified folds for calibration.

    See Also
    --------
    churn_dataset : Features and labels from a log.
    churn_report : How good the probabilities are.
    choose_threshold : Whom to contact.

    Examples
    --------
    >>> import numpy as np, pandas as pd, patronage
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"recency_days": rng.exponential(60, 400),
    ...                   "plan": rng.choice(["basic", "pro"], 400)})
    >>> y = pd.Series((X.recency_days + rng.normal(0, 30, 400) > 60).astype(int), index=X.index)
    >>> clf = patronage.ChurnClassifier("logistic").fit(X, y)
    >>> clf.feature_names_out_
    ['recency_days', 'plan=basic', 'plan=pro']
    >>> bool(clf.odds_ratios_["recency_days"] > 1)
    True
    >>> clf.predict_proba(X.head(2)).shape
    (2, 2)
    """

    def __init__(
        self,
        model: str = "logistic",
        *,
        C: float = 1.0,
        class_weight: Any = None,
        calibration: Optional[str] = None,
        impute: Optional[str] = None,
        threshold: float = 0.5,
        random_state: Any = None,
        max_iter: int = 100,
        tol: Optional[float] = None,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        max_depth: Optional[int] = None,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        max_bins: int = 255,
        early_stopping: Any = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        monotonic_cst: Any = None,
        calibration_cv: int = 3,
    ) -> None:
        self.model = model
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.impute = impute
        self.threshold = threshold
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.monotonic_cst = monotonic_cst
        self.calibration_cv = calibration_cv

    # ------------------------------------------------------------------ params
    def _check_params(self) -> None:
        if self.model not in MODELS:
            raise ParameterError(f"model must be one of {MODELS}, got {self.model!r}", "model")
        if self.calibration not in CALIBRATIONS:
            raise ParameterError(f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}",
                                 "calibration")
        check_impute(self.impute, self.model)
        threshold = _float_param("threshold", self.threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ParameterError(f"threshold must be in [0, 1], got {self.threshold!r}", "threshold")
        _int_param("max_iter", self.max_iter, 1)
        _int_param("calibration_cv", self.calibration_cv, 2)
        if self.model == "gbm":
            for name in ("max_leaf_nodes", "min_samples_leaf", "max_bins"):
                _int_param(name, getattr(self, name), 1)
            _int_param("max_depth", self.max_depth, 1, allow_none=True)
            _int_param("n_iter_no_change", self.n_iter_no_change, 1)
            for name in ("learning_rate", "l2_regularization", "validation_fraction"):
                _float_param(name, getattr(self, name))
            if not (self.early_stopping == "auto" or isinstance(self.early_stopping, (bool, np.bool_))):
                raise ParameterError(f"early_stopping must be 'auto', True or False, got {self.early_stopping!r}",
                                     "early_stopping")
        else:
            _float_param("C", self.C)
            if self.monotonic_cst is not None:
                raise ParameterError("monotonic_cst needs model='gbm' (a logistic model is monotonic in every "
                                     "feature already)", "monotonic_cst")
        if self.tol is not None:
            _float_param("tol", self.tol)
        _seed(self.random_state)
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            raise ParameterError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}", "class_weight")

    # ------------------------------------------------------------------ input
    def _frame(self, X: Any, fitting: bool) -> pd.DataFrame:
        X = as_pandas_if_table(X, "X")  # polars / Arrow / DuckDB tables keep their feature names
        if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
            raise TypeError("sparse input is not supported; pass X.toarray() or a DataFrame")
        if isinstance(X, pd.DataFrame):
            names = list(X.columns)
            str_names = [isinstance(n, str) for n in names]
            if any(str_names) and not all(str_names):
                raise TypeError("Feature names are only supported if all input features have string names; "
                                f"got {[type(n).__name__ for n in names]}. Convert them with X.columns.astype(str)")
            frame = X if all(str_names) and names else X.set_axis([f"x{j}" for j in range(X.shape[1])], axis=1)
            has_names = bool(names) and all(str_names)
        else:
            arr = np.asarray(X)
            if arr.dtype.kind in "USO":
                try:
                    arr = arr.astype(np.float64)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"X must be numeric (or a DataFrame with categorical columns): {exc}") from None
            if arr.ndim != 2:
                raise ValueError(f"Expected a 2D array, got {arr.ndim}D (shape {arr.shape}). Reshape your data "
                                 "with array.reshape(-1, 1) for one feature or array.reshape(1, -1) for one sample.")
            if arr.dtype.kind == "c":
                raise ValueError("Complex data not supported")
            frame = pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])], copy=False)
            has_names = False
        if fitting:
            if frame.shape[0] == 0 or frame.shape[1] == 0:
                raise ValueError(f"Found array with {frame.shape[0]} sample(s) and {frame.shape[1]} feature(s) "
                                 f"(shape={frame.shape}) while a minimum of 1 is required.")
            self._fit_has_names = has_names
            return frame
        self._check_fitted()
        fitted_names = getattr(self, "feature_names_in_", None)
        if has_names and fitted_names is None:
            warnings.warn(f"X has feature names, but {type(self).__name__} was fitted without feature names",
                          UserWarning, stacklevel=3)
            frame = frame.set_axis([f"x{j}" for j in range(frame.shape[1])], axis=1)
        elif not has_names and fitted_names is not None:
            warnings.warn(f"X does not have valid feature names, but {type(self).__name__} was fitted with "
                          "feature names", UserWarning, stacklevel=3)
            if frame.shape[1] == len(fitted_names):
                frame = frame.set_axis(list(fitted_names), axis=1)
        elif fitted_names is not None and list(frame.columns) != list(fitted_names):
            unseen = [c for c in frame.columns if c not in set(fitted_names)]
            missing = [c for c in fitted_names if c not in set(frame.columns)]
            msg = "The feature names should match those that were passed during fit.\n"
            if unseen:
                msg += f"Feature names unseen at fit time: {unseen}\n"
            if missing:
                msg += f"Feature names seen at fit time, yet now missing: {missing}\n"
            if not unseen and not missing:
                msg += "Feature names must be in the same order as they were in fit (reorder with X[names]).\n"
            raise ValueError(msg)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        if frame.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        return frame

    def _labels(self, X: pd.DataFrame, y: Any, original_X: Any) -> np.ndarray:
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise DataError(f"y must be one column of labels, got a DataFrame with {y.shape[1]} columns")
            y = y.iloc[:, 0]
        if isinstance(y, pd.Series) and isinstance(original_X, pd.DataFrame):
            if not y.index.equals(original_X.index):
                raise DataError("X and y have different indexes (misaligned rows); align them first, e.g. "
                                "y = y.loc[X.index]", field="y")
        values = np.asarray(y)
        if values.ndim == 2 and values.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; it was raveled",
                          _conversion_warning(), stacklevel=3)
            values = values.ravel()
        if values.ndim != 1:
            raise ValueError(f"y must be 1-D labels, got shape {values.shape}")
        if len(values) != len(X):
            raise ValueError(f"Found input variables with inconsistent numbers of samples: X has {len(X)} rows, "
                             f"y has {len(values)}")
        missing = pd.isna(values)
        if missing.any():
            pos = int(np.flatnonzero(missing)[0])
            raise DataError(f"y has a missing label at row {pos}", field="y", row=pos)
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise DataError("y has non-finite labels", field="y")
        classes = np.unique(values)
        if len(classes) > 2:
            kind = "continuous" if values.dtype.kind == "f" and np.any(values != np.round(values)) else "multiclass"
            raise DataError(f"Only binary classification is supported. The type of the target is {kind}. "
                            f"Unknown label type: {kind}; ChurnClassifier needs two classes, got {len(classes)}: "
                            f"{classes[:5].tolist()}", field="y")
        if len(classes) < 2:
            raise DataError(f"y has only one class ({classes.tolist()}); a churn model needs both churners and "
                            "non-churners", field="y")
        self.classes_ = classes
        return (values == classes[1]).astype(np.float64)

    def _weights(self, y01: np.ndarray, sample_weight: Any) -> Optional[np.ndarray]:
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.ndim == 0:
                w = np.full(len(y01), float(w))
            if w.shape != y01.shape:
                raise DataError(f"sample_weight has shape {w.shape}, expected ({len(y01)},)", field="sample_weight")
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise DataError("sample_weight must be finite and non-negative", field="sample_weight")
            if not np.any(w > 0):
                raise DataError("sample weights are all zero: there is nothing to fit", field="sample_weight")
        if self.class_weight is not None:
            base = np.ones_like(y01) if w is None else w
            per = self._class_factors(float(base @ y01), float(base.sum()))
            cw_values = np.where(y01 == 1.0, per[1], per[0])
            w = cw_values if w is None else w * cw_values
        return None if w is None else np.ascontiguousarray(w)

    def _class_factors(self, positive: float, total: float) -> Dict[int, float]:
        """``class_weight``'s factor for label 0 and 1, given the (sample-weighted) total of the
        positive class and of all rows."""
        cw = self.class_weight
        if cw == "balanced":  # each class gets half of the total (sample-weighted) mass
            return {1: total / (2 * positive), 0: total / (2 * (total - positive))}
        unknown = [k for k in cw if k not in set(self.classes_.tolist())]
        if unknown:
            raise ParameterError(f"class_weight names a class not in y: {unknown[0]!r}", "class_weight")
        return {i: float(cw.get(c, 1.0)) for i, c in enumerate(self.classes_.tolist())}

    # ------------------------------------------------------------------ fit
    @contextlib.contextmanager
    def _feature_names(self) -> Iterator[None]:
        """Core data errors about "feature j" renamed to the design feature's name."""
        try:
            yield
        except DataError as exc:
            match = re.fullmatch(r"feature (\d+)", exc.field or "")
            names = getattr(self, "feature_names_out_", None)
            if match is None or names is None or int(match.group(1)) >= len(names):
                raise
            name = names[int(match.group(1))]
            raise DataError(re.sub(r"^feature \d+", f"feature {name!r}", str(exc)), field=name,
                            row=exc.row) from None

    def _monotonic_design(self) -> List[int]:
        """``monotonic_cst`` per design column (empty: no constraint)."""
        cst = self.monotonic_cst
        if cst is None:
            return []
        names = [c.name for c in self.design_.columns]
        if isinstance(cst, dict):
            unknown = [k for k in cst if k not in set(names)]
            if unknown:
                raise ParameterError(f"monotonic_cst names a column not in X: {unknown[0]!r}", "monotonic_cst")
            per_column = [cst.get(n, 0) for n in names]
        else:
            per_column = list(np.asarray(cst).ravel()) if not isinstance(cst, (str, bytes)) else [cst]
            if len(per_column) != len(names):
                raise ParameterError(f"monotonic_cst has {len(per_column)} values, X has {len(names)} columns",
                                     "monotonic_cst")
        out: List[int] = []
        for col, value in zip(self.design_.columns, per_column):
            if isinstance(value, (bool, np.bool_)) or value not in (-1, 0, 1):
                raise ParameterError(f"monotonic_cst of column {col.name!r} must be -1, 0 or 1, got {value!r}",
                                     "monotonic_cst")
            if col.kind != "numeric" and value != 0:
                raise ParameterError(f"monotonic_cst: column {col.name!r} is categorical; only numeric columns "
                                     "can be constrained", "monotonic_cst")
            out.extend([int(value)] * len(col.names_out()))
        return out

    def _logistic_tol(self) -> float:
        return 1e-8 if self.tol is None else float(self.tol)

    def _warn_logistic(self, model: Any) -> Any:
        if not model.converged:
            warnings.warn(ConvergenceWarning(
                f"the logistic model did not converge in max_iter={self.max_iter} Newton iterations "
                f"(tol={self._logistic_tol()}); its coefficients are the last iterate: raise max_iter, or lower "
                "C if the classes are (nearly) separable"), stacklevel=5)
        return model

    def _fit_core(self, X: np.ndarray, y: np.ndarray, w: Optional[np.ndarray]) -> Any:
        with self._feature_names():
            if self.model == "logistic":
                model = _core.LogisticModel.fit(X, y, w, float(self.C), int(self.max_iter), self._logistic_tol())
                return self._warn_logistic(model)
            early = len(y) > 10_000 if self.early_stopping == "auto" else bool(self.early_stopping)
            return _core.GbmModel.fit(
                X, y, w, int(self.max_iter), float(self.learning_rate), int(self.max_leaf_nodes),
                None if self.max_depth is None else int(self.max_depth), int(self.min_samples_leaf),
                float(self.l2_regularization), int(self.max_bins), _seed(self.random_state),
                early, float(self.validation_fraction), int(self.n_iter_no_change),
                1e-7 if self.tol is None else float(self.tol), self._monotonic_design(),
            )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "ChurnClassifier":
        """Fit on features ``X`` (DataFrame or 2-D array) and binary labels ``y``.

        Pandas inputs must share their index. Returns ``self``.
        """
        self._check_params()
        for attr in ("feature_names_in_",):
            if hasattr(self, attr):
                delattr(self, attr)
        frame = self._frame(X, fitting=True)
        y01 = self._labels(frame, y, X)
        w = self._weights(y01, sample_weight)
        design = Design.fit(frame, self.impute)
        matrix = design.transform(frame)
        if self._fit_has_names:
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.design_ = design
        self.feature_names_out_: List[str] = design.names_out()
        self.calibrator_ = None
        if self.calibration is not None:
            self.calibrator_ = self._fit_calibrator(matrix, y01, w)
        self.model_ = self._fit_core(matrix, y01, w)
        return self

    def _fit_calibrator(self, X: np.ndarray, y: np.ndarray, w: Optional[np.ndarray]) -> Any:
        rng = np.random.default_rng(_seed(self.random_state))
        folds = np.empty(len(y), dtype=np.int64)
        for cls in (0.0, 1.0):
            idx = np.flatnonzero(y == cls)
            if len(idx) < self.calibration_cv:
                raise DataError(f"calibration with calibration_cv={self.calibration_cv} needs at least "
                                f"{self.calibration_cv} rows of each class; "
                                f"class {self.classes_[int(cls)]!r} has {len(idx)}", field="y")
            folds[rng.permutation(idx)] = np.arange(len(idx)) % self.calibration_cv
        scores = np.empty(len(y))
        for k in range(self.calibration_cv):
            test = folds == k
            train = ~test
            part = self._fit_core(np.ascontiguousarray(X[train]), y[train], None if w is None else w[train])
            scores[test] = part.decision_function(np.ascontiguousarray(X[test]))
        return _core.Calibrator.fit(str(self.calibration), scores, y, w)

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def _design_matrix(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self.design_.transform(self._frame(X, fitting=False))

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of churn (``classes_[1]``) from the model, before calibration."""
        self._check_fitted()
        with self._feature_names():
            return self.model_.decision_function(self._design_matrix(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` probabilities of ``classes_[0]`` and ``classes_[1]`` (calibrated if requested)."""
        raw = self.decision_function(X)
        if self.calibrator_ is not None:
            p = self.calibrator_.transform(raw)
        else:
            p = 1.0 / (1.0 + np.exp(-raw))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the churn probability is above ``threshold``, else ``classes_[0]``."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p > float(self.threshold)).astype(np.int64)]

    def churn_probability(self, X: Any) -> pd.Series:
        """P(churn) per row as a Series indexed like ``X`` (a DataFrame's index or 0..n-1)."""
        p = self.predict_proba(X)[:, 1]
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(p))
        return pd.Series(p, index=index, name="churn_probability")

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict`` (scikit-learn's classifier score)."""
        pred = self.predict(X)
        hits = (pred == np.asarray(y)).astype(np.float64)
        return float(np.average(hits, weights=sample_weight))

    # ------------------------------------------------------------------ explain
    @property
    def coef_(self) -> np.ndarray:
        """Logistic coefficients per unit of each design feature, shape ``(1, p)``:
        ``decision_function(X) = X_design @ coef_.T + intercept_``."""
        return self._logistic().coef_unscaled[None, :]

    @property
    def intercept_(self) -> np.ndarray:
        """Logistic intercept for the unscaled features, shape ``(1,)``."""
        return np.array([self._logistic().intercept_unscaled])

    @property
    def standardized_coef_(self) -> pd.Series:
        """Coefficients per standard deviation of each design feature."""
        return pd.Series(self._logistic().coef, index=self.feature_names_out_, name="standardized_coef")

    @property
    def odds_ratios_(self) -> pd.Series:
        """Odds multiplier of churn for a one-standard-deviation increase of each
        design feature (``exp(standardized_coef_)``); for a 0/1 indicator of
        prevalence q one standard deviation is ``sqrt(q (1 - q))``."""
        return pd.Series(np.exp(self._logistic().coef), index=self.feature_names_out_, name="odds_ratio")

    @property
    def feature_importances_(self) -> pd.Series:
        """GBM: share of the total split gain per design feature (sums to 1)."""
        self._check_fitted()
        if self.model != "gbm" or not isinstance(self.model_, _core.GbmModel):
            raise AttributeError("feature_importances_ exists for model='gbm' only; use odds_ratios_")
        return pd.Series(self.model_.feature_importances, index=self.feature_names_out_, name="importance")

    @property
    def n_iter_(self) -> int:
        """Newton iterations run on all rows (logistic) or trees built (gbm;
        fewer than ``max_iter`` when early stopping stopped it).

        Logistic: only the full-data iterations count; those of the
        subsample presolve that many rows get first (see the class
        docstring) do not.
        """
        self._check_fitted()
        if isinstance(self.model_, _core.LogisticModel):
            return int(self.model_.n_iter)
        return int(self.model_.n_trees)

    @property
    def validation_loss_(self) -> np.ndarray:
        """GBM with early stopping: the validation log-loss before the first
        tree and after each (empty without early stopping)."""
        self._check_fitted()
        if not isinstance(self.model_, _core.GbmModel):
            raise AttributeError("validation_loss_ exists for model='gbm' only")
        return np.asarray(self.model_.validation_loss)

    def explain(self, X: Any) -> pd.DataFrame:
        """Each design feature's contribution to each row's log-odds of churn.

        ``explain(X).sum(axis=1) + base_value_`` equals
        :meth:`decision_function` (the model's log-odds, before any
        calibration) on every row, to rounding. Logistic: the exact linear
        terms ``coef_[j] * (x_j - mean_j)``, the coefficient per unit of the
        original feature times the customer's distance from the training
        mean (``base_value_`` is the log-odds of a customer at the training
        means). GBM: path-dependent TreeSHAP (Lundberg et al. 2018, 2020),
        the exact Shapley values of the trees with the training rows as
        background (``base_value_`` is the mean log-odds over them), computed
        in the compiled core in parallel with the GIL released.

        Returns
        -------
        DataFrame
            Indexed like ``X`` (a DataFrame's index or 0..n-1), one column per
            entry of ``feature_names_out_``.

        Examples
        --------
        >>> import numpy as np, pandas as pd, patronage
        >>> X = pd.DataFrame({"recency_days": [5.0, 80, 10, 120, 7, 95], "orders": [6.0, 1, 4, 1, 5, 2]})
        >>> clf = patronage.ChurnClassifier("logistic").fit(X, [0, 1, 0, 1, 0, 1])
        >>> phi = clf.explain(X)
        >>> bool(np.allclose(phi.sum(axis=1) + clf.base_value_, clf.decision_function(X)))
        True
        """
        matrix = self._design_matrix(X)
        with self._feature_names():
            _, contributions = self.model_.explain(matrix)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(matrix))
        return pd.DataFrame(contributions, index=index, columns=list(self.feature_names_out_))

    @property
    def base_value_(self) -> float:
        """The log-odds every :meth:`explain` row starts from."""
        self._check_fitted()
        return float(self.model_.explain(np.empty((0, len(self.feature_names_out_))))[0])

    def reasons(self, X: Any, top: int = 3) -> pd.DataFrame:
        """The ``top`` features that raise each customer's churn risk most, in words.

        Built from :meth:`explain`: the features with the largest positive
        contributions (one-hot columns of a category added up), each
        described with the customer's own value (see
        :mod:`patronage.churn.reasons` for the sentence of every churn
        feature), e.g. ``"no order for 3.1x their usual gap"``.

        Returns
        -------
        DataFrame
            Indexed like ``X``: ``reason_1`` .. ``reason_<top>`` (None where
            fewer features raise the risk).

        Examples
        --------
        >>> import pandas as pd, patronage
        >>> X = pd.DataFrame({"recency_days": [5.0, 80, 10, 120, 7, 95], "frequency": [6.0, 1, 4, 1, 5, 2]})
        >>> clf = patronage.ChurnClassifier("logistic").fit(X, [0, 1, 0, 1, 0, 1])
        >>> clf.reasons(X.iloc[[3]], top=2).iloc[0].tolist()
        ['last order 120 days ago', 'only 1 order so far']
        """
        from .reasons import top_reasons

        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
            raise ParameterError(f"top must be a positive integer, got {top!r}", "top")
        frame = self._frame(X, fitting=False)
        contributions = self.explain(X)
        return top_reasons(frame.set_axis(contributions.index), contributions, self.design_, int(top))

    def _logistic(self) -> Any:
        self._check_fitted()
        if not isinstance(self.model_, _core.LogisticModel):
            raise AttributeError("coef_ and odds_ratios_ exist for model='logistic' only; use feature_importances_")
        return self.model_

    # ------------------------------------------------------------------ persistence
    def _fitted_state(self) -> Dict[str, Any]:
        self._check_fitted()
        return {
            "classes": [c.item() if isinstance(c, np.generic) else c for c in self.classes_],
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if not hasattr(self, "feature_names_in_") else list(self.feature_names_in_),
            "design": self.design_.to_dict(),
            "model": self.model_.to_json(),
            "calibrator": None if self.calibrator_ is None else self.calibrator_.to_json(),
        }

    def _restore(self, state: Dict[str, Any]) -> None:
        """The fitted state from a file, checked as a fit would leave it (two classes,
        feature counts that agree, known column kinds); a ModelFileError says what is off."""
        classes = np.asarray(state["classes"])
        if classes.ndim != 1 or len(classes) != 2 or classes[0] == classes[1]:
            raise ModelFileError(f"a ChurnClassifier has two distinct classes, the file lists {classes.tolist()!r}")
        self.classes_ = classes
        n_features = state["n_features_in"]
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ModelFileError(f"n_features_in must be a positive integer, the file has {n_features!r}")
        self.n_features_in_ = n_features
        if state["feature_names_in"] is not None:
            if len(state["feature_names_in"]) != n_features:
                raise ModelFileError(f"the file names {len(state['feature_names_in'])} features for "
                                     f"n_features_in={n_features}")
            self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        kinds = {c.get("kind") for c in state["design"]["columns"]} - {"numeric", "categorical"}
        if kinds:
            raise ModelFileError(f"unknown column kind {sorted(map(str, kinds))[0]!r} in the file's design")
        if len(state["design"]["columns"]) != n_features:
            raise ModelFileError(f"the file's design has {len(state['design']['columns'])} columns for "
                                 f"n_features_in={n_features}")
        self.design_ = Design.from_dict(state["design"])
        self.feature_names_out_ = self.design_.names_out()
        cls = _core.LogisticModel if self.model == "logistic" else _core.GbmModel
        self.model_ = cls.from_json(state["model"])
        cal = state["calibrator"]
        self.calibrator_ = None if cal is None else _core.Calibrator.from_json(cal)

    def __getstate__(self) -> Dict[str, Any]:
        state = {"format_version": _FORMAT_VERSION, "params": self.get_params()}
        if hasattr(self, "model_"):
            fitted = self._fitted_state()
            fitted["classes"] = self.classes_  # keep the exact dtype through pickle
            state["fitted"] = fitted
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        with model_file("pickled ChurnClassifier"):
            if state.get("format_version") != _FORMAT_VERSION:
                raise ModelFileError(f"unsupported ChurnClassifier pickle format {state.get('format_version')!r}")
            ChurnClassifier.__init__(self, **state["params"])
            if "fitted" in state:
                self._restore(state["fitted"])

    def to_json(self) -> str:
        """The fitted model as a JSON document (no pickle needed to share it)."""
        params = self.get_params()
        if isinstance(params["class_weight"], dict):
            params["class_weight"] = {"__pairs__": [[k, v] for k, v in params["class_weight"].items()]}
        if params["random_state"] is not None and not isinstance(params["random_state"], int):
            params["random_state"] = _seed(params["random_state"])
        return json.dumps({"format": _FORMAT, "version": _FORMAT_VERSION, "params": params,
                           "fitted": self._fitted_state()})

    @classmethod
    def from_json(cls, text: str) -> "ChurnClassifier":
        """Rebuild a fitted classifier from :meth:`to_json` output."""
        with json_document(text, "ChurnClassifier") as doc:
            if doc.get("format") != _FORMAT:
                raise ModelFileError("not a ChurnClassifier JSON document (missing format tag)")
            if doc.get("version") != _FORMAT_VERSION:
                raise ModelFileError(f"unsupported ChurnClassifier JSON version {doc.get('version')!r}")
            params = doc["params"]
            if isinstance(params.get("class_weight"), dict) and "__pairs__" in params["class_weight"]:
                params["class_weight"] = {k: v for k, v in params["class_weight"]["__pairs__"]}
            est = cls(**params)
            est._restore(doc["fitted"])
            return est

    # ------------------------------------------------------------------ sklearn
    _estimator_type = "classifier"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import (  # type: ignore[import-untyped]  # lazy: not a dependency
            ClassifierTags,
            InputTags,
            Tags,
            TargetTags,
        )

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=False),
            input_tags=InputTags(allow_nan=self.impute is not None, string=True),
        )

    def _repr_html_(self) -> str:
        head = f"<b>{type(self).__name__}</b> <code>{self!r}</code>"
        if not hasattr(self, "model_"):
            return head + " (not fitted)"
        table = self.odds_ratios_ if self.model == "logistic" else self.feature_importances_
        top = table.reindex(table.sub(1.0 if self.model == "logistic" else 0.0).abs()
                            .sort_values(ascending=False).index).head(10)
        return head + top.to_frame().to_html()
