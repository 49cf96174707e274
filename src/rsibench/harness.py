"""Turn the suite into inspect Tasks and run them with eval_set (resumable), then harvest records.

One Sample per variant; its sandbox is an ``rsibench`` SandboxConfig naming the content-hashed
image; its metadata is the variant's SampleSpec, which the agents, the scorer and the run records
read (family, category, human minutes, limits, scorer, where the hidden files are).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inspect_ai import Task, eval_set
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.util import SandboxEnvironmentSpec

from rsibench import harvest, images
from rsibench.agents import AgentRun, make_solver
from rsibench.sandbox import SandboxConfig
from rsibench.scoring import hidden_verifier
from rsibench.suite import Suite, Variant

NO_MODEL = "none/none"


def ready_images(
    suite: Suite, variants: Sequence[Variant], log: Callable[[str], None] = print
) -> dict[str, tuple[str, str | None]]:
    """Image name -> (tag, digest) for what the variants need, building what is missing."""
    tags = images.ensure(suite.root, {v.family.image for v in variants}, log)
    return {name: (tag, images.image_id(tag)) for name, tag in tags.items()}


def build_task(
    suite: Suite,
    variants: Sequence[Variant],
    run: AgentRun,
    built: dict[str, tuple[str, str | None]],
) -> Task:
    """The inspect Task for ``run`` over ``variants``; ``built`` comes from ready_images."""
    samples = []
    for v in variants:
        spec = suite.sample_spec(v, *built[v.family.image])
        samples.append(
            Sample(
                id=v.task_id,
                input=v.instructions(),
                target="",
                metadata=spec.model_dump(mode="json"),
                sandbox=SandboxEnvironmentSpec("rsibench", SandboxConfig.for_sample(spec)),
            )
        )
    return Task(
        name=f"rsibench_{run.agent}",
        dataset=MemoryDataset(samples, name="rsibench"),
        solver=make_solver(run.agent),
        scorer=hidden_verifier(),
        metadata={"suite_version": suite.version, "agent": run.agent, "attempter": run.name},
    )


def default_log_dir(
    suite: Suite, runs: Sequence[AgentRun], variants: Sequence[Variant], epochs: int
) -> Path:
    """Same suite, attempters, selection and epochs -> same folder, so re-running resumes."""
    key = json.dumps([suite.version, sorted(v.task_id for v in variants), epochs])
    name = "+".join(run.slug for run in runs)
    return suite.root / "logs" / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


class RunInterrupted(RuntimeError):
    """The user stopped the run; what finished is recorded and re-running resumes."""


@dataclass
class RunOutcome:
    run: AgentRun
    logs: list[EvalLog]
    records: list[dict]
    records_file: Path
    complete: bool


def run_suite(
    suite: Suite,
    variants: Sequence[Variant],
    runs: Sequence[AgentRun],
    *,
    epochs: int = 1,
    max_samples: int | None = None,
    log_dir: Path | None = None,
    records_dir: Path | None = None,
    display: str | None = None,
    log: Callable[[str], None] = print,
) -> list[RunOutcome]:
    """Build the images the variants need, run every attempter, append their run records.

    The attempters run side by side in one eval_set (for the reference agents: oracle and noop
    at once, two samples each), which is what keeps validating a large suite fast; a timed
    scorer still scores alone (see ``scoring.SCORING``).
    """
    built = ready_images(suite, variants, log)
    records_dir = records_dir or suite.root / "results" / "runs"
    run_dir = log_dir or default_log_dir(suite, runs, variants, epochs)
    names = ", ".join(run.name for run in runs)
    log(f"running {len(variants)} variant(s) x {epochs} epoch(s) with {names}; logs in {run_dir}")
    models = {run.model or NO_MODEL for run in runs}
    if len(models) != 1:
        raise ValueError("run_suite runs one model at a time")
    complete, logs = eval_set(
        tasks=[build_task(suite, variants, run, built) for run in runs],
        log_dir=str(run_dir),
        model=models.pop(),
        epochs=epochs,
        max_tasks=len(runs),
        max_samples=max_samples or (2 if runs[0].model is None else None),
        display=display,  # type: ignore[arg-type]
        retry_attempts=2,
        fail_on_error=False,
    )
    outcomes = []
    for run in runs:
        mine = [lg for lg in logs if (lg.eval.metadata or {}).get("attempter") == run.name]
        records = [r for lg in mine for r in harvest.records_from_log(lg, run)]
        path = records_dir / f"{run.slug}.jsonl"
        harvest.append_new(path, records)
        outcomes.append(RunOutcome(run, mine, records, path, complete))
    # eval_set swallows Ctrl-C: the interrupted attempter's log is missing from what it
    # returns (the others may have finished), or marked cancelled
    if any(not o.logs for o in outcomes) or any(lg.status == "cancelled" for lg in logs):
        recorded = sum(len(o.records) for o in outcomes)
        raise RunInterrupted(
            f"interrupted: {recorded} finished attempt(s) recorded in {records_dir}; "
            f"run the same command again to resume from {run_dir}"
        )
    return outcomes
