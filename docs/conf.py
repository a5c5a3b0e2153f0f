"""Sphinx configuration of the Patronage documentation (``make docs``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import patronage

ROOT = Path(__file__).resolve().parents[1]

project = "Patronage"
author = "The Patronage authors"
copyright = "2026, The Patronage authors"
version = release = patronage.__version__  # the version of the installed package, the wheel and the crates

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "conftest.py"]

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
nitpicky = False

# The notebooks are executed by the test suite (tests/test_notebooks.py writes the executed
# copies to build/notebooks); the docs render those copies and never run them again.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath"]
_EXECUTED = ROOT / "build" / "notebooks"
_RENDERED = Path(__file__).resolve().parent / "notebooks"
_SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))
_missing = [p.name for p in _SOURCES if not (_EXECUTED / p.name).is_file()
            or (_EXECUTED / p.name).stat().st_mtime < p.stat().st_mtime]
if _missing:
    raise RuntimeError(f"executed notebooks missing or older than their source in {_EXECUTED}: {_missing}; "
                       "run `python -m pytest tests/test_notebooks.py` first (make docs does)")
_RENDERED.mkdir(exist_ok=True)
for _p in _SOURCES:
    shutil.copyfile(_EXECUTED / _p.name, _RENDERED / _p.name)

html_theme = "pydata_sphinx_theme"
html_title = f"Patronage {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path: list = []

