"""cohort_retention and lifecycle_stages: patronage vs a straightforward pandas implementation, same run.

About 10M transactions of 1M customers from ``patronage.datasets.simulate_transactions`` (BG/NBD with
high purchase rates), as a pandas DataFrame. Both sides start from that DataFrame and return the
same table; the pandas results are checked equal to patronage's before any time is reported.

    python benches/bench_loyalty.py [--customers 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import patronage
from patronage.datasets import simulate_transactions


def pandas_cohort_retention(tx: pd.DataFrame) -> pd.DataFrame:
    """The textbook recipe: period of each row, cohort = first period, nunique per (cohort, age)."""
    period = tx["date"].dt.to_period("M")
    ordinal = pd.Series(period.array.asi8, index=tx.index)
    cohort = ordinal.groupby(tx["customer_id"]).transform("min")
    frame = pd.DataFrame({"customer_id": tx["customer_id"], "cohort": cohort, "age": ordinal - cohort})
    counts = frame.groupby(["cohort", "age"])["customer_id"].nunique().unstack(fill_value=0)
    last = ordinal.max()
    counts = counts.reindex(columns=range(last - ordinal.min() + 1), fill_value=0).astype(float)
    matrix = counts.div(counts[0], axis=0)
    observed = counts.index.to_numpy()[:, None] + np.arange(counts.shape[1])[None, :] <= last
    return matrix.where(observed)


def pandas_lifecycle_stages(tx: pd.DataFrame, new_days: int = 30, k_risk: float = 2.0,
                            k_lapsed: float = 4.0) -> pd.Series:
    """The documented rules with groupby: orders, gaps, median gap, median of the earlier gaps."""
    day = tx["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    orders = pd.DataFrame({"c": tx["customer_id"].to_numpy(), "d": day}).drop_duplicates()
    orders = orders.sort_values(["c", "d"])
    orders["gap"] = orders.groupby("c")["d"].diff()
    as_of = day.max() + 1
    by = orders.groupby("c")
    first, last = by["d"].min(), by["d"].max()
    typical = by["gap"].median()
    is_last = ~orders["c"].duplicated(keep="last")
    last_gap = orders.loc[is_last].set_index("c")["gap"]
    prior = orders.loc[~is_last].groupby("c")["gap"].median().reindex(first.index)
    fallback = typical.median()
    gap, prior = typical.fillna(fallback), prior.fillna(fallback)
    since = as_of - last
    stage = np.select(
        [as_of - first < new_days, since > k_lapsed * gap, since > k_risk * gap, last_gap > k_lapsed * prior],
        ["new", "lapsed", "at_risk", "reactivated"], default="active")
    return pd.Series(stage, index=first.index)


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    tx = simulate_transactions(args.customers, r=2.0, alpha=60.0, a=0.5, b=8.0, random_state=0)
    print(f"{len(tx):,} transactions of {tx['customer_id'].nunique():,} customers, "
          f"{tx['date'].min().date()} .. {tx['date'].max().date()}; best of {args.repeat}")

    t_ours, ours = best_of(args.repeat, lambda: patronage.cohort_retention(tx))
    t_pd, ref = best_of(args.repeat, lambda: pandas_cohort_retention(tx))
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-12, equal_nan=True)
    print(f"cohort_retention   patronage {t_ours:7.2f} s   pandas {t_pd:7.2f} s   ratio {t_pd / t_ours:5.1f}x")

    t_ours, ours = best_of(args.repeat, lambda: patronage.lifecycle_stages(tx))
    t_pd, ref = best_of(args.repeat, lambda: pandas_lifecycle_stages(tx))
    assert (ours["stage"].astype(str).to_numpy() == ref.reindex(ours.index).to_numpy()).all()
    counts = ours["stage"].value_counts().to_dict()
    print(f"lifecycle_stages   patronage {t_ours:7.2f} s   pandas {t_pd:7.2f} s   ratio {t_pd / t_ours:5.1f}x"
          f"   stages {counts}")


if __name__ == "__main__":
    main()
