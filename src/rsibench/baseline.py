"""Human baselines: time a person on a variant in the agent's own sandbox, score it the same way.

``rsibench baseline TASK --name NAME`` creates the sample's two containers exactly as a run would
(``SandboxConfig.for_sample``, ``RsibenchSandbox``), opens an interactive shell as ``agent`` in
/workspace of the agent container (``docker exec -it``, so the person gets the agent's cgroup
limits and no network), and keeps the clock on the host. When the person submits, every agent
process is killed, the workspace is archived on the host and scored by ``scoring.run_verifier``,
and one validated record is appended to ``results/baselines/NAME.jsonl``.

Who can move the clock: only this host process. The commands inside the sandbox (``pause``,
``resume``, ``status``, ``submit``) drop an empty request file named ``<verb>.<uuid>`` into a
directory the agent can write to but not list; the host collects the names over the exec
server as root, stamps each with its own clock and answers in a root-owned directory. A request
carries no time and no number, so the most a person can do from inside is what the commands do.
Idle time is read from the host's terminals (the kernel updates a tty's access and modify times,
to 8 s, as it is read and written), which nothing in the container can reach.

An interrupted session (terminal closed, machine rebooted, Ctrl-C at a host prompt) leaves its
state and a snapshot of /workspace on the host; the same command within a day restores the files
into fresh containers and reopens the clock. Processes do not survive an interruption.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import termios
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from rsibench.suite import Suite, SuiteError, Variant, load_suite

RESUME_WITHIN_S = 24 * 3600
POLL_S = 0.5
SNAPSHOT_EVERY_S = 120.0
DEFAULT_IDLE_MINUTES = 10.0
DEFAULT_MIN_SUCCESSES = 3
BOX = "/tmp/.rsibench"  # root-owned in the agent container: commands, status, replies
VERBS = ("pause", "resume", "status", "submit")
REQUEST = re.compile(
    r"^(pause|resume|status|submit)\.([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$"
)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
Log = Callable[[str], None]


class BaselineError(RuntimeError):
    """A baseline command cannot go on; the message says what and how to fix it."""


# ===================================== the clock =============================================


@dataclass
class Clock:
    """Working time: running intervals minus idle gaps longer than ``idle_limit`` seconds.

    Times are host wall-clock seconds (they must survive a reboot). Running intervals, pauses
    and interruptions tile the wall time from the first start to the submission, so
    wall = working + paused + interrupted + idle.
    """

    idle_limit: float
    started: float | None = None
    running_since: float | None = None
    closed: float = 0.0  # seconds in running intervals already ended
    last_activity: float = 0.0
    pauses: list[list[float | None]] = field(default_factory=list)
    interruptions: list[list[float | None]] = field(default_factory=list)
    idle: list[list[float]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    def start(self, now: float) -> None:
        if self.started is None:
            self.started = now
        self.running_since = now
        self.last_activity = now

    def activity(self, t: float) -> None:
        """The person did something at ``t`` (a key, output, a command)."""
        if self.running_since is None or t <= self.last_activity:
            return
        self._close_gap(t)
        self.last_activity = t

    def _close_gap(self, t: float) -> None:
        if t - self.last_activity > self.idle_limit:
            self.idle.append([self.last_activity, t])

    def _stop(self, at: float) -> None:
        if self.running_since is None:
            return
        at = max(at, self.running_since)
        self._close_gap(at)
        self.last_activity = at
        self.closed += at - self.running_since
        self.running_since = None

    def pause(self, now: float) -> None:
        if self.running:
            self._stop(now)
            self.pauses.append([now, None])

    def resume(self, now: float) -> None:
        if self.paused:
            self.pauses[-1][1] = now
            self.start(now)

    def interrupt(self, at: float) -> None:
        """The session stopped at ``at`` (the last moment it was known alive)."""
        if self.paused:
            self.pauses[-1][1] = max(at, self.pauses[-1][0] or at)
        self._stop(at)
        self.interruptions.append([at, None])

    def reopen(self, now: float) -> None:
        if self.interruptions and self.interruptions[-1][1] is None:
            self.interruptions[-1][1] = now
        self.start(now)

    def finish(self, now: float) -> None:
        if self.paused:
            self.pauses[-1][1] = now
        self._stop(now)

    def idle_seconds(self, now: float) -> float:
        total = sum(end - start for start, end in self.idle)
        if self.running and now - self.last_activity > self.idle_limit:
            total += now - self.last_activity
        return total

    def working_seconds(self, now: float) -> float:
        running = now - self.running_since if self.running_since is not None else 0.0
        return max(0.0, self.closed + running - self.idle_seconds(now))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Clock:
        return cls(**data)


def _spans(spans: Iterable[list[float | None]], now: float) -> list[dict[str, Any]]:
    out = []
    for start, end in spans:
        end = now if end is None else end
        out.append({"start": iso(start), "end": iso(end), "seconds": round(end - start, 1)})
    return out


def iso(t: float | None) -> str:
    return datetime.fromtimestamp(t or 0, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ===================================== records ===============================================


@cache
def baseline_schema() -> dict[str, Any]:
    text = resources.files("rsibench").joinpath("schema/baseline.schema.json").read_text()
    return json.loads(text)


def record_problems(record: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        baseline_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(str(p) for p in e.path) or '(record)'}: {e.message}"
        for e in sorted(validator.iter_errors(record), key=lambda e: list(e.path))
    ]


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Validate, then append one line under an exclusive lock, fsynced."""
    if problems := record_problems(record):
        raise BaselineError(f"{path}: refusing an invalid baseline record: {'; '.join(problems)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_size and not Path(path).read_bytes().endswith(b"\n"):
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_baselines(folder: Path) -> list[dict[str, Any]]:
    """Every record in ``folder/*.jsonl``, validated; the latest line per attempt wins
    (``rescore`` appends a new line for the same attempt)."""
    latest: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise BaselineError(
                    f"{path}:{n}: not JSON ({e.msg}); fix or delete that line"
                ) from None
            if problems := record_problems(rec):
                raise BaselineError(f"{path}:{n}: invalid baseline record: {'; '.join(problems)}")
            latest[rec["attempt_id"]] = rec
    return list(latest.values())


def make_record(state: dict[str, Any], result: Any | None, error: str | None) -> dict[str, Any]:
    """The record of a submitted attempt from its session state and the verifier's result."""
    clock = Clock.from_json(state["clock"])
    end = state["submitted_at"]
    return {
        "schema_version": 1,
        "attempt_id": state["attempt_id"],
        "name": state["name"],
        "suite_version": state["suite_version"],
        **state["task"],
        "idle_minutes": state["idle_minutes"],
        "notes": state.get("notes"),
        "working_seconds": round(clock.working_seconds(end), 1),
        "wall_seconds": round(end - (clock.started or end), 1),
        "paused_seconds": round(sum(e - s for s, e in clock.pauses), 1),
        "idle_seconds": round(clock.idle_seconds(end), 1),
        "interrupted_seconds": round(sum(e - s for s, e in clock.interruptions), 1),
        "pauses": _spans(clock.pauses, end),
        "idle_periods": _spans(clock.idle, end),
        "interruptions": _spans(clock.interruptions, end),
        "started_at": iso(clock.started),
        "submitted_at": iso(end),
        **scoring_fields(result, error, state.get("scoring_suite_version", state["suite_version"])),
        "image": state["image"],
        "image_digest": state["image_digest"],
        "workspace_archive": state["archive"],
        "workspace_sha256": state.get("archive_sha256"),
    }


def scoring_fields(result: Any | None, error: str | None, suite_version: str) -> dict[str, Any]:
    """What the verifier said (``result`` None: it could not run, ``error`` says why)."""
    return {
        "success": bool(result is not None and result.success and not error),
        "score_raw": None if result is None else result.score_raw,
        "score_normalised": None if result is None else result.score_normalised,
        "error": error or (None if result is None else result.error),
        "verifier_details": {} if result is None else dict(result.details),
        "verifier_seconds": None if result is None else result.seconds,
        "scored_at": iso(time.time()),
        "scoring_suite_version": suite_version,
    }


# ===================================== summary and apply =====================================

# two-sided 95% Student t quantiles, df = 1..30 (beyond: the normal's 1.96 is within 2%)
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def geometric_mean_ci(minutes: list[float]) -> tuple[float, float | None, float | None]:
    """Geometric mean and its 95% interval (a t interval on log times; none for one value)."""
    logs = [math.log(m) for m in minutes]
    n = len(logs)
    mean = sum(logs) / n
    if n < 2:
        return math.exp(mean), None, None
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
    t = T975[n - 2] if n - 1 <= len(T975) else 1.96
    half = t * sd / math.sqrt(n)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def summarise(records: list[dict[str, Any]], suite: Suite | None) -> list[dict[str, Any]]:
    """Per variant: attempts, scored, successes, geometric-mean working minutes of successes with
    a 95% interval, and the ratio to the suite's current human_minutes."""
    rows = []
    for task_id in sorted({r["task_id"] for r in records}):
        mine = [r for r in records if r["task_id"] == task_id]
        scored = [r for r in mine if r["error"] is None]
        wins = [r for r in scored if r["success"]]
        row: dict[str, Any] = {
            "task_id": task_id,
            "attempts": len(mine),
            "scored": len(scored),
            "successes": len(wins),
            "unscored": sorted(r["attempt_id"] for r in mine if r["error"] is not None),
            "people": sorted({r["name"] for r in wins}),
            "geomean_minutes": None,
            "ci95_minutes": None,
            "human_minutes": None,
            "human_minutes_source": None,
            "ratio": None,
        }
        if wins:
            gm, lo, hi = geometric_mean_ci([r["working_seconds"] / 60 for r in wins])
            row["geomean_minutes"] = round(gm, 2)
            row["ci95_minutes"] = None if lo is None else [round(lo, 2), round(hi, 2)]
        if suite is not None:
            with contextlib.suppress(KeyError):
                v = suite.variant(task_id)
                row["human_minutes"] = v.human_minutes
                row["human_minutes_source"] = v.human_minutes_source
                if wins:
                    row["ratio"] = round(row["geomean_minutes"] / v.human_minutes, 3)
        rows.append(row)
    return rows


def _node(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in mapping.value:
        if k.value == key:
            return k, v
    return None


def edit_variant_text(text: str, variant_id: str, minutes: float, count: int, where: str) -> str:
    """``text`` of a task.yaml with the variant's human_minutes, human_minutes_source: baseline
    and human_minutes_baselines set, everything else (comments, layout) untouched."""
    item = _variant_node(text, variant_id, where)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied back to front
    for key, value in (("human_minutes", f"{minutes:g}"), ("human_minutes_source", "baseline")):
        found = _node(item, key)
        if found is None:
            raise BaselineError(f"{where}: variant '{variant_id}' has no {key}")
        edits.append((found[1].start_mark.index, found[1].end_mark.index, value))
    counted = _node(item, "human_minutes_baselines")
    if counted is not None:
        edits.append((counted[1].start_mark.index, counted[1].end_mark.index, str(count)))
    else:
        key, value = _node(item, "human_minutes_source")
        at = value.end_mark.index
        if item.flow_style:
            insert = f", human_minutes_baselines: {count}"
        else:
            indent = " " * key.start_mark.column
            insert = f"\n{indent}human_minutes_baselines: {count}"
        edits.append((at, at, insert))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


@dataclass
class Change:
    task_id: str
    before: tuple[float, str, int | None]
    after: tuple[float, str, int]


def apply_baselines(
    suite: Suite, records: list[dict[str, Any]], min_successes: int, dry_run: bool = False
) -> tuple[list[Change], list[str]]:
    """Write baselined human_minutes into task.yaml where enough successful baselines exist.

    Returns the changes and one line per variant that keeps its estimate. Every edited file is
    re-validated before it is written back.
    """
    changes: list[Change] = []
    kept: list[str] = []
    by_file: dict[Path, str] = {}
    for row in summarise(records, suite):
        if row["human_minutes"] is None:
            kept.append(f"{row['task_id']}: not in the suite any more; its baselines are ignored")
            continue
        variant = suite.variant(row["task_id"])
        n = row["successes"]
        if n < min_successes:
            kept.append(
                f"{row['task_id']}: keeps {variant.human_minutes:g} min "
                f"({variant.human_minutes_source}); {n} of {min_successes} successful baselines"
            )
            continue
        minutes = round(row["geomean_minutes"], 1)
        spec = variant.family.path / "task.yaml"
        text = by_file.get(spec) or spec.read_text()
        current = _node(_variant_node(text, variant.id, str(spec)), "human_minutes_baselines")
        before_count = int(current[1].value) if current else None
        before = (variant.human_minutes, variant.human_minutes_source, before_count)
        after = (minutes, "baseline", n)
        if before == after:
            continue
        by_file[spec] = edit_variant_text(text, variant.id, minutes, n, str(spec))
        changes.append(Change(row["task_id"], before, after))
    for spec, text in by_file.items():
        _write_checked(spec, text, suite.root, dry_run)
    return changes, kept


def _write_checked(spec: Path, text: str, root: Path, dry_run: bool) -> None:
    """Put ``text`` in ``spec`` if the family still loads with it (and not on a dry run)."""
    from rsibench.suite import load_family

    old = spec.read_text()
    spec.write_text(text)
    try:
        _, problems = load_family(spec.parent, root)
    except BaseException:
        spec.write_text(old)
        raise
    if problems or dry_run:
        spec.write_text(old)
    if problems:
        raise BaselineError(f"{spec}: the edited file would not load: " + "; ".join(problems))


def _variant_node(text: str, variant_id: str, where: str) -> yaml.MappingNode:
    root = yaml.compose(text)
    variants = _node(root, "variants") if isinstance(root, yaml.MappingNode) else None
    if variants is None or not isinstance(variants[1], yaml.SequenceNode):
        raise BaselineError(f"{where}: no variants list")
    for item in variants[1].value:
        id_ = _node(item, "id") if isinstance(item, yaml.MappingNode) else None
        if id_ and id_[1].value == variant_id:
            return item
    raise BaselineError(f"{where}: no variant '{variant_id}'")


# ===================================== the sandbox side ======================================

REQUEST_SH = """#!/bin/sh
# Ask the baseline clock on the host to $1 (pause, resume, status, submit); print its answer.
box=/tmp/.rsibench
id=$(cat /proc/sys/kernel/random/uuid)
if ! : > "$box/requests/$1.$id" 2>/dev/null; then
  echo "rsibench: cannot reach the baseline clock" >&2; exit 1
fi
n=0
while [ ! -f "$box/replies/$id" ]; do
  n=$((n + 1))
  if [ "$n" -gt 150 ]; then
    echo "rsibench: no answer from the host; is the baseline still open?" >&2; exit 1
  fi
  sleep 0.1
done
cat "$box/replies/$id"
"""
SUBMIT_SH = """#!/bin/sh
# End the attempt: the host stops every process here and scores /workspace.
if [ "$1" != "-y" ]; then
  printf 'Submit /workspace for scoring? This ends the attempt and stops every process. [y/N] '
  read -r answer
  case "$answer" in y|Y|yes|YES) ;; *) echo "not submitted"; exit 1 ;; esac
fi
exec /tmp/.rsibench/bin/rsibench-request submit
"""
BASHRC = """[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
PATH=/tmp/.rsibench/bin:$PATH
PS1='[$(cat /tmp/.rsibench/status 2>/dev/null)] \\w\\$ '
cat /tmp/.rsibench/motd
"""
# as root over the exec server: collect request names (each removed), then write the status
POLL_SH = """cd /tmp/.rsibench/requests || exit 3
for f in * .[!.]*; do
  if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\\n' "$f"; rm -rf -- "$f"; fi
done
cat > ../status.new && mv -f ../status.new ../status
"""
# as root: the answer to request $1, and the status line $2 at once (the prompt reads it next)
REPLY_SH = (
    'cd /tmp/.rsibench/replies && umask 022 && cat > "$1.new" && mv -f -- "$1.new" "$1" && '
    'printf %s "$2" > ../status.new && mv -f ../status.new ../status'
)


def _box_tar(variant: Variant, name: str) -> bytes:
    """The commands, prompt and instructions, owned by root (the agent can read, not change)."""
    motd = (
        f"rsibench baseline of {variant.task_id} by {name}. Commands: instructions, status, "
        "pause, resume, submit.\nThe clock runs while you work; `pause` for breaks.\n"
    )
    entries: list[tuple[str, int, bytes | None]] = [
        (".rsibench", 0o755, None),
        (".rsibench/bin", 0o755, None),
        (".rsibench/requests", 0o1733, None),  # the agent may create, not list or remove
        (".rsibench/replies", 0o755, None),
        (".rsibench/bin/rsibench-request", 0o755, REQUEST_SH.encode()),
        (".rsibench/bin/submit", 0o755, SUBMIT_SH.encode()),
        (".rsibench/bin/instructions", 0o755, b"#!/bin/sh\ncat /tmp/.rsibench/instructions.md\n"),
        (".rsibench/bashrc", 0o644, BASHRC.encode()),
        (".rsibench/motd", 0o644, motd.encode()),
        (".rsibench/instructions.md", 0o644, variant.instructions().encode()),
        (".rsibench/status", 0o644, b"rsibench 0:00:00"),
    ]
    for verb in ("pause", "resume", "status"):
        script = f"#!/bin/sh\nexec /tmp/.rsibench/bin/rsibench-request {verb}\n"
        entries.append((f".rsibench/bin/{verb}", 0o755, script.encode()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, mode, data in entries:
            info = tarfile.TarInfo(path)
            info.mode, info.mtime = mode, int(time.time())
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _root_exec(agent: Any, cmd: list[str], data: bytes | None = None) -> bytes:
    code, out, err, _ = agent.exec_bytes(cmd, data, None, None, "root", 30)
    if code != 0:
        raise BaselineError(
            f"{cmd[0]} in the agent container failed ({code}): {err.decode()[-500:]}"
        )
    return out


def install_box(agent: Any, variant: Variant, name: str) -> None:
    _root_exec(agent, ["tar", "-x", "-p", "-C", "/tmp"], _box_tar(variant, name))


def kill_agent_processes(agent: Any) -> None:
    """SIGKILL every process of the agent user (its shells included), twice for stragglers."""
    for _ in range(2):
        with contextlib.suppress(Exception):
            agent.exec_bytes(["/bin/sh", "-c", "kill -KILL -1"], None, None, None, "agent", 10)


def snapshot_workspace(agent: Any, dest: Path) -> str:
    """Copy the agent's /workspace, bounded like a scoring export (disk cap, entries, time;
    links leading outside it left out), to ``dest``; returns its sha256. The person's processes
    keep running. Never unpacked on the host; ``restore_workspace`` hands it back."""
    import hashlib

    export = agent.archive_workspace()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    with export.archive, tmp.open("wb") as f:
        for chunk in iter(lambda: export.archive.read(1 << 20), b""):
            f.write(chunk)
            digest.update(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dest)
    return digest.hexdigest()


def restore_workspace(agent: Any, archive: Path) -> None:
    """Replace the agent's /workspace with a snapshot's files (through the archive API)."""
    from rsibench.sandbox import WORKSPACE

    _root_exec(agent, ["find", WORKSPACE, "-mindepth", "1", "-delete"])
    with archive.open("rb") as f:
        agent.put_archive(WORKSPACE, f)


class Sandbox:
    """The sample's agent and verifier containers, made and removed as a run makes them."""

    def __init__(self, suite: Suite, variant: Variant, tag: str, digest: str | None):
        import anyio

        from rsibench.sandbox import RsibenchSandbox, SandboxConfig

        self.variant = variant
        self.task = suite.sample_spec(variant, tag, digest)
        self.cfg = SandboxConfig.for_sample(self.task)
        self.envs = anyio.run(RsibenchSandbox.sample_init, "baseline", self.cfg, {})
        self.agent = self.envs["default"].as_type(RsibenchSandbox)
        self.verifier = self.envs["verifier"].as_type(RsibenchSandbox)

    def score(self) -> tuple[Any | None, str | None]:
        """The same verifier as a run; an infrastructure fault is an error, never a verdict."""
        from rsibench.scoring import run_verifier

        try:
            return run_verifier(self.agent, self.verifier, self.task), None
        except Exception as e:
            return None, f"verifier could not run: {type(e).__name__}: {e}"

    def close(self) -> None:
        import anyio

        from rsibench.sandbox import RsibenchSandbox

        anyio.run(RsibenchSandbox.sample_cleanup, "baseline", self.cfg, self.envs, False)


def _image(suite: Suite, variant: Variant, log: Log) -> tuple[str, str | None]:
    from rsibench.harness import ready_images

    return ready_images(suite, [variant], log)[variant.family.image]


# ===================================== the host side =========================================


class Hangup(Exception):
    """The terminal went away or we were told to stop: interrupt, resumable."""


@dataclass
class Paths:
    folder: Path
    name: str
    task_id: str

    @property
    def session(self) -> Path:
        return self.folder / "sessions" / self.name / self.task_id

    @property
    def state(self) -> Path:
        return self.session / "state.json"

    @property
    def snapshot(self) -> Path:
        return self.session / "workspace.tar"

    @property
    def shells(self) -> Path:
        return self.session / "shells"

    @property
    def verdict(self) -> Path:
        return self.session / "verdict.txt"

    @property
    def records(self) -> Path:
        return self.folder / f"{self.name}.jsonl"


def default_folder() -> Path:
    from rsibench.suite import find_root

    try:
        return find_root() / "results" / "baselines"
    except SuiteError:
        return Path("results") / "baselines"


def read_state(paths: Paths) -> dict[str, Any] | None:
    try:
        return json.loads(paths.state.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as e:
        raise BaselineError(
            f"{paths.state}: unreadable session state ({e}); delete {paths.session} to start over"
        ) from e


def write_state(paths: Paths, state: dict[str, Any]) -> None:
    tmp = paths.state.with_name("state.json.part")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, paths.state)


def _try_lock(path: Path) -> int | None:
    """An exclusive lock on ``path`` held by the returned fd, or None if another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _need_terminal() -> str:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BaselineError("a baseline needs an interactive terminal (stdin and stdout a tty)")
    if shutil.which("docker") is None:
        raise BaselineError(
            "the interactive shell uses the `docker` command-line client, which is not on PATH; "
            "install it (Debian: apt-get install docker.io)"
        )
    return os.ttyname(sys.stdin.fileno())


def shell_command(container: str) -> list[str]:
    """An interactive login-less bash as ``agent`` in /workspace, in the container's limits."""
    from rsibench.execd import SOURCE_VAR
    from rsibench.sandbox import AGENT_USER, WORKSPACE

    term = os.environ.get("TERM", "xterm")
    return [
        "docker", "exec", "-it", "-u", AGENT_USER, "-w", WORKSPACE, "-e", f"TERM={term}",
        container, "env", "-u", SOURCE_VAR, "bash", "--rcfile", f"{BOX}/bashrc", "-i",
    ]  # fmt: skip


def _run_shell(container: str) -> int:
    proc = subprocess.Popen(shell_command(container))
    try:
        return proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise


def _say(text: str = "") -> None:
    with contextlib.suppress(OSError, ValueError):
        print(text, flush=True)


def _live_shells(paths: Paths) -> dict[int, str]:
    """Attached shells: pid -> their terminal, dropping registrations of dead processes."""
    out = {}
    for entry in paths.shells.glob("*") if paths.shells.is_dir() else ():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and Path(f"/proc/{pid}").exists():
            out[pid] = entry.read_text().strip()
        else:
            entry.unlink(missing_ok=True)
    return out


class Session:
    """One open baseline: the clock, the poller that serves the sandbox's requests, the shell."""

    def __init__(
        self, paths: Paths, state: dict[str, Any], box: Sandbox, tty: str, suite: Suite
    ) -> None:
        self.paths, self.state, self.box, self.tty, self.suite = paths, state, box, tty, suite
        self.clock = Clock.from_json(state["clock"])
        self.lock = threading.RLock()
        self.ending = False
        self.stopped = threading.Event()
        self.last_snapshot = time.time()
        self.poller = threading.Thread(target=self._poll_loop, name="baseline-clock", daemon=True)

    # ---- the clock, from the host ------------------------------------------------------------
    def save(self, now: float | None = None) -> None:
        with self.lock:
            self.state["clock"] = self.clock.to_json()
            self.state["checkpoint_at"] = now or time.time()
            write_state(self.paths, self.state)

    def status_line(self, now: float) -> str:
        work = hms(self.clock.working_seconds(now))
        return f"rsibench PAUSED {work}" if self.clock.paused else f"rsibench {work}"

    def describe(self, now: float) -> str:
        c = self.clock
        paused = sum((e or now) - s for s, e in c.pauses)
        state = "PAUSED; `resume` to go on" if c.paused else "running"
        return (
            f"{self.state['task']['task_id']} by {self.state['name']}: clock {state}\n"
            f"working {hms(c.working_seconds(now))} | wall {hms(now - (c.started or now))} | "
            f"paused {hms(paused)} in {len(c.pauses)} pause(s) | idle, not counted "
            f"{hms(c.idle_seconds(now))} (idle limit {self.state['idle_minutes']:g} min)\n"
        )

    def handle(self, verb: str, rid: str) -> None:
        now = time.time()
        with self.lock:
            self.clock.activity(now)
            if verb == "pause":
                if self.clock.paused:
                    msg = "The clock is already paused; `resume` to go on.\n"
                else:
                    self.clock.pause(now)
                    msg = (
                        f"Clock paused at working time {hms(self.clock.working_seconds(now))}. "
                        "Take your break; `resume` when you are back.\n"
                        "(Processes keep running: do not pause while waiting on a job.)\n"
                    )
            elif verb == "resume":
                if self.clock.paused:
                    self.clock.resume(now)
                    msg = f"Clock running again at {hms(self.clock.working_seconds(now))}.\n"
                else:
                    msg = "The clock is already running.\n"
            elif verb == "status":
                msg = self.describe(now)
            else:
                self._end(now)
                msg = (
                    f"Submitted at working time {hms(self.clock.working_seconds(now))}. "
                    "Stopping every process and scoring; the verdict appears in the terminal "
                    "where the baseline was started.\n"
                )
            self.save(now)
            line = self.status_line(now)
        self._reply(rid, msg, line)
        if verb == "pause":
            self.snapshot()  # a quiet moment to keep the files, should the machine stop
        if verb == "submit":
            time.sleep(0.5)  # let the command print the answer before its shell goes
            kill_agent_processes(self.box.agent)

    def _end(self, now: float) -> None:
        """Submitted: the clock stops now, for good."""
        with self.lock:
            if not self.ending:
                self.clock.finish(now)
                self.state.update(submitted_at=now, status="submitted")
                self.ending = True
                self.save(now)

    def _reply(self, rid: str, text: str, status: str) -> None:
        self.box.agent.exec_bytes(
            ["/bin/sh", "-c", REPLY_SH, "sh", rid, status], text.encode(), None, None, "root", 10
        )

    def _watch_terminals(self) -> None:
        for tty in {self.tty, *_live_shells(self.paths).values()}:
            with contextlib.suppress(OSError):
                st = os.stat(tty)
                with self.lock:
                    self.clock.activity(max(st.st_atime, st.st_mtime))

    def poll_once(self) -> None:
        now = time.time()
        with self.lock:
            line = self.status_line(now)
        code, out, _, _ = self.box.agent.exec_bytes(
            ["/bin/sh", "-c", POLL_SH], line.encode(), None, None, "root", 10
        )
        for name in out.decode(errors="replace").splitlines():
            if m := REQUEST.match(name):
                self.handle(m[1], m[2])
        self._watch_terminals()
        self.save()
        if (
            not self.ending
            and self.clock.running
            and time.time() - self.last_snapshot > SNAPSHOT_EVERY_S
        ):
            self.snapshot()

    def _poll_loop(self) -> None:
        while not self.stopped.wait(POLL_S):
            try:
                self.poll_once()
            except Exception:  # the container went away: the shell notices, we keep the clock
                time.sleep(POLL_S)

    def snapshot(self) -> None:
        with contextlib.suppress(Exception):
            snapshot_workspace(self.box.agent, self.paths.snapshot)
            self.last_snapshot = time.time()

    # ---- the person's side -------------------------------------------------------------------
    def run(self) -> None:
        """Shells until submitted (score) or interrupted (resumable); always stops the poller."""
        self.poll_once()  # the status line is right before the first prompt
        self.poller.start()
        try:
            if self._shells():
                self._score()
        except (Hangup, KeyboardInterrupt):
            self.interrupt()
        finally:
            self.stopped.set()
            self.poller.join(5)

    def _shells(self) -> bool:
        """True once submitted; False when the person chose to stop for now."""
        container = self.box.agent.container.name
        while True:
            _run_shell(container)
            if self.ending:
                return True
            others = _live_shells(self.paths)
            if others:
                _say(f"\nThis shell closed; {len(others)} other shell(s) still open.")
                if self._ask("Press Enter to open a new shell here. ", {""}) is None:
                    return True
                continue
            _say("\nYou left the sandbox; the clock is still running.")
            answer = self._ask("[r]eopen a shell, [s]ubmit for scoring, [q]uit and resume later? ",
                               {"r", "s", "q"})  # fmt: skip
            if answer is None:
                return True
            if answer == "q":
                self.interrupt()
                return False
            if answer == "s":
                self._end(time.time())
                return True

    def _ask(self, prompt: str, choices: set[str]) -> str | None:
        """A line from the person, or None as soon as a shell elsewhere submits."""
        import select

        _say(prompt)
        while True:
            if self.ending:
                return None
            ready, _, _ = select.select([sys.stdin], [], [], POLL_S)
            if ready:
                line = sys.stdin.readline()
                if not line:
                    raise Hangup()
                answer = line.strip().lower()[:1]
                if answer in choices:
                    return answer
                _say(prompt)

    def interrupt(self) -> None:
        now = time.time()
        with self.lock:
            if self.ending:
                return
            self.clock.interrupt(now)
            self.state["status"] = "interrupted"
            self.save(now)
        self.snapshot()
        _say(
            f"\nBaseline interrupted at working time {hms(self.clock.working_seconds(now))}; the "
            "clock is stopped and /workspace is saved. Resume within a day with the same command."
        )

    def _score(self) -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal does not stop scoring
        self.stopped.set()
        self.poller.join(5)
        kill_agent_processes(self.box.agent)
        state = self.state
        archive = Path("workspaces") / f"{state['attempt_id']}.tar"
        with self.lock:
            state["status"] = "scoring"
            state["archive"] = str(archive)
            state["scoring_suite_version"] = self.suite.version
            self.save()
        _say("\nScoring /workspace with the hidden verifier ...")
        try:
            state["archive_sha256"] = snapshot_workspace(
                self.box.agent, self.paths.folder / archive
            )
        except Exception as e:
            state["archive_sha256"] = None
            _say(f"warning: could not archive /workspace ({e}); scoring goes on")
        write_state(self.paths, state)
        result, error = self.box.score()
        record = make_record(state, result, error)
        append_record(self.paths.records, record)
        text = verdict_text(record, self.paths.records)
        self.paths.verdict.write_text(text)
        state["status"] = "done"
        write_state(self.paths, state)
        _say(text)


def verdict_text(rec: dict[str, Any], where: Path) -> str:
    """What the person sees at the end: the verdict, the times, where the record went."""
    norm = rec["score_normalised"]
    if rec["error"]:
        verdict = f"NOT SCORED: {rec['error']} (the workspace is kept: `rsibench baseline rescore`)"
    else:
        verdict = (
            f"{'SUCCESS' if rec['success'] else 'FAILED'}: normalised score "
            f"{'none' if norm is None else f'{norm:.3f}'} (success at {rec['threshold']:g} or more)"
        )
    details = {k: v for k, v in rec["verifier_details"].items() if k != "log"}
    lines = [
        "",
        f"Baseline of {rec['task_id']} by {rec['name']}",
        f"  verdict:      {verdict}",
        f"  working time: {hms(rec['working_seconds'])}  (wall {hms(rec['wall_seconds'])}; "
        f"paused {hms(rec['paused_seconds'])}; idle {hms(rec['idle_seconds'])}; "
        f"interrupted {hms(rec['interrupted_seconds'])})",
        f"  record:       {where}  (attempt {rec['attempt_id']})",
    ]
    if details:
        lines.append(f"  details:      {json.dumps(details, default=str)[:1200]}")
    return "\n".join(lines) + "\n"


# ===================================== commands ==============================================


def start(
    task_id: str,
    name: str,
    folder: Path | None = None,
    idle_minutes: float = DEFAULT_IDLE_MINUTES,
    restart: bool = False,
    notes: str | None = None,
) -> None:
    """``rsibench baseline TASK --name NAME``: a new attempt, or the interrupted one resumed."""
    suite, variant, paths = _locate(task_id, name, folder)
    tty = _need_terminal()
    lock = _try_lock(paths.session / "lock")
    if lock is None:
        raise BaselineError(
            f"a baseline of {task_id} by {name} is already open in another terminal; "
            f"open another shell with `rsibench baseline {task_id} --name {name} --attach`"
        )
    saved_tty = termios.tcgetattr(sys.stdin.fileno())
    previous = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM)}

    def hangup(signum: int, frame: Any) -> None:
        raise Hangup()

    for s in previous:
        signal.signal(s, hangup)
    box = None
    try:
        state = _resumable(paths, restart)
        tag, digest = _image(suite, variant, lambda m: _say(m))
        _say(f"starting the sandbox for {task_id} ({tag}) ...")
        box = Sandbox(suite, variant, tag, digest)
        install_box(box.agent, variant, name)
        now = time.time()
        if state is None:
            clock = Clock(idle_limit=idle_minutes * 60)
            stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
            state = {
                "attempt_id": f"{name}.{variant.family.id}.{variant.id}.{stamp}",
                "name": name,
                "suite_version": suite.version,
                "task": variant.record_fields(),
                "idle_minutes": idle_minutes,
                "notes": notes,
                "image": tag,
                "image_digest": digest,
            }
            _say(f"\n{'=' * 78}\n{variant.instructions().rstrip()}\n{'=' * 78}")
            clock.start(now)
        else:
            clock = Clock.from_json(state["clock"])
            if clock.running:  # the host died without saying so: its last checkpoint
                clock.interrupt(state["checkpoint_at"])
            if paths.snapshot.is_file():
                restore_workspace(box.agent, paths.snapshot)
            clock.reopen(now)
            _say(
                f"Resuming {task_id} for {name} at working time "
                f"{hms(clock.working_seconds(now))}; /workspace restored "
                "(processes from before did not survive)."
            )
        _say(
            "\nYou are `agent` in /workspace of the agent's own sandbox (no network). Inside: "
            "`instructions`, `status`, `pause`, `resume`, `submit`.\nMore shells: "
            f"`rsibench baseline {task_id} --name {name} --attach` in another terminal.\n"
        )
        state.update(status="running", clock=clock.to_json(), checkpoint_at=now)
        state["containers"] = {"agent": box.agent.container.name}
        paths.session.mkdir(parents=True, exist_ok=True)
        write_state(paths, state)
        Session(paths, state, box, tty, suite).run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        with contextlib.suppress(termios.error):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved_tty)
        if box is not None:
            with contextlib.suppress(Exception):
                box.close()
        os.close(lock)


def _locate(task_id: str, name: str, folder: Path | None) -> tuple[Suite, Variant, Paths]:
    if not NAME.match(name):
        raise BaselineError(
            f"--name {name!r}: use letters, digits, '.', '_' or '-' (it names the records file)"
        )
    suite = load_suite()
    try:
        variant = suite.variant(task_id)
    except KeyError:
        raise BaselineError(
            f"no task '{task_id}' in the suite; `rsibench list` shows the task ids"
        ) from None
    return suite, variant, Paths(folder or default_folder(), name, task_id)


def _resumable(paths: Paths, restart: bool) -> dict[str, Any] | None:
    """The interrupted attempt to resume, or None for a fresh one (clearing a finished one)."""
    state = read_state(paths)
    if state is None:
        return None
    status = state.get("status")
    if status in ("submitted", "scoring"):  # the host stopped before the verdict
        _record_unscored(paths, state)
        raise BaselineError(
            f"the attempt {state['attempt_id']} was submitted but not scored; it is recorded "
            f"unscored in {paths.records}: run `rsibench baseline rescore`, then this command "
            "again for a new attempt"
        )
    age = time.time() - state.get("checkpoint_at", 0)
    if status in ("running", "interrupted") and not restart:
        if age > RESUME_WITHIN_S:
            raise BaselineError(
                f"the attempt {state['attempt_id']} stopped {age / 3600:.0f} h ago, more than a "
                "day: it can no longer be resumed; add --restart to discard it and start again"
            )
        return state
    for entry in (paths.state, paths.snapshot, paths.verdict):
        entry.unlink(missing_ok=True)
    return None


def _record_unscored(paths: Paths, state: dict[str, Any]) -> None:
    """Keep a submitted attempt whose scoring never finished: its archive (or, failing that,
    the last snapshot of /workspace) and an unscored record that ``rescore`` picks up."""
    import hashlib

    state.setdefault("archive", str(Path("workspaces") / f"{state['attempt_id']}.tar"))
    archive = paths.folder / state["archive"]
    why = "scoring was interrupted"
    if not archive.is_file() and paths.snapshot.is_file():
        archive.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.snapshot, archive)
        why += f" (workspace as of its last snapshot, {iso(paths.snapshot.stat().st_mtime)})"
    if archive.is_file():
        state["archive_sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    state.setdefault("archive_sha256", None)
    state.setdefault("submitted_at", state.get("checkpoint_at", time.time()))
    append_record(paths.records, make_record(state, None, why))
    state["status"] = "done"
    write_state(paths, state)


def attach(task_id: str, name: str, folder: Path | None = None) -> None:
    """Another shell in an open baseline (its clock stays with the first terminal)."""
    _, _, paths = _locate(task_id, name, folder)
    tty = _need_terminal()
    state = read_state(paths)
    probe = _try_lock(paths.session / "lock")
    if probe is not None:
        os.close(probe)
    if state is None or probe is not None or state.get("status") != "running":
        raise BaselineError(
            f"no baseline of {task_id} by {name} is open; start it with "
            f"`rsibench baseline {task_id} --name {name}`"
        )
    paths.shells.mkdir(exist_ok=True)
    mine = paths.shells / str(os.getpid())
    mine.write_text(tty)
    saved_tty = termios.tcgetattr(sys.stdin.fileno())
    try:
        _run_shell(state["containers"]["agent"])
    finally:
        mine.unlink(missing_ok=True)
        with contextlib.suppress(termios.error):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved_tty)
    _say()
    state = read_state(paths) or {}
    if state.get("status") in ("submitted", "scoring", "done"):
        _say("The attempt was submitted; waiting for the verdict ...")
        for _ in range(3600):
            if paths.verdict.is_file() and read_state(paths).get("status") == "done":
                _say(paths.verdict.read_text())
                return
            time.sleep(1)
    _say("Shell closed; the baseline goes on in its first terminal.")


def rescore(
    folder: Path | None, attempt_ids: Iterable[str], every: bool, log: Log
) -> list[dict[str, Any]]:
    """Score archived attempts again (default: those not scored); append their new records."""
    folder = folder or default_folder()
    records = load_baselines(folder)
    wanted = set(attempt_ids)
    known = {r["attempt_id"] for r in records}
    if missing := wanted - known:
        raise BaselineError(f"no baseline attempt {', '.join(sorted(missing))} in {folder}")
    chosen = [r for r in records if (r["attempt_id"] in wanted if wanted else every or r["error"])]
    suite = load_suite()
    out = []
    for rec in chosen:
        archive = folder / rec["workspace_archive"]
        if not archive.is_file():
            raise BaselineError(
                f"{archive}: the workspace archive of {rec['attempt_id']} is missing; it cannot "
                "be scored again"
            )
        try:
            variant = suite.variant(rec["task_id"])
        except KeyError:
            raise BaselineError(
                f"{rec['attempt_id']}: task {rec['task_id']} left the suite"
            ) from None
        tag, digest = _image(suite, variant, log)
        log(f"rescoring {rec['attempt_id']} ...")
        box = Sandbox(suite, variant, tag, digest)
        try:
            restore_workspace(box.agent, archive)
            result, error = box.score()
        finally:
            box.close()
        new = {**rec, **scoring_fields(result, error, suite.version)}
        append_record(folder / f"{rec['name']}.jsonl", new)
        log(verdict_text(new, folder / f"{rec['name']}.jsonl"))
        out.append(new)
    return out
