"""Root pytest configuration: applies to tests/ and to the package's doctests."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Close matplotlib figures after every test and doctest (no 'too many figures' warnings)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def spark() -> Any:
    """One local[2] Spark session for the whole test session (its ~25 s start-up is paid once), for the
    tests and the patronage.spark doctests.

    Needs pyspark and Java: skipped without them, except under CI=true, where their absence fails
    (``make venv`` installs pyspark, ``make java`` Java). The workers run this interpreter (else Spark
    starts ``python3`` from PATH, which cannot import Patronage).
    """
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if ci:
        import pyspark  # noqa: F401  (its absence fails under CI)
    else:
        pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if ci:
            pytest.fail("Java is not installed: `make java` installs it (the Spark tests need it)")
        pytest.skip("Java is not installed (`make java`)")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("patronage-tests")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.driver.memory", "2g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _spark_in_doctests(request: Any) -> None:
    """The patronage.spark doctests find ``spark``: the session above."""
    if type(request.node).__name__ == "DoctestItem" and request.node.name.startswith("patronage.spark"):
        request.getfixturevalue("doctest_namespace")["spark"] = request.getfixturevalue("spark")
