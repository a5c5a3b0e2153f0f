"""`mypy --strict` accepts a user's script that goes through the whole public API, and the types
it infers are the documented ones (plots return matplotlib Axes, fit returns the model's own class)."""

from __future__ import annotations

import textwrap

import pytest

import patronage

mypy_api = pytest.importorskip("mypy.api")


def _matplotlib_is_typed() -> bool:
    import matplotlib
    from pathlib import Path

    return (Path(matplotlib.__file__).parent / "py.typed").is_file()


# matplotlib ships its types from 3.8; with 3.6 and 3.7 (supported) Axes is Any to a type checker
pytestmark = pytest.mark.skipif(not _matplotlib_is_typed(), reason="matplotlib < 3.8 has no type information")

SCRIPT = textwrap.dedent('''
    from typing import List

    import numpy as np
    from matplotlib.axes import Axes

    import patronage
    from patronage.datasets import load_cdnow, simulate_transactions
    from patronage.exceptions import ConvergenceWarning, DataError, NotFittedError, ParameterError
    from patronage.report import customer_report

    tx = load_cdnow()
    small = simulate_transactions(300, random_state=0)
    rfm = patronage.rfm_table(tx)
    scored = patronage.rfm_scores(rfm)
    by_segment = patronage.segment_summary(scored)
    segments: List[str] = list(patronage.SEGMENTS)

    km = patronage.KMeans(3, random_state=0).fit(rfm[["recency_days", "n_orders"]])
    km2: patronage.KMeans = km.set_output(transform="pandas")
    names: np.ndarray = km.get_feature_names_out()
    inertia: float = km.inertia_ + km.score(rfm[["recency_days", "n_orders"]])
    seg = patronage.CustomerSegmenter(n_clusters=3, random_state=0).fit(rfm)
    score: float = seg.score(rfm)
    selection = patronage.select_k(np.random.default_rng(0).normal(size=(50, 2)), range(2, 5))
    quality: float = patronage.silhouette_score(np.zeros((4, 1)), [0, 0, 1, 1])
    ch: float = patronage.calinski_harabasz_score(np.zeros((4, 1)), [0, 0, 1, 1])
    db: float = patronage.davies_bouldin_score(np.zeros((4, 1)), [0, 0, 1, 1])
    samples: np.ndarray = patronage.silhouette_samples(np.zeros((4, 1)), [0, 0, 1, 1])
    panels: np.ndarray = patronage.plot_k_selection(selection)  # one Axes per criterion
    axes: List[Axes] = [patronage.plot_tiers(seg), patronage.plot_clusters(seg, rfm)]

    X, y = patronage.churn_dataset(tx, cutoff="1997-12-31", horizon="180D")
    clf: patronage.ChurnClassifier = patronage.ChurnClassifier("logistic").fit(X, y)
    proba: np.ndarray = clf.predict_proba(X)
    report = patronage.churn_report(y, proba[:, 1])
    threshold: float = patronage.choose_threshold(proba[:, 1], share=0.2)
    today = patronage.churn_features(tx)
    history = patronage.backtest(small, cutoffs=["2024-06-30"], horizon="90D")

    summary = patronage.btyd_summary(tx, freq="W")
    bg: patronage.BetaGeo = patronage.BetaGeo().fit(summary)
    mbg: patronage.ModifiedBetaGeo = patronage.ModifiedBetaGeo().fit(summary)
    known: patronage.ModifiedBetaGeo = patronage.ModifiedBetaGeo.from_params(0.25, 4.4, 0.8, 2.4)
    pnbd: patronage.ParetoNBD = patronage.ParetoNBD.from_params(0.55, 10.58, 0.61, 11.67)
    gg: patronage.GammaGamma = patronage.GammaGamma.from_params(6.25, 3.74, 15.44)
    ridge = patronage.predictions_on_the_ridge(bg, summary, {"mean P(alive)": lambda m: float(m.p_alive(summary).mean())})
    clv = patronage.customer_lifetime_value(bg, gg, summary, freq="W")
    risk = patronage.value_at_risk(bg, gg, summary, freq="W")
    alive = bg.p_alive(summary)

    result: patronage.ParetoResult = patronage.pareto(tx)
    share: float = result.top_share
    nps = patronage.nps([10, 9, 3])
    csat = patronage.csat([5, 4, 2])
    ces = patronage.ces([1, 2, 7])
    rate = patronage.repurchase_rate(tx, within=90)
    monthly = patronage.retention(tx)
    cohorts = patronage.cohort_retention(tx)
    stages = patronage.lifecycle_stages(tx)
    moves = patronage.lifecycle_transitions(tx, "1997-06-30", "1998-06-30")
    matrix = patronage.loyalty_matrix([5, 2, 4, 1], [3, 0, 0, 2])
    more_axes: List[Axes] = [patronage.plot_cohort_retention(cohorts), patronage.plot_pareto(result),
                             patronage.plot_loyalty_matrix(matrix), result.plot(),
                             bg.plot_period_transactions(summary)]
    winback = patronage.winback_list(stages, p_alive=alive, value=risk["value_if_alive"], top=100)
    lift_model: patronage.UpliftClassifier = patronage.UpliftClassifier("x_learner", random_state=0)
    lift_scores: List[float] = [patronage.qini_coefficient([1, 0], [0.5, 0.1], [1, 0]),
                                patronage.auuc([1, 0], [0.5, 0.1], [1, 0]),
                                patronage.uplift_at_k([1, 0], [0.5, 0.1], [1, 0], k=1)]
    lift_curves = [patronage.qini_curve([1, 0], [0.5, 0.1], [1, 0]), patronage.uplift_curve([1, 0], [0.5, 0.1], [1, 0])]
    qini_ax: Axes = patronage.plot_qini([1, 0], [0.5, 0.1], [1, 0])
    stage_names: List[str] = list(patronage.LIFECYCLE_STAGES)
    version: str = patronage.__version__
    html = customer_report(small)
    plan = patronage.assign_control(stages, share=0.5, random_state=0)
    needed: int = patronage.sample_size(0.01, baseline=0.05).n_treated
    mde: float = patronage.minimum_detectable_effect(8000, baseline=0.05)
    pre = patronage.pre_period_spend(tx, "1998-01-01", customers=plan.index)
    effect: patronage.CampaignResult = patronage.measure_effect(
        plan.assign(pre=pre.to_numpy()), treatment="control", outcome="pre", control=True)
    effect_ax: Axes = patronage.plot_effects(effect)

    errors = (DataError, ParameterError, NotFittedError)
    warning = ConvergenceWarning
''')


def test_mypy_strict_accepts_a_script_using_the_public_api(tmp_path):
    script = tmp_path / "analysis.py"
    script.write_text(SCRIPT)
    # every public name of patronage.__all__ but the module objects is used by the script
    unused = [name for name in patronage.__all__ if name not in SCRIPT and name not in ("datasets", "exceptions")]
    assert unused == [] or set(unused) <= {"QUADRANTS", "DEFAULT_ACTIONS"}, unused
    out, err, status = mypy_api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
                                     "--python-version", "3.11", str(script)])
    assert status == 0, out + err


def test_mypy_infers_the_documented_return_types(tmp_path):
    script = tmp_path / "reveal.py"
    script.write_text(textwrap.dedent('''
        import patronage
        reveal_type(patronage.ModifiedBetaGeo().fit)
        reveal_type(patronage.plot_pareto)
        reveal_type(patronage.KMeans().fit)
    '''))
    out, err, status = mypy_api.run(["--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(script)])
    assert "-> patronage.btyd.ModifiedBetaGeo" in out, out
    assert "-> matplotlib.axes._axes.Axes" in out, out
    assert "-> patronage.cluster.kmeans.KMeans" in out, out
