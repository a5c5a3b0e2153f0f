"""Patronage on Spark: the same tables, fits and scores on a Spark DataFrame.

``pip install "patronage[spark]"`` (Spark >= 4.0, Java 17). Every function
takes a Spark DataFrame (``pyspark.sql.DataFrame``, classic or Spark
Connect) and uses DataFrame APIs only, so it runs on a cluster, on
Databricks (also serverless) and under Spark Connect; the executors' Python
must import Patronage (see the docs' Spark page).

Per-customer tables (lazy Spark DataFrames, one row per customer, the id as
a column): :func:`rfm_table`, :func:`btyd_summary`, :func:`churn_features`,
:func:`churn_dataset`, :func:`lifecycle_stages`. Customers are hashed into
``buckets`` groups and the compiled kernels run per group
(``groupBy(bucket).applyInArrow``) with the whole log's globals (``as_of``,
``observation_end``, the median purchase gap) computed once first, so the
results equal the pandas functions' on the whole log, whatever the number
of buckets, files or partitions.

Fits (:func:`fit`) return the ordinary fitted estimator: BTYD models from
pattern counts (exactly the full fit), the others as documented there.
Scores (:func:`predict`) add a fitted model's outputs as columns.
:func:`pareto` is :func:`patronage.pareto` of a Spark DataFrame.

``import patronage`` does not import pyspark; ``import patronage.spark``
does not either, until a function is called.
"""

from ._fit import fit
from ._maps import btyd_summary, churn_dataset, churn_features, lifecycle_stages, rfm_table
from ._predict import predict

__all__ = ["rfm_table", "btyd_summary", "churn_features", "churn_dataset", "lifecycle_stages", "fit", "predict"]

# exact scores and mergeable reduces
from ._reduce import ces, cohort_retention, csat, nps, repurchase_rate, retention, segment_summary  # noqa: E402
from ._scores import rfm_scores  # noqa: E402

__all__ += ["rfm_scores", "cohort_retention", "retention", "repurchase_rate", "segment_summary", "nps", "csat", "ces"]

# the 80/20 view
from ._pareto import pareto  # noqa: E402

__all__ += ["pareto"]
