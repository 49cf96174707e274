"""The ``rsibench`` inspect sandbox: two hardened containers per sample on the Docker SDK.

Per sample an *agent* container (the default sandbox, where the agent's tools run as the
unprivileged user ``agent``) and a *verifier* container of the same image that nothing reaches
until scoring. Both have no network, a read-only root, capped CPU, memory and processes, and
size-capped writable space (/workspace on its own tmpfs volume, /tmp and $HOME on tmpfs), which
is how disk is limited on any storage driver. No docker compose is needed; Engine 20.10 works.

Commands do not go through ``docker exec`` (runc exec alone costs ~35 ms): each container's main
process is an exec server (:mod:`rsibench.execd`) that the host drives over the container's
attached stdin and stdout, one connection and one reader thread per container.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Any, Literal, overload

import anyio
import docker.errors
import docker.types
from inspect_ai.util import ExecResult, OutputLimitExceededError, SandboxEnvironment, sandboxenv
from pydantic import BaseModel

from rsibench import engine, execd
from rsibench.spec import SampleSpec

AGENT_USER = "agent"
WORKSPACE = "/workspace"
VERIFIER_DIR = "/verifier"
LABEL = "org.rsibench.sandbox"
SESSION_LABEL = "org.rsibench.session"
SESSION = uuid.uuid4().hex[:12]  # this process; task_cleanup removes what it left behind
MAX_OUTPUT = 10 * 1024 * 1024  # per stream, as inspect's docker sandbox
MAX_READ = 100 * 1024 * 1024
SPOOL = 64 * 1024 * 1024  # archives larger than this spill to a temporary file
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


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
        labels={LABEL: role, SESSION_LABEL: SESSION, "org.rsibench.task": cfg.task_id},
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
        labels={LABEL: "volume", SESSION_LABEL: SESSION},
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


def _reroot_archive(stream: Any, top: str) -> tempfile.SpooledTemporaryFile:
    """Re-pack a ``get_archive`` stream of ``/<top>`` so names are relative to it.

    Only regular files, directories and symlinks pass; nothing is ever unpacked on the host,
    and symlinks stay symlinks for the daemon to place inside the target container.
    """
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (the caller owns it)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as raw:
        for chunk in stream:
            raw.write(chunk)
        raw.seek(0)
        with (
            tarfile.open(fileobj=raw, mode="r|") as src,
            tarfile.open(fileobj=out, mode="w|") as dst,
        ):
            for member in src:
                name = PurePosixPath(member.name)
                if not name.parts or name.parts[0] != top or len(name.parts) == 1:
                    continue
                member.name = str(PurePosixPath(*name.parts[1:]))
                if member.isfile():
                    dst.addfile(member, src.extractfile(member))
                elif member.isdir() or member.issym():
                    dst.addfile(member)
    out.seek(0)
    return out


@sandboxenv(name="rsibench")
class RsibenchSandbox(SandboxEnvironment):
    """One container of a sample: role ``agent`` (the default) or ``verifier``."""

    def __init__(
        self,
        container: Any,
        role: str,
        default_user: str,
        connection: execd.Connection | None = None,
    ):
        super().__init__()
        self.container = container
        self.role = role
        self.default_user = default_user
        self._connection = connection
        self._connect_lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------------
    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return SandboxConfig(**config)

    @classmethod
    async def task_init(cls, task_name: str, config: Any) -> None:
        await anyio.to_thread.run_sync(engine.client)  # fail fast, with the fix, if no daemon

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
            "default": cls(agent, "agent", AGENT_USER, agent_conn),
            "verifier": cls(verifier, "verifier", "root", verifier_conn),
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
        await anyio.to_thread.run_sync(remove_leftovers, None)

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
        try:
            # abandoned on cancellation (Ctrl-C, a time limit): the command is killed below and
            # the thread, no longer awaited, ends with it or when the sandbox is removed
            code, out, err, truncated = await anyio.to_thread.run_sync(
                self._exec, cmd, data, cwd, env, user, timeout, marker, abandon_on_cancel=True
            )
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._kill_quietly, marker, user)
            raise
        return ExecResult(
            success=code == 0,
            returncode=code,
            stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace")
            + ("\n[output truncated to its last 10 MiB]" if truncated else ""),
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
        each stream keeps its last 10 MiB, a command killed by a signal reports 128 + signal,
        and one that could not be started reports 126 with the reason on stderr. Raises
        ``SandboxUnavailableError`` if the container's exec server is gone.
        """
        return self._exec(cmd, input, cwd, env, user, timeout, uuid.uuid4().hex)

    def _exec(
        self,
        cmd: list[str],
        input: bytes | None,
        cwd: str | None,
        env: dict[str, str] | None,
        user: str | None,
        timeout: float | None,
        marker: str,
    ) -> tuple[int, bytes, bytes, bool]:
        user = user or self.default_user
        workdir = str(PurePosixPath(WORKSPACE) / cwd) if cwd else WORKSPACE
        conn = self.execd_connection()
        try:
            return conn.run(cmd, input, workdir, env, user, timeout, marker=marker)
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

    def _kill_marked(self, marker: str, user: str) -> None:
        """SIGKILL every process carrying this exec's marker, daemonised children included.

        The exec server sweeps /proc as ``user`` (root without CAP_SYS_PTRACE cannot read
        another uid's environ), three times, and answers once done.
        """
        self.execd_connection().kill(marker, user)

    def _kill_quietly(self, marker: str, user: str | None) -> None:
        """After a cancelled ``exec``: kill what it started, if the sandbox is still there."""
        with contextlib.suppress(Exception):
            self.execd_connection().kill(marker, user or self.default_user, timeout=10)

    def _resolve(self, file: str) -> str:
        return str(PurePosixPath(WORKSPACE) / file)

    async def _file_script(
        self, script: str, path: str, data: bytes | None = None
    ) -> tuple[int, bytes, bytes]:
        """Run a /bin/sh ``script`` on ``path`` ($1) as the default user, with a fixed PATH."""
        code, out, err, _ = await anyio.to_thread.run_sync(
            self.exec_bytes,
            ["/bin/sh", "-c", script, "sh", path],
            data,
            None,
            {"PATH": SAFE_PATH},
            None,
            None,
        )
        return code, out, err

    async def write_file(self, file: str, contents: str | bytes) -> None:
        path = self._resolve(file)
        data = contents.encode() if isinstance(contents, str) else contents
        script = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"'
        code, _, err = await self._file_script(script, path, data)
        if code != 0:
            _raise_file_error(path, err.decode(errors="replace"))

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        path = self._resolve(file)
        script = (
            f'[ -d "$1" ] && {{ echo "Is a directory" >&2; exit 1; }}; '
            f'[ "$(stat -c %s -- "$1" 2>/dev/null || echo 0)" -le {MAX_READ} ] '
            '|| { echo "File too large" >&2; exit 3; }; cat -- "$1"'
        )
        code, out, err = await self._file_script(script, path)
        if code == 3:
            raise OutputLimitExceededError(limit_str="100 MiB", truncated_output=None)
        if code != 0:
            _raise_file_error(path, err.decode(errors="replace"))
        return out.decode("utf-8", errors="strict") if text else out

    # ---- bulk copies used by scoring (through the daemon's archive API, never via a shell) ----
    def export_workspace(self) -> tempfile.SpooledTemporaryFile:
        stream, _ = self.container.get_archive(WORKSPACE)
        return _reroot_archive(stream, PurePosixPath(WORKSPACE).name)

    def put_archive(self, path: str, data: Any) -> None:
        if not self.container.put_archive(path, data):
            raise RuntimeError(f"could not copy files into {self.role} container at {path}")


def _raise_file_error(path: str, err: str) -> None:
    if "No such file" in err:
        raise FileNotFoundError(path)
    if "Is a directory" in err:
        raise IsADirectoryError(path)
    if "Permission denied" in err or "Read-only file system" in err:
        raise PermissionError(f"{path}: {err.strip()}")
    raise RuntimeError(f"{path}: {err.strip()}")


def _connect(container: Any) -> execd.Connection:
    conn = execd.Connection.attach(
        engine.client().api,
        container.id,
        container.name,
        describe=lambda: _container_state(container),
    )
    conn.max_output = MAX_OUTPUT
    return conn


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


def remove_leftovers(session: str | None) -> int:
    """Remove rsibench containers and volumes (of one session, or all); returns how many."""
    client = engine.client()
    label = [f"{SESSION_LABEL}={session}"] if session else [LABEL]
    containers = client.containers.list(all=True, filters={"label": label})
    _remove_with_volumes(containers)
    volumes = client.volumes.list(filters={"label": label})
    for v in volumes:
        with contextlib.suppress(docker.errors.APIError):
            v.remove(force=True)
    return len(containers) + len(volumes)
