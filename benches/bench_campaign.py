"""Bootstrap intervals of a campaign's effect: patronage vs scipy.stats.bootstrap, same run.

The Hillstrom test (64,000 customers; spend is heavy-tailed: most spend 0): the percentile bootstrap
interval of each e-mail's effect on spend against no e-mail. patronage draws the resamples in Rust on
all cores (one ChaCha8 stream per resample); scipy draws them with numpy, vectorized in batches. Both
intervals are checked against each other (within 25% of Welch's half-width: they differ by Monte
Carlo noise only) before any time is reported.

    python benches/bench_campaign.py [--resamples 2000] [--repeat 2] [--data PATH]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from patronage.campaign import measure_effect
from patronage.datasets import load_hillstrom


def scipy_intervals(df, resamples: int, seed: int) -> np.ndarray:
    control = df.loc[df["treatment"] == "No E-Mail", "spend"].to_numpy()
    out = []
    for treatment in ("Mens E-Mail", "Womens E-Mail"):
        treated = df.loc[df["treatment"] == treatment, "spend"].to_numpy()
        res = stats.bootstrap((treated, control), lambda a, b, axis: a.mean(axis) - b.mean(axis),
                              n_resamples=resamples, method="percentile", vectorized=True, batch=100,
                              random_state=np.random.default_rng(seed))
        out.append([res.confidence_interval.low, res.confidence_interval.high])
    return np.array(out)


def best_of(repeat: int, f):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data", default=None, help="hillstrom.csv.gz (default: ../shared/data/hillstrom)")
    args = parser.parse_args()
    df = load_hillstrom(args.data)

    def ours():
        t = measure_effect(df, treatment="treatment", outcome="spend", control="No E-Mail",
                           n_resamples=args.resamples, random_state=0).table
        return t[["ci_low", "ci_high"]].to_numpy()

    t_ours, ci_ours = best_of(args.repeat, ours)
    t_scipy, ci_scipy = best_of(args.repeat, lambda: scipy_intervals(df, args.resamples, 0))
    welch = measure_effect(df, treatment="treatment", outcome="spend", control="No E-Mail").table
    half = ((welch["ci_high"] - welch["ci_low"]) / 2).to_numpy()[:, None]
    assert np.all(np.abs(ci_ours - ci_scipy) < 0.25 * half), (ci_ours, ci_scipy)
    print(f"bootstrap, {args.resamples} resamples, 2 comparisons of ~21,300 vs 21,306 customers")
    print(f"  patronage  {t_ours:8.3f} s   intervals {np.round(ci_ours, 4).tolist()}")
    print(f"  scipy      {t_scipy:8.3f} s   intervals {np.round(ci_scipy, 4).tolist()}")
    print(f"  ratio scipy / patronage: {t_scipy / t_ours:.1f}x")


if __name__ == "__main__":
    main()
