"""Uplift: whom to contact because the contact changes what they do.

:class:`UpliftClassifier` (T- and X-learner on any classifier) predicts the
uplift; :func:`qini_curve`, :func:`uplift_curve`, :func:`qini_coefficient`,
:func:`auuc`, :func:`uplift_at_k` and :func:`plot_qini` evaluate a ranking
with scikit-uplift's definitions (computed in the compiled core).
"""

from .classifier import UpliftClassifier
from .metrics import auuc, qini_coefficient, qini_curve, uplift_at_k, uplift_curve
from .plot import plot_qini

__all__ = ["UpliftClassifier", "auuc", "plot_qini", "qini_coefficient", "qini_curve", "uplift_at_k", "uplift_curve"]
