"""python -m patronage report: the main job, on CDNOW, on a simulated log, and on bad files."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import warnings

import numpy as np
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
    assert clv.paragraphs[0].startswith("The average customer is still active with probability 79.7% (BG/NBD")
    assert "not identified" not in rep.to_html()
    assert rep.customers[["p_alive", "clv"]].notna().all().all()


def test_report_says_when_the_bgnbd_is_not_identified():
    # a log without dropout: a and b run off to the edge; P(alive), purchases and CLV are still determined
    # (everybody is alive: P(alive) 1, value at risk 0), so the report gives them with their range along the
    # ridge and says why; the win-back list does not rank by the unidentified model
    tx = patronage.datasets.simulate_transactions(1500, a=1.0, b=1e6, random_state=1)
    rep = customer_report(tx, top=10)  # the model's warning goes into the text, not to stderr
    clv = next(s for s in rep.sections if s.key == "clv")
    assert clv.paragraphs[0].startswith("The average customer is still active with probability 100.0% (range "
                                        "100.0% to 100.0%)")
    assert "a = " in clv.paragraphs[1] and "are not determined by the data" in clv.paragraphs[1]
    assert "within the likelihood-ratio 95% range" in clv.paragraphs[1]
    params = dict(clv.tables)["Purchase and dropout model (BG/NBD, time unit: weeks)"]
    b, low, high = (float(v.replace("∞", "inf")) for v in params.loc["b: dropout, second shape"])
    assert 0 <= low < 1e-50 * b and high > 1e50 * b  # the interval says it: the data do not determine b
    c = rep.customers
    assert (c["p_alive"] > 0.999).all() and c["clv"].notna().all()
    winback = next(s for s in rep.sections if s.key == "winback")
    assert "(the churn model's probability x past spend)" in winback.paragraphs[0]
    assert c["winback_rank"].notna().sum() == 10 and c["spend_at_risk"].notna().sum() == 10


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


# --- an analyst's own export: every option, and every failure as one line ---------------------------------------

def _european_export(path, encoding="cp1252"):
    """A ';'-separated, decimal-comma, day-first export with a non-ASCII column name, and its clean twin."""
    tx = patronage.datasets.simulate_transactions(400, random_state=7)
    export = pd.DataFrame({"Kunde": tx["customer_id"], "Datum": tx["date"].dt.strftime("%d.%m.%Y"),
                           "Umsatz €": tx["amount"].round(2)})
    export.to_csv(path, sep=";", decimal=",", index=False, encoding=encoding)
    return tx.assign(amount=tx["amount"].round(2))


def test_european_export_is_one_set_of_flags_away(tmp_path):
    clean = _european_export(tmp_path / "export.csv")
    out = run(tmp_path, "report", "export.csv", "--customer", "Kunde", "--date", "Datum", "--amount", "Umsatz €",
              "--sep", ";", "--decimal", ",", "--encoding", "cp1252", "--date-format", "%d.%m.%Y",
              "--currency", "EUR", "--tiers", "4", "--churn-days", "60", "--clv-months", "6", "--top", "15",
              "--out", "reports/march/report.html", "--quiet")
    assert out.returncode == 0, out.stderr
    html = tmp_path / "reports" / "march" / "report.html"  # the missing folders were made first
    assert f"wrote {html}" in out.stdout and html.as_uri() in out.stdout
    customers = pd.read_csv(tmp_path / "reports" / "march" / "report.csv", index_col=0)
    want = patronage.rfm_table(clean)  # the reference: the same log read from clean columns
    np.testing.assert_allclose(customers["total_spend"], want["total_spend"], rtol=1e-12)
    assert (customers["n_orders"] == want["n_orders"]).all()
    assert customers["tier"].nunique() == 4 and customers["winback_rank"].max() <= 15
    page = html.read_text()
    assert "no purchase in the next 60 days" in page and "next 6 months" in page
    assert re.search(r"EUR [\d,]+", page)


def test_parquet_input_reads_like_the_csv(tmp_path):
    tx = patronage.datasets.simulate_transactions(300, random_state=8)
    tx.to_parquet(tmp_path / "log.parquet")
    tx.to_csv(tmp_path / "log.csv", index=False)
    for name in ("log.parquet", "log.csv"):
        out = run(tmp_path, "report", name, "--out", name + ".html", "--quiet")
        assert out.returncode == 0, out.stderr
    a = pd.read_csv(tmp_path / "log.parquet.csv", index_col=0)
    b = pd.read_csv(tmp_path / "log.csv.csv", index_col=0)
    pd.testing.assert_frame_equal(a, b)


def test_a_log_without_amounts_gets_a_report_without_money(tmp_path):
    tx = patronage.datasets.simulate_transactions(500, random_state=9).drop(columns="amount")
    tx.to_csv(tmp_path / "visits.csv", index=False)
    out = run(tmp_path, "report", "visits.csv", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "leaves out: RFM segments, revenue concentration, value tiers" in out.stdout
    page = (tmp_path / "patronage_report.html").read_text()
    assert "<section id='segments'>" not in page and "<section id='winback'>" in page


@pytest.mark.parametrize("args, words", [
    (["--date-format", "%m/%d/%Y"], ["'31.01.1997'", "date_format='%m/%d/%Y'"]),
    ([], ["'31.01.1997'", "never guessed", "--date-format", "'%d.%m.%Y'"]),
    (["--date-format", "mixed"], ["date_format", "'mixed'", "accepted"]),
    (["--date-format", "%d.%m.%Y", "--encoding", "klingon"], ["--encoding 'klingon'"]),
    (["--date-format", "%d.%m.%Y", "--encoding", "utf-8"], ["not utf-8 text", "--encoding cp1252"]),
    (["--tiers", "0"], ["--tiers must be a whole number >= 1, got '0'"]),
    (["--churn-days", "soon"], ["--churn-days must be a whole number >= 1"]),
    (["--no-such-option"], ["unrecognized arguments: --no-such-option"]),
])
def test_every_failure_is_one_error_line(tmp_path, args, words):
    # cp1252 bytes in a column the report reads (columns it does not read are not decoded)
    pd.DataFrame({"customer_id": ["café", "thé"], "date": ["31.01.1997", "01.02.1997"], "amount": [1.0, 2.0],
                  "note": ["café", "thé"]}).to_csv(tmp_path / "log.csv", index=False, encoding="cp1252")
    out = run(tmp_path, "report", "log.csv", "--quiet", "--encoding", "cp1252", *args)  # args may override
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    for w in words:
        assert w in out.stderr
    assert not list(tmp_path.glob("patronage_report*"))


def test_truncated_gzip_is_one_error_line(tmp_path):
    import gzip

    data = gzip.compress(patronage.datasets.simulate_transactions(300, random_state=1).to_csv(index=False).encode())
    (tmp_path / "log.csv.gz").write_bytes(data[: len(data) // 2])
    out = run(tmp_path, "report", "log.csv.gz", "--quiet")
    assert out.returncode == 2 and out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_console_script_and_lazy_report_module():
    import importlib.metadata

    entry = [e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == "patronage"]
    assert entry and entry[0].value == "patronage.__main__:main"
    code = ("import sys, patronage; assert 'matplotlib' not in sys.modules; "
            "assert 'annotations' not in dir(patronage) and 'report' in dir(patronage); "
            "print(patronage.report.customer_report.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "customer_report", out.stderr


def test_warnings_during_a_run_are_summarised_in_one_line_each(tmp_path, monkeypatch, capsys):
    import patronage.report
    from patronage.__main__ import main

    real = patronage.report.customer_report

    def noisy(*args, **kwargs):
        for _ in range(3):  # the same warning three times: said once
            warnings.warn("the model is\nunsure", RuntimeWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(patronage.report, "customer_report", noisy)
    patronage.datasets.simulate_transactions(300, random_state=2).to_csv(tmp_path / "log.csv", index=False)
    assert main(["report", str(tmp_path / "log.csv"), "--out", str(tmp_path / "r.html"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: the model is unsure\n"
