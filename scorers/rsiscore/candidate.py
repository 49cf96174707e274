"""Handling the candidate's work as hostile: read it without following links, copy it into
root-owned snapshots, and run it only as the unprivileged candidate user in a clean environment.

What the candidate's processes (uid 1000) can reach at scoring time:
- read: the image's files, and the folder of the :class:`Run` they belong to: ``run.code``
  (root-owned; the scorer puts there only what holds nothing secret: a snapshot of the
  candidate's own files, a public runner, its compiled code, its inputs as data);
- write: nothing but their own private, empty temporary folder (HOME, TMPDIR and the working
  directory), made fresh for every process and deleted after it.
:func:`lock_down` (run by ``verdict.main`` in the verifier before anything else) takes away the
rest: the agent's ``/workspace`` (read only through snapshots), and every folder the image
leaves writable to all (``/tmp``, ``/dev/shm``, ``/dev/mqueue``, the user's home), so that
nothing one candidate process writes is there for the next one. Every process the candidate's
code starts is uid 1000; :func:`end_candidate` kills them all (the verifier has its own PID
namespace) and removes the System V IPC objects they made, after every run.
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
# Folders of the image that every user may write to; locked (root, traverse only) for scoring.
SHARED_WRITABLE = ("/tmp", "/dev/shm", "/dev/mqueue", "/var/tmp")
CANDIDATE_HOME = "/home/agent"


class CandidateError(Exception):
    """The candidate's work is unusable (missing, a link, too large, malformed, ...): a failed
    score with this message as the reason, not a fault of the scorer."""


# ---- the verifier, locked for scoring ----------------------------------------------------------


def lock_down(workspace: Path) -> None:
    """Make the verifier's shared places unusable to the candidate user: the agent's workspace
    becomes root-only (the scorer reads it as root, the candidate's runs see snapshots), and
    the world-writable folders root-owned, traverse-only (fresh private folders under /tmp
    still work by their full path; nothing can be listed, created or renamed there)."""
    os.chown(workspace, 0, 0, follow_symlinks=False)
    os.chmod(workspace, 0o700)
    for folder in (*SHARED_WRITABLE, CANDIDATE_HOME):
        path = Path(folder)
        if path.is_dir() and not path.is_symlink():
            with contextlib.suppress(OSError):  # a read-only mount is locked already
                os.chown(path, 0, 0)
                os.chmod(path, 0o711)
    end_candidate()


# ---- private and shared folders ------------------------------------------------------------


def private_dir(tag: str, base: Path | None = None) -> Path:
    """A fresh folder only root can enter (trusted builds, expected outputs), under ``base``
    (default: the temp dir)."""
    return Path(tempfile.mkdtemp(prefix=f"rsi-{tag}-", dir=base))


def install(src: Path | bytes, dest: Path, mode: int = 0o644) -> Path:
    """Put trusted bytes (or a trusted file) at ``dest``, root-owned, with ``mode``."""
    data = src if isinstance(src, bytes) else src.read_bytes()
    dest.write_bytes(data)
    dest.chmod(mode)
    return dest


class Run:
    """The folder of one candidate job (one or more processes in turn): ``code``, root-owned and
    readable by the candidate, holds what its processes may read; each process gets its own
    fresh, private ``tmp`` folder. The top folder is traverse-only: a process reaches ``code``
    and its own ``tmp`` by path and can list, rename or replace nothing."""

    def __init__(self, tag: str):
        self.root = private_dir(tag)
        self.root.chmod(0o711)
        self.code = self.root / "code"
        self.code.mkdir(mode=0o755)
        self.code.chmod(0o755)  # whatever the umask

    def add(self, name: str, src: Path | bytes, mode: int = 0o644) -> Path:
        """Put a file the candidate may read (and nothing secret) into ``code``."""
        return install(src, self.code / name, mode)

    def fresh_tmp(self) -> Path:
        """A new empty folder owned by the candidate, for one process (HOME, TMPDIR, cwd)."""
        tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=self.root))
        os.chown(tmp, CANDIDATE_UID, CANDIDATE_GID)
        tmp.chmod(0o700)
        return tmp

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


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
    dest.mkdir(mode=0o755, exist_ok=True)
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


def _limits(
    nproc: int | None, address_space: int | None, cpu_seconds: int | None
) -> Callable[[], None]:
    def apply() -> None:  # runs in the child after it became the candidate user
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        if nproc is not None:
            # counts every task of the user, threads included: nproc=1 forbids threads and forks
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if address_space is not None:
            # hard limit too: an unprivileged process cannot raise it again
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if cpu_seconds is not None:
            # SIGXCPU at the soft limit, SIGKILL a second later: a handler cannot buy more
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))

    return apply


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    home: Path,
    candidate: bool = True,
    nproc: int | None = None,
    address_space: int | None = None,
    cpu_seconds: int | None = None,
    stdin: int | None = subprocess.DEVNULL,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.STDOUT,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session with a clean environment; as the candidate user
    (no supplementary groups) unless ``candidate`` is false (the scorer's trusted kernels).
    A candidate process should get ``cwd`` and ``home`` from :meth:`Run.fresh_tmp`.
    ``nproc`` caps the user's tasks (1: no threads, no forks); ``address_space`` caps the
    process's virtual memory in bytes (RLIMIT_AS, mappings and libraries included);
    ``cpu_seconds`` kills it once it has used that much CPU time (RLIMIT_CPU)."""
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
        preexec_fn=_limits(nproc, address_space, cpu_seconds),  # the scorer is single-threaded
        **ids,  # type: ignore[arg-type]
    )


@dataclass
class RunResult:
    returncode: int | None  # None: killed at the timeout
    log: str  # the tail of stdout+stderr, for the details only (never parsed for results)
    seconds: float
    cpu_seconds: float  # user + system time of the process, measured by the kernel

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_candidate(
    run: Run,
    argv: Sequence[str],
    *,
    timeout: float,
    log_bytes: int = 4000,
    keep: Callable[[Path], None] | None = None,
    nproc: int | None = None,
    cpu_seconds: int | None = None,
) -> RunResult:
    """Run ``argv`` as the candidate to completion (or ``timeout``) in a fresh private folder
    of ``run`` (its cwd, HOME and TMPDIR), end every process the candidate user has, call
    ``keep(folder)`` (to take what the scorer needs out of it, as root and without following
    links), then delete the folder.

    ``nproc=1`` runs it as one thread that can start no other (so its CPU time is all of its
    work); ``cpu_seconds`` kills it when it has used that much CPU. The CPU time it used comes
    from the kernel's accounting of the scorer's reaped children, so the scorer must not reap
    another child meanwhile (it runs one candidate job at a time)."""
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    tmp = run.fresh_tmp()
    log_dir = private_dir("log")
    try:
        with open(log_dir / "log", "w+b") as log:
            proc = spawn(
                argv,
                cwd=tmp,
                home=tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
                nproc=nproc,
                cpu_seconds=cpu_seconds,
            )
            try:
                code: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
            end_candidate()
            proc.wait()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - log_bytes))
            tail = log.read().decode(errors="replace")
        if keep is not None:
            keep(tmp)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return RunResult(code, tail, round(time.monotonic() - started, 3), round(cpu, 3))


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


def _candidate_ipc() -> dict[str, list[int]]:
    """The ids of the System V IPC objects (shm, msg, sem) the candidate user owns or made."""
    found: dict[str, list[int]] = {}
    for kind in ("shm", "msg", "sem"):
        try:
            header, *rows = Path("/proc/sysvipc", kind).read_text().splitlines()
        except OSError:
            continue
        cols = header.split()
        for row in rows:
            values = dict(zip(cols, row.split(), strict=False))
            if str(CANDIDATE_UID) in (values.get("uid"), values.get("cuid")):
                found.setdefault(kind, []).append(int(row.split()[1]))  # shmid/msqid/semid
    return found


# Removing needs the owner (root lacks CAP_SYS_ADMIN in the verifier): run as the candidate
# user, once every candidate process is dead.
_REMOVE_IPC = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
rm = {"shm": lambda i: libc.shmctl(i, 0, None), "msg": lambda i: libc.msgctl(i, 0, None),
      "sem": lambda i: libc.semctl(i, 0, 0, 0)}
for arg in sys.argv[1:]:
    kind, ident = arg.split(":")
    rm[kind](int(ident))
"""


def remove_candidate_ipc() -> int:
    """Remove the System V shared memory segments, message queues and semaphores the
    candidate user made: they outlive processes, a channel between runs. Returns how many;
    fails closed if any is left."""
    found = _candidate_ipc()
    if not found:
        return 0
    args = [f"{kind}:{ident}" for kind, ids in found.items() for ident in ids]
    subprocess.run(
        ["python3", "-I", "-c", _REMOVE_IPC, *args],
        env=clean_env(Path("/")),
        cwd="/",
        user=CANDIDATE_UID,
        group=CANDIDATE_GID,
        extra_groups=[],
        timeout=30,
        check=False,
    )
    if left := _candidate_ipc():
        raise RuntimeError(f"cannot remove the candidate's System V IPC objects: {left}")
    return len(args)


def end_candidate() -> None:
    """After a candidate job: no process of it left, and no IPC object it made."""
    kill_candidate_processes()
    remove_candidate_ipc()
