"""k-means: patronage vs scikit-learn (lloyd, elkan) vs linfa, same data, same run.

    python benches/bench_cluster.py            # N = 100k and 1M, D = 3 and 16, K = 8, 1 and 2 threads
    python benches/bench_cluster.py --quick    # N = 100k only

Two measurements per configuration:
- fixed iterations: 10 Lloyd iterations (tol = 0) from the same initial
  centres; time per iteration (total / iterations, so the final assignment
  pass each library makes is included), best of REPEATS runs;
- default convergence: each library's defaults with one k-means++ run
  (n_init = 1 for all; linfa's default is 10 runs, set to 1), over SEEDS
  random states: median total time and median inertia (one seed alone is
  luck: k-means++ lands in different local minima; linfa runs seed 0 only).
Each series of runs starts after SETTLE seconds of idle time; fixed mode
reports the best of REPEATS runs.
The inertia of every result is recomputed here with one formula, so the
comparison does not depend on how each library reports it.

Each library and thread count runs in a process of its own, with
RAYON_NUM_THREADS, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set: one library's
idle worker threads (OpenMP and OpenBLAS spin for a while after a job) never
run next to another library's fit. The linfa peer is the small crate in
benches/linfa_kmeans (built here with cargo on first use).

The per-iteration lower bound: one Lloyd iteration must both compute
N*K*D*2 flops and read N*D*8 bytes, so it takes at least the slower of the
two. The peak flops and the read bandwidths are measured in the same run, on
this machine, with the same thread count: numpy dgemm for flops, and reading
(numpy's max) an array of the data's own size for each data set (in cache when
it fits; a 512 MB array is also read, for reference). /work/shared/PEERS.md
gives the figures of the machine the peers were measured on.

"one Lloyd iteration" is measured apart from the fits' per-iteration time
(fit time / iterations, which also carries the input scan, the allocations
and the final assignment pass): it is the time of a Lloyd fit of ITERS
iterations minus that of a 1-iteration fit, from the same centres, divided by
the extra iterations, each fit the best of ITERATION_REPEATS runs. It is
the mean of iterations 2 to ITERS: patronage's first pass adds every row to
the centre sums, the later ones only the rows that change cluster. The two
fits alternate, so the machine's slow spells weigh on both. Its ratio to the
bound (it/bound) takes the bound measured again (dgemm and the read at the
data's size, same threads) just before each of ITERATION_SERIES such series,
in the same process: on this shared 2-core VM a slow spell can last minutes
(one vCPU was at times 1.5x slower than the other), so a bound measured at
the start of the run and an iteration measured in such a spell are not of the
same machine. The series' ratios, iterations and bounds are reported as
medians.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

K = 8
ITERS = 10
SEEDS = tuple(range(9))
# idle time before each series of runs (a library's own earlier work settles);
# the runs of a series follow each other, so the best (fixed mode) or the
# median (default mode) is a warm figure for every library
SETTLE = 0.3
REPEATS = 5
# one iteration is a difference of two fits, so each is the best of more runs;
# ITERATION_SERIES series of them, each after its own bound measurement (a slow
# spell of the shared machine can last a whole series: at 100k x 3, 2 threads,
# series gave 0.058-0.107 ms in one minute)
ITERATION_REPEATS = 11
ITERATION_SERIES = 5
HERE = Path(__file__).resolve().parent
PEER = HERE / "linfa_kmeans"


def machine_peaks(threads: int, sizes: list[int]) -> dict:
    """Peak f64 flops (dgemm) and read bandwidth (512 MB, and an array of each
    data set's size) with `threads` threads."""
    flops = dgemm_flops()
    at_size = {str(n * d * 8): read_bandwidth(n * d, threads) for n in sizes for d in (3, 16)}
    return {"flops": flops, "bandwidth": read_bandwidth(64 * 2 ** 20, threads), "bandwidth_at": at_size}


def dgemm_flops() -> float:
    """Peak f64 flops: numpy's 2048 x 2048 matrix product, best of 3."""
    a = np.random.default_rng(0).random((2048, 2048))
    return 2 * 2048 ** 3 / min(_timed(lambda: a @ a) for _ in range(3))


def read_bandwidth(values: int, threads: int) -> float:
    """Bytes per second reading `values` float64s split over `threads` threads,
    with numpy's `max` (its SIMD loop reads faster than `sum`'s: 24 against 16
    GB/s at 128 MB, 44 against 34 GB/s at 2.4 MB, on one thread here). Each
    thread reads its part many times in a row (about 2 GB in all), so a small
    array is read from cache and the pool's start-up cost is amortised."""
    from concurrent.futures import ThreadPoolExecutor

    parts = np.array_split(np.ones(values), threads)
    repeats = max(3, 2 ** 28 // values)

    def read(part: np.ndarray) -> None:
        for _ in range(repeats):
            np.max(part)

    with ThreadPoolExecutor(threads) as pool:  # numpy releases the GIL while reading
        list(pool.map(np.max, parts))
        best = min(_timed(lambda: list(pool.map(read, parts))) for _ in range(3))
    return repeats * values * 8 / best


def _timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def lower_bound(n: int, d: int, flops: float, bandwidth: float) -> float:
    """Seconds one Lloyd iteration takes at least: its flops at `flops`, or
    its read of the data at `bandwidth` (bytes per second), the slower."""
    return max(n * K * d * 2 / flops, n * d * 8 / bandwidth)


def make_data(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2024 + d)
    centres = rng.uniform(-10, 10, size=(12, d))
    X = centres[rng.integers(0, 12, n)] + rng.normal(scale=2.0, size=(n, d))
    start = X[rng.choice(n, K, replace=False)].copy()
    return np.ascontiguousarray(X), start


def inertia(X: np.ndarray, centres: np.ndarray) -> float:
    total = 0.0
    cc = (centres ** 2).sum(1)
    for chunk in np.array_split(X, max(1, len(X) // 65536)):
        d = (chunk ** 2).sum(1)[:, None] - 2 * chunk @ centres.T + cc[None, :]
        total += float(np.maximum(d.min(1), 0).sum())
    return total


def linfa_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", HERE.parent / "target"))  # /target is git-ignored
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(PEER / "Cargo.toml")],
                   check=True, env={**os.environ, "CARGO_TARGET_DIR": str(target)})
    return target / "release" / "linfa-kmeans-peer"


def run_linfa(binary: Path, path: str, n: int, d: int, args: list[str]) -> tuple[float, np.ndarray]:
    out = subprocess.run([str(binary), path, str(n), str(d), str(K), *args], check=True, capture_output=True,
                         text=True)
    doc = json.loads(out.stdout)
    return doc["seconds"], np.asarray(doc["centroids"]).reshape(K, d)


def lloyd_iteration(patronage, X: np.ndarray, start: np.ndarray, threads: int) -> dict:
    """One Lloyd iteration, and its ratio to the bound measured just before it.

    Each of ITERATION_SERIES series first measures the bound (`bound_now`),
    then times fits of 1 and of ITERS iterations, alternating, ITERATION_REPEATS
    of each: the series' iteration is (best ITERS fit - best 1-iteration fit) /
    the extra iterations, and its ratio is that over the series' own bound, so
    both sides of the ratio see the same spell of the shared machine. The
    figures are the medians over the series.
    """
    n, d = X.shape
    series = []
    for _ in range(ITERATION_SERIES):
        bound = bound_now(n, d, threads)
        time.sleep(SETTLE)  # OpenBLAS' threads spin for a while after the dgemm
        best = {}
        for _ in range(ITERATION_REPEATS):
            # the two fits alternate, so a slow spell slows both, not just one
            # (which would move their difference)
            for max_iter in (1, ITERS):
                model = patronage.KMeans(K, init=start, max_iter=max_iter, tol=0.0, algorithm="lloyd")
                t = time.perf_counter()
                model.fit(X)
                dt = time.perf_counter() - t
                best[max_iter] = min(dt, best.get(max_iter, (dt, 0))[0]), int(model.n_iter_)
        (t1, i1), (tn, iters) = best[1], best[ITERS]
        one = (tn - t1) / max(iters - i1, 1)
        series.append((one, bound, one / bound))
    one, bound, ratio = (float(np.median(column)) for column in zip(*series))
    return dict(seconds=one, bound=bound, ratio=ratio)


def bound_now(n: int, d: int, threads: int) -> float:
    """`lower_bound` for an n x d data set, from peaks measured now."""
    return lower_bound(n, d, dgemm_flops(), read_bandwidth(n * d, threads))


def worker(threads: int, sizes: list[int], binary: str, lib: str) -> list[dict]:
    """One library's measurements (or the machine's peaks), alone in this process.

    Inertias are computed after all the timing: numpy's matrix product would
    leave OpenBLAS threads spinning into the next timed fit (about 0.1 s here;
    the dgemm of `bound_now` is followed by SETTLE seconds of sleep).
    """
    if lib == "peaks":
        return [dict(threads=threads, mode="peaks", **machine_peaks(threads, sizes))]
    if lib == "patronage":
        import patronage

        fixed = {
            "patronage": lambda start: patronage.KMeans(K, init=start, max_iter=ITERS, tol=0.0),
            "patronage lloyd": lambda start: patronage.KMeans(K, init=start, max_iter=ITERS, tol=0.0,
                                                              algorithm="lloyd"),
        }
        defaults = {"patronage": lambda seed: patronage.KMeans(K, random_state=seed)}
    elif lib == "sklearn":
        from sklearn.cluster import KMeans as SkKMeans

        fixed = {
            f"sklearn {a}": (lambda a: lambda start: SkKMeans(K, init=start, n_init=1, max_iter=ITERS, tol=0.0,
                                                              algorithm=a))(a)
            for a in ("lloyd", "elkan")
        }
        defaults = {
            f"sklearn {a}": (lambda a: lambda seed: SkKMeans(K, random_state=seed, n_init=1, algorithm=a))(a)
            for a in ("lloyd", "elkan")
        }
    else:
        fixed, defaults = {}, {}
    rows, fits = [], []
    for n in sizes:
        for d in (3, 16):
            X, start = make_data(n, d)
            for name, make in fixed.items():
                best = None
                time.sleep(SETTLE)
                for _ in range(REPEATS):
                    model = make(start)
                    t = time.perf_counter()
                    model.fit(X)
                    dt = time.perf_counter() - t
                    best = dt if best is None else min(best, dt)
                rows.append(dict(threads=threads, n=n, d=d, mode="fixed", lib=name, seconds=best,
                                 iters=int(model.n_iter_)))
                fits.append([model.cluster_centers_])
            if lib == "patronage":
                rows.append(dict(threads=threads, n=n, d=d, mode="iteration", lib="patronage lloyd", iters=1,
                                 **lloyd_iteration(patronage, X, start, threads)))
                fits.append([])
            for name, make in defaults.items():
                runs, centres = [], []
                time.sleep(SETTLE)
                for seed in SEEDS:
                    model = make(seed)
                    t = time.perf_counter()
                    model.fit(X)
                    runs.append((time.perf_counter() - t, int(model.n_iter_)))
                    centres.append(model.cluster_centers_)
                rows.append(dict(threads=threads, n=n, d=d, mode="default", lib=name,
                                 seconds=float(np.median([r[0] for r in runs])),
                                 iters=int(np.median([r[1] for r in runs]))))
                fits.append(centres)
            if lib == "linfa":
                tmp = tempfile.mkdtemp()
                data_path, init_path = os.path.join(tmp, "x.f64"), os.path.join(tmp, "c.f64")
                X.astype("<f8").tofile(data_path)
                start.astype("<f8").tofile(init_path)
                secs = []
                time.sleep(SETTLE)
                for _ in range(REPEATS):
                    sec, c = run_linfa(Path(binary), data_path, n, d, ["fixed", str(ITERS), init_path])
                    secs.append(sec)
                rows.append(dict(threads=threads, n=n, d=d, mode="fixed", lib="linfa", seconds=min(secs),
                                 iters=ITERS))
                fits.append([c])
                time.sleep(SETTLE)
                sec, c = run_linfa(Path(binary), data_path, n, d, ["default", "0"])
                rows.append(dict(threads=threads, n=n, d=d, mode="default", lib="linfa", seconds=sec, iters=-1))
                fits.append([c])
                for path in (data_path, init_path):
                    os.remove(path)
                os.rmdir(tmp)
    # the inertias, last (median over the seeds in default mode)
    for row, centres in zip(rows, fits):
        if not centres:
            continue
        X, _ = make_data(row["n"], row["d"])
        row["inertia"] = float(np.median([inertia(X, c) for c in centres]))
    return rows


def report(rows: list[dict]) -> None:
    peaks = {r["threads"]: r for r in rows if r["mode"] == "peaks"}
    rows = [r for r in rows if r["mode"] != "peaks"]
    for t, p in sorted(peaks.items()):
        at = ", ".join(f"{int(b) / 1e6:.1f} MB {v / 1e9:.1f}" for b, v in sorted(p["bandwidth_at"].items(),
                                                                              key=lambda kv: int(kv[0])))
        print(f"this machine, {t} thread(s): f64 peak {p['flops'] / 1e9:.0f} GFLOP/s (dgemm), "
              f"read bandwidth {p['bandwidth'] / 1e9:.1f} GB/s (512 MB); at the data sizes, GB/s: {at}")
    keys = sorted({(r["n"], r["d"], r["threads"]) for r in rows})
    print(f"\nFixed {ITERS} iterations from the same centres, K = {K}: ms per iteration "
          "(speed-up of patronage = peer time / patronage time)")
    print(f"{'N':>8} {'D':>3} {'thr':>3} | {'patronage':>9} {'lloyd':>7} | {'sk lloyd':>8} {'sk elkan':>8} "
          f"{'linfa':>7} | {'vs best sk':>10} {'vs linfa':>8} | {'bound':>6} {'pt/bound':>8} | "
          f"{'1 iter':>6} {'bound':>6} {'it/bound':>8} | inertia vs sk lloyd: pt+elkan / linfa")
    for n, d, t in keys:
        get = {r["lib"]: r for r in rows if (r["n"], r["d"], r["threads"], r["mode"]) == (n, d, t, "fixed")}
        ms = {lib: 1e3 * r["seconds"] / max(r["iters"], 1) for lib, r in get.items()}
        best_sk = min(ms["sklearn lloyd"], ms["sklearn elkan"])
        bound = 1e3 * lower_bound(n, d, peaks[t]["flops"], peaks[t]["bandwidth_at"][str(n * d * 8)])
        it = next(r for r in rows if (r["n"], r["d"], r["threads"], r["mode"]) == (n, d, t, "iteration"))
        ref = get["sklearn lloyd"]["inertia"]
        diff = {lib: abs(get[lib]["inertia"] - ref) / ref for lib in get}
        pt_diff = max(diff["patronage"], diff["patronage lloyd"], diff["sklearn elkan"])
        print(f"{n:>8} {d:>3} {t:>3} | {ms['patronage']:>9.2f} {ms['patronage lloyd']:>7.2f} | "
              f"{ms['sklearn lloyd']:>8.2f} {ms['sklearn elkan']:>8.2f} {ms['linfa']:>7.2f} | "
              f"{best_sk / ms['patronage']:>9.2f}x {ms['linfa'] / ms['patronage']:>7.2f}x | "
              f"{bound:>6.2f} {ms['patronage'] / bound:>7.1f}x | {1e3 * it['seconds']:>6.3f} {1e3 * it['bound']:>6.3f} "
              f"{it['ratio']:>7.1f}x | "
              f"{pt_diff:.0e} / {diff['linfa']:.0e}")
    print(f"\nDefault convergence, one k-means++ run each (n_init = 1), median over random_state in {SEEDS}: "
          "seconds, inertia relative to scikit-learn lloyd")
    print(f"{'N':>8} {'D':>3} {'thr':>3} | {'patronage':>9} {'sk lloyd':>8} {'sk elkan':>8} {'linfa':>7} | "
          f"{'vs best sk':>10} {'vs linfa':>8} | inertia pt / sk lloyd / sk elkan / linfa  (iterations)")
    for n, d, t in keys:
        get = {r["lib"]: r for r in rows if (r["n"], r["d"], r["threads"], r["mode"]) == (n, d, t, "default")}
        s = {lib: r["seconds"] for lib, r in get.items()}
        ref = get["sklearn lloyd"]["inertia"]
        rel = " / ".join(f"{get[lib]['inertia'] / ref:.4f}" for lib in
                         ("patronage", "sklearn lloyd", "sklearn elkan", "linfa"))
        its = "/".join(str(get[lib]["iters"]) for lib in ("patronage", "sklearn lloyd", "sklearn elkan"))
        print(f"{n:>8} {d:>3} {t:>3} | {s['patronage']:>9.3f} {s['sklearn lloyd']:>8.3f} "
              f"{s['sklearn elkan']:>8.3f} {s['linfa']:>7.3f} | "
              f"{min(s['sklearn lloyd'], s['sklearn elkan']) / s['patronage']:>9.2f}x "
              f"{s['linfa'] / s['patronage']:>7.2f}x | {rel}  ({its})")
    print("\nbound: this machine's lower bound for one Lloyd iteration (measured peaks above). PEERS.md's machine "
          "(AVX2, no AVX-512): 1M x 3 0.6 ms, 1M x 16 4.3 ms with 2 threads. Bounds-based pruning can beat the "
          "streaming bound. pt/bound: patronage's fit time per iteration / bound; 1 iter: one Lloyd iteration "
          "in ms (a 10-iteration Lloyd fit minus a 1-iteration fit, per extra iteration), and the bound measured "
          f"just before it; it/bound: their ratio (medians over {ITERATION_SERIES} such series).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N = 100k only")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="", help=argparse.SUPPRESS)
    ap.add_argument("--binary", default="", help=argparse.SUPPRESS)
    ap.add_argument("--lib", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, [int(s) for s in args.sizes.split(",")], args.binary, args.lib)))
        return
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    binary = linfa_binary()
    rows = []
    for threads in (1, 2):
        env = {**os.environ, "RAYON_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
               "OPENBLAS_NUM_THREADS": str(threads)}
        # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow a current numpy down (see the machine notes): unset both
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        # each library alone in its process: no library runs next to another's idle worker threads
        for lib in ("peaks", "patronage", "sklearn", "linfa"):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, __file__, "--worker", str(threads), "--sizes",
                                  ",".join(map(str, sizes)), "--binary", str(binary), "--lib", lib],
                                 env=env, check=True, capture_output=True, text=True)
            rows += json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{threads} thread(s), {lib}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    report(rows)


if __name__ == "__main__":
    main()
