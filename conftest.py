"""Root pytest configuration: applies to tests/ and to the package's doctests."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Close matplotlib figures after every test and doctest (no 'too many figures' warnings)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
