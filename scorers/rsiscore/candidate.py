"""Handling the candidate's work as hostile: read it without following links, copy it into
root-owned snapshots, and run it only as the unprivileged candidate user in a clean environment.

Every process the candidate's code starts is uid 1000; ``kill_candidate_processes`` ends them
all (the verifier container has its own PID namespace), so nothing the candidate leaves behind
runs on while the scorer times or checks anything else.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CANDIDATE_UID = 1000
CANDIDATE_GID = 1000
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
MAX_FILE_BYTES = 256 * 1024 * 1024  # RLIMIT_FSIZE for candidate processes
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class CandidateError(Exception):
    """The candidate's work is unusable (missing, a link, too large, ...): a failed score."""


# ---- private and shared folders ------------------------------------------------------------


def private_dir(tag: str, base: Path | None = None) -> Path:
    """A fresh folder only root can enter (trusted builds, expected outputs), under ``base``
    (default: the temp dir)."""
    return Path(tempfile.mkdtemp(prefix=f"rsi-{tag}-", dir=base))


def readable_dir(tag: str, base: Path | None = None) -> Path:
    """A fresh root-owned folder the candidate can read but not change (runner scripts,
    snapshots of its own files, its compiled library)."""
    d = private_dir(tag, base)
    d.chmod(0o755)
    return d


def writable_dir(tag: str) -> Path:
    """A fresh folder owned by the candidate user (its HOME, its output files)."""
    d = private_dir(tag)
    os.chown(d, CANDIDATE_UID, CANDIDATE_GID)
    return d


def install(src: Path | bytes, dest: Path, mode: int = 0o644) -> Path:
    """Put trusted bytes (or a trusted file) at ``dest``, root-owned, with ``mode``."""
    data = src if isinstance(src, bytes) else src.read_bytes()
    dest.write_bytes(data)
    dest.chmod(mode)
    return dest


# ---- reading the candidate's files ---------------------------------------------------------


def read_workspace_file(workspace: Path, name: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``workspace/name`` (a top-level name), refusing links,
    devices, FIFOs and anything larger than ``max_bytes``: root never follows the candidate's
    symlinks to files the candidate could not read itself."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"not a top-level file name: {name!r}")
    dir_fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except FileNotFoundError:
            raise CandidateError(f"{name}: missing from the workspace") from None
        except OSError as e:
            raise CandidateError(f"{name}: cannot be opened as a plain file ({e.strerror})") from e
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise CandidateError(f"{name}: not a regular file")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise CandidateError(f"{name}: larger than {max_bytes} bytes")
    return data


def snapshot(
    workspace: Path,
    dest: Path,
    suffixes: Iterable[str],
    max_files: int = 500,
    max_bytes: int = 16 * 1024 * 1024,
) -> list[str]:
    """Copy the workspace's regular files ending in ``suffixes`` into ``dest`` (root-owned,
    world-readable, not writable by the candidate) and return their relative paths.

    Symlinks, devices and ``__pycache__`` are skipped, so code that runs from the snapshot sees
    exactly the source files the candidate wrote, frozen before any of its code runs."""
    wanted = tuple(suffixes)
    copied: list[str] = []
    total = 0
    for root, dirs, files in os.walk(workspace, followlinks=False):
        rel_root = Path(root).relative_to(workspace)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not Path(root, d).is_symlink())
        for name in sorted(files):
            src = Path(root, name)
            if not name.endswith(wanted) or not stat.S_ISREG(src.lstat().st_mode):
                continue
            data = read_workspace_file(Path(root), name, max_bytes - total)
            total += len(data)
            if len(copied) >= max_files:
                raise CandidateError(f"more than {max_files} {'/'.join(wanted)} files")
            target = dest / rel_root / name
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            install(data, target)
            copied.append(str(rel_root / name))
    return copied


# ---- running candidate code ----------------------------------------------------------------


def clean_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A fixed environment: nothing inherited (no LD_PRELOAD, PYTHONPATH, ...)."""
    env = {"PATH": SAFE_PATH, "HOME": str(home), "TMPDIR": str(home), "LANG": "C.UTF-8"}
    env.update(ONE_THREAD_ENV)
    env.update(extra or {})
    return env


def _limits(nproc: int | None) -> Callable[[], None]:
    def apply() -> None:  # runs in the child after it became the candidate user
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        if nproc is not None:
            # counts every task of the user, threads included: nproc=1 forbids threads and forks
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    home: Path,
    candidate: bool = True,
    nproc: int | None = None,
    stdin: int | None = subprocess.DEVNULL,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.STDOUT,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session with a clean environment; as the candidate user
    (no supplementary groups) unless ``candidate`` is false (the scorer's trusted kernels)."""
    ids: dict[str, object] = (
        {"user": CANDIDATE_UID, "group": CANDIDATE_GID, "extra_groups": []} if candidate else {}
    )
    # argv is built by the scorer from its own paths, never from the candidate's files
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=clean_env(home),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        close_fds=True,
        preexec_fn=_limits(nproc),  # safe here: the scorer is single-threaded
        **ids,  # type: ignore[arg-type]
    )


@dataclass
class RunResult:
    returncode: int | None  # None: killed at the timeout
    log: str  # the tail of stdout+stderr, for the details only (never parsed for results)
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_candidate(
    argv: Sequence[str], *, cwd: Path, home: Path, timeout: float, log_bytes: int = 4000
) -> RunResult:
    """Run ``argv`` as the candidate to completion (or ``timeout``), then end every process
    the candidate user has, so that nothing it started outlives the run."""
    started = time.monotonic()
    log_dir = private_dir("log")
    with open(log_dir / "log", "w+b") as log:
        proc = spawn(argv, cwd=cwd, home=home, stdout=log, stderr=subprocess.STDOUT)
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        kill_candidate_processes()
        proc.wait()
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - log_bytes))
        tail = log.read().decode(errors="replace")
    shutil.rmtree(log_dir, ignore_errors=True)
    return RunResult(code, tail, round(time.monotonic() - started, 3))


def candidate_pids() -> list[int]:
    """Live processes with any uid (real, effective, saved or filesystem) of the candidate."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path("/proc", entry, "status").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uids = fields.get("Uid", "").split()
        if str(CANDIDATE_UID) in uids and not fields.get("State", "").strip().startswith("Z"):
            pids.append(int(entry))
    return pids


def kill_candidate_processes(timeout: float = 10.0) -> None:
    """SIGKILL every candidate process until none is left; fail closed if some survive."""
    deadline = time.monotonic() + timeout
    while pids := candidate_pids():
        if time.monotonic() > deadline:
            raise RuntimeError(f"candidate processes survive SIGKILL: {pids}")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # exited meanwhile
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
