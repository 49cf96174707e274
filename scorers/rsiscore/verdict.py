"""The scorer protocol: arguments in, one JSON verdict out, failing closed on any fault.

In the verifier, :func:`main` first locks the container down for scoring
(``candidate.lock_down``), so every scorer gets the same isolation without asking for it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rsiscore import candidate

# The harness puts the scorers under this root-only folder of the verifier container.
VERIFIER = Path("/verifier")


@dataclass(frozen=True)
class Args:
    workspace: Path
    checks: Path
    params: dict[str, Any]
    out: Path


@dataclass
class Verdict:
    """What a scorer found. ``correct`` gates success: a wrong answer never passes, however fast."""

    correct: bool
    score_raw: float | None = None
    score_normalised: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _finite(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(value: Any) -> Any:
    """Details as strict JSON: non-finite floats become null, unknown objects their str()."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return _finite(value)
    try:
        return _finite(float(value))  # numpy scalars
    except (TypeError, ValueError):
        return str(value)


def write_verdict(out: Path, verdict: Verdict, threshold: float | None) -> dict[str, Any]:
    normalised = _finite(verdict.score_normalised)
    success = bool(
        verdict.correct
        and normalised is not None
        and threshold is not None
        and normalised >= threshold
    )
    record = {
        "score_raw": _finite(verdict.score_raw),
        "score_normalised": normalised,
        "success": success,
        "details": _jsonable(verdict.details),
    }
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(record, allow_nan=False, indent=1))
    os.replace(tmp, out)  # the harness never sees a half-written verdict
    return record


def in_verifier() -> bool:
    """Whether this is a scorer run by the harness in the verifier (not a test on a host,
    whose /tmp must not be locked)."""
    return Path(__file__).resolve().is_relative_to(VERIFIER)


def main(score: Callable[[Args], Verdict]) -> None:
    """Parse the harness's arguments, run ``score`` and write its verdict; any exception
    becomes a failed verdict with the traceback in details."""
    ap = argparse.ArgumentParser()
    for name in ("--workspace", "--checks", "--params", "--out"):
        ap.add_argument(name, required=True, type=Path)
    ns = ap.parse_args()
    threshold: float | None = None
    try:
        params = json.loads(ns.params.read_text())
        threshold = float(params["threshold"])
        if in_verifier():
            candidate.lock_down(ns.workspace)
        verdict = score(Args(ns.workspace, ns.checks, params, ns.out))
    except candidate.CandidateError as e:  # the candidate's work is unusable: its fault
        verdict = Verdict(correct=False, details={"problem": str(e)})
    except Exception as e:  # a scorer fault is a failed score, never a pass
        verdict = Verdict(
            correct=False,
            details={"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()},
        )
    record = write_verdict(ns.out, verdict, threshold)
    print(json.dumps({k: record[k] for k in ("score_raw", "score_normalised", "success")}))
