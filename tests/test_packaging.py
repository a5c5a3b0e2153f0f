"""The release metadata agree with each other: one version (Cargo workspace, package, docs),
the MIT licence shipped and declared, no placeholder URLs; under `make test` the suite runs
against the installed wheel, not the source tree."""

from __future__ import annotations

import os
import re
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

import patronage

ROOT = Path(__file__).resolve().parents[1]


def _toml(path: Path) -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads(path.read_text())


def test_one_version_everywhere():
    cargo = _toml(ROOT / "Cargo.toml")["workspace"]["package"]
    assert patronage.__version__ == cargo["version"] == metadata.version("patronage")
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{cargo['version']}]" in changelog and "## [Unreleased]" in changelog


def test_licence_declared_and_shipped():
    cargo = _toml(ROOT / "Cargo.toml")["workspace"]["package"]
    project = _toml(ROOT / "pyproject.toml")["project"]
    assert cargo["license"] == project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "The Patronage authors" in text


def test_no_placeholder_urls_and_real_extras():
    for name in ("Cargo.toml", "pyproject.toml", "README.md"):
        assert "example.invalid" not in (ROOT / name).read_text(), name
    extras = set(_toml(ROOT / "pyproject.toml")["project"]["optional-dependencies"])
    # every `pip install 'patronage[...]'` the package tells users about names an extra that exists
    for path in (ROOT / "python" / "patronage").rglob("*.py"):
        for extra in re.findall(r"patronage\[(\w+)\]", path.read_text()):
            assert extra in extras, f"{path.name} mentions patronage[{extra}]"


@pytest.mark.skipif(os.environ.get("PATRONAGE_TEST_WHEEL") != "1", reason="only under make test (the wheel)")
def test_suite_runs_against_the_installed_wheel():
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(patronage.__file__).resolve().is_relative_to(site), patronage.__file__
    assert Path(patronage._core.__file__).resolve().is_relative_to(site)
    files = metadata.files("patronage") or []
    assert not any(str(f).endswith(".pth") for f in files), "an editable install, not the wheel"
    assert metadata.distribution("patronage").read_text("WHEEL") is not None
    assert "abi3" in metadata.distribution("patronage").read_text("WHEEL")
    assert metadata.metadata("patronage")["License-Expression"] == "MIT"
    assert sys.version_info >= (3, 9)
