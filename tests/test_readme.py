"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
README_FIRST_LINE = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/patronage report"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    assert "Champions" in capsys.readouterr().out


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).strip().splitlines()
    assert [c.split("#")[0].strip() for c in commands] == [README_FIRST_LINE, "make test"]


def test_every_public_function_and_class_has_a_runnable_example():
    import inspect

    import patronage
    from patronage.cluster import plot_clusters, plot_k_selection, plot_tiers
    from patronage.churn import plot_calibration, plot_feature_effects, plot_gains, plot_roc
    from patronage.report import customer_report

    objects = [getattr(patronage, n) for n in patronage.__all__] + [
        plot_clusters, plot_k_selection, plot_tiers, plot_calibration, plot_feature_effects, plot_gains, plot_roc,
        customer_report]
    missing = [o.__name__ for o in objects
               if (inspect.isfunction(o) or inspect.isclass(o)) and ">>>" not in (o.__doc__ or "")]
    assert not missing, f"no doctest example: {missing}"


@pytest.mark.slow
def test_readme_first_line_on_a_fresh_debian_path(tmp_path):
    """The README's exact first line, as a new user on Debian runs it: the system python3 (PEP 668: it
    refuses pip install outside a venv), no ``python`` binary on PATH, an empty HOME (no pip cache, no
    config), in a fresh copy of the project. To keep CI time reasonable the Rust build reuses the
    project's ``target/`` (CARGO_TARGET_DIR): the dependency crates are not compiled again, the two
    project crates are (their path differs)."""
    root = Path(__file__).resolve().parents[1]
    cargo = shutil.which("cargo")
    system_python = Path("/usr/bin/python3")
    if not system_python.exists() or cargo is None:
        pytest.fail("this test needs the Debian system python3 (/usr/bin/python3) and cargo")
    project = tmp_path / "patronage"
    shutil.copytree(root, project, ignore=shutil.ignore_patterns(
        ".git", ".venv", "target", "__pycache__", "*.so", ".hypothesis", ".pytest_cache", "test-artifacts",
        "patronage_report*", ".mypy_cache"))
    home = tmp_path / "home"
    home.mkdir()
    path = os.pathsep.join([str(Path(cargo).parent), "/usr/bin", "/bin"])
    assert shutil.which("python", path=path) is None  # as on Debian: only python3
    env = {"HOME": str(home), "PATH": path, "LANG": "C.UTF-8",
           "CARGO_HOME": os.environ.get("CARGO_HOME", str(Path(cargo).parents[1])),
           "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup")),
           "CARGO_TARGET_DIR": str(root / "target")}
    out = subprocess.run(["bash", "-c", README_FIRST_LINE], cwd=project, env=env, capture_output=True, text=True,
                         timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    html, csv = project / "patronage_report.html", project / "patronage_report.csv"
    assert html.stat().st_size > 100_000 and csv.stat().st_size > 100_000
    assert f"wrote {html}" in out.stdout and str(csv) in out.stdout  # absolute paths
    assert f"open it in a web browser: {html.as_uri()}" in out.stdout
