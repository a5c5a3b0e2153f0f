"""Uplift models: who buys *because* they were contacted.

Meta-learners on top of any probabilistic classifier (by default
:class:`patronage.ChurnClassifier`): the two-model T-learner and the
X-learner of Kunzel, Sekhon, Bickel and Yu (2019, PNAS 116(10)).
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List

import numpy as np
import pandas as pd

from .._base import ParamsMixin, seed_from
from ..churn import ChurnClassifier
from ..exceptions import DataError, NotFittedError, ParameterError
from .metrics import _aligned, _binary

METHODS = ("t_learner", "x_learner")


def _clone(estimator: Any) -> Any:
    """An unfitted copy with the same parameters (scikit-learn's ``clone``, without importing it)."""
    return type(estimator)(**estimator.get_params(deep=False))


def _rows(X: Any, mask: np.ndarray) -> Any:
    return X.iloc[mask] if isinstance(X, pd.DataFrame) else X[mask]


def _p_one(model: Any, X: Any) -> np.ndarray:
    """P(y = 1 | x) from a classifier fitted on 0/1 labels."""
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    return proba[:, list(model.classes_).index(1)]


class _FractionalEffect:
    """A classifier used as a regressor of an effect ``d`` in [-1, 1].

    Each row enters twice, as a 1 with weight ``(1 + d) / 2`` and as a 0
    with weight ``(1 - d) / 2``; the fitted P(1 | x) then estimates
    ``E[(1 + d) / 2 | x]`` (the fractional-response logit of Papke and
    Wooldridge 1996 for a logistic learner), so the effect is ``2 p - 1``.
    """

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def fit(self, X: Any, d: np.ndarray) -> "_FractionalEffect":
        twice = pd.concat([X, X], ignore_index=True) if isinstance(X, pd.DataFrame) else np.concatenate([X, X])
        labels = np.r_[np.ones(len(d), np.int64), np.zeros(len(d), np.int64)]
        weights = np.r_[(1.0 + d) / 2.0, (1.0 - d) / 2.0]
        self.classifier.fit(twice, labels, sample_weight=weights)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return 2.0 * _p_one(self.classifier, X) - 1.0


class UpliftClassifier(ParamsMixin):
    """Predicted uplift: how much a contact raises each customer's chance to respond.

    ``method="t_learner"`` (two models): one classifier on the treated, one on
    the control customers; uplift = P(y | x, treated) - P(y | x, control).

    ``method="x_learner"`` (Kunzel et al. 2019): the two outcome models
    ``mu1``, ``mu0`` as above, then the imputed effects ``D1 = y - mu0(x)``
    on the treated and ``D0 = mu1(x) - y`` on the control customers, each
    regressed on x (``tau1``, ``tau0``), combined as
    ``g(x) tau0(x) + (1 - g(x)) tau1(x)`` with ``g`` the propensity: the
    treated share of the training rows (``propensity="share"``, right for a
    randomised campaign) or a fitted classifier of treatment on x
    (``propensity="learner"``: a copy of ``learner``; or any classifier).
    The effect regressions use ``effect_learner`` (any scikit-learn
    regressor) or, by default, a copy of ``learner`` fitted as a
    fractional-response model (each row as a 1 weighted ``(1 + D) / 2`` and
    a 0 weighted ``(1 - D) / 2``; ``2 P(1 | x) - 1`` estimates the effect),
    which needs a learner whose ``fit`` takes ``sample_weight``.

    Several treatments (e.g. men's and women's e-mail): each treatment label
    is modelled against the control group alone, one at a time; the control
    outcome model is shared. ``predict_uplift`` then returns one column per
    treatment.

    Parameters
    ----------
    method : {"t_learner", "x_learner"}
    learner : "logistic", "gbm", ChurnClassifier or a scikit-learn classifier
        The outcome model, copied for each group (``predict_proba`` on 0/1
        labels). Strings mean ``ChurnClassifier(learner)``.
    control : label, optional
        The control group's label in ``treatment``; default 0 (or False),
        which then must be present.
    propensity : "share", "learner" or a classifier, default "share"
        X-learner only (see above).
    effect_learner : scikit-learn regressor, optional
        X-learner only: the regressor of the imputed effects.
    random_state : None or int
        Passed to every copied learner that has a ``random_state`` (None
        = 0, as :class:`ChurnClassifier`, so results are reproducible).

    Attributes
    ----------
    treatments_ : list
        The treatment labels, in sorted order.
    feature_names_in_ : ndarray of str
        With a DataFrame ``X``.
    n_features_in_ : int
    propensity_ : dict
        X-learner with ``propensity="share"``: the treated share per treatment.

    See Also
    --------
    qini_coefficient, auuc, uplift_at_k, plot_qini : Evaluate the ranking.
    winback_list : Rank by expected incremental value (uplift x value).

    Examples
    --------
    >>> import numpy as np, pandas as pd, patronage
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"recency": rng.uniform(0, 1, 4000)})
    >>> treated = rng.integers(0, 2, 4000)
    >>> p = 0.2 + 0.3 * treated * (X.recency < 0.5)  # only recent customers respond to the e-mail
    >>> y = (rng.uniform(size=4000) < p).astype(int)
    >>> model = patronage.UpliftClassifier("t_learner", random_state=0).fit(X, y, treated)
    >>> uplift = model.predict_uplift(X)
    >>> bool(uplift[X.recency < 0.5].mean() > uplift[X.recency >= 0.5].mean())
    True
    """

    def __init__(self, method: str = "t_learner", learner: Any = "logistic", *, control: Any = None,
                 propensity: Any = "share", effect_learner: Any = None, random_state: Any = None) -> None:
        self.method = method
        self.learner = learner
        self.control = control
        self.propensity = propensity
        self.effect_learner = effect_learner
        self.random_state = random_state

    # ------------------------------------------------------------------ params
    def _new(self, estimator: Any, name: str) -> Any:
        if isinstance(estimator, str):
            if estimator not in ("logistic", "gbm"):
                raise ParameterError(f"{name} must be 'logistic', 'gbm' or a classifier, got {estimator!r}", name)
            model: Any = ChurnClassifier(estimator)
        elif hasattr(estimator, "fit") and hasattr(estimator, "get_params"):
            model = _clone(estimator)
        else:
            raise ParameterError(f"{name} must be 'logistic', 'gbm' or an estimator with fit and get_params, got "
                                 f"{type(estimator).__name__}", name)
        if "random_state" in model.get_params(deep=False):
            model.set_params(random_state=self._seed)
        return model

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}, got {self.method!r}", "method")
        self._seed = seed_from(0 if self.random_state is None else self.random_state)
        probe = self._new(self.learner, "learner")
        if not hasattr(probe, "predict_proba"):
            raise ParameterError(f"learner must have predict_proba, {type(probe).__name__} has not", "learner")
        if self.method == "x_learner":
            if not (isinstance(self.propensity, str) and self.propensity in ("share", "learner")):
                if not hasattr(self.propensity, "predict_proba"):
                    raise ParameterError("propensity must be 'share', 'learner' or a classifier with predict_proba, "
                                         f"got {self.propensity!r}", "propensity")
            if self.effect_learner is None:
                if "sample_weight" not in inspect.signature(probe.fit).parameters:
                    raise ParameterError(f"{type(probe).__name__}.fit takes no sample_weight, so it cannot fit the "
                                         "X-learner's effects: pass effect_learner (a regressor)", "effect_learner")
            elif not (hasattr(self.effect_learner, "fit") and hasattr(self.effect_learner, "predict")):
                raise ParameterError("effect_learner must be a regressor with fit and predict", "effect_learner")

    # ------------------------------------------------------------------ fit
    def _features(self, X: Any, fitting: bool) -> Any:
        if isinstance(X, pd.DataFrame):
            names = np.asarray([str(c) for c in X.columns], dtype=object)
            if fitting:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_") and list(names) != list(self.feature_names_in_):
                raise DataError(f"X has columns {list(names)}, the model was fitted on "
                                f"{list(self.feature_names_in_)}", field="X")
            width = X.shape[1]
        else:
            X = np.asarray(X)
            if X.ndim != 2:
                raise DataError(f"X must be 2-dimensional (rows x features), got shape {X.shape}", field="X")
            width = X.shape[1]
        if fitting:
            self.n_features_in_ = width
        elif width != self.n_features_in_:
            raise DataError(f"X has {width} features, the model was fitted on {self.n_features_in_}", field="X")
        if len(X) == 0:
            raise DataError("X is empty", field="X")
        return X

    def fit(self, X: Any, y: Any, treatment: Any) -> "UpliftClassifier":
        """Fit the outcome (and, X-learner, effect and propensity) models.

        Parameters
        ----------
        X : DataFrame or 2-d array
            Features (a ChurnClassifier one-hot encodes text columns).
        y : Series or array of 0/1 (or bool)
            The binary outcome. A Series is aligned on ``X``'s index.
        treatment : Series or array
            Group labels: ``control`` and one or more treatments.

        Returns
        -------
        self
        """
        self._check_params()
        X = self._features(X, fitting=True)
        index = X.index if isinstance(X, pd.DataFrame) else None
        y01 = _aligned(y, index, "y")
        if len(y01) != len(X):
            raise DataError(f"y has {len(y01)} rows, X has {len(X)}", field="y")
        _binary(y01, "y", " (a binary outcome: responded or not)")
        labels = self._labels(treatment, index, len(X))
        control = self._control_label(labels)
        is_control = labels == control
        self.treatments_ = sorted({v for v in pd.unique(labels) if v != control}, key=repr)
        if not self.treatments_:
            raise DataError(f"treatment holds one group only ({control!r}): uplift needs treated and control "
                            "customers", field="treatment")
        y_int = y01.astype(np.int64)
        self._check_both_outcomes(y01[is_control], f"the control group ({control!r})")
        self.outcome_control_ = self._new(self.learner, "learner").fit(_rows(X, is_control), y_int[is_control])
        self.models_: Dict[Any, Dict[str, Any]] = {}
        self.propensity_: Dict[Any, float] = {}
        for label in self.treatments_:
            treated = labels == label
            self._check_both_outcomes(y01[treated], f"treatment group {label!r}")
            models: Dict[str, Any] = {
                "outcome": self._new(self.learner, "learner").fit(_rows(X, treated), y_int[treated])}
            if self.method == "x_learner":
                self._fit_x(models, X, y01, treated, is_control, label)
            self.models_[label] = models
        return self

    def _fit_x(self, models: Dict[str, Any], X: Any, y: np.ndarray, treated: np.ndarray, control: np.ndarray,
               label: Any) -> None:
        X1, X0 = _rows(X, treated), _rows(X, control)
        d1 = y[treated] - _p_one(self.outcome_control_, X1)
        d0 = _p_one(models["outcome"], X0) - y[control]
        for key, rows, d in (("effect_treated", X1, d1), ("effect_control", X0, d0)):
            if self.effect_learner is None:
                models[key] = _FractionalEffect(self._new(self.learner, "learner")).fit(rows, d)
            else:
                models[key] = self._new(self.effect_learner, "effect_learner").fit(rows, d)
        if isinstance(self.propensity, str) and self.propensity == "share":
            self.propensity_[label] = float(treated.sum() / (treated.sum() + control.sum()))
        else:
            source = self.learner if isinstance(self.propensity, str) else self.propensity
            both = treated | control
            models["propensity"] = self._new(source, "propensity").fit(_rows(X, both),
                                                                        treated[both].astype(np.int64))

    @staticmethod
    def _check_both_outcomes(y: np.ndarray, where: str) -> None:
        if len(y) == 0 or y.min() == y.max():
            value = "no rows" if len(y) == 0 else f"only y = {y[0]:g}"
            raise DataError(f"y has {value} in {where}: its outcome model needs responders and non-responders",
                            field="y")

    def _labels(self, treatment: Any, index: Any, n: int) -> np.ndarray:
        if isinstance(treatment, pd.DataFrame):
            raise DataError("treatment must be one column (a Series or 1-d array)", field="treatment")
        if isinstance(treatment, pd.Series) and index is not None and not treatment.index.equals(index):
            missing = ~index.isin(treatment.index)
            if missing.any() or treatment.index.has_duplicates:
                raise DataError("treatment is not aligned with X (missing or duplicate index labels)",
                                field="treatment")
            treatment = treatment.reindex(index)
        labels = np.asarray(treatment, dtype=object)
        if labels.ndim != 1 or len(labels) != n:
            raise DataError(f"treatment must have one label per row of X ({n}), got shape {labels.shape}",
                            field="treatment")
        missing = pd.isna(labels)
        if missing.any():
            row = int(np.argmax(missing))
            raise DataError(f"treatment is missing at row {row}", field="treatment", row=row)
        return labels

    def _control_label(self, labels: np.ndarray) -> Any:
        present = list(pd.unique(labels))
        if self.control is not None:
            if self.control not in present:
                raise ParameterError(f"control label {self.control!r} does not occur in treatment (labels: "
                                     f"{sorted(present, key=repr)[:10]})", "control")
            return self.control
        zero = next((v for v in present if not isinstance(v, str) and v == 0), None)
        if zero is None:
            raise ParameterError(f"treatment has no 0/False label: name the control group with control=... "
                                 f"(labels: {sorted(present, key=repr)[:10]})", "control")
        return zero

    # ------------------------------------------------------------------ predict
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "models_")

    def predict_uplift(self, X: Any) -> Any:
        """Predicted uplift per customer: P(respond | contacted) - P(respond | not).

        Parameters
        ----------
        X : DataFrame or 2-d array
            The features the model was fitted on.

        Returns
        -------
        Series or DataFrame
            With one treatment a Series named ``uplift``; with several a
            DataFrame with one column per treatment label. Indexed like ``X``.
        """
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("this UpliftClassifier is not fitted yet: call fit(X, y, treatment) first")
        X = self._features(X, fitting=False)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))
        p0 = _p_one(self.outcome_control_, X)
        columns: Dict[Any, np.ndarray] = {}
        for label, models in self.models_.items():
            if self.method == "t_learner":
                columns[label] = _p_one(models["outcome"], X) - p0
                continue
            g = (_p_one(models["propensity"], X) if "propensity" in models
                 else np.full(len(X), self.propensity_[label]))
            tau1 = np.asarray(models["effect_treated"].predict(X), dtype=np.float64)
            tau0 = np.asarray(models["effect_control"].predict(X), dtype=np.float64)
            columns[label] = g * tau0 + (1.0 - g) * tau1
        if len(columns) == 1:
            return pd.Series(next(iter(columns.values())), index=index, name="uplift")
        return pd.DataFrame(columns, index=index)

    @property
    def learners_(self) -> List[Any]:
        """Every fitted model (outcome, effect and propensity), for inspection."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("this UpliftClassifier is not fitted yet")
        out = [self.outcome_control_]
        for models in self.models_.values():
            out += [m.classifier if isinstance(m, _FractionalEffect) else m for m in models.values()]
        return out


__all__ = ["UpliftClassifier", "METHODS"]
