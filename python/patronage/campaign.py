"""Did the campaign work? Design a randomised test and measure what it did.

Design
    :func:`assign_control` holds out a seeded, stratified control group;
    :func:`sample_size` and :func:`minimum_detectable_effect` answer the power
    questions an analyst asks before launching.
Measure
    :func:`measure_effect` compares every treatment with the control group on
    binary outcomes (Newcombe's interval) and continuous ones (Welch's, or a
    seeded bootstrap for heavy tails), with relative lift, incremental totals,
    per-segment effects under Holm's correction and CUPED variance reduction
    from pre-period data (:func:`pre_period_spend` builds it from a log).
    :func:`plot_effects` draws the result.

The computations run in the compiled core (``patronage-core``'s ``campaign``
module); this module checks the columns and names them in its errors.
"""

from __future__ import annotations

import contextlib
import html
import math
from typing import TYPE_CHECKING, Any, Dict, Iterator, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._base import seed_from
from ._frame import plain, read_transactions, require_columns, to_day
from ._input import as_pandas
from .exceptions import ColumnTypeError, DataError, ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CampaignResult",
    "SampleSize",
    "assign_control",
    "measure_effect",
    "minimum_detectable_effect",
    "plot_effects",
    "pre_period_spend",
    "sample_size",
]

_KINDS = ("auto", "binary", "continuous")


# ----------------------------------------------------------------------------- design


def assign_control(
    customers: Any,
    *,
    share: Union[float, Mapping[Any, float], None] = None,
    count: Union[int, Mapping[Any, int], None] = None,
    strata: Optional[str] = None,
    random_state: Any = None,
    column: str = "control",
) -> pd.DataFrame:
    """Hold out a seeded, stratified random control group.

    Within each stratum (each value of the ``strata`` column, or the whole
    table) exactly ``round(share * size)`` customers (or ``count``) are drawn
    without replacement into the control group, by a partial Fisher-Yates
    shuffle of the stratum's rows on its own ChaCha8 stream. The same seed,
    rows in the same order and sizes give the same control group on any
    machine and thread count; one stratum's draw does not depend on the others.

    Parameters
    ----------
    customers : DataFrame
        One row per customer (e.g. a win-back list); not modified.
    share : float or mapping, optional
        Control share in (0, 1), or a mapping stratum -> share.
    count : int or mapping, optional
        Controls per stratum, or a mapping stratum -> count. Give exactly one
        of ``share`` and ``count``.
    strata : str, optional
        Column to stratify by (tier, segment, ...); None: one stratum.
    random_state : int, numpy Generator or RandomState, optional
        Seed. None draws a fresh one; it is recorded either way.
    column : str, default "control"
        Name of the new boolean column (True = held out, not contacted).

    Returns
    -------
    DataFrame
        A copy of ``customers`` with ``column`` added; ``attrs["control_assignment"]``
        records the seed, strata and sizes, so the assignment can be redone.
        Save the column with the list (``to_csv``/``to_parquet``) to measure
        the campaign later.

    Raises
    ------
    ParameterError
        Neither or both of ``share``/``count``, a share outside (0, 1), or a
        stratum too small for the request: every stratum needs at least one
        control and one contacted customer.
    DataError
        A missing stratum value.

    Examples
    --------
    >>> import pandas as pd
    >>> from patronage.campaign import assign_control
    >>> customers = pd.DataFrame({"tier": ["gold"] * 4 + ["silver"] * 6})
    >>> out = assign_control(customers, share=0.5, strata="tier", random_state=1)
    >>> out.groupby("tier")["control"].sum().to_dict()
    {'gold': 2, 'silver': 3}
    """
    frame = _frame_of(customers, "customers")
    if not isinstance(column, str):
        raise ParameterError(f"column must be a string, got {column!r}", "column")
    if column in frame.columns:
        raise ParameterError(f"customers already has a column {column!r}; pass another column=", "column")
    if (share is None) == (count is None):
        raise ParameterError("give exactly one of share= and count=", "share")
    if len(frame) == 0:
        raise DataError("customers is empty (no rows)")
    if strata is None:
        codes, labels = np.zeros(len(frame), dtype=np.int64), pd.Index([None])
    else:
        require_columns(frame, [strata], "customers")
        codes, labels = _codes(frame, strata)
    sizes = np.bincount(codes, minlength=len(labels))
    wanted = []
    for label, size in zip(labels, sizes):
        k = _stratum_controls(share, count, label, int(size), strata)
        where = "" if strata is None else f"stratum {plain(label)!r} of {strata!r} "
        if k < 1 or k >= size:
            request = f"share={_lookup(share, label, strata, 'share')}" if share is not None else f"count={k}"
            raise ParameterError(
                f"{where or 'the table '}has {size} customers: {request} gives {k} controls; every stratum "
                "needs at least one control and one contacted customer",
                "share" if share is not None else "count",
            )
        wanted.append(k)
    seed = seed_from(random_state)
    control = _core.campaign_assign(codes, wanted, seed)
    out = frame.copy()
    out[column] = control
    out.attrs["control_assignment"] = {
        "seed": seed, "strata": strata, "column": column,
        "controls": {plain(label): int(k) for label, k in zip(labels, wanted)},
    }
    return out


def _stratum_controls(share: Any, count: Any, label: Any, size: int, strata: Optional[str]) -> int:
    if share is not None:
        value = _lookup(share, label, strata, "share")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 < value < 1:
            raise ParameterError(f"share must be a number strictly between 0 and 1, got {value!r}", "share")
        return int(math.floor(value * size + 0.5))
    value = _lookup(count, label, strata, "count")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"count must be an integer, got {value!r}", "count")
    return int(value)


def _lookup(value: Any, label: Any, strata: Optional[str], name: str) -> Any:
    if not isinstance(value, Mapping):
        return value
    if strata is None:
        raise ParameterError(f"{name} is a mapping but no strata= column is given", name)
    if label not in value:
        raise ParameterError(f"{name} has no entry for stratum {plain(label)!r} of {strata!r}", name)
    return value[label]


class SampleSize(NamedTuple):
    """Customers needed per group, from :func:`sample_size`."""

    n_treated: int
    """Customers to contact (rounded up)."""
    n_control: int
    """Customers to hold out (``ratio`` times ``n_treated``, rounded up)."""
    effect_size: float
    """The standardized effect: Cohen's h for a proportion, difference / sd for a mean."""


def sample_size(
    effect: float,
    *,
    baseline: Optional[float] = None,
    sd: Optional[float] = None,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> SampleSize:
    """Customers per group needed to detect an effect (two-sided test).

    The normal approximation of statsmodels' ``NormalIndPower``: with the
    standardized effect ``d``, ``n`` contacted customers and ``ratio * n``
    controls, the power is ``Φ(d√m - z) + Φ(-d√m - z)``, ``m = n·ratio/(1+ratio)``,
    ``z = Φ⁻¹(1 - alpha/2)``. For a conversion rate ``d`` is Cohen's
    ``h = 2 asin√(baseline + effect) - 2 asin√baseline``; for a mean it is
    ``effect / sd``.

    Parameters
    ----------
    effect : float
        The difference to detect: in rate points for a proportion (0.01 = one
        percentage point), in outcome units for a mean.
    baseline : float, optional
        The control group's expected rate, in (0, 1): a proportion.
    sd : float, optional
        The outcome's standard deviation: a mean. Give exactly one of
        ``baseline`` and ``sd``.
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
        Probability of detecting the effect if it is there.
    ratio : float, default 1.0
        Controls per contacted customer.

    Returns
    -------
    SampleSize

    Examples
    --------
    >>> from patronage.campaign import sample_size
    >>> sample_size(0.01, baseline=0.05)          # 5% -> 6% conversion
    SampleSize(n_treated=8143, n_control=8143, effect_size=0.0439073...)
    >>> sample_size(2.0, sd=10.0).n_treated       # spend +2 with sd 10
    393
    """
    d = _standardized(effect, baseline, sd)
    _check_number(ratio, "ratio")
    n = _core.campaign_sample_size(d, *_power_args(alpha, power, ratio))
    return SampleSize(math.ceil(n - 1e-9), math.ceil(ratio * n - 1e-9), d)


def minimum_detectable_effect(
    n_treated: int,
    *,
    baseline: Optional[float] = None,
    sd: Optional[float] = None,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> float:
    """The smallest effect a test of this size detects (two-sided test).

    The inverse of :func:`sample_size` (same model).

    Parameters
    ----------
    n_treated : int
        Customers contacted; ``ratio * n_treated`` are held out.
    baseline : float, optional
        The control group's expected rate, in (0, 1): the answer is the
        smallest detectable increase in rate points.
    sd : float, optional
        The outcome's standard deviation: the answer is in outcome units.
        Give exactly one of ``baseline`` and ``sd``.
    alpha, power, ratio : float
        As in :func:`sample_size`.

    Returns
    -------
    float

    Examples
    --------
    >>> from patronage.campaign import minimum_detectable_effect
    >>> round(minimum_detectable_effect(8143, baseline=0.05), 4)
    0.01
    >>> round(minimum_detectable_effect(393, sd=10.0), 3)
    1.999
    """
    _check_number(n_treated, "n_treated")
    _check_number(ratio, "ratio")
    _baseline_or_sd(baseline, sd)
    d = _core.campaign_detectable_effect(float(n_treated), *_power_args(alpha, power, ratio))
    if sd is not None:
        return d * float(sd)
    angle = math.asin(math.sqrt(baseline)) + d / 2  # type: ignore[arg-type]
    if angle >= math.pi / 2:
        raise ParameterError(
            f"n_treated={n_treated} is too small to detect any increase over baseline={baseline}", "n_treated"
        )
    return math.sin(angle) ** 2 - float(baseline)  # type: ignore[arg-type]


def _check_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}", name)
    return float(value)


def _power_args(alpha: Any, power: Any, ratio: Any) -> tuple:
    return _check_number(alpha, "alpha"), _check_number(power, "power"), _check_number(ratio, "ratio")


def _baseline_or_sd(baseline: Any, sd: Any) -> None:
    if (baseline is None) == (sd is None):
        raise ParameterError("give exactly one of baseline= (a proportion) and sd= (a mean)", "baseline")
    if baseline is not None and not 0 < _check_number(baseline, "baseline") < 1:
        raise ParameterError(f"baseline must lie strictly between 0 and 1, got {baseline!r}", "baseline")
    if sd is not None and not _check_number(sd, "sd") > 0:
        raise ParameterError(f"sd must be positive, got {sd!r}", "sd")


def _standardized(effect: Any, baseline: Any, sd: Any) -> float:
    _baseline_or_sd(baseline, sd)
    effect = _check_number(effect, "effect")
    if sd is not None:
        return effect / float(sd)
    treated = float(baseline) + effect
    if not 0 < treated < 1:
        raise ParameterError(f"baseline + effect must lie strictly between 0 and 1, got {treated}", "effect")
    return 2 * math.asin(math.sqrt(treated)) - 2 * math.asin(math.sqrt(baseline))


# ----------------------------------------------------------------------------- measure


class CampaignResult:
    """The effects measured by :func:`measure_effect`.

    Attributes
    ----------
    table : DataFrame
        One row per outcome, segment (if any) and treatment: ``n_treated``,
        ``n_control``, ``mean_treated``, ``mean_control``, ``difference`` with
        ``ci_low``/``ci_high``, ``lift`` (relative: ``mean_treated /
        mean_control - 1``) with ``lift_low``/``lift_high``, ``incremental``
        (``difference * n_treated``: extra conversions or revenue) with
        ``incremental_low``/``incremental_high``, ``p_value``, ``p_adjusted``
        (Holm), ``significant`` (``p_adjusted < 1 - confidence``),
        ``method``; with a covariate also ``theta`` and
        ``variance_reduction`` (CUPED).
    confidence : float
        The intervals' confidence level.

    Examples
    --------
    >>> import pandas as pd
    >>> from patronage.campaign import measure_effect
    >>> df = pd.DataFrame({"group": ["mail"] * 3 + ["none"] * 3, "spend": [5.0, 0.0, 9.0, 1.0, 0.0, 2.0]})
    >>> result = measure_effect(df, treatment="group", outcome="spend", control="none")
    >>> round(float(result.table["difference"].iloc[0]), 4), result.table["method"].iloc[0]
    (3.6667, 'welch')
    >>> "<table" in result._repr_html_()
    True
    """

    def __init__(self, table: pd.DataFrame, confidence: float) -> None:
        self.table = table
        self.confidence = confidence

    def __repr__(self) -> str:
        return f"CampaignResult({len(self.table)} comparisons, confidence={self.confidence})\n{self.table!r}"

    def _repr_html_(self) -> str:
        shown = ["outcome", "segment", "treatment", "n_treated", "n_control", "mean_treated", "mean_control",
                 "difference", "ci_low", "ci_high", "lift", "p_adjusted", "variance_reduction"]
        table = self.table[[c for c in shown if c in self.table.columns]]
        caption = html.escape(f"Effect of each treatment vs control ({self.confidence:.0%} intervals)")
        return f"<div><p><b>{caption}</b></p>{table.to_html(float_format=lambda v: f'{v:.4g}')}</div>"


def measure_effect(
    data: Any,
    *,
    treatment: str,
    outcome: Union[str, Sequence[str]],
    control: Any,
    kind: str = "auto",
    segment: Optional[str] = None,
    covariate: Optional[str] = None,
    confidence: float = 0.95,
    n_resamples: Optional[int] = None,
    random_state: Any = None,
) -> CampaignResult:
    """Compare every treatment with the control group.

    - **Binary outcome** (visit, conversion, reactivation: 0/1 or bool): the
      difference of rates with Newcombe's hybrid score interval (Wilson
      intervals of both groups combined; Newcombe 1998, method 10), the
      p-value of the pooled two-proportion z test.
    - **Continuous outcome** (spend): Welch's difference of means, interval and
      t test.
    - ``n_resamples``: percentile bootstrap intervals instead (for heavy-tailed
      spend), resampling within each group; seeded by ``random_state``,
      independent of the thread count. The p-value stays the analytic one.
    - **Lift** ``mean_treated / mean_control - 1`` with the log-ratio interval
      by the delta method (Katz's interval for rates); NaN when a mean is not
      positive.
    - **Incremental** ``difference * n_treated`` (what the campaign added over
      the contacted customers), its interval the difference's times ``n_treated``.
    - **Segments**: the same per value of ``segment``; the p-values of all
      comparisons of one outcome (every treatment in every segment) are
      adjusted by Holm's step-down method (``p_adjusted``), which controls the
      family-wise error rate. The intervals are not adjusted.
    - **CUPED** (Deng et al. 2013): with a pre-period ``covariate`` (e.g. spend
      in the year before, :func:`pre_period_spend`), the outcome becomes
      ``y - θ (x - x̄)`` with ``θ = cov(x, y) / var(x)`` over both groups of the
      comparison, and Welch's interval is taken on it (also for binary
      outcomes). The estimate stays unbiased under randomisation;
      ``variance_reduction = 1 - se²(CUPED) / se²(Welch)``, so the interval is
      ``sqrt(1 - variance_reduction)`` times as wide.

    Parameters
    ----------
    data : DataFrame
        One row per customer; not modified.
    treatment : str
        Column with the group labels (e.g. ``"Womens E-Mail"``, ``"No E-Mail"``).
    outcome : str or list of str
        Outcome column(s).
    control : label
        The control group's label in ``treatment``.
    kind : {"auto", "binary", "continuous"}, default "auto"
        "auto": binary when every value is 0 or 1.
    segment : str, optional
        Column to break the effects down by.
    covariate : str, optional
        Pre-period numeric column for CUPED.
    confidence : float, default 0.95
    n_resamples : int, optional
        Bootstrap resamples (100 to 100,000); None: analytic intervals.
    random_state : int, numpy Generator or RandomState, optional
        Seed of the bootstrap.

    Returns
    -------
    CampaignResult

    Raises
    ------
    MissingColumnError, ColumnTypeError, DataError, ParameterError
        A missing or non-numeric column; NaN/inf in an outcome or the
        covariate; a binary outcome with another value; a treatment column
        with one group; an unknown control label; fewer than two customers in
        a compared group of a segment; a constant outcome.

    Examples
    --------
    >>> import pandas as pd
    >>> from patronage.campaign import measure_effect
    >>> df = pd.DataFrame({"group": ["mail"] * 4 + ["none"] * 4,
    ...                    "visit": [1, 1, 1, 0, 1, 0, 0, 0]})
    >>> r = measure_effect(df, treatment="group", outcome="visit", control="none")
    >>> r.table[["treatment", "difference", "ci_low", "ci_high"]].round(4)
      treatment  difference  ci_low  ci_high
    0      mail         0.5 -0.1355   0.7891
    """
    frame = _frame_of(data, "data")
    outcomes = [outcome] if isinstance(outcome, str) else list(outcome)
    if not outcomes or not all(isinstance(o, str) for o in outcomes):
        raise ParameterError(f"outcome must be a column name or a list of them, got {outcome!r}", "outcome")
    if kind not in _KINDS:
        raise ParameterError(f"kind must be one of {_KINDS}, got {kind!r}", "kind")
    if n_resamples is not None and (isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer))):
        raise ParameterError(f"n_resamples must be an integer or None, got {n_resamples!r}", "n_resamples")
    needed = [treatment, *outcomes] + [c for c in (segment, covariate) if c is not None]
    require_columns(frame, needed, "data")
    if len(frame) == 0:
        raise DataError("data is empty (no rows)")
    groups, labels = _codes(frame, treatment)
    if control not in labels:
        raise ParameterError(
            f"control={control!r} is not a label of column {treatment!r} (labels: {[plain(v) for v in labels]})",
            "control",
        )
    if len(labels) < 2:
        raise DataError(f"column {treatment!r} has one group only ({plain(labels[0])!r}): nothing to compare "
                        "with the control", field=treatment)
    seg_codes, seg_labels = _codes(frame, segment) if segment is not None else (None, pd.Index([None]))
    _check_group_sizes(groups, labels, labels.get_loc(control), seg_codes, seg_labels, treatment, segment)
    x = _numeric(frame, covariate) if covariate is not None else None
    seed = seed_from(random_state) if n_resamples is not None else 0
    names = {"label": None, "feature 0": treatment, "feature 1": segment or treatment, "feature 2": covariate}
    parts = []
    for name in outcomes:
        y = _numeric(frame, name)
        binary = _is_binary(y) if kind == "auto" else kind == "binary"
        names["label"] = name
        with _named_errors(frame.index, names):
            cols = _core.campaign_effects(y, groups, len(labels), int(labels.get_loc(control)), seg_codes,
                                          len(seg_labels), x, binary, float(confidence),
                                          None if n_resamples is None else int(n_resamples), seed)
        part = pd.DataFrame(cols)
        part.insert(0, "outcome", name)
        if segment is not None:
            part.insert(1, "segment", seg_labels.take(part.pop("segment")).to_numpy())
        else:
            part.pop("segment")
        part.insert(2 if segment is not None else 1, "treatment", labels.take(part.pop("group")).to_numpy())
        part.insert(part.columns.get_loc("treatment") + 1, "control", plain(control))
        for end in ("", "_low", "_high"):
            source = "difference" if end == "" else "ci" + end
            part["incremental" + end] = part[source] * part["n_treated"]
        part["significant"] = part["p_adjusted"] < 1 - confidence
        part["method"] = _method(binary, covariate is not None, n_resamples is not None)
        if covariate is None:
            part = part.drop(columns=["theta", "variance_reduction"])
        parts.append(part)
    return CampaignResult(pd.concat(parts, ignore_index=True), float(confidence))


def _method(binary: bool, cuped: bool, bootstrap: bool) -> str:
    base = "welch" if cuped or not binary else "newcombe"
    return ("cuped-" if cuped else "") + ("bootstrap" if bootstrap else base)


def pre_period_spend(
    transactions: Any,
    campaign_date: Any,
    *,
    days: int = 365,
    customers: Any = None,
    customer: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
) -> pd.Series:
    """Each customer's spend in the ``days`` before the campaign (the CUPED covariate).

    Sums ``amount`` (returns, negative amounts, included: net spend) over the
    days ``[campaign_date - days, campaign_date)``.

    Parameters
    ----------
    transactions : DataFrame
        The transaction log; not modified.
    campaign_date : date-like
        The first day of the campaign (not counted).
    days : int, default 365
        Length of the pre-period.
    customers : index-like, optional
        The customers to report (e.g. the campaign table's index); those
        without a purchase in the window get 0. Default: every customer of
        the log.
    customer, date, amount : str
        Column names.

    Returns
    -------
    Series
        Pre-period spend indexed by customer.

    Examples
    --------
    >>> import pandas as pd
    >>> from patronage.campaign import pre_period_spend
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2023-01-01", "2024-02-10"]),
    ...                    "amount": [10.0, 99.0, 5.0, 7.0]})
    >>> pre_period_spend(tx, "2024-03-01", days=90, customers=[1, 2, 3]).to_dict()
    {1: 10.0, 2: 7.0, 3: 0.0}
    """
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or not 1 <= days <= 100 * 366:
        raise ParameterError(f"days must be an integer in 1..36600, got {days!r}", "days")
    log = read_transactions(transactions, customer=customer, date=date, amount=amount)
    end = to_day(campaign_date, "campaign_date")
    day = np.floor_divide(log.dates, log.day_divisor)
    codes = np.asarray(log.customers_raw, dtype=np.int64) - log.customer_offset
    inside = (day >= end - int(days)) & (day < end)
    spend = np.bincount(codes[inside], weights=log.amounts[inside], minlength=log.n_customers)
    out = pd.Series(spend, index=log.customers.copy(), name="pre_period_spend")
    out.index.name = customer
    if customers is not None:
        out = out.reindex(pd.Index(customers), fill_value=0.0)
    return out


# ----------------------------------------------------------------------------- plot


def plot_effects(result: CampaignResult, ax: Any = None, *, outcome: Optional[str] = None, **kwargs: Any) -> Axes:
    """Each treatment's effect with its interval (one row per comparison).

    Parameters
    ----------
    result : CampaignResult
    ax : matplotlib Axes, optional
    outcome : str, optional
        Which outcome to draw; needed when the result has several.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from patronage.campaign import measure_effect, plot_effects
    >>> df = pd.DataFrame({"group": ["mail"] * 4 + ["none"] * 4,
    ...                    "visit": [1, 1, 1, 0, 1, 0, 0, 0]})
    >>> ax = plot_effects(measure_effect(df, treatment="group", outcome="visit", control="none"))
    >>> ax.get_xlabel()
    'difference in visit vs none (95% interval)'
    """
    import matplotlib.pyplot as plt

    if not isinstance(result, CampaignResult):
        raise ParameterError(f"result must be a CampaignResult, got {type(result).__name__}", "result")
    table = result.table
    outcomes = list(dict.fromkeys(table["outcome"]))
    if outcome is None:
        if len(outcomes) > 1:
            raise ParameterError(f"the result has several outcomes {outcomes}; pass outcome=", "outcome")
        outcome = outcomes[0]
    if outcome not in outcomes:
        raise ParameterError(f"outcome {outcome!r} is not in the result (outcomes: {outcomes})", "outcome")
    rows = table[table["outcome"] == outcome]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(rows)))
    names = [str(t) if "segment" not in rows else f"{t} | {s}" for t, s in
             zip(rows["treatment"], rows["segment"] if "segment" in rows else rows["treatment"])]
    y = np.arange(len(rows))[::-1]
    err = np.vstack([rows["difference"] - rows["ci_low"], rows["ci_high"] - rows["difference"]])
    ax.errorbar(rows["difference"], y, xerr=err, **{"fmt": "o", "capsize": 3, **kwargs})
    ax.axvline(0.0, color="grey", linewidth=1, linestyle="--")
    ax.set_yticks(y, names)
    ax.set_xlabel(f"difference in {outcome} vs {rows['control'].iloc[0]} ({result.confidence:.0%} interval)")
    return ax


# ----------------------------------------------------------------------------- helpers


def _frame_of(obj: Any, name: str) -> pd.DataFrame:
    frame = as_pandas(obj, name)
    if not isinstance(frame, pd.DataFrame):
        raise ColumnTypeError(f"{name} must be a DataFrame, got {type(obj).__name__}")
    return frame


def _codes(frame: pd.DataFrame, column: str) -> tuple:
    """Codes 0..k of ``column``'s labels (sorted where they can be) and the labels."""
    values = frame[column]
    if values.isna().any():
        pos = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(f"column {column!r} is missing at index label {plain(frame.index[pos])!r} (row {pos})",
                        field=column, row=pos)
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:
        codes, labels = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), pd.Index(labels)


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)):
        raise ColumnTypeError(f"column {column!r} must be numeric or boolean, got dtype {series.dtype}", column)
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64, na_value=np.nan))


def _check_group_sizes(groups: np.ndarray, labels: pd.Index, control: int, seg_codes: Optional[np.ndarray],
                       seg_labels: pd.Index, treatment: str, segment: Optional[str]) -> None:
    """Every compared group of every segment needs two customers (a variance)."""
    seg = np.zeros_like(groups) if seg_codes is None else seg_codes
    counts = np.bincount(seg * len(labels) + groups, minlength=len(seg_labels) * len(labels))
    counts = counts.reshape(len(seg_labels), len(labels))
    for s, row in enumerate(counts):
        for g in range(len(labels)):
            if g == control or (segment is None and row[g] == 0):
                continue  # without segments, a label with no rows (a pandas category) is skipped
            for h in (g, control):
                if row[h] < 2:
                    where = "" if segment is None else f" in segment {plain(seg_labels[s])!r} of {segment!r}"
                    raise DataError(f"column {treatment!r}: group {plain(labels[h])!r} has {row[h]} customers"
                                    f"{where}; each compared group needs at least 2", field=segment or treatment)


def _is_binary(y: np.ndarray) -> bool:
    return bool(np.all((y == 0.0) | (y == 1.0)))


@contextlib.contextmanager
def _named_errors(index: pd.Index, names: Dict[str, Optional[str]]) -> Iterator[None]:
    """Re-raise the core's DataErrors with the user's column name and row label."""
    try:
        yield
    except DataError as exc:
        message, column = str(exc), names.get(exc.field or "", exc.field)
        if exc.field and message.startswith(exc.field):
            message = f"column {column!r}" + message[len(exc.field):]
        if exc.row is not None and 0 <= exc.row < len(index):
            message = message.replace(f"at row {exc.row}",
                                      f"at index label {plain(index[exc.row])!r} (row {exc.row})")
        raise DataError(message, field=column, row=exc.row) from None

