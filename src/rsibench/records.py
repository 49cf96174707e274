"""Run records: one validated JSON line per attempt, the only input of the analysis.

This module owns the record format (``schema/run.schema.json``), appending records atomically,
and reading them back into a pandas DataFrame. Turning inspect eval logs into records lives in
``rsibench.harvest``.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

SCHEMA_VERSION = 1
TASK_FIELDS = (
    "suite_version",
    "task_id",
    "family",
    "variant",
    "category",
    "human_minutes",
    "human_minutes_source",
    "threshold",
    "image",
    "image_digest",
)


class RecordError(ValueError):
    """A run-record file that cannot be used; the message names the file, line and field."""


@cache
def run_schema() -> dict[str, Any]:
    text = resources.files("rsibench").joinpath("schema/run.schema.json").read_text()
    return json.loads(text)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        run_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def run_record(
    task: Mapping[str, Any],
    *,
    run_id: str,
    model: str,
    agent: str,
    epoch: int,
    success: bool,
    eval_id: str,
    started_at: str,
    completed_at: str,
    score_raw: float | None = None,
    score_normalised: float | None = None,
    error: str | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    total_tokens: int = 0,
    cost_usd: float | None = None,
    working_time_s: float | None = None,
    total_time_s: float | None = None,
    scoring_time_s: float | None = None,
    limits_hit: Sequence[str] = (),
    log_file: str | None = None,
) -> dict[str, Any]:
    """The one constructor of a run record: ``task`` holds the task's fields (a SampleSpec's
    ``record_fields()``), the keywords the attempt's."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        **{key: task[key] for key in TASK_FIELDS},
        "model": model,
        "agent": agent,
        "epoch": epoch,
        "success": success,
        "score_raw": score_raw,
        "score_normalised": score_normalised,
        "error": error,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total_tokens,
        "cost_usd": cost_usd,
        "working_time_s": working_time_s,
        "total_time_s": total_time_s,
        "scoring_time_s": scoring_time_s,
        "limits_hit": list(limits_hit),
        "started_at": started_at,
        "completed_at": completed_at,
        "eval_id": eval_id,
        "log_file": log_file,
    }


def record_problems(record: Any) -> list[str]:
    """Every schema violation of one record, each as 'field: message'."""
    problems = []
    for err in sorted(_validator().iter_errors(record), key=lambda e: list(e.path)):
        field = "/".join(str(p) for p in err.path) or "(record)"
        problems.append(f"{field}: {err.message}")
    return problems


def validate_record(record: Any, where: str = "record") -> None:
    problems = record_problems(record)
    if problems:
        raise RecordError(f"{where}: invalid run record: " + "; ".join(problems))


def append_records(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Validate every record, then append them to ``path`` as JSON lines.

    All records are validated before anything is written, and the lines go out in a single
    ``write`` on an exclusively locked ``O_APPEND`` descriptor followed by ``fsync``, so a crash or
    a concurrent writer never leaves a half line in the file.
    """
    batch = list(records)
    for i, rec in enumerate(batch):
        validate_record(rec, where=f"{path} (new record {i + 1})")
    if not batch:
        return 0
    payload = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A previous writer killed mid-write would have left no newline at the end; start a
        # fresh line so our records stay parseable (the broken line is reported on read).
        if os.fstat(fd).st_size > 0:
            with open(path, "rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    payload = "\n" + payload
        data = payload.encode()
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(batch)


def load_records(path: Path) -> list[dict[str, Any]]:
    """Read and validate one JSON-lines file; any bad line raises with file, line and field."""
    try:
        text = path.read_text()
    except OSError as e:
        raise RecordError(f"{path}: cannot read run records: {e.strerror or e}") from e
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise RecordError(
                f"{path}:{lineno}: not a JSON object ({e.msg} at column {e.colno}); "
                "fix or delete that line"
            ) from e
        validate_record(rec, where=f"{path}:{lineno}")
        out.append(rec)
    return out


def expand_paths(paths: Sequence[Path | str]) -> list[Path]:
    """Files as given; a directory stands for every ``*.jsonl`` file below it."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.rglob("*.jsonl")))
        else:
            files.append(p)
    return files


COLUMNS = list(run_schema()["properties"])


def read_runs(paths: Sequence[Path | str]) -> pd.DataFrame:
    """All records from the given files or directories as one DataFrame (one row per attempt).

    Duplicate ``run_id``s (the same attempt harvested twice) keep their last occurrence.
    """
    rows: list[dict[str, Any]] = []
    for f in expand_paths(paths):
        rows.extend(load_records(f))
    df = pd.DataFrame(rows, columns=COLUMNS)
    if not df.empty:
        df = df.drop_duplicates(subset="run_id", keep="last").reset_index(drop=True)
    df["success"] = df["success"].astype(bool)
    return df
