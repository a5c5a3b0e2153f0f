"""Churn prediction: leakage-free labels and features, logistic and gradient-
boosted models, calibration, thresholds, honest evaluation and plots."""

from .classifier import ChurnClassifier
from .dataset import CHURN_FEATURES, churn_dataset, churn_features
from .evaluation import ChurnReport, backtest, churn_report
from .plots import plot_calibration, plot_feature_effects, plot_gains, plot_roc, plot_waterfall
from .threshold import choose_threshold

__all__ = [
    "CHURN_FEATURES",
    "churn_dataset",
    "churn_features",
    "ChurnClassifier",
    "choose_threshold",
    "ChurnReport",
    "churn_report",
    "backtest",
    "plot_roc",
    "plot_gains",
    "plot_calibration",
    "plot_feature_effects",
    "plot_waterfall",
]
