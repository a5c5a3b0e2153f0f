"""Patronage: customer analytics for CRM analysts.

From a transaction log (customer id, date, amount) to RFM profiles and
segments, k-means tiers, churn risk, BG/NBD "still alive" probabilities and
customer lifetime value, and loyalty metrics. pandas in, pandas out; the heavy
lifting runs in a compiled Rust core with the GIL released.

>>> import patronage
>>> from patronage.datasets import load_cdnow
>>> rfm = patronage.rfm_table(load_cdnow())
>>> len(rfm)
23570
"""

import importlib as _importlib

from . import datasets, exceptions, ooc
from ._core import __version__
from .loyalty import (
    DEFAULT_ACTIONS,
    LIFECYCLE_STAGES,
    QUADRANTS,
    ParetoResult,
    ces,
    cohort_retention,
    csat,
    lifecycle_stages,
    lifecycle_transitions,
    loyalty_matrix,
    nps,
    pareto,
    plot_cohort_retention,
    plot_loyalty_matrix,
    plot_pareto,
    repurchase_rate,
    retention,
    winback_list,
)
from .churn import (
    ChurnClassifier,
    backtest,
    choose_threshold,
    churn_dataset,
    churn_features,
    churn_report,
)
from .btyd import (BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, btyd_summary, customer_lifetime_value,
                   predictions_on_the_ridge, value_at_risk)
from .cluster import (
    CustomerSegmenter,
    KMeans,
    calinski_harabasz_score,
    davies_bouldin_score,
    plot_clusters,
    plot_k_selection,
    plot_tiers,
    select_k,
    silhouette_samples,
    silhouette_score,
)
from .rfm import SEGMENTS, rfm_scores, rfm_table, segment_summary
from .campaign import (CampaignResult, assign_control, measure_effect, minimum_detectable_effect, plot_effects,
                       pre_period_spend, sample_size)
from .uplift import UpliftClassifier, auuc, plot_qini, qini_coefficient, qini_curve, uplift_at_k, uplift_curve

__all__ = [
    "__version__",
    "datasets",
    "exceptions",
    "report",
    "rfm_table",
    "rfm_scores",
    "segment_summary",
    "SEGMENTS",
    "btyd_summary",
    "nps",
    "csat",
    "ces",
    "repurchase_rate",
    "retention",
    "cohort_retention",
    "pareto",
    "ParetoResult",
    "lifecycle_stages",
    "lifecycle_transitions",
    "LIFECYCLE_STAGES",
    "loyalty_matrix",
    "QUADRANTS",
    "winback_list",
    "DEFAULT_ACTIONS",
    "plot_cohort_retention",
    "plot_pareto",
    "plot_loyalty_matrix",
    "churn_dataset",
    "churn_features",
    "ChurnClassifier",
    "choose_threshold",
    "churn_report",
    "backtest",
    "BetaGeo",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "GammaGamma",
    "customer_lifetime_value",
    "value_at_risk",
    "predictions_on_the_ridge",
    "KMeans",
    "CustomerSegmenter",
    "select_k",
    "silhouette_score",
    "silhouette_samples",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "plot_k_selection",
    "plot_clusters",
    "plot_tiers",
    "UpliftClassifier",
    "qini_curve",
    "uplift_curve",
    "qini_coefficient",
    "auuc",
    "uplift_at_k",
    "plot_qini",
]
__all__ += ["assign_control", "sample_size", "minimum_detectable_effect", "measure_effect", "CampaignResult",
            "plot_effects", "pre_period_spend"]


def __getattr__(name: str):
    # ``patronage.report`` on first use: the report pulls in matplotlib, which ``import patronage`` should not
    if name == "report":
        return _importlib.import_module(".report", __name__)
    if name == "dask":  # only when asked: it imports dask
        return _importlib.import_module(".dask", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})
