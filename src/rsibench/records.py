"""Run records: one validated JSON line per attempt, the only input of the analysis.

This module owns the record format (``schema/run.schema.json``), appending records atomically,
and the one reader of every analysis command (``read_runs``: our records or METR's public
``runs.jsonl``, as columns of numpy arrays; ``Runs.to_pandas()`` gives a DataFrame). Turning
inspect eval logs into records lives in ``rsibench.harvest``.

pandas and jsonschema are imported where used: the analysis commands start in a fraction of a
second, and pandas alone takes a third of one to import.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
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
    import jsonschema

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
    records, _ = _read_lines(path, _record_row, skip_invalid=False)
    return records


def expand_paths(paths: Sequence[Path | str]) -> list[Path]:
    """Files as given; a directory stands for every ``*.jsonl`` file below it."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.rglob("*.jsonl")))
        else:
            files.append(p)
    return files


# ---------------------------------------------------------------------------------------------
# The reader of every analysis command: rsibench run records or METR's public runs.jsonl, as one
# DataFrame with a row per attempt.

FORMATS = ("rsibench", "metr")
#: The columns every analysis needs, whatever the format.
REQUIRED = ["model", "task_id", "family", "human_minutes", "success", "error"]
#: METR's own per-run weight columns, used by the horizon fit when present.
METR_WEIGHT_COLUMNS = {"invsqrt": "invsqrt_task_weight", "equal": "equal_task_weight"}
#: Columns that identify one attempt or hold a measurement, never a grouping of tasks.
_NOT_GROUPS = {
    "run_id", "task_id", "model", "alias", "success", "error", "human_minutes", "epoch",
    "started_at", "completed_at", "log_file", "eval_id", "image_digest", "variant",
    "fatal_error_from", "score_binarized", "score_cont",
}  # fmt: skip


def _record_row(rec: Any, at: str) -> dict[str, Any]:
    """An rsibench run record, validated against the schema."""
    validate_record(rec, where=at)
    return rec


def _metr_row(rec: Any, at: str) -> dict[str, Any]:
    """One run of METR's public runs.jsonl, its names mapped to ours; other fields kept."""
    if not isinstance(rec, dict):
        raise RecordError(f"{at}: not a JSON object; each line must be one run")
    model = rec.get("alias") or rec.get("model")
    if not isinstance(model, str) or not model:
        raise RecordError(f"{at}: alias/model: missing; METR runs need the model's name")
    row = {k: v for k, v in rec.items() if isinstance(v, str | int | float | bool) or v is None}
    row["model"] = model
    for src, dst in (("task_id", "task_id"), ("task_family", "family")):
        value = rec.get(src)
        if not isinstance(value, str) or not value:
            raise RecordError(f"{at}: {src}: missing or not a string; every run needs it")
        row[dst] = value
    row.pop("task_family", None)
    row["human_minutes"] = _positive_number(rec.get("human_minutes"), f"{at}: human_minutes")
    score = rec.get("score_binarized")
    if not (isinstance(score, bool) or score in (0, 1)):
        raise RecordError(
            f"{at}: score_binarized: {score!r}; must be 0 or 1 (binarise continuous scores "
            "against the task's threshold first)"
        )
    row["success"] = bool(score)
    for col in METR_WEIGHT_COLUMNS.values():
        if col in rec:
            row[col] = _positive_number(rec[col], f"{at}: {col}", zero_ok=True)
    if "run_id" in rec:
        row["run_id"] = str(rec["run_id"])
    # METR's error field says where a fatal error came from; the run was still scored.
    row["error"] = None
    return row


def _positive_number(value: Any, where: str, zero_ok: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        need = "a non-negative" if zero_ok else "a positive"
        raise RecordError(f"{where}: {value!r}; must be {need} number")
    return float(value)


def _read_lines(
    path: Path, parse: Callable[[Any, str], dict[str, Any]], *, skip_invalid: bool
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of one JSON-lines file and, with ``skip_invalid``, one line per skipped bad line."""
    try:
        text = path.read_text()
    except OSError as e:
        raise RecordError(f"{path}: cannot read runs: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise RecordError(f"{path}: not a text file of JSON lines ({e.reason})") from e
    lines = text.splitlines()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        at = f"{path}:{lineno}"
        try:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                if lineno == len(lines) and not text.endswith("\n"):
                    raise RecordError(
                        f"{at}: truncated last line (the file ends mid-record, as when a "
                        "writer is killed); delete that line, or pass --skip-invalid to "
                        "proceed without it"
                    ) from e
                raise RecordError(
                    f"{at}: not a JSON object ({e.msg} at column {e.colno}); fix or delete "
                    "that line, or pass --skip-invalid to proceed without it"
                ) from e
            rows.append(parse(rec, at))
        except RecordError as e:
            if not skip_invalid:
                raise
            skipped.append(str(e))
    return rows, skipped


class Runs:
    """Attempts as named columns of equal length (numpy arrays; text columns hold None where a
    run has no value), with ``attrs`` saying where they came from.

    Indexing by a name gives a column; by a boolean array, the runs it selects. ``to_pandas()``
    gives a DataFrame for anything richer.
    """

    def __init__(self, columns: dict[str, np.ndarray], attrs: dict[str, Any] | None = None):
        self.columns = columns
        self.attrs: dict[str, Any] = dict(attrs or {})
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        self._len = lengths.pop() if lengths else 0

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], names: Sequence[str] = ()) -> Runs:
        keys = list(names) + sorted({k for r in rows for k in r} - set(names))
        return cls({k: _column([r.get(k) for r in rows]) for k in keys})

    @classmethod
    def concat(cls, parts: Sequence[Runs]) -> Runs:
        keys = list(dict.fromkeys(k for p in parts for k in p.columns))
        return cls(
            {
                k: _column([v for p in parts for v in (p[k] if k in p else [None] * len(p))])
                for k in keys
            },
            parts[0].attrs if parts else None,
        )

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return self._len

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return self.columns[key]
            except KeyError:
                names = ", ".join(self.columns)
                raise KeyError(f"no column {key!r}; the columns are {names}") from None
        rows = np.asarray(key)
        return Runs({k: v[rows] for k, v in self.columns.items()}, self.attrs)

    def assign(self, **columns: Any) -> Runs:
        extra = {k: _column(list(v)) for k, v in columns.items()}
        return Runs({**self.columns, **extra}, self.attrs)

    def missing(self, name: str) -> np.ndarray:
        """Which runs have no value in column ``name`` (all, when there is no such column)."""
        if name not in self.columns:
            return np.ones(len(self), dtype=bool)
        col = self.columns[name]
        if col.dtype == object:
            return np.fromiter((v is None for v in col), dtype=bool, count=len(col))
        return np.isnan(col) if col.dtype.kind == "f" else np.zeros(len(col), dtype=bool)

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        df = pd.DataFrame({k: list(v) if v.dtype == object else v for k, v in self.columns.items()})
        df.attrs = dict(self.attrs)
        return df


def _column(values: list[Any]) -> np.ndarray:
    """A column: float or bool when every value is one (None as NaN for numbers), else objects."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present) and len(present) == len(values):
        return np.array(values, dtype=bool)
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return np.array([math.nan if v is None else v for v in values], dtype=float)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # one by one: numpy would unpack lists of equal length
        out[i] = v
    return out


def as_runs(data: Any) -> Runs:
    """``data`` as Runs: Runs as they are, or a pandas DataFrame's columns."""
    if isinstance(data, Runs):
        return data
    columns = {}
    for name in data.columns:
        col = data[name]
        values = col.to_numpy()
        if values.dtype.kind in "OUST" or str(col.dtype) in ("str", "string"):
            values = _column([None if v is None or v != v else v for v in col.tolist()])
        columns[str(name)] = values
    return Runs(columns, getattr(data, "attrs", None))


def read_runs(
    paths: Sequence[Path | str], fmt: str = "rsibench", *, skip_invalid: bool = False
) -> Runs:
    """Every attempt in the given files or directories, one row each, in either format.

    ``rsibench``: run records, validated against the schema; every record field is a column.
    ``metr``: METR's public ``runs.jsonl``: ``alias`` (or ``model``) becomes ``model``,
    ``task_family`` becomes ``family``, ``score_binarized`` becomes ``success``; its other fields
    (``task_source``, ``scaffold``, the weight columns, ...) are kept under their own names.
    Either way there are the columns in ``REQUIRED`` (``error`` set: the attempt was not
    scored). A ``run_id`` seen twice (the same attempt harvested twice) keeps its last occurrence.

    A bad line raises RecordError naming file, line and field; with ``skip_invalid`` it is left
    out instead, and ``attrs["skipped"]`` lists one message per line left out.
    """
    if fmt not in FORMATS:
        raise RecordError(f"--format {fmt}: unknown; use one of {', '.join(FORMATS)}")
    files = expand_paths(paths)
    where = " ".join(str(p) for p in paths)
    if not files:
        raise RecordError(f"{where}: no *.jsonl files; run the suite first or pass record files")
    parse = _metr_row if fmt == "metr" else _record_row
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for f in files:
        got, bad = _read_lines(f, parse, skip_invalid=skip_invalid)
        rows.extend(got)
        skipped.extend(bad)
    if any("run_id" in r for r in rows):
        # The last occurrence of each run_id wins; rows without one are all kept.
        last = {r["run_id"]: i for i, r in enumerate(rows) if "run_id" in r}
        rows = [r for i, r in enumerate(rows) if last.get(r.get("run_id"), i) == i]
    names = list(run_schema()["properties"]) if fmt == "rsibench" else REQUIRED
    runs = Runs.from_rows(rows, names)
    for name in REQUIRED:
        if name not in runs:  # no rows at all
            runs.columns[name] = np.empty(0, dtype=object)
    runs.columns["success"] = runs["success"].astype(bool)
    runs.columns["human_minutes"] = runs["human_minutes"].astype(float)
    runs.attrs.update(format=fmt, files=[str(f) for f in files], skipped=skipped)
    return runs


def scored(runs: Runs) -> Runs:
    """The attempts that were scored (``error`` unset): what the horizon fit uses.

    An attempt that crashed says nothing about the model. ``attrs["excluded_errors"]`` counts
    those left out. Raises RecordError when none is left.
    """
    ok = runs.missing("error")
    out = runs[ok]
    out.attrs = {**runs.attrs, "excluded_errors": int((~ok).sum())}
    if not len(out):
        files = " ".join(runs.attrs.get("files", [])) or "runs"
        raise RecordError(f"{files}: no usable runs (every file is empty or every run errored)")
    return out


def group_columns(runs: Runs) -> list[str]:
    """Columns ``--by`` can split on: those of text values that group tasks, on some run."""
    return sorted(
        name
        for name, col in runs.columns.items()
        if name not in _NOT_GROUPS
        and col.dtype == object
        and any(v is not None for v in col)
        and all(isinstance(v, str) for v in col if v is not None)
    )


def check_group_column(runs: Runs, by: str) -> None:
    """Raise RecordError unless every run has a text value in column ``by``."""
    available = group_columns(runs)
    listed = ", ".join(available) or "none"
    fmt = runs.attrs.get("format", "rsibench")
    if by not in available:
        raise RecordError(
            f"--by {by}: these runs ({fmt} format) have no column {by!r} to group by; "
            f"the columns available are: {listed}"
        )
    empty = runs.missing(by)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise RecordError(
            f"--by {by}: empty on {int(empty.sum())} of {len(runs)} runs (first: model "
            f"{runs['model'][i]}, task {runs['task_id'][i]}); give every run a {by}, or group "
            f"by one of: {listed}"
        )
