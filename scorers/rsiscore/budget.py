"""Training budgets, enforced by the scorer (never taken from the candidate's own accounting)."""

from __future__ import annotations

import math

from rsiscore.candidate import CandidateError


def check(what: str, used: float, limit: float) -> float:
    """``used`` if it is a finite, non-negative amount within ``limit``; else the candidate's
    work is over budget (``CandidateError``). The scorer computes ``used`` itself, from the
    config it will run or from what it measured (steps, FLOPs, seconds)."""
    if not (isinstance(used, int | float) and math.isfinite(used) and used >= 0):
        raise CandidateError(f"{what}: {used!r} is not a valid amount")
    if used > limit:
        raise CandidateError(f"{what}: {used:.4g} is over the budget of {limit:.4g}")
    return float(used)
