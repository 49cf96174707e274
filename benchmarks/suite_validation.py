"""How long validating the whole suite takes (oracle and noop on every variant, in the real
sandbox), per family and in all, and what that means for a suite of 64+ variants.

    python benchmarks/suite_validation.py            # the concurrent schedule `validate` uses
    python benchmarks/suite_validation.py --serial   # also one sample at a time, for the ratio

Prints each family's scoring time per attempt (median and max), the wall time, the parallelism
achieved (scoring seconds summed over attempts / wall seconds), and the wall time a suite of
``--project`` variants would take at this suite's mean scoring time and parallelism. The target
is 15 minutes for 64 variants on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from rsibench.records import load_records

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15 * 60


def validate(extra: list[str]) -> tuple[float, list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "rsibench.cli", "validate", "--records-dir", tmp,
             "--log-dir", f"{tmp}/logs", *extra],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.monotonic() - started
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"validate failed (exit {proc.returncode})")
        records = [r for f in sorted(Path(tmp).glob("*.jsonl")) for r in load_records(f)]
    return wall, records


def report(label: str, wall: float, records: list[dict], project: int) -> None:
    by_family: dict[str, list[float]] = defaultdict(list)
    for r in records:
        by_family[r["family"]].append(r["scoring_time_s"])
    print(f"\n{label}: {len(records)} attempts in {wall:.0f} s")
    print(f"  {'family':24} {'attempts':>8} {'median s':>9} {'max s':>7}")
    for fam, times in sorted(by_family.items()):
        print(f"  {fam:24} {len(times):8d} {statistics.median(times):9.1f} {max(times):7.1f}")
    scoring = sum(t for times in by_family.values() for t in times)
    parallelism = scoring / wall
    variants = len({r["task_id"] for r in records})
    mean = scoring / len(records)
    projected = project * 2 * mean / parallelism
    print(f"  scoring seconds summed {scoring:.0f}; parallelism {parallelism:.2f}")
    print(
        f"  mean scoring per attempt {mean:.1f} s over {variants} variants; "
        f"{project} variants at this mean and parallelism: {projected:.0f} s "
        f"({'within' if projected <= TARGET_S else 'over'} the {TARGET_S} s target)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serial", action="store_true", help="also run one sample at a time")
    ap.add_argument("--project", type=int, default=64, help="suite size to project to")
    args = ap.parse_args()
    wall, records = validate([])
    report("concurrent (oracle and noop side by side, 2 samples each)", wall, records, args.project)
    if args.serial:
        serial_wall, serial_records = validate(["--max-samples", "1"])
        report("one sample at a time per agent", serial_wall, serial_records, args.project)
        print(f"\nwall-time ratio concurrent / serial: {wall / serial_wall:.2f}")


if __name__ == "__main__":
    main()
