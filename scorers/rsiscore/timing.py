"""The timing protocol: warm-up calls, interleaved rounds, a robust statistic, and the same-run
reference.

Every kind of code timed (the candidate, the starting code, the reference) runs in each round,
in a fresh random order, in a block of its own: warm-up calls, then timed calls until at least
``min_calls`` and ``min_seconds`` (or ``max_calls``). Each call's time is taken by the scorer's
clock outside the timed process. The statistic is the median over every timed call of a kind
(per-round medians are kept for the details), and the candidate is only ever compared with the
others timed in the same run, so a slower or busier machine moves all of them together.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Protocol:
    rounds: int
    warmup_calls: int
    min_calls: int
    max_calls: int
    min_seconds: float

    @classmethod
    def from_params(cls, p: dict) -> Protocol:
        """From a scorer's params: rounds, warmup_calls, min_calls, max_calls, min_block_seconds."""
        return cls(
            int(p["rounds"]),
            int(p["warmup_calls"]),
            int(p["min_calls"]),
            int(p["max_calls"]),
            float(p["min_block_seconds"]),
        )


@dataclass
class Timings:
    calls: dict[str, list[float]] = field(default_factory=dict)  # seconds of each timed call
    rounds: dict[str, list[float]] = field(default_factory=dict)  # median of each block

    def median(self, kind: str) -> float:
        return statistics.median(self.calls[kind])

    def details(self) -> dict:
        return {
            "median_ms": {k: round(1e3 * self.median(k), 4) for k in self.calls},
            "round_medians_ms": {k: [round(1e3 * x, 4) for x in v] for k, v in self.rounds.items()},
            "timed_calls": {k: len(v) for k, v in self.calls.items()},
        }


def block(call: Callable[[], float], protocol: Protocol) -> list[float]:
    """One block: ``warmup_calls`` untimed calls, then timed ones until the block is long enough.
    ``call`` does one call and returns the seconds the scorer measured for it."""
    for _ in range(protocol.warmup_calls):
        call()
    times: list[float] = []
    while len(times) < protocol.max_calls:
        times.append(call())
        if len(times) >= protocol.min_calls and sum(times) >= protocol.min_seconds:
            break
    return times


def interleaved(
    kinds: Sequence[str],
    protocol: Protocol,
    rng: np.random.Generator,
    run_block: Callable[[str], list[float]],
) -> Timings:
    """``protocol.rounds`` rounds; in each, ``run_block(kind)`` for every kind in a fresh order."""
    out = Timings({k: [] for k in kinds}, {k: [] for k in kinds})
    for _ in range(protocol.rounds):
        for i in rng.permutation(len(kinds)):
            kind = kinds[int(i)]
            times = run_block(kind)
            if not times:
                raise RuntimeError(f"a block of {kind} timed no call")
            out.calls[kind] += times
            out.rounds[kind].append(statistics.median(times))
    return out


def log_speedup_score(start: float, candidate: float, reference: float) -> tuple[float, float]:
    """(speedup of the candidate over the start, normalised score): ln(speedup) over ln(the
    reference's speedup), so the start scores 0 and the reference 1."""
    speedup, ref_speedup = start / candidate, start / reference
    return speedup, math.log(speedup) / math.log(ref_speedup)
