"""inspect eval logs -> run records (one per sample and epoch), appended without duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog, EvalSample, read_eval_log

from rsibench.agents import AgentRun
from rsibench.records import append_records, run_record
from rsibench.spec import SampleSpec

SCORER = "hidden_verifier"


def _usage(sample: EvalSample) -> tuple[int, int, int, float | None]:
    inp = out = total = 0
    cost: float | None = None
    for u in sample.model_usage.values():
        inp += u.input_tokens
        out += u.output_tokens
        total += u.total_tokens
        if u.total_cost is not None:
            cost = (cost or 0.0) + u.total_cost
    return inp, out, total, cost


def record_from_sample(sample: EvalSample, log: EvalLog, run: AgentRun) -> dict[str, Any] | None:
    """One run record, or None for a sample that never finished (it is retried on resume)."""
    task = SampleSpec.model_validate(
        {k: v for k, v in sample.metadata.items() if k in SampleSpec.model_fields}
    )
    score = (sample.scores or {}).get(SCORER)
    if score is None and sample.error is None:
        return None
    verdict = score.metadata or {} if score else {}
    error = sample.error.message if sample.error else verdict.get("error")
    inp, out, total, cost = _usage(sample)
    return run_record(
        task.record_fields(),
        run_id=sample.uuid or f"{log.eval.eval_id}/{task.task_id}/{sample.epoch}",
        model=run.name,
        agent=run.agent,
        epoch=sample.epoch,
        success=bool(verdict.get("success")) and error is None,
        score_raw=verdict.get("score_raw"),
        score_normalised=verdict.get("score_normalised"),
        error=error,
        input_tokens=inp,
        output_tokens=out,
        total_tokens=total,
        cost_usd=cost,
        working_time_s=sample.working_time,
        total_time_s=sample.total_time,
        scoring_time_s=verdict.get("seconds"),
        limits_hit=[sample.limit.type] if sample.limit else [],
        started_at=sample.started_at or log.eval.created,
        completed_at=sample.completed_at or log.eval.created,
        eval_id=log.eval.eval_id,
        log_file=log.location,
    )


def records_from_log(log: EvalLog, run: AgentRun) -> list[dict[str, Any]]:
    full = read_eval_log(log.location) if log.samples is None and log.location else log
    out = []
    for sample in full.samples or []:
        rec = record_from_sample(sample, full, run)
        if rec is not None:
            out.append(rec)
    return out


def attempter_of(log: EvalLog) -> AgentRun:
    """Who made the attempts in a log written by the rsibench task (through rsibench or inspect)."""
    agent = (log.eval.metadata or {}).get("agent")
    if agent is None:
        raise ValueError(f"{log.location}: not an rsibench eval log (no 'agent' in its metadata)")
    return AgentRun(agent, log.eval.model if agent == "react" else None)


def harvest_logs(paths: list[Path], records_dir: Path) -> dict[Path, int]:
    """Append the run records of every finished sample in the given logs (or log folders)."""
    from inspect_ai.log import list_eval_logs

    added: dict[Path, int] = {}
    for p in paths:
        locations = [info.name for info in list_eval_logs(str(p))] if p.is_dir() else [str(p)]
        for location in locations:
            log = read_eval_log(location)
            run = attempter_of(log)
            target = records_dir / f"{run.slug}.jsonl"
            added[target] = added.get(target, 0) + append_new(target, records_from_log(log, run))
    return added


def append_new(path: Path, records: list[dict[str, Any]]) -> int:
    """Append the records whose run_id the file does not hold yet (resumed runs repeat)."""
    seen: set[str] = set()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                seen.add(json.loads(line)["run_id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a damaged line is reported by the reader, not silently dropped here
    return append_records(path, [r for r in records if r["run_id"] not in seen])
