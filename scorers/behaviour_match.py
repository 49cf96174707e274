"""Scorer: run the candidate's code on hidden scenarios and compare what it produced with the
family's own reference implementation.

The family's checks/ provide ``cases.py`` (trusted: ``build(seed, names)`` returns the runner's
inputs and the expected results for a fresh seed; ``compare(results, inputs, expected)`` returns
one verdict per scenario) and a runner script, copied with its support files into a folder the
candidate user can read. The runner executes the candidate's modules, as the candidate user
with ``python3 -I`` and a clean environment, from a root-owned snapshot of the workspace's
source files, and saves tensors; the scorer loads them with ``torch.load(weights_only=True)``
(never unpickling arbitrary objects) and never imports candidate code itself.

    score_raw = scenarios passed;  score_normalised = 1 if all pass else 0
"""

from __future__ import annotations

import importlib.util
import io
import secrets
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore import candidate as cand  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402

MAX_RESULTS_BYTES = 64 * 1024 * 1024


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score(args: Args) -> Verdict:
    p = args.params
    cases = load_module("rsi_cases", args.checks / p["cases"])
    inputs, expected = cases.build(secrets.randbits(63), list(p["scenarios"]))

    run_dir = cand.readable_dir("runner")
    for name in [p["runner"], *p["support"]]:
        cand.install(args.checks / name, run_dir / name)
    torch.save(inputs, run_dir / "inputs.pt")
    (run_dir / "inputs.pt").chmod(0o644)
    snap = cand.readable_dir("workspace")
    files = cand.snapshot(args.workspace, snap, tuple(p["source_suffixes"]))
    out_dir, home = cand.writable_dir("out"), cand.writable_dir("home")
    run = cand.run_candidate(
        [
            "python3",
            "-I",
            "-B",
            str(run_dir / p["runner"]),
            str(run_dir / "inputs.pt"),
            str(out_dir / "results.pt"),
            str(snap),
        ],
        cwd=home,
        home=home,
        timeout=float(p["run_timeout"]),
    )
    details: dict[str, Any] = {
        "files": files,
        "run_seconds": run.seconds,
        "exit_status": run.returncode,
        "log": run.log[-2000:],
    }
    try:
        raw = cand.read_workspace_file(out_dir, "results.pt", MAX_RESULTS_BYTES)
        results = torch.load(io.BytesIO(raw), weights_only=True)
    except Exception as e:  # missing, a link, too big, or not a plain tensor file
        return Verdict(False, 0, 0.0, {**details, "problem": f"no usable results: {e}"})
    report = cases.compare(results, inputs, expected)
    passed = sum(1 for r in report.values() if r["ok"])
    correct = passed == len(report)
    return Verdict(correct, passed, 1.0 if correct else 0.0, {**details, "scenarios": report})


if __name__ == "__main__":
    main(score)
