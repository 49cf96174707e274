"""The ``rsibench`` inspect sandbox: two hardened containers per sample on the Docker SDK.

Per sample an *agent* container (the default sandbox, where the agent's tools run as the
unprivileged user ``agent``) and a *verifier* container of the same image that nothing reaches
until scoring. Both have no network, a read-only root, capped CPU, memory and processes, and
size-capped writable space (/workspace on its own tmpfs volume, /tmp and $HOME on tmpfs), which
is how disk is limited on any storage driver. No docker compose is needed; Engine 20.10 works.

Commands do not go through ``docker exec`` (runc exec alone costs ~35 ms): each container's main
process is an exec server (:mod:`rsibench.execd`) that the host drives over the container's
attached stdin and stdout, one connection and one reader thread per container.

The agent's turn ends when its workspace is exported for scoring (:meth:`export_workspace`):
every process in the agent container is killed and the container is frozen first, so nothing
the agent left running can edit what is scored. The export streams the archive once, within
the workspace's disk cap, an entry cap and a time limit, and drops links that lead outside it.

Every container and volume is labelled with its owner (host, pid namespace, pid and the pid's
start time), so that ``rsibench cleanup`` removes only what belongs to runs no longer alive.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import io
import logging
import os
import shlex
import socket
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, overload

import anyio
import docker.errors
import docker.types
import requests
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentLimits,
    sandboxenv,
)
from pydantic import BaseModel

from rsibench import engine, execd
from rsibench.spec import SampleSpec

AGENT_USER = "agent"
WORKSPACE = "/workspace"
VERIFIER_DIR = "/verifier"
LABEL = "org.rsibench.sandbox"
SESSION_LABEL = "org.rsibench.session"
SESSION = uuid.uuid4().hex[:12]  # this process; task_cleanup removes what it left behind
OWNER_LABEL = "org.rsibench.owner"  # .where, .pid, .started: see _owner_labels
SPOOL = 64 * 1024 * 1024  # archives larger than this spill to a temporary file
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EXPORT_MAX_ENTRIES = 100_000  # files, folders and links in an exported workspace
EXPORT_SECONDS = 120.0  # wall-clock limit on exporting a workspace
MAX_NOTES = 50  # dropped entries named one by one in the verifier's details

log = logging.getLogger(__name__)


class SandboxConfig(BaseModel, frozen=True):
    """Everything one sample's containers need: the image, the family's resources, and the
    host folder copied into the agent's /workspace."""

    image: str
    task_id: str
    cpus: float
    memory: str
    pids: int
    disk: str
    gpus: int = 0
    workspace: str

    @classmethod
    def for_sample(cls, task: SampleSpec, workspace: Path | None = None) -> SandboxConfig:
        """The containers for ``task``, starting from its family's workspace/ (or ``workspace``)."""
        return cls(
            task_id=task.task_id,
            image=task.image,
            workspace=str(workspace or Path(task.family_dir) / "workspace"),
            **task.resources.model_dump(),
        )


def size_bytes(size: str) -> int:
    """``resources.disk`` ("64m", "2g", "512k", as the task schema allows) in bytes."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(size[:-1]) * units[size[-1].lower()]


# ---- ownership: which run a sandbox belongs to, and whether that run is still alive ---------


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str:
    """A process's start time in clock ticks after boot ("" if unknown): beats pid reuse."""
    stat = _read(f"/proc/{pid}/stat")
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and ")"
    return fields[19] if len(fields) > 19 else ""


def _where() -> str:
    """The pid space this process lives in: host name, boot and pid namespace.

    A pid means something only within one such space; sandboxes made in another one (another
    machine sharing the daemon, a CI job in a container) are never judged dead from here.
    """
    try:
        pidns = os.readlink("/proc/self/ns/pid")
    except OSError:
        pidns = ""
    return f"{socket.gethostname()}/{_read('/proc/sys/kernel/random/boot_id')}/{pidns}"


def _owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {
        LABEL: "",
        SESSION_LABEL: SESSION,
        f"{OWNER_LABEL}.where": _where(),
        f"{OWNER_LABEL}.pid": str(pid),
        f"{OWNER_LABEL}.started": _start_ticks(pid),
    }


def owner_alive(labels: dict[str, str]) -> bool | None:
    """Whether the run that made a sandbox still runs: True, False, or None (cannot tell here)."""
    where = labels.get(f"{OWNER_LABEL}.where")
    pid, started = labels.get(f"{OWNER_LABEL}.pid", ""), labels.get(f"{OWNER_LABEL}.started")
    if not where or not pid.isdigit() or not started or where != _where():
        return None
    return _start_ticks(int(pid)) == started


def _container_kwargs(cfg: SandboxConfig, role: str, volumes: dict[str, dict[str, str]]) -> dict:
    kwargs: dict[str, Any] = dict(
        image=cfg.image,
        # the exec server, fed its source through the environment (nothing in the image)
        command=execd.container_command(),
        stdin_open=True,  # its requests arrive on stdin; no TTY, so output is multiplexed
        log_config=docker.types.LogConfig(type="none"),  # command output is not for the log
        init=True,  # reap zombies the agent leaves behind
        network_mode="none",
        nano_cpus=int(cfg.cpus * 1e9),
        mem_limit=cfg.memory,
        memswap_limit=cfg.memory,
        pids_limit=cfg.pids,
        read_only=True,
        # exec: Docker mounts tmpfs noexec by default, which breaks `gcc -o /tmp/a && /tmp/a`
        tmpfs={
            "/tmp": f"size={cfg.disk},mode=1777,exec",
            f"/home/{AGENT_USER}": "size=64m,uid=1000,gid=1000,mode=0755,exec",
        },
        volumes=volumes,
        environment={execd.SOURCE_VAR: execd.source()},  # HOME comes from passwd, per user
        working_dir=WORKSPACE,
        security_opt=["no-new-privileges"],
        cap_drop=["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT", "SETFCAP", "NET_BIND_SERVICE"],
        labels={**_owner_labels(), LABEL: role, "org.rsibench.task": cfg.task_id},
    )
    if cfg.gpus:
        kwargs["device_requests"] = [
            docker.types.DeviceRequest(count=cfg.gpus, capabilities=[["gpu"]])
        ]
    return kwargs


def _volume(name: str, size: str, owner: str, mode: str) -> Any:
    return engine.client().volumes.create(
        name=name,
        driver="local",
        driver_opts={"type": "tmpfs", "device": "tmpfs", "o": f"size={size},{owner},mode={mode}"},
        labels={**_owner_labels(), LABEL: "volume"},
    )


def tar_directory(
    src: Path, uid: int, gid: int, mode_dirs: int, mode_files: int, prefix: str = ""
) -> bytes:
    """A tar of ``src``'s contents with fixed owners and modes, names under ``prefix/`` if given.

    Executable bits survive (as allowed by ``mode_dirs``) so scripts stay runnable.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        entries = [(src, prefix)] if prefix else []
        entries += [
            (p, str(PurePosixPath(prefix) / p.relative_to(src)))
            for p in sorted(src.rglob("*"))
            if "__pycache__" not in p.parts
        ]
        for path, name in entries:
            info = tar.gettarinfo(str(path), arcname=name)
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            if info.isdir():
                info.mode = mode_dirs
                tar.addfile(info)
            elif info.isfile():
                executable = path.stat().st_mode & 0o100
                info.mode = mode_files | (mode_dirs & 0o111 if executable else 0)
                with path.open("rb") as f:
                    tar.addfile(info, f)
    return buf.getvalue()


def tar_files(files: dict[str, bytes], uid: int, gid: int, mode: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.uid, info.gid, info.mode = len(data), uid, gid, mode
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class WorkspaceExportError(RuntimeError):
    """The agent's workspace cannot go to the verifier: too large, too many entries, too slow."""


@dataclass
class WorkspaceExport:
    """The agent's /workspace as a tar with names relative to it, and what was left out."""

    archive: Any  # a binary file object at offset 0; the caller closes it
    entries: int = 0
    bytes: int = 0  # apparent size of the regular files
    dropped: list[str] = field(default_factory=list)  # one note per entry left out


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks, failing past a deadline."""

    def __init__(self, chunks: Iterator[bytes], deadline: float) -> None:
        self._chunks = chunks
        self._deadline = deadline
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view:
            if time.monotonic() > self._deadline:
                raise WorkspaceExportError(f"exporting it took longer than {EXPORT_SECONDS:.0f} s")
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n


def _link_stays_inside(name: str, links: dict[str, str]) -> bool:
    """Whether the link ``name`` resolves inside the workspace without ever leaving it.

    Names are relative to the workspace (mounted at the same path in both containers).
    Resolution follows the workspace's other links (``links``: name -> target) as the kernel
    would; a path that steps outside /workspace, even to come back, counts as leaving it (what
    lies outside is the verifier's filesystem, not the agent's). Targets that do not exist are
    harmless and stay.
    """
    top = PurePosixPath(WORKSPACE).name
    parts = list(PurePosixPath(name).parent.parts)
    pending: collections.deque[str] = collections.deque()
    hops = 0

    def follow(target: str) -> bool:
        nonlocal parts
        path = PurePosixPath(target)
        if path.is_absolute():
            if path.parts[1:2] != (top,):
                return False
            parts = []
            pending.extendleft(reversed(path.parts[2:]))
        else:
            pending.extendleft(reversed(path.parts))
        return True

    if not follow(links[name]):
        return False
    while pending:
        part = pending.popleft()
        if part == "..":
            if not parts:
                return False
            parts.pop()
            continue
        parts.append(part)
        target = links.get("/".join(parts))
        if target is not None:
            hops += 1
            parts.pop()
            if hops > 40 or not follow(target):  # 40: the kernel's own limit (ELOOP)
                return False
    return True


def _filter_workspace(src: tarfile.TarFile, dst: tarfile.TarFile, disk_cap: int) -> WorkspaceExport:
    """Copy ``src`` (Docker's archive of /workspace) into ``dst`` with names relative to it.

    Only regular files, folders, symlinks and hard links pass. Fails past ``disk_cap`` bytes of
    apparent size (a sparse file counts at its full length, as the tar would carry it) or
    ``EXPORT_MAX_ENTRIES`` entries, before reading the data that would cross the cap.
    Symlinks are written last, once every link is known, so each can be resolved.
    """
    top = PurePosixPath(WORKSPACE).name
    export = WorkspaceExport(archive=None)
    written: set[str] = set()
    symlinks: dict[str, tarfile.TarInfo] = {}
    for member in src:
        parts = PurePosixPath(member.name).parts
        if not parts or parts[0] != top or len(parts) == 1:
            continue
        name = "/".join(parts[1:])
        export.entries += 1
        if export.entries > EXPORT_MAX_ENTRIES:
            raise WorkspaceExportError(
                f"it holds more than {EXPORT_MAX_ENTRIES} files, folders and links"
            )
        if ".." in parts:
            export.dropped.append(f"{name}: a name that climbs out of the workspace")
            continue
        member.name = name
        if member.isfile():
            if export.bytes + member.size > disk_cap:
                raise WorkspaceExportError(
                    f"its files add up to more than its disk cap of {disk_cap} bytes "
                    f"(apparent size, sparse files at full length) at {name} "
                    f"({member.size} bytes)"
                )
            export.bytes += member.size
            dst.addfile(member, src.extractfile(member))
            written.add(name)
        elif member.isdir():
            dst.addfile(member)
            written.add(name)
        elif member.issym():
            symlinks[name] = member
        elif member.islnk():  # a hard link names another entry of the same archive
            target = PurePosixPath(member.linkname).parts
            member.linkname = "/".join(target[1:])
            if target[:1] == (top,) and member.linkname in written:
                dst.addfile(member)
            else:
                export.dropped.append(f"{name}: a hard link to {member.linkname!r}, not copied")
        else:
            export.dropped.append(f"{name}: not a regular file, folder or link")
    links = {name: info.linkname for name, info in symlinks.items()}
    for name, info in symlinks.items():
        if _link_stays_inside(name, links):
            dst.addfile(info)
        else:
            export.dropped.append(f"{name} -> {info.linkname}: a link leading outside {WORKSPACE}")
    return export


@sandboxenv(name="rsibench")
class RsibenchSandbox(SandboxEnvironment):
    """One container of a sample: role ``agent`` (the default) or ``verifier``."""

    def __init__(
        self,
        container: Any,
        role: str,
        default_user: str,
        connection: execd.Connection | None = None,
        disk: str = "64m",
    ):
        super().__init__()
        self.container = container
        self.role = role
        self.default_user = default_user
        self.disk_cap = size_bytes(disk)  # of /workspace: what an export may carry
        self._connection = connection
        self._connect_lock = threading.Lock()
        self._frozen = False  # paused since the end of the agent's turn
        self._freeze_lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------------
    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return SandboxConfig(**config)

    @classmethod
    async def task_init(cls, task_name: str, config: Any) -> None:
        await anyio.to_thread.run_sync(engine.client)  # fail fast, with the fix, if no daemon
        # what a killed earlier attempt left (its owner is dead, here): a resumed run starts clean
        removed = await anyio.to_thread.run_sync(remove_leftovers)
        if removed.removed:
            log.info("removed %d sandbox leftover(s) of runs no longer alive", removed.removed)

    @classmethod
    async def sample_init(
        cls, task_name: str, config: Any, metadata: dict[str, Any]
    ) -> dict[str, SandboxEnvironment]:
        if not isinstance(config, SandboxConfig):
            raise ValueError(
                "the rsibench sandbox needs a SandboxConfig; run tasks through `rsibench run`"
            )
        (agent, agent_conn), (verifier, verifier_conn) = await anyio.to_thread.run_sync(
            cls._create_pair, config
        )
        return {
            "default": cls(agent, "agent", AGENT_USER, agent_conn, config.disk),
            "verifier": cls(verifier, "verifier", "root", verifier_conn, config.disk),
        }

    @classmethod
    def _create_pair(
        cls, cfg: SandboxConfig
    ) -> tuple[tuple[Any, execd.Connection], tuple[Any, execd.Connection]]:
        client = engine.client()
        uid = uuid.uuid4().hex[:12]
        created: list[Any] = []
        connections: list[execd.Connection] = []
        try:
            agent_ws = _volume(f"rsibench-{uid}-agent", cfg.disk, "uid=1000,gid=1000", "0755")
            created.append(agent_ws)
            verifier_ws = _volume(f"rsibench-{uid}-vws", cfg.disk, "uid=1000,gid=1000", "0755")
            created.append(verifier_ws)
            hidden = _volume(f"rsibench-{uid}-hidden", "256m", "uid=0,gid=0", "0700")
            created.append(hidden)
            # create, not run: run would try to pull a missing image from a registry
            agent = client.containers.create(
                name=f"rsibench-{uid}-agent",
                **_container_kwargs(cfg, "agent", {agent_ws.name: {"bind": WORKSPACE}}),
            )
            created.append(agent)
            verifier = client.containers.create(
                name=f"rsibench-{uid}-verifier",
                **_container_kwargs(
                    cfg,
                    "verifier",
                    {
                        verifier_ws.name: {"bind": WORKSPACE},
                        hidden.name: {"bind": VERIFIER_DIR},
                    },
                ),
            )
            created.append(verifier)
            # attached before start, so a server that fails to boot still shows its stderr
            connections += [_connect(agent), _connect(verifier)]
            agent.start()
            verifier.start()
            workspace = tar_directory(Path(cfg.workspace), 1000, 1000, 0o755, 0o644)
            if not agent.put_archive(WORKSPACE, workspace):
                raise RuntimeError(f"could not copy {cfg.workspace} into the agent container")
            for conn in connections:
                conn.ready()
            return (agent, connections[0]), (verifier, connections[1])
        except docker.errors.ImageNotFound as e:
            _close(connections)
            _remove(created)
            raise RuntimeError(
                f"sandbox image {cfg.image} is missing: run `rsibench images build`"
            ) from e
        except BaseException:
            _close(connections)
            _remove(created)
            raise

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: Any,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        boxes = [env.as_type(RsibenchSandbox) for env in environments.values()]
        containers = [box.container for box in boxes]
        with anyio.CancelScope(shield=True):
            _close([box._connection for box in boxes if box._connection is not None])
            await anyio.to_thread.run_sync(_remove_with_volumes, containers)

    @classmethod
    async def task_cleanup(cls, task_name: str, config: Any, cleanup: bool) -> None:
        if cleanup:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(remove_leftovers, SESSION)

    @classmethod
    async def cli_cleanup(cls, id: str | None) -> None:
        """``inspect sandbox cleanup rsibench [ID]``: one container, or those of dead runs."""
        if id is None:
            await anyio.to_thread.run_sync(remove_leftovers)
        else:
            container = await anyio.to_thread.run_sync(engine.client().containers.get, id)
            await anyio.to_thread.run_sync(_remove_with_volumes, [container])

    # ---- exec and files ----------------------------------------------------------------------
    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        # No retry on timeout: a runaway command run again would just run away again.
        data = input.encode() if isinstance(input, str) else input
        marker = uuid.uuid4().hex
        limit = SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE  # read here: a context variable
        try:
            # abandoned on cancellation (Ctrl-C, a time limit): the command is killed below and
            # the thread, no longer awaited, ends with it or when the sandbox is removed
            code, out, err, truncated = await anyio.to_thread.run_sync(
                lambda: self._exec(
                    cmd, data, cwd, env, user, timeout, marker, limit, raise_start_error=True
                ),
                abandon_on_cancel=True,
            )
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._kill_quietly, marker)
            raise
        except execd.StartFailed as e:
            if e.errno == errno.EACCES:  # not executable: raised, as inspect's providers do
                raise PermissionError(errno.EACCES, e.message, cmd[0]) from None
            code, out, err, truncated = execd.FAILED_TO_START, b"", f"{e}\n".encode(), False
        note = (
            f"\n[output truncated to its last {SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE_STR}]"
        )
        return ExecResult(
            success=code == 0,
            returncode=code,
            stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace") + (note if truncated else ""),
        )

    def exec_bytes(
        self,
        cmd: list[str],
        input: bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: float | None = None,
    ) -> tuple[int, bytes, bytes, bool]:
        """Run ``cmd`` to completion; on timeout kill every process it started and raise.

        Thread-safe; many may run at once. Returns (exit status, stdout, stderr, truncated):
        each stream keeps its last ``MAX_EXEC_OUTPUT_SIZE`` bytes (inspect's limit), a command
        killed by a signal reports 128 + signal, and one that could not be started reports 126
        with the reason on stderr. Raises ``SandboxUnavailableError`` if the container's exec
        server is gone.
        """
        limit = SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE
        return self._exec(cmd, input, cwd, env, user, timeout, uuid.uuid4().hex, limit)

    def _exec(
        self,
        cmd: list[str],
        input: bytes | None,
        cwd: str | None,
        env: dict[str, str] | None,
        user: str | None,
        timeout: float | None,
        marker: str,
        max_output: int,
        raise_start_error: bool = False,
    ) -> tuple[int, bytes, bytes, bool]:
        user = user or self.default_user
        workdir = str(PurePosixPath(WORKSPACE) / cwd) if cwd else WORKSPACE
        self._thaw()
        conn = self.execd_connection()
        try:
            return conn.run(
                cmd, input, workdir, env, user, timeout, marker, max_output, raise_start_error
            )
        except TimeoutError:
            raise TimeoutError(f"command timed out after {timeout} s: {shlex.join(cmd)}") from None

    def execd_connection(self) -> execd.Connection:
        """This container's exec server connection (attached on first use if need be)."""
        conn = self._connection
        if conn is None:
            with self._connect_lock:
                if self._connection is None:
                    conn = _connect(self.container)
                    try:
                        conn.ready()
                    except BaseException:
                        conn.close()
                        raise
                    self._connection = conn
                conn = self._connection
        return conn

    def _kill_quietly(self, marker: str) -> None:
        """After a cancelled ``exec``: kill what it started, if the sandbox is still there."""
        with contextlib.suppress(Exception):
            self.execd_connection().kill(marker, timeout=10)

    # ---- the end of the agent's turn ---------------------------------------------------------
    def end_turn(self) -> None:
        """Kill every process in the container, then freeze it (``docker pause``).

        Nothing the agent started survives: processes are found by the container's /proc, not
        by anything they could change, and stopped before being killed so a fork storm cannot
        outrun the sweep. Whatever might still start in between is frozen by the cgroup
        freezer. Idempotent; the container stays frozen (using no CPU while the verifier runs)
        until the next command run in it.
        """
        with self._freeze_lock:
            if self._frozen:
                return
            self.execd_connection().kill_all()
            self.container.pause()
            self._frozen = True

    def _thaw(self) -> None:
        if self._frozen:
            with self._freeze_lock:
                if self._frozen:
                    self.container.unpause()
                    self._frozen = False

    def _resolve(self, file: str) -> str:
        return str(PurePosixPath(WORKSPACE) / file)

    async def _file_script(
        self, script: str, path: str, data: bytes | None = None, max_output: int = 64 * 1024
    ) -> tuple[int, bytes, bytes, bool]:
        """Run a /bin/sh ``script`` on ``path`` ($1) as the default user, with a fixed PATH."""
        cmd = ["/bin/sh", "-c", script, "sh", path]
        env = {"PATH": SAFE_PATH}
        marker = uuid.uuid4().hex
        return await anyio.to_thread.run_sync(
            lambda: self._exec(cmd, data, None, env, None, None, marker, max_output)
        )

    async def write_file(self, file: str, contents: str | bytes) -> None:
        path = self._resolve(file)
        data = contents.encode() if isinstance(contents, str) else contents
        script = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"'
        code, _, err, _ = await self._file_script(script, path, data)
        if code != 0:
            _raise_file_error(path, err.decode(errors="replace"))

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        path = self._resolve(file)
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE  # read here: a context variable
        too_large = OutputLimitExceededError(
            limit_str=SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, truncated_output=None
        )
        script = (
            f'[ -d "$1" ] && {{ echo "Is a directory" >&2; exit 1; }}; '
            f'[ "$(stat -c %s -- "$1" 2>/dev/null || echo 0)" -le {limit} ] '
            '|| { echo "File too large" >&2; exit 3; }; cat -- "$1"'
        )
        # one byte over the limit shows a file that grew between the size check and the read
        code, out, err, truncated = await self._file_script(script, path, max_output=limit + 1)
        if code == 3 or len(out) > limit:
            raise too_large
        if code != 0:
            _raise_file_error(path, err.decode(errors="replace"))
        return out.decode("utf-8", errors="strict") if text else out

    # ---- bulk copies used by scoring (through the daemon's archive API, never via a shell) ----
    def export_workspace(self) -> WorkspaceExport:
        """End the agent's turn (:meth:`end_turn`), then archive its /workspace for scoring."""
        self.end_turn()
        return self.archive_workspace()

    def archive_workspace(self) -> WorkspaceExport:
        """Stream out /workspace once, as it is now (what runs there keeps running).

        Nothing is unpacked on the host; the archive is spooled once (in memory up to
        ``SPOOL``), never more than the workspace's disk cap. Raises ``WorkspaceExportError``
        past the caps or ``EXPORT_SECONDS``; links leading outside /workspace and entries that
        are not files, folders or links are left out, each with a note in ``dropped``.
        """
        api = engine.client().api
        # the low-level call, so the response can be closed: an abandoned archive stream would
        # keep the daemon sending (a sparse file: gigabytes) until the connection is dropped
        response = api._get(
            api._url("/containers/{0}/archive", self.container.id),
            params={"path": WORKSPACE},
            stream=True,
            headers={"Accept-Encoding": "identity"},
        )
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (the caller owns it)
        try:
            api._raise_for_status(response)
            reader = _ChunkReader(response.iter_content(1 << 20), time.monotonic() + EXPORT_SECONDS)
            with (
                tarfile.open(fileobj=reader, mode="r|") as src,
                tarfile.open(fileobj=out, mode="w|") as dst,
            ):
                export = _filter_workspace(src, dst, self.disk_cap)
        except (tarfile.TarError, requests.RequestException) as e:
            out.close()
            raise WorkspaceExportError(f"reading Docker's archive of it failed ({e})") from e
        except BaseException:
            out.close()
            raise
        finally:
            response.close()
        if len(export.dropped) > MAX_NOTES:
            more = len(export.dropped) - MAX_NOTES
            export.dropped[MAX_NOTES:] = [f"... and {more} more"]
        out.seek(0)
        export.archive = out
        return export

    def put_archive(self, path: str, data: Any) -> None:
        if not self.container.put_archive(path, data):
            raise RuntimeError(f"could not copy files into {self.role} container at {path}")


def _raise_file_error(path: str, err: str) -> None:
    if "No such file" in err:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
    if "Is a directory" in err:
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if "Permission denied" in err or "Read-only file system" in err:
        raise PermissionError(errno.EACCES, err.strip(), path)
    raise RuntimeError(f"{path}: {err.strip()}")


def _connect(container: Any) -> execd.Connection:
    return execd.Connection.attach(
        engine.client().api,
        container.id,
        container.name,
        describe=lambda: _container_state(container),
    )


def _container_state(container: Any) -> str:
    try:
        container.reload()
    except docker.errors.NotFound:
        return "the container no longer exists"
    state = container.attrs.get("State", {})
    text = f"container {state.get('Status', 'unknown')}"
    if not state.get("Running"):
        text += f", exit code {state.get('ExitCode')}"
    if state.get("OOMKilled"):
        text += ", killed for lack of memory"
    if state.get("Error"):
        text += f", error: {state['Error']}"
    return text


def _close(connections: list[execd.Connection]) -> None:
    for conn in connections:
        conn.close()


def _remove(objects: list[Any]) -> None:
    for obj in reversed(objects):
        with contextlib.suppress(docker.errors.NotFound):
            obj.remove(force=True)


def _remove_with_volumes(containers: list[Any]) -> None:
    volumes = []
    for c in containers:
        try:
            c.reload()
            volumes += [m["Name"] for m in c.attrs["Mounts"] if m.get("Type") == "volume"]
            c.remove(force=True)
        except docker.errors.NotFound:
            pass
    for name in volumes:
        with contextlib.suppress(docker.errors.NotFound):
            engine.client().volumes.get(name).remove(force=True)


@dataclass
class Leftovers:
    removed: int = 0  # containers and volumes removed
    kept: int = 0  # of runs still alive, or whose liveness cannot be told from here


def remove_leftovers(session: str | None = None, everything: bool = False) -> Leftovers:
    """Remove rsibench containers and volumes: of one ``session`` (this process's), of every
    run (``everything``), or by default of runs no longer alive (see :func:`owner_alive`)."""
    client = engine.client()
    label = [f"{SESSION_LABEL}={session}"] if session else [LABEL]
    result = Leftovers()

    def chosen(labels: dict[str, str]) -> bool:
        take = bool(session or everything or owner_alive(labels) is False)
        result.kept += not take
        return take

    containers = [
        c for c in client.containers.list(all=True, filters={"label": label}) if chosen(c.labels)
    ]
    _remove_with_volumes(containers)
    result.removed += len(containers)
    for v in client.volumes.list(filters={"label": label}):
        if chosen(v.attrs.get("Labels") or {}):
            with contextlib.suppress(docker.errors.APIError):
                v.remove(force=True)
                result.removed += 1
    return result
