"""python -m patronage report: the main job, on CDNOW, on a simulated log, and on bad files."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import warnings

import pandas as pd
import pytest

import patronage
from patronage.exceptions import ConvergenceWarning
from patronage.report import customer_report

SECTIONS = ["overview", "segments", "concentration", "tiers", "clv", "churn", "lifecycle", "winback"]
CSV_COLUMNS = {"recency_days", "n_orders", "total_spend", "R", "F", "M", "segment", "tier", "p_alive", "clv",
               "value_at_risk", "p_churn", "stage", "winback_rank"}


def run(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patronage", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def check_html(text: str) -> None:
    for key in SECTIONS:
        assert f"<section id='{key}'>" in text, key
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    assert len(images) >= 6
    import matplotlib.image as mpimg

    for data in images:  # every embedded image decodes as a PNG with pixels
        pixels = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert pixels.shape[0] > 50 and pixels.shape[1] > 50


def test_report_on_bundled_cdnow(tmp_path):
    out = run(tmp_path, "report", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr  # a new user's first run prints no warning
    check_html((tmp_path / "patronage_report.html").read_text())
    customers = pd.read_csv(tmp_path / "patronage_report.csv", index_col=0)
    assert len(customers) == 23570
    assert CSV_COLUMNS <= set(customers.columns)
    assert customers["winback_rank"].notna().sum() == 100
    assert customers["p_alive"].between(0, 1).all() and customers["clv"].notna().all()
    assert "The top 20% of customers bring 67.8% of revenue" in out.stdout


def test_report_on_a_simulated_log_file(tmp_path):
    tx = patronage.datasets.simulate_transactions(3000, random_state=4).rename(
        columns={"customer_id": "cid", "date": "day", "amount": "value"})
    tx.to_csv(tmp_path / "log.csv", index=False)
    out = run(tmp_path, "report", "log.csv", "--customer", "cid", "--date", "day", "--amount", "value",
              "--out", "sim.html", "--top", "25", "--quiet")
    assert out.returncode == 0, out.stderr
    check_html((tmp_path / "sim.html").read_text())
    customers = pd.read_csv(tmp_path / "sim.csv", index_col=0)
    assert len(customers) == 3000 and customers["winback_rank"].max() == 25


@pytest.mark.parametrize("frame, words", [
    (pd.DataFrame({"cid": [1], "date": ["2024-01-01"], "amount": [1.0]}),
     ["'customer_id'", "columns found: 'cid', 'date', 'amount'"]),
    (pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01", "someday"], "amount": [1.0, 2.0]}),
     ["'date'", "'someday'", "index label 1"]),
])
def test_bad_file_one_line_exit_2_no_output(tmp_path, frame, words):
    frame.to_csv(tmp_path / "bad.csv", index=False)
    out = run(tmp_path, "report", "bad.csv", "--quiet")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and out.stderr.startswith("error: ")
    for w in words:
        assert w in out.stderr
    assert not list(tmp_path.glob("patronage_report*")) and not list(tmp_path.glob(".patronage-*"))


def test_amount_as_a_product_of_two_columns(tmp_path):
    frame = pd.DataFrame({"customer_id": [1, 1, 2], "date": ["2024-01-01", "2024-02-01", "2024-01-15"],
                          "qty": [2, 1, 3], "price": [5.0, 4.0, 1.5]})
    frame.to_csv(tmp_path / "lines.csv", index=False)
    out = run(tmp_path, "report", "lines.csv", "--amount", "qty*cost", "--quiet")
    assert out.returncode == 2 and "'cost' is not a column" in out.stderr
    from patronage.__main__ import _with_amount

    assert _with_amount(frame, "qty*price")["qty*price"].tolist() == [10.0, 4.0, 4.5]
    assert _with_amount(frame, "price") is frame


def test_missing_file(tmp_path):
    out = run(tmp_path, "report", "nope.csv", "--quiet")
    assert out.returncode == 2 and "no such file" in out.stderr


def test_default_pipeline_on_bundled_cdnow_runs_clean():
    # pyproject's filterwarnings = error is in force here (no filter hides a ConvergenceWarning) ...
    with pytest.raises(ConvergenceWarning):
        warnings.warn(ConvergenceWarning("a warning is an error in this test"))
    # ... so the report's BG/NBD and Gamma-Gamma fits on the bundled log emit none
    rep = customer_report(patronage.datasets.load_cdnow())
    clv = next(s for s in rep.sections if s.key == "clv")
    assert clv.paragraphs[0].startswith("The BG/NBD model estimates that the average customer is still active")
    assert "not identified" not in rep.to_html()
    assert rep.customers[["p_alive", "clv"]].notna().all().all()


def test_report_says_when_the_bgnbd_is_not_identified():
    # a log without dropout: a and b run off, so P(alive) and CLV would print unsupported numbers
    tx = patronage.datasets.simulate_transactions(1500, a=1.0, b=1e6, random_state=1)
    rep = customer_report(tx, top=10)  # the model's warning goes into the text, not to stderr
    clv = next(s for s in rep.sections if s.key == "clv")
    assert clv.paragraphs[0].startswith("The BG/NBD model is not identified on this data, so this report gives "
                                        "no P(alive)")
    assert "a = " in clv.paragraphs[1] and "are not determined by the data" in clv.paragraphs[1]
    assert "still active with probability" not in rep.to_html() and not clv.figures
    params = dict(clv.tables)["Model parameters (time unit: weeks)"]
    b, low, high = params.loc["b"]
    assert 0 <= low < 1e-50 * b and high > 1e50 * b  # the interval says it: the data do not determine b
    assert rep.customers[["p_alive", "clv", "value_at_risk"]].isna().all().all()
    # the rest of the report goes on with what is reliable: the churn model, ranked by past spend
    winback = next(s for s in rep.sections if s.key == "winback")
    assert "(the churn model's probability x past spend)" in winback.paragraphs[0]
    assert rep.customers["winback_rank"].notna().sum() == 10


def test_report_object_is_deterministic():
    tx = patronage.datasets.simulate_transactions(800, random_state=2)
    a = customer_report(tx, top=10).customers
    b = customer_report(tx, top=10).customers
    pd.testing.assert_frame_equal(a, b)


def test_saved_files_have_the_usual_permissions(tmp_path):
    import os

    rep = customer_report(patronage.datasets.simulate_transactions(300, random_state=0), top=5)
    rep.save(str(tmp_path / "r.html"), str(tmp_path / "r.csv"))
    umask = os.umask(0)
    os.umask(umask)
    for name in ("r.html", "r.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
