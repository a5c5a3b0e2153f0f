"""Scoring a Spark DataFrame with a fitted model: its outputs added as columns, batch by batch."""

from __future__ import annotations

import pickle
from typing import Any, Dict, Optional

import numpy as np
import pandas as pd

from ..btyd import BetaGeo, GammaGamma, ParetoNBD, value_at_risk
from ..churn import ChurnClassifier
from ..cluster import CustomerSegmenter, KMeans
from ..exceptions import ParameterError
from . import _common


def predict(model: Any, sdf: Any, *, spend_model: Optional[GammaGamma] = None, t: Optional[float] = None,
            horizon: int = 12, freq: str = "M", discount_rate: float = 0.01, margin: float = 1.0,
            customer: str = "customer_id") -> Any:
    """``sdf`` with ``model``'s predictions added as columns (a lazy Spark DataFrame, via ``mapInArrow``).

    The fitted model travels to the executors as its JSON inside the function
    Spark runs (CustomerSegmenter, which has no JSON form, as its pickle:
    the same serde state), so this works under Spark Connect and serverless.
    Each column equals the pandas method's value for the row.

    Parameters
    ----------
    model : fitted BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma, ChurnClassifier, KMeans or CustomerSegmenter
        The columns added:

        - BTYD purchase models: ``p_alive``; with ``t``, ``expected_purchases``
          (in the next ``t`` time units); with ``spend_model``, ``clv``,
          ``value_if_alive`` and ``value_at_risk`` (:func:`patronage.value_at_risk`
          with ``horizon``, ``freq``, ``discount_rate``, ``margin``);
        - GammaGamma: ``expected_average_spend``;
        - ChurnClassifier: ``churn_probability`` (of ``classes_[1]``);
        - KMeans: ``cluster``; CustomerSegmenter: ``cluster`` and ``tier``.
    sdf : pyspark.sql.DataFrame
        What the pandas method takes, as Spark columns (a BTYD summary, a
        churn feature table, an RFM table, ...).
    customer : str
        The id column: never taken as a feature.

    Examples
    --------
    >>> scored = patronage.spark.predict(bg, summary, spend_model=gg, t=90)  # doctest: +SKIP
    """
    _common.check_frame(sdf, [])
    types = _common.pyspark().types
    double, added = types.DoubleType(), []
    if isinstance(model, (BetaGeo, ParetoNBD)):
        added = [("p_alive", double)]
        if t is not None:
            added.append(("expected_purchases", double))
        if spend_model is not None:
            if not isinstance(spend_model, GammaGamma):
                raise ParameterError(f"spend_model must be a fitted GammaGamma, got {type(spend_model).__name__}",
                                     "spend_model")
            spend_model._require_fitted()
            added += [("clv", double), ("value_if_alive", double), ("value_at_risk", double)]
    elif isinstance(model, GammaGamma):
        added = [("expected_average_spend", double)]
    elif isinstance(model, ChurnClassifier):
        added = [("churn_probability", double)]
    elif isinstance(model, KMeans):
        added = [("cluster", types.LongType())]
    elif isinstance(model, CustomerSegmenter):
        added = [("cluster", types.LongType()), ("tier", types.StringType())]
    else:
        raise TypeError(f"patronage.spark.predict takes a fitted BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma, "
                        f"ChurnClassifier, KMeans or CustomerSegmenter, got {type(model).__name__}")
    if spend_model is not None and not isinstance(model, (BetaGeo, ParetoNBD)):
        raise ParameterError("spend_model goes with a BTYD purchase model (BetaGeo, ModifiedBetaGeo, ParetoNBD)",
                             "spend_model")
    clash = [name for name, _ in added if name in sdf.columns]
    if clash:
        raise ParameterError(f"sdf already has a column {clash[0]!r}, which predict would add; drop or rename it",
                             "sdf")
    carried = _carry(model)
    spend = None if spend_model is None else _carry(spend_model)
    options = dict(t=t, horizon=horizon, freq=freq, discount_rate=discount_rate, margin=margin, customer=customer)
    # fail on the driver, with the pandas method's message, on a first small batch
    first = sdf.limit(1).toPandas()
    if len(first):
        _outputs(model, spend_model, first, options)
    schema = types.StructType(list(sdf.schema.fields) + [types.StructField(n, k, True) for n, k in added])
    names = [n for n, _ in added]

    def score(batches: Any) -> Any:
        import pyarrow as pa

        fitted, spend_fitted = _restore(carried), None if spend is None else _restore(spend)
        for batch in batches:
            frame = pa.Table.from_batches([batch]).to_pandas(split_blocks=True)
            outputs = ({n: np.empty(0, dtype=np.int64 if k == types.LongType() else object if k == types.StringType()
                                    else np.float64) for n, k in added}
                       if len(frame) == 0 else _outputs(fitted, spend_fitted, frame, options))
            new = [_arrow_column(outputs[n], field.dataType) for n, field in zip(names, schema.fields[-len(names):])]
            yield pa.RecordBatch.from_arrays(list(batch.columns) + new, names=batch.schema.names + names)

    return sdf.mapInArrow(score, schema)


def _carry(model: Any) -> tuple:
    """What travels in the closure: (class, JSON) or, without a JSON form, (class, pickle bytes)."""
    if hasattr(model, "to_json"):
        return type(model), model.to_json()
    return type(model), pickle.dumps(model)


def _restore(carried: tuple) -> Any:
    cls, state = carried
    return cls.from_json(state) if isinstance(state, str) else pickle.loads(state)


def _features(model: Any, frame: pd.DataFrame, customer: str) -> pd.DataFrame:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return frame[[str(n) for n in names]]
    return frame.drop(columns=[customer], errors="ignore")


def _outputs(model: Any, spend_model: Any, frame: pd.DataFrame, options: dict) -> Dict[str, np.ndarray]:
    """The added columns for one batch, by the pandas methods."""
    if isinstance(model, (BetaGeo, ParetoNBD)):
        out = {"p_alive": model.p_alive(frame).to_numpy()}
        if options["t"] is not None:
            out["expected_purchases"] = model.expected_purchases(frame, options["t"]).to_numpy()
        if spend_model is not None:
            risk = value_at_risk(model, spend_model, frame, horizon=options["horizon"], freq=options["freq"],
                                 discount_rate=options["discount_rate"], margin=options["margin"])
            out.update({c: risk[c].to_numpy() for c in ("clv", "value_if_alive", "value_at_risk")})
        return out
    if isinstance(model, GammaGamma):
        return {"expected_average_spend": model.expected_average_spend(frame).to_numpy()}
    if isinstance(model, ChurnClassifier):
        return {"churn_probability": model.predict_proba(_features(model, frame, options["customer"]))[:, 1]}
    if isinstance(model, KMeans):
        return {"cluster": np.asarray(model.predict(_features(model, frame, options["customer"])), dtype=np.int64)}
    tiers = model.predict_tier(frame)
    return {"cluster": model.predict(frame).to_numpy(dtype=np.int64), "tier": tiers.astype(str).to_numpy()}


def _arrow_column(values: np.ndarray, spark_type: Any) -> Any:
    import pyarrow as pa

    kind = spark_type.typeName()
    arrow = {"double": pa.float64(), "long": pa.int64(), "string": pa.string()}[kind]
    return pa.array(values.astype(object) if kind == "string" else values, type=arrow)
