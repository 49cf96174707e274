"""Time the start-up of the `rsibench` command: `--help`, and `horizon` on a small file.

    python benchmarks/cli_startup.py [--repeats 7]      # target: under 0.5 s each

Each case runs the real console script in a fresh process, as a user or a CI job would; the
median wall time of the repeats is reported. Also checks that the analysis commands import
neither inspect-ai nor the Docker SDK (nor pandas, which alone takes about 0.3 s to import).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.5
REPO = Path(__file__).resolve().parents[1]
HEAVY = ("inspect_ai", "docker", "pandas", "matplotlib")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def _time(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=_env(), cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _imported(args: list[str]) -> list[str]:
    """Heavy modules loaded by `rsibench ARGS`, run in-process."""
    code = (
        "import sys\nfrom rsibench.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=REPO
    )
    line = next(ln for ln in out.stderr.splitlines() if ln.startswith("HEAVY:"))
    return [m for m in line.removeprefix("HEAVY:").split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs.jsonl"
        base = [sys.executable, "-m", "rsibench.cli"]
        subprocess.run(
            [*base, "simulate", "--horizon", "30", "--epochs", "4", "--out", str(runs)],
            check=True,
            capture_output=True,
            env=_env(),
            cwd=REPO,
        )
        n_runs = len(runs.read_text().splitlines())
        cases = {
            "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
            "rsibench --help": [*base, "--help"],
            f"rsibench horizon ({n_runs} runs, 1000 bootstrap draws)": [
                *base,
                "horizon",
                str(runs),
            ],  # fmt: skip
            f"rsibench horizon --json ({n_runs} runs)": [*base, "horizon", str(runs), "--json"],
        }
        print(f"median of {args.repeats} runs each; target < {TARGET_SECONDS} s")
        worst = 0.0
        for name, argv in cases.items():
            seconds = _time(argv, args.repeats)
            if "rsibench" in name:
                worst = max(worst, seconds)
            print(f"  {name:<52} {seconds:6.3f} s")
        for argv in (["--help"], ["horizon", str(runs)], ["gate", "--help"], ["trend", "--help"]):
            heavy = _imported(argv)
            loaded = ", ".join(heavy) if heavy else "none of " + ", ".join(HEAVY)
            print(f"  rsibench {' '.join(argv[:2])[:40]} loads: {loaded}")
    verdict = "meets" if worst < TARGET_SECONDS else "MISSES"
    print(f"slowest: {worst:.3f} s: {verdict} the {TARGET_SECONDS} s target")


if __name__ == "__main__":
    main()
