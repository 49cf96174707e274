"""Time the horizon fit with its hierarchical bootstrap, and check parameter recovery.

    python benchmarks/horizon_bootstrap.py              # the timing (target: 10 s)
    python benchmarks/horizon_bootstrap.py --recovery   # true vs estimated p50 on simulations

Timing workload: 10 simulated models x 200 tasks (50 families) x 10 epochs = 20,000 runs,
1000 bootstrap draws, as in the design target (<= 10 s on two cores).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from rsibench.horizon import COLUMNS, estimate_horizons
from rsibench.simulate import simulate_records, synthetic_suite

TARGET_SECONDS = 10.0


def timing(draws: int, repeats: int) -> None:
    suite = synthetic_suite(n_tasks=200, family_size=4, min_minutes=1, max_minutes=960)
    records = []
    for i, true_p50 in enumerate(np.geomspace(2, 480, 10)):
        records += simulate_records(
            suite.variants,
            horizon=float(true_p50),
            suite_version=suite.version,
            epochs=10,
            seed=i,
            model=f"model-{i}",
        )
    df = pd.DataFrame(records)[COLUMNS]
    n_models = df["model"].nunique()
    print(f"{len(df)} runs, {n_models} models, {df['task_id'].nunique()} tasks, {draws} draws")
    print(f"cpus available: {len(os.sched_getaffinity(0))}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        estimate_horizons(df, bootstrap=draws, seed=0)
        times.append(time.perf_counter() - start)
    best = min(times)
    every = ", ".join(f"{t:.2f}" for t in times)
    print(f"estimate_horizons: best of {repeats} {best:.2f} s (all: {every})")
    print(f"ratio to the {TARGET_SECONDS:g} s target: {best / TARGET_SECONDS:.2f}")


def recovery(datasets: int, draws: int) -> None:
    """Per (true p50, epochs): median estimate and error, median interval, and its coverage.

    Errors are |log2(estimate / truth)| (doublings); medians, because with one attempt per task
    an occasional dataset has a nearly flat fit whose horizon is far out.
    """
    suite = synthetic_suite(n_tasks=30)
    print(f"synthetic suite: 30 tasks, 10 families, 1 min - 16 h; slope -0.6; {datasets} datasets")
    print("true p50 | epochs | median est. | median error (doublings) | median 95% CI | coverage")
    for true_p50 in (2.0, 15.0, 60.0, 240.0):
        for epochs in (1, 3, 8):
            records = []
            for seed in range(datasets):
                records += simulate_records(
                    suite.variants,
                    horizon=true_p50,
                    suite_version=suite.version,
                    epochs=epochs,
                    seed=seed,
                    model=f"m{seed:03d}",
                )
            result = estimate_horizons(pd.DataFrame(records)[COLUMNS], bootstrap=draws, seed=0)
            fitted = [m for m in result.models if m.p50 is not None and m.p50_ci is not None]
            est = np.array([m.p50 for m in fitted])
            lo = np.array([m.p50_ci[0] for m in fitted])
            hi = np.array([m.p50_ci[1] for m in fitted])
            with np.errstate(divide="ignore"):
                err = np.abs(np.log2(est / true_p50))
            covered = np.mean((lo <= true_p50) & (true_p50 <= hi))
            print(
                f"{true_p50:8g} | {epochs:6d} | {np.median(est):11.1f} | {np.median(err):24.2f} | "
                f"[{np.median(lo):.1f}, {np.median(hi):.1f}] | {covered:.0%} "
                f"({len(fitted)}/{datasets} with a p50)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--recovery", action="store_true", help="print the recovery table")
    parser.add_argument("--datasets", type=int, default=50, help="datasets per recovery cell")
    args = parser.parse_args()
    if args.recovery:
        recovery(args.datasets, args.draws)
    else:
        timing(args.draws, args.repeats)


if __name__ == "__main__":
    main()
