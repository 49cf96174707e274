"""How well the suite covers the horizon: variants and families per category and per log2 bucket
of human minutes, where the minutes come from, and how long validating the suite takes.

The last whole-suite validation (``rsibench validate`` with no selection) is saved as
``results/validation.json`` (or in ``--records-dir``); ``rsibench suite stats`` reads it back.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rsibench.spec import CATEGORIES
from rsibench.suite import Suite

BUCKETS = tuple(2**i for i in range(12))  # 1, 2, 4, ... 2048 minutes
LONG_MINUTES = 480  # a working day
VALIDATION_FILE = "validation.json"
# The whole-suite validation (oracle and noop on every variant) must take at most 15 minutes on
# 2 cores at the suite's target size of 64+ variants: about 14 s of scoring per attempt.
VALIDATION_TARGET_S = 15 * 60
TARGET_VARIANTS = 64
CORES = 2


def attempt_budget(variants: int) -> float:
    """Mean scoring seconds per attempt that keeps validation within its target."""
    return VALIDATION_TARGET_S * CORES / (2 * max(variants, TARGET_VARIANTS))


def bucket(minutes: float) -> int:
    """The log2 bucket (1, 2, 4, ... 2048) nearest to ``minutes``."""
    return BUCKETS[min(len(BUCKETS) - 1, max(0, round(math.log2(max(minutes, 1)))))]


def suite_stats(suite: Suite, validation: dict[str, Any] | None) -> dict[str, Any]:
    """Coverage per category and bucket, minute sources, and scoring times per family."""
    variants = suite.variants
    categories = {}
    for c in CATEGORIES:
        vs = [v for v in variants if v.family.category == c]
        categories[c] = {
            "families": len({v.family.id for v in vs}),
            "variants": len(vs),
            "buckets": sorted({bucket(v.human_minutes) for v in vs}),
            "variants_8h_or_more": sum(v.human_minutes >= LONG_MINUTES for v in vs),
            "estimates": sum(v.human_minutes_source == "estimate" for v in vs),
            "baselines": sum(v.human_minutes_source == "baseline" for v in vs),
        }
    per_bucket = {b: {c: 0 for c in CATEGORIES} for b in BUCKETS}
    for v in variants:
        per_bucket[bucket(v.human_minutes)][v.family.category] += 1
    scoring = (validation or {}).get("scoring_seconds", {})
    measured = [scoring[v.family.id] for v in variants if scoring.get(v.family.id) is not None]
    families = [
        {
            "family": f.id,
            "category": f.category,
            "variants": len(f.variants),
            "human_minutes": [v.human_minutes for v in f.variants],
            "scorer": f.scorer.name,
            "timed": f.scorer.timed,
            "timeout_s": f.scorer.timeout,
            "scoring_s": scoring.get(f.id),
        }
        for f in suite.families
    ]
    return {
        "suite_version": suite.version,
        "families": len(suite.families),
        "variants": len(variants),
        "categories": categories,
        "buckets": {str(b): counts for b, counts in per_bucket.items()},
        "per_family": families,
        "attempt_budget_s": round(attempt_budget(len(variants)), 1),
        "mean_scoring_s": round(sum(measured) / len(measured), 1) if measured else None,
        "last_validation": validation,
    }


def validation_summary(
    suite: Suite, records: Sequence[dict[str, Any]], wall_seconds: float, passed: int, failed: int
) -> dict[str, Any]:
    """What a whole-suite validation measured: its wall time and each family's median
    scoring time per attempt (oracle and noop together)."""
    by_family: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.get("scoring_time_s") is not None:
            by_family[r["family"]].append(r["scoring_time_s"])
    return {
        "suite_version": suite.version,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "variants": len(suite.variants),
        "passed": passed,
        "failed": failed,
        "wall_seconds": round(wall_seconds, 1),
        "scoring_seconds": {
            fam: round(statistics.median(times), 1) for fam, times in sorted(by_family.items())
        },
        "scoring_seconds_max": {
            fam: round(max(times), 1) for fam, times in sorted(by_family.items())
        },
    }


def save_validation(path: Path, summary: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path


def load_validation(path: Path) -> dict[str, Any] | None:
    """The saved validation, or None if there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
