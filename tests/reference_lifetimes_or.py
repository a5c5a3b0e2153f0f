"""Reference fits of lifetimes 0.11.3 on the Online Retail II 2009-2010 log, for
tests/test_online_retail_btyd.py (which reads the JSON this writes and does not need lifetimes).

    .venv/bin/python tests/reference_lifetimes_or.py [--lifetimes-python /work/venv-lifetimes/bin/python]

The summaries are Patronage's (``btyd_summary`` with default options: days, returns netted and never
orders), at invoice level (one row per invoice, its lines summed, as tests/test_online_retail.py) and
at line level (every invoice line a transaction), cancellations included. This script builds them with Patronage in this interpreter, then fits
lifetimes' BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter (frequency, recency, T) and
GammaGammaFitter (repeat buyers with monetary_value > 0, the rows Patronage's GammaGamma fits) with
default options in lifetimes' own virtual environment (as benches/bench_btyd.py does), and writes their
estimates, or that the fit raised (lifetimes raises ConvergenceError when scipy's minimize reports no
success), to tests/data/lifetimes_online_retail.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import patronage

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT.parent / "shared" / "data" / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz"
OUT = ROOT / "tests" / "data" / "lifetimes_online_retail.json"

LIFETIMES_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
d = np.load(sys.argv[1])
s = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "monetary_value")})
out = {}
for name, cls, cols in (("BetaGeo", BetaGeoFitter, ("frequency", "recency", "T")),
                        ("ModifiedBetaGeo", ModifiedBetaGeoFitter, ("frequency", "recency", "T")),
                        ("ParetoNBD", ParetoNBDFitter, ("frequency", "recency", "T")),
                        ("GammaGamma", GammaGammaFitter, ("frequency", "monetary_value"))):
    data = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)] if name == "GammaGamma" else s
    try:
        m = cls().fit(*(data[c] for c in cols))
        out[name] = {"converged": True, "params": [float(v) for v in m.params_.values]}
    except Exception as exc:  # ConvergenceError, or a NaN likelihood
        out[name] = {"converged": False, "error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"}
print(json.dumps(out))
"""


def logs() -> dict:
    """The log as an analyst loads it (see the project notes), cancellations included, by line and by
    invoice."""
    raw = pd.read_csv(LOG)
    lines = (raw.dropna(subset=["Customer ID"]).assign(amount=raw["Quantity"] * raw["Price"])
             .rename(columns={"Customer ID": "customer_id", "InvoiceDate": "date"}))
    invoices = lines.groupby(["customer_id", "Invoice"], as_index=False).agg(date=("date", "min"),
                                                                             amount=("amount", "sum"))
    return {"invoice": invoices, "line": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lifetimes-python", default="/work/venv-lifetimes/bin/python")
    args = parser.parse_args()
    doc = {"lifetimes": "0.11.3", "log": LOG.name, "levels": {}}
    for level, tx in logs().items():
        summary = patronage.btyd_summary(tx)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "summary.npz"
            np.savez(data, **{c: summary[c].to_numpy(dtype=float)
                              for c in ("frequency", "recency", "T", "monetary_value")})
            proc = subprocess.run([args.lifetimes_python, "-c", LIFETIMES_SCRIPT, str(data)],
                                  capture_output=True, text=True, check=True)
        fits = json.loads(proc.stdout.strip().splitlines()[-1])
        doc["levels"][level] = {"customers": len(summary), "fits": fits}
        print(level, json.dumps(fits))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
