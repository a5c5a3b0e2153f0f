"""python -m patronage: the main job."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patronage", *args], capture_output=True, text=True, timeout=300)


def test_default_runs_on_bundled_cdnow():
    out = run()
    assert out.returncode == 0, out.stderr
    assert "69,659 transactions (bundled CDNOW log)" in out.stdout
    for segment in ("Champions", "Lost", "share_of_revenue"):
        assert segment in out.stdout


def test_bad_file_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"cid": [1], "date": ["2024-01-01"], "amount": [1.0]}).to_csv(bad, index=False)
    out = run(str(bad))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "'customer_id'" in out.stderr and "columns found: 'cid', 'date', 'amount'" in out.stderr
    ok = run(str(bad), "--customer", "cid")
    assert ok.returncode == 0, ok.stderr
