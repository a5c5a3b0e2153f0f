"""patronage.spark under Spark Connect: one local Connect session runs rfm_table, rfm_scores,
cohort_retention, fit (pattern counts, and the Gamma-Gamma from partition sums: persist and one
mapInArrow job per evaluation) and predict, and each equals the pandas result.

pyspark refuses to start a local Connect server (``SparkSession.builder.remote("local[2]")``) in a
process that already runs a classic SparkContext (``SESSION_ALREADY_EXIST``: the in-process server
would share it), and the other Spark tests' ``spark`` fixture is one. So the Connect session runs in
a child process (this file run as a script) that writes its results to Parquet/JSON; this process
compares them with the pandas functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import patronage


def test_connect_session_equals_pandas(shared_data, tmp_path):
    from conftest import optional, write_shuffled

    optional("pyspark")
    optional("grpc")  # pyspark[connect]'s client
    from patronage.datasets import load_cdnow

    tx = load_cdnow()
    log = write_shuffled(tx, tmp_path / "log", n_files=3, seed=5)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    env.pop("SPARK_REMOTE", None)
    child = subprocess.run([sys.executable, __file__, str(log), str(tmp_path)], env=env, capture_output=True,
                           text=True, timeout=900)
    assert child.returncode == 0, child.stderr[-4000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["session"] == "pyspark.sql.connect.session.SparkSession"

    rfm = patronage.rfm_table(tx)
    got = pd.read_parquet(tmp_path / "rfm.parquet").set_index("customer_id").sort_index()
    for column in ("first_purchase", "last_purchase"):  # Spark dates: compare as the same datetimes
        got[column] = pd.to_datetime(got[column]).astype(rfm[column].dtype)
    pd.testing.assert_frame_equal(got[rfm.columns], rfm, check_dtype=False, check_index_type=False)
    scored = patronage.rfm_scores(rfm)
    assert got["rfm_score"].tolist() == scored["rfm_score"].tolist()
    assert got["segment"].tolist() == scored["segment"].astype(str).tolist()

    cohorts = np.load(tmp_path / "cohorts.npy")
    np.testing.assert_array_equal(cohorts, patronage.cohort_retention(tx).to_numpy())  # customer counts: exact

    summary = patronage.btyd_summary(tx, freq="W")
    bg = patronage.BetaGeo().fit(summary)
    fitted = patronage.BetaGeo.from_json(out["model"])
    np.testing.assert_allclose(fitted.params_.to_numpy(), bg.params_.to_numpy(), rtol=1e-10)  # pattern counts
    p_alive = pd.read_parquet(tmp_path / "p_alive.parquet").set_index("customer_id").sort_index()["p_alive"]
    np.testing.assert_array_equal(p_alive.to_numpy(), fitted.p_alive(summary).to_numpy())
    with warnings.catch_warnings():  # CDNOW has a repeat buyer whose spend is 0: left out, with a warning
        warnings.simplefilter("ignore", UserWarning)
        gg = patronage.GammaGamma().fit(summary)
    spend = patronage.GammaGamma.from_json(out["spend_model"])
    np.testing.assert_allclose(spend.params_.to_numpy(), gg.params_.to_numpy(), rtol=1e-8)  # partition sums


def _child(log: str, out: str) -> None:
    """The Connect side: a local Connect session, the Spark functions, results written to ``out``."""
    import warnings

    warnings.simplefilter("ignore")
    from pyspark.sql import SparkSession

    import patronage.spark

    spark = (SparkSession.builder.remote("local[2]").config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    def save(frame, name: str) -> None:
        frame.attrs.clear()  # Connect's toPandas() leaves its PlanMetrics there, which Parquet cannot store
        frame.to_parquet(Path(out) / name)

    try:
        sdf = spark.read.parquet(log)
        rfm = patronage.spark.rfm_table(sdf, buckets=3)
        save(patronage.spark.rfm_scores(rfm).toPandas(), "rfm.parquet")
        np.save(Path(out) / "cohorts.npy", patronage.spark.cohort_retention(sdf, buckets=3).to_numpy())
        summary = patronage.spark.btyd_summary(sdf, freq="W", buckets=3)
        bg = patronage.spark.fit(patronage.BetaGeo(), summary)
        gg = patronage.spark.fit(patronage.GammaGamma(), summary)
        save(patronage.spark.predict(bg, summary).select("customer_id", "p_alive").toPandas(), "p_alive.parquet")
        (Path(out) / "out.json").write_text(json.dumps({
            "session": f"{type(spark).__module__}.{type(spark).__name__}", "model": bg.to_json(),
            "spend_model": gg.to_json()}))
    finally:
        spark.stop()


if __name__ == "__main__":
    _child(*sys.argv[1:3])
