"""Shared fixtures: the read-only data sets beside the repository (../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cdnow_sample(shared_data: Path) -> pd.DataFrame:
    """The 1/10 CDNOW sample: customer_id = sample id (1..2357), date, quantity, amount."""
    raw = pd.read_csv(shared_data / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "customer_id", "date", "quantity", "amount"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "date", "amount", "quantity"]]


def optional(module: str) -> Any:
    """``import module``, skipping the test when it is absent, except under CI=true, where its absence
    fails (CI installs every optional dependency: ``make venv``)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return __import__(module)
    return pytest.importorskip(module)
