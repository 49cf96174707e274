"""Simulated run records: what a model with a known true horizon would score on the suite.

A simulated model succeeds on a task of ``t`` human minutes with probability
``sigmoid(slope * (log2 t - log2 horizon))``: exactly 50% at its true p50 ``horizon``, falling by
``slope`` in log-odds per doubling of task length. The default slope, -0.6 per doubling, is a
moderate value of the order of METR's published fits of frontier models: a model at 50% on
one-hour tasks is then at about 91% on 4-minute tasks and about 8% on 16-hour tasks.

Uses: parameter-recovery checks of the horizon fit, exercising the gate and the leaderboard
before real results exist, and demos. Every record says ``agent: simulated``; scores, tokens,
times and costs are not simulated (null or zero).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rsibench.records import run_record
from rsibench.spec import (
    CATEGORIES,
    AgentLimits,
    FamilySpec,
    Resources,
    ScorerSpec,
    VariantSpec,
)
from rsibench.suite import Family, Suite, Variant

DEFAULT_SLOPE = -0.6
DEFAULT_EPOCHS = 3
SYNTHETIC_CANARY = "RSIBENCH CANARY 00000000-0000-4000-8000-000000000000"


def success_probability(human_minutes: Any, horizon: float, slope: float = DEFAULT_SLOPE) -> Any:
    """P(success) of a simulated model with true p50 ``horizon`` on tasks of ``human_minutes``."""
    eta = slope * (np.log2(np.asarray(human_minutes, dtype=float)) - math.log2(horizon))
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


def simulate_records(
    variants: Sequence[Variant],
    *,
    horizon: float,
    suite_version: str,
    slope: float = DEFAULT_SLOPE,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    model: str | None = None,
    horizon_by: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Schema-valid run records: every variant attempted ``epochs`` times by a simulated model.

    ``horizon_by`` gives the model a different true p50 on some categories (category ->
    minutes); ``horizon`` holds on the others: a jagged frontier, or a judgement gap.

    Deterministic for given arguments, timestamps aside. The eval id hashes the arguments, so
    simulations with different settings never share a run id.
    """
    if not horizon > 0:
        raise ValueError(f"horizon {horizon}: must be positive (minutes)")
    if not slope < 0:
        raise ValueError(f"slope {slope}: must be negative (success falls with task length)")
    if epochs < 1:
        raise ValueError(f"epochs {epochs}: must be at least 1")
    horizon_by = dict(horizon_by or {})
    for category, minutes in horizon_by.items():
        if category not in CATEGORIES:
            raise ValueError(f"category {category!r}: unknown; use one of {', '.join(CATEGORIES)}")
        if not minutes > 0:
            raise ValueError(f"{category}={minutes}: the horizon must be positive (minutes)")
    model = model or f"simulated-{horizon:g}min"
    settings: list[Any] = [model, horizon, slope, epochs, seed, suite_version]
    if horizon_by:
        settings.append(sorted(horizon_by.items()))
    eval_id = "sim-" + hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:12]
    rng = np.random.default_rng(seed)
    probs = np.array(
        [
            success_probability(v.human_minutes, horizon_by.get(v.family.category, horizon), slope)
            for v in variants
        ]
    )
    wins = rng.random((epochs, len(variants))) < probs
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    records = []
    for epoch in range(1, epochs + 1):
        for v, success in zip(variants, wins[epoch - 1], strict=True):
            task = {
                **v.record_fields(),
                "suite_version": suite_version,
                "image": v.family.image,
                "image_digest": None,
            }
            records.append(
                run_record(
                    task,
                    run_id=f"{eval_id}/{v.task_id}/{epoch}",
                    model=model,
                    agent="simulated",
                    epoch=epoch,
                    success=bool(success),
                    eval_id=eval_id,
                    started_at=now,
                    completed_at=now,
                )
            )
    return records


def synthetic_suite(
    n_tasks: int = 30,
    family_size: int = 3,
    min_minutes: float = 1.0,
    max_minutes: float = 960.0,
) -> Suite:
    """An in-memory suite of ``n_tasks`` tasks evenly spread on a log scale between the bounds.

    Families of ``family_size`` variants take every (n_tasks / family_size)-th length, so each
    family spans the range like graded variants of one piece of work; families cycle through
    the categories. For statistics only: no files, images or scorers exist behind it.
    """
    if n_tasks < 1 or family_size < 1:
        raise ValueError("n_tasks and family_size must be at least 1")
    lengths = np.geomspace(min_minutes, max_minutes, n_tasks)
    n_families = math.ceil(n_tasks / family_size)
    families = []
    for f in range(n_families):
        spec = FamilySpec(
            id=f"synthetic-{f + 1:02d}",
            category=CATEGORIES[f % len(CATEGORIES)],
            summary="Synthetic task family for statistics checks.",
            canary=SYNTHETIC_CANARY,
            image="synthetic",
            resources=Resources(cpus=1.0, memory="1g", pids=64, disk="1g"),
            scorer=ScorerSpec(name="synthetic"),
            agent=AgentLimits(working_minutes=60.0),
            variants=[
                VariantSpec(
                    id=f"v{k + 1:02d}",
                    human_minutes=round(float(lengths[k]), 3),
                    human_minutes_source="estimate",
                    threshold=1.0,
                )
                for k in range(f, n_tasks, n_families)
            ],
        )
        family = Family.from_spec(spec, Path("synthetic") / spec.id)
        families.append(family)
    return Suite(root=Path("synthetic"), version="synthetic", families=tuple(families))
