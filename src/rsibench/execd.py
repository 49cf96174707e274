"""execd: run commands in a sandbox container without creating a Docker exec per command.

``runc exec`` costs ~35 ms per command; this module removes it. Each sandbox container's main
process (under docker-init) is this file, run as ``python3 -I -S -c`` with the source in the
container's environment (stdlib only, nothing in the image, read-only root is fine). The host
talks to it over the container's attached stdin and stdout: requests go to the server's stdin,
replies come back on its stdout inside docker's multiplexed 8-byte-header frames (no TTY).

Wire format, both ways: ``>IBI`` (request id, kind, payload length) then the payload.

Host -> server: START (JSON: cmd, cwd, env, user, marker, eof), STDIN (bytes), EOF, KILL
(JSON: target and marker, or all), PING. Server -> host: OUT / ERR (bytes), EXIT (exit status),
FAIL (JSON: errno, message; the command could not be started: reported as status 126, like
``docker exec``), ACK
(stdin bytes handed to the command: the host keeps at most ``WINDOW`` unacknowledged bytes in
flight per command, so the server's memory stays bounded whatever the command reads), CLOSED
(the command's stdin is gone; stop sending), KILLED, PONG.

Semantics match ``docker exec`` (Engine 20.10) as the provider used it before:

* ``cmd[0]`` is resolved through ``PATH`` of the command's environment: the container's
  environment, ``HOME`` from the user's passwd entry ("/" for a uid without one), and the
  requested ``env``.
* The command runs with the user's uid, primary gid and supplementary groups (``user`` is a
  name or uid, optionally ``:group``), in its own session, with fresh pipes for 0, 1 and 2 and
  nothing else open. One more supplementary group, unique to the exec (a *mark* gid at or above
  ``MARK_GID_BASE``), tags every process it starts: an unprivileged process cannot drop a
  supplementary group (setgroups needs CAP_SETGID, and Docker's seccomp profile refuses the user
  namespaces that would grant it), and ``/proc/<pid>/status`` shows it to the server.
* An exec returns when its main process has exited and its stdout and stderr are closed, or
  ``DRAIN_SECONDS`` (2 s, dockerd's own grace) after the main process exited if a background
  process still holds them: ``cmd &`` with redirected output returns at once, an unredirected
  one after 2 s, and output written within those 2 s is kept.
* Killed by a signal: 128 + signal. Could not start (no such command, bad cwd, unknown user,
  no free pid): 126 with the reason on stderr.
* KILL sends SIGKILL to the command's process group at once, then stops and kills every
  process carrying the exec's mark gid (setsid'd, daemonised and environment-scrubbed children
  included). KILL with ``all`` does the same to every process but docker-init and the server:
  the end of the agent's turn. Processes are first stopped (SIGSTOP) until a scan of ``/proc``
  finds none left running, then killed, so a fork storm cannot refill the slots it frees.
* A command that cannot start for want of a free pid (a fork storm left behind by an earlier
  command fills the pids cgroup) makes the server kill what earlier, finished commands left
  running and try again; the command's stderr says so.

The commands get ``oom_score_adj`` 500 (the server stays at 0) so that, when a sample's
processes exhaust its memory cgroup, the kernel kills the agent's process, not the server.
The server's stdin and stdout are pipes of a root process: uid 1000 cannot open
``/proc/<pid>/fd/*`` of it (or of docker-init, which holds the same pipes), signal it, or
ptrace it, and what a command writes is length-framed, so it cannot forge replies.

The server half below runs on Python 3.9 or newer; the host half needs nothing but a socket.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

HEADER = struct.Struct(">IBI")  # request id, kind, payload length
FRAME = struct.Struct(">BxxxL")  # docker's multiplexed stream header
COUNT = struct.Struct(">I")

# host -> server
START, STDIN, EOF, KILL, PING = b"SIEKP"
# server -> host
OUT, ERR, EXIT, FAIL, ACK, CLOSED, KILLED, PONG = b"ORXFACKP"

SOURCE_VAR = "RSIBENCH_EXECD"
DRAIN_SECONDS = 2.0  # as dockerd waits for an exec's streams after the process exits
CHUNK = 64 * 1024
WINDOW = 1024 * 1024  # stdin bytes in flight per command
MAX_MESSAGE = 64 * 1024 * 1024
CHILD_OOM_SCORE = 500
FAILED_TO_START = 126  # what docker exec reports when the runtime cannot start a command
MARK_GID_BASE = 1_500_000_000  # far from any gid of the image; mark gids count up from here
MARK_GID_SPAN = 500_000_000
SWEEP_SECONDS = 10.0  # a sweep gives up after this long (never seen: it takes milliseconds)
RECLAIM_SECONDS = 2.0  # how long a start waits for pids freed by killing leftovers
BOOT = f"import os; exec(os.environ[{SOURCE_VAR!r}])  # rsibench execd"


# ================================ server (inside the container) ================================


def _initial_environ() -> dict[str, str]:
    """The environment the container gave this process, before Python touched any of it."""
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
        pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
        env = {os.fsdecode(k): os.fsdecode(v) for k, v in pairs}
    except OSError:
        env = dict(os.environ)
    env.pop(SOURCE_VAR, None)
    return env


def _resolve_user(spec: str) -> tuple[int, int, list[int], str]:
    """``name|uid[:group|gid]`` -> (uid, gid, supplementary groups, home), as runc does."""
    import grp
    import pwd

    name, _, group = str(spec).partition(":")
    entry = None
    if name.isdigit():
        uid = int(name)
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            entry = None
    else:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise LookupError(
                f"unable to find user {name}: no matching entries in passwd file"
            ) from None
        uid = entry.pw_uid
    gid = entry.pw_gid if entry else 0
    home = entry.pw_dir if entry else "/"
    groups = os.getgrouplist(entry.pw_name, gid) if entry else []
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            try:
                gid = grp.getgrnam(group).gr_gid
            except KeyError:
                raise LookupError(
                    f"unable to find group {group}: no matching entries in group file"
                ) from None
        groups = [gid]
    return uid, gid, groups, home


def _describe_failure(error: BaseException, cmd: list[str], cwd: str) -> str:
    if isinstance(error, OSError) and error.filename == cwd and cwd:
        return f'exec failed: chdir to cwd ("{cwd}") failed: {error.strerror}'
    if isinstance(error, FileNotFoundError) and cmd and "/" not in cmd[0]:
        return f'exec failed: exec: "{cmd[0]}": executable file not found in $PATH'
    if isinstance(error, OSError) and cmd:
        return f'exec failed: exec: "{cmd[0]}": {error.strerror or error}'
    return f"exec failed: {error}"


def _processes(chosen: Any) -> list[int]:
    """Live pids (not init, not this process) whose supplementary groups satisfy ``chosen``.

    Zombies are left out: they are dead already, and those that are the server's own children
    wait for it to reap them.
    """
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or name == "1" or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                status = f.read()
        except OSError:  # exited meanwhile
            continue
        fields = dict(line.split(b":", 1) for line in status.split(b"\n") if b":" in line)
        if fields.get(b"State", b"Z").split()[:1] in ([b"Z"], [b"X"]):
            continue
        if chosen({int(g) for g in fields.get(b"Groups", b"").split()}):
            found.append(int(name))
    return found


def _is_mark(gid: int) -> bool:
    return MARK_GID_BASE <= gid < MARK_GID_BASE + MARK_GID_SPAN


def stop_and_kill(chosen: Any) -> int:
    """SIGKILL every process ``chosen`` picks by its groups; returns how many.

    Each pass stops (SIGSTOP) what it finds until a scan finds nothing new, then kills all of
    it: a stopped process can neither fork nor free a pid for another to take. Passes repeat
    until one finds nothing (a stopped process continued by another could fork in between).
    """
    deadline = time.monotonic() + SWEEP_SECONDS
    total = 0
    while time.monotonic() < deadline:
        stopped: set[int] = set()
        while time.monotonic() < deadline:
            new = [pid for pid in _processes(chosen) if pid not in stopped]
            if not new:
                break
            for pid in new:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGSTOP)
            stopped.update(new)
        for pid in stopped:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if not stopped:
            break
        total += len(stopped)
    return total


class _Command:
    """One running command on the server side."""

    def __init__(self, rid: int, proc: subprocess.Popen, mark: int) -> None:
        self.rid = rid
        self.proc = proc
        self.mark = mark
        self.readers: dict[int, int] = {}  # fd -> OUT | ERR
        self.files: dict[int, Any] = {}  # fd -> its file object, which alone may close it
        self.stdin_fd: int | None = None
        self.inbuf = bytearray()
        self.in_eof = False
        self.writing = False
        self.code: int | None = None
        self.drain_until: float | None = None


class Server:
    def __init__(self) -> None:
        self.env = _initial_environ()
        self.sel = selectors.DefaultSelector()
        self.commands: dict[int, _Command] = {}
        self.marks: dict[str, int] = {}  # exec marker -> its mark gid
        self.buf = bytearray()
        self.oom_ok = True

    # ---- plumbing ------------------------------------------------------------------------
    def send(self, kind: int, rid: int, payload: bytes = b"") -> None:
        view = memoryview(HEADER.pack(rid, kind, len(payload)) + payload)
        while view:
            view = view[os.write(1, view) :]

    def set_oom(self, score: int) -> None:
        if not self.oom_ok:
            return
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(score))
        except OSError:
            self.oom_ok = False

    def run(self) -> None:
        os.chdir("/")
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        self.sel.register(0, selectors.EVENT_READ, self.on_host)
        self.sel.register(wake_r, selectors.EVENT_READ, self.on_sigchld)
        while True:
            for key, _ in self.sel.select(self.next_timeout()):
                try:
                    key.data(key.fd)
                except SystemExit:
                    raise
                except BaseException:  # a bug must not take the sandbox down with it
                    import traceback

                    traceback.print_exc(file=sys.stderr)
            self.expire()

    def next_timeout(self) -> float | None:
        times = [c.drain_until for c in self.commands.values() if c.drain_until is not None]
        return max(0.0, min(times) - time.monotonic()) if times else None

    # ---- requests --------------------------------------------------------------------------
    def on_host(self, fd: int) -> None:
        data = os.read(fd, 1 << 18)
        if not data:  # the host closed our stdin for good: nothing can reach us any more
            sys.exit(0)
        self.buf += data
        pos = 0
        while len(self.buf) - pos >= HEADER.size:
            rid, kind, size = HEADER.unpack_from(self.buf, pos)
            if size > MAX_MESSAGE:
                print(f"execd: protocol error (message of {size} bytes)", file=sys.stderr)
                sys.exit(2)
            if len(self.buf) - pos - HEADER.size < size:
                break
            payload = bytes(self.buf[pos + HEADER.size : pos + HEADER.size + size])
            pos += HEADER.size + size
            self.dispatch(rid, kind, payload)
        del self.buf[:pos]

    def dispatch(self, rid: int, kind: int, payload: bytes) -> None:
        if kind == START:
            self.start(rid, json.loads(payload))
        elif kind == STDIN:
            cmd = self.commands.get(rid)
            if cmd is not None and cmd.stdin_fd is not None:
                cmd.inbuf += payload
                self.feed(cmd)
        elif kind == EOF:
            cmd = self.commands.get(rid)
            if cmd is not None:
                cmd.in_eof = True
                if not cmd.inbuf:
                    self.close_stdin(cmd)
        elif kind == KILL:
            self.kill(rid, json.loads(payload))
        elif kind == PING:
            info = {"pid": os.getpid(), "python": sys.version.split()[0], "oom": self.oom_ok}
            self.send(PONG, rid, json.dumps(info).encode())

    def mark(self, marker: str) -> int:
        """The mark gid of an exec (the same for every use of one marker)."""
        gid = self.marks.get(marker)
        if gid is None:
            gid = self.marks[marker] = MARK_GID_BASE + len(self.marks) % MARK_GID_SPAN
        return gid

    def start(self, rid: int, req: dict[str, Any]) -> None:
        cmd, cwd = req["cmd"], req.get("cwd") or "/"
        try:
            uid, gid, groups, home = _resolve_user(req["user"])
            env = dict(self.env)
            env["HOME"] = home
            env.update(req.get("env") or {})
            mark = self.mark(req["marker"])
            proc = self.spawn(rid, cmd, cwd, env, (uid, gid, [*groups, mark]))
        except Exception as e:
            failure = {
                "errno": (e.errno if isinstance(e, OSError) else 0) or 0,
                "message": _describe_failure(e, cmd, cwd),
            }
            self.send(FAIL, rid, json.dumps(failure).encode())
            return
        command = _Command(rid, proc, mark)
        self.commands[rid] = command
        for stream, kind in ((proc.stdout, OUT), (proc.stderr, ERR)):
            fd = stream.fileno()
            command.readers[fd] = kind
            command.files[fd] = stream
            self.sel.register(fd, selectors.EVENT_READ, self.reader(command))
        command.stdin_fd = proc.stdin.fileno()
        os.set_blocking(command.stdin_fd, False)
        if req.get("eof"):
            command.in_eof = True
            self.close_stdin(command)

    def spawn(
        self, rid: int, cmd: list[str], cwd: str, env: dict[str, str], user: tuple
    ) -> subprocess.Popen:
        """Popen ``cmd``; if the pids cgroup is full, first kill what finished execs left."""
        uid, gid, groups = user
        deadline = None
        while True:
            self.set_oom(CHILD_OOM_SCORE)
            try:
                return subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    bufsize=0,
                    cwd=cwd,
                    env=env,
                    user=uid,
                    group=gid,
                    extra_groups=groups,
                    start_new_session=True,
                )
            except BlockingIOError:  # fork failed with EAGAIN: no free pid
                if deadline is None:
                    deadline = time.monotonic() + RECLAIM_SECONDS
                    killed = self.kill_leftovers()
                    if killed:
                        note = (
                            "rsibench: no free process slot in the container; killed "
                            f"{killed} process(es) left running by earlier commands\n"
                        )
                        self.send(ERR, rid, note.encode())
                elif time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)  # docker-init reaps the killed orphans, freeing their pids
            finally:
                self.set_oom(0)

    def kill_leftovers(self) -> int:
        """Kill every process of an exec that has finished (what ``cmd &`` left running)."""
        running = {c.mark for c in self.commands.values()}
        return stop_and_kill(lambda gs: any(_is_mark(g) and g not in running for g in gs))

    def reader(self, command: _Command):
        return lambda fd: self.on_output(command, fd)

    def on_output(self, command: _Command, fd: int) -> None:
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.send(command.readers[fd], command.rid, data)
            return
        self.close_reader(command, fd)
        self.maybe_finish(command)

    def close_reader(self, command: _Command, fd: int) -> None:
        self.sel.unregister(fd)
        del command.readers[fd]
        command.files.pop(fd).close()  # never os.close: the fd number is reused at once

    # ---- stdin -----------------------------------------------------------------------------
    def feed(self, command: _Command) -> None:
        fd = command.stdin_fd
        while command.inbuf and fd is not None:
            try:
                with memoryview(command.inbuf) as view:
                    n = os.write(fd, view[:CHUNK])
            except BlockingIOError:
                break
            except OSError:  # the command closed its stdin (EPIPE) or is gone
                self.close_stdin(command)
                return
            del command.inbuf[:n]
            self.send(ACK, command.rid, COUNT.pack(n))
        if command.inbuf:
            if not command.writing:
                self.sel.register(fd, selectors.EVENT_WRITE, lambda _: self.feed(command))
                command.writing = True
            return
        if command.writing:
            self.sel.unregister(fd)
            command.writing = False
        if command.in_eof:
            self.close_stdin(command)

    def close_stdin(self, command: _Command) -> None:
        if command.stdin_fd is None:
            return
        if command.writing:
            self.sel.unregister(command.stdin_fd)
            command.writing = False
        command.proc.stdin.close()
        command.stdin_fd = None
        command.inbuf = bytearray()
        if not command.in_eof:
            self.send(CLOSED, command.rid)

    # ---- exits -----------------------------------------------------------------------------
    def on_sigchld(self, fd: int) -> None:
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass
        now = time.monotonic()
        for command in list(self.commands.values()):
            if command.code is None and command.proc.poll() is not None:
                rc = command.proc.returncode
                command.code = 128 - rc if rc < 0 else rc
                command.drain_until = now + DRAIN_SECONDS
                self.close_stdin(command)
                self.maybe_finish(command)

    def maybe_finish(self, command: _Command) -> None:
        if command.code is None or command.readers:
            return
        del self.commands[command.rid]
        self.send(EXIT, command.rid, str(command.code).encode())

    def expire(self) -> None:
        now = time.monotonic()
        for command in list(self.commands.values()):
            if command.drain_until is not None and now >= command.drain_until:
                # a background process still holds the pipes: keep what is there, then let go
                for fd in list(command.readers):
                    os.set_blocking(fd, False)
                    try:
                        for _ in range(64):
                            data = os.read(fd, CHUNK)
                            if not data:
                                break
                            self.send(command.readers[fd], command.rid, data)
                    except OSError:
                        pass
                    self.close_reader(command, fd)
                self.maybe_finish(command)

    # ---- kill ------------------------------------------------------------------------------
    def kill(self, rid: int, req: dict[str, Any]) -> None:
        if req.get("all"):
            killed = stop_and_kill(lambda groups: True)
        else:
            target = self.commands.get(req.get("target", -1))
            if target is not None:  # its group may outlive its leader
                with contextlib.suppress(OSError):
                    os.killpg(target.proc.pid, signal.SIGKILL)
            mark = self.marks.get(req["marker"])
            killed = 0 if mark is None else stop_and_kill(lambda groups: mark in groups)
        self.send(KILLED, rid, str(killed).encode())


def serve() -> None:
    Server().run()


# ================================ host side ================================


class _Tail:
    """The last ``limit`` bytes of a stream, without quadratic copying."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.truncated = False

    def add(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        while self.size - len(self.chunks[0]) >= self.limit:
            self.size -= len(self.chunks.popleft())
            self.truncated = True

    def value(self) -> bytes:
        data = b"".join(self.chunks)
        if len(data) > self.limit:
            self.truncated = True
            data = data[-self.limit :]
        return data


class StartFailed(Exception):
    """The command could not be started (its errno, 0 if none, and the reason)."""

    def __init__(self, errno: int, message: str) -> None:
        super().__init__(message)
        self.errno = errno
        self.message = message


class _Call:
    def __init__(self, rid: int, lock: threading.Lock, limit: int) -> None:
        self.rid = rid
        self.cond = threading.Condition(lock)
        self.out = _Tail(limit)
        self.err = _Tail(limit)
        self.code: int | None = None
        self.start_errno: int | None = None  # set when it could not start (FAIL)
        self.reply = b""
        self.done = False
        self.sent = 0
        self.acked = 0
        self.stdin_closed = False


def _unavailable_error() -> type[Exception]:
    try:
        from inspect_ai.util import SandboxUnavailableError
    except ImportError:  # pragma: no cover - the host always has inspect_ai
        return RuntimeError
    return SandboxUnavailableError


def _message(kind: int, rid: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(rid, kind, len(payload)) + payload


def container_command() -> list[str]:
    """The sandbox container's command: python3 runs the source found in SOURCE_VAR."""
    return ["/usr/bin/python3", "-I", "-S", "-c", BOOT]


def source() -> str:
    """This file, for SOURCE_VAR: the container runs it as ``__main__``, i.e. ``serve()``."""
    with open(__file__, encoding="utf-8") as f:
        return f.read()


class Connection:
    """The host end of one container's exec server: thread-safe, one reader thread.

    ``run`` may be called from many threads at once. If the server dies or the attach breaks,
    every waiting and later call raises ``SandboxUnavailableError``; there is no reconnecting,
    as a request cut in the middle would leave the server's input out of step.

    One connection per container: a second attach would receive the first one's replies and
    could interleave its requests with the first one's inside the server's stdin, so
    ``attach`` hands back the live connection of this process if there is one. Two host
    processes must not drive the same container.
    """

    _live: dict[str, Connection] = {}
    _live_lock = threading.Lock()

    def __init__(self, sock: Any, keepalive: Any, name: str, describe: Any = None) -> None:
        self.sock = sock
        self._keepalive = keepalive  # docker-py's response: closing it would close the socket
        self.name = name
        self.describe = describe  # optional callable: the container's state, for errors
        self.max_output = 10 * 1024 * 1024
        self._lock = threading.Lock()
        self._wlock = threading.Lock()
        self._calls: dict[int, _Call] = {}
        self._next = int.from_bytes(os.urandom(2), "big") + 1
        self._dead: str | None = None
        self._stderr = _Tail(16 * 1024)
        self.info: dict[str, Any] = {}
        self.container_id = ""
        self._reader = threading.Thread(target=self._read_loop, name=f"execd-{name}", daemon=True)
        self._reader.start()

    @classmethod
    def attach(cls, api: Any, container_id: str, name: str, describe: Any = None) -> Connection:
        """Attach to the container's stdin/stdout/stderr (before or after it starts)."""
        with cls._live_lock:
            conn = cls._live.get(container_id)
            if conn is not None and conn.alive:
                return conn
            response = api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            sock = getattr(response, "_sock", response)
            sock.settimeout(None)  # the client's HTTP timeout must not cut the stream
            conn = cls._live[container_id] = cls(sock, response, name, describe)
            conn.container_id = container_id
            return conn

    # ---- public ----------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._dead is None

    def ready(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the server answers; returns what it says about itself (pid, python)."""
        call = self._new_call()
        try:
            self._send(_message(PING, call.rid))
            try:
                self._wait(call, time.monotonic() + timeout)
            except TimeoutError:
                raise self._error(f"no answer within {timeout:.0f} s") from None
            self.info = json.loads(call.reply)
            return self.info
        finally:
            self._forget(call)

    def run(
        self,
        cmd: list[str],
        input: bytes | None,
        cwd: str,
        env: dict[str, str] | None,
        user: str,
        timeout: float | None,
        marker: str | None = None,
        max_output: int | None = None,
        raise_start_error: bool = False,
    ) -> tuple[int, bytes, bytes, bool]:
        """Run to completion; on timeout kill everything it started, then raise TimeoutError.

        ``marker`` (default: a fresh one) is what ``kill`` needs to reach this command's
        processes from elsewhere, e.g. when the caller gives up waiting. Each stream keeps its
        last ``max_output`` bytes (default: the connection's). A command that could not start
        reports status 126, or with ``raise_start_error`` raises ``StartFailed``.
        """
        _check_strings(cmd, env)
        deadline = time.monotonic() + timeout if timeout else None
        marker = marker or uuid.uuid4().hex
        data = memoryview(input or b"")
        call = self._new_call(max_output)
        request = {
            "cmd": list(cmd),
            "cwd": cwd,
            "env": dict(env or {}),
            "user": str(user),
            "marker": marker,
            "eof": not data,
        }
        try:
            first = _message(START, call.rid, json.dumps(request).encode())
            if data and len(data) <= WINDOW:  # the common case: one write
                call.sent = len(data)
                first += _message(STDIN, call.rid, bytes(data)) + _message(EOF, call.rid)
                data = data[len(data) :]
                self._send(first)
            else:
                self._send(first)
                if data:
                    self._feed(call, data, deadline)
                    self._send(_message(EOF, call.rid))
            self._wait(call, deadline)
        except TimeoutError:
            self._forget(call)
            self.kill(marker, target=call.rid)
            raise
        finally:
            self._forget(call)
        assert call.code is not None
        out, err = call.out.value(), call.err.value()
        if raise_start_error and call.start_errno is not None:
            raise StartFailed(call.start_errno, err.decode(errors="replace").strip())
        return call.code, out, err, call.out.truncated or call.err.truncated

    def kill(self, marker: str, target: int = 0, timeout: float = 30.0) -> int:
        """SIGKILL every process the exec of ``marker`` started; returns how many."""
        return self._kill({"target": target, "marker": marker}, timeout)

    def kill_all(self, timeout: float = 30.0) -> int:
        """SIGKILL every process in the container but docker-init and the server."""
        return self._kill({"all": True}, timeout)

    def _kill(self, request: dict[str, Any], timeout: float) -> int:
        call = self._new_call()
        try:
            self._send(_message(KILL, call.rid, json.dumps(request).encode()))
            try:
                self._wait(call, time.monotonic() + timeout)
            except TimeoutError:
                raise self._error(
                    f"it did not confirm killing processes within {timeout:.0f} s"
                ) from None
            return int(call.reply)
        finally:
            self._forget(call)

    def close(self, reason: str = "closed") -> None:
        self._fail(reason)

    # ---- internals -------------------------------------------------------------------------
    def _new_call(self, max_output: int | None = None) -> _Call:
        with self._lock:
            if self._dead is not None:
                raise self._error()
            rid = self._next
            self._next = self._next % 0xFFFFFFFF + 1
            call = self._calls[rid] = _Call(rid, self._lock, max_output or self.max_output)
            return call

    def _forget(self, call: _Call) -> None:
        with self._lock:
            self._calls.pop(call.rid, None)

    def _send(self, data: bytes) -> None:
        with self._wlock:
            if self._dead is not None:
                raise self._error()
            try:
                self.sock.sendall(data)
            except OSError as e:
                self._fail(f"writing to it failed: {e}")
                raise self._error() from None

    def _feed(self, call: _Call, data: memoryview, deadline: float | None) -> None:
        while data:
            with self._lock:
                while not (
                    call.done or call.stdin_closed or self._dead or call.sent - call.acked < WINDOW
                ):
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError
                    call.cond.wait(left)
                if self._dead is not None:
                    raise self._error()
                if call.done or call.stdin_closed:
                    return  # the command exited or closed its stdin: the rest is dropped
                n = min(len(data), WINDOW - (call.sent - call.acked), 4 * CHUNK)
                call.sent += n
            self._send(_message(STDIN, call.rid, bytes(data[:n])))
            data = data[n:]

    def _wait(self, call: _Call, deadline: float | None) -> None:
        with self._lock:
            while not call.done:
                if self._dead is not None:
                    raise self._error()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError
                call.cond.wait(left)

    def _error(self, why: str | None = None) -> Exception:
        why = why or self._dead or "unknown"
        text = f"the exec server of sandbox {self.name} is unavailable: {why}"
        if self.describe is not None:
            try:
                text += f"; {self.describe()}"
            except Exception as e:  # the daemon itself may be gone
                text += f"; container state unknown ({e})"
        tail = self._stderr.value().decode(errors="replace").strip()
        if tail:
            text += f"; server stderr: {tail[-2000:]}"
        return _unavailable_error()(text)

    def _fail(self, reason: str) -> None:
        with Connection._live_lock:
            if Connection._live.get(self.container_id) is self:
                del Connection._live[self.container_id]
        with self._lock:
            if self._dead is None:
                self._dead = reason
            for call in self._calls.values():
                call.cond.notify_all()
        with contextlib.suppress(OSError):  # wakes the reader if it is still in recv
            self.sock.shutdown(socket.SHUT_RDWR)

    def _read_loop(self) -> None:
        reason = "the container's output stream ended (the server or the container exited)"
        frames = bytearray()
        proto = bytearray()
        try:
            while chunk := self.sock.recv(1 << 20):
                frames += chunk
                pos = 0
                while len(frames) - pos >= FRAME.size:
                    stream, size = FRAME.unpack_from(frames, pos)
                    end = pos + FRAME.size + size
                    if end > len(frames):
                        break
                    if stream == 1:
                        proto += frames[pos + FRAME.size : end]
                    elif stream == 2:
                        self._stderr.add(bytes(frames[pos + FRAME.size : end]))
                    pos = end
                del frames[:pos]
                self._dispatch(proto)
        except OSError as e:
            reason = f"reading from it failed: {e}"
        except Exception as e:  # a protocol error: nothing after it can be trusted
            reason = f"protocol error: {e!r}"
        finally:
            self._fail(reason)
            with contextlib.suppress(OSError):
                self.sock.close()

    def _dispatch(self, proto: bytearray) -> None:
        pos = 0
        with self._lock:
            while len(proto) - pos >= HEADER.size:
                rid, kind, size = HEADER.unpack_from(proto, pos)
                end = pos + HEADER.size + size
                if end > len(proto):
                    break
                payload = bytes(proto[pos + HEADER.size : end])
                pos = end
                call = self._calls.get(rid)
                if call is None:  # a reply to a call already given up (timed out)
                    continue
                if kind == OUT:
                    call.out.add(payload)
                elif kind == ERR:
                    call.err.add(payload)
                elif kind == ACK:
                    call.acked += COUNT.unpack(payload)[0]
                    call.cond.notify_all()
                elif kind == CLOSED:
                    call.stdin_closed = True
                    call.cond.notify_all()
                elif kind in (EXIT, FAIL, KILLED, PONG):
                    if kind == EXIT:
                        call.code = int(payload)
                    elif kind == FAIL:
                        failure = json.loads(payload)
                        call.code = FAILED_TO_START
                        call.start_errno = failure["errno"]
                        call.err.add(failure["message"].encode(errors="replace") + b"\n")
                    call.reply = payload
                    call.done = True
                    call.cond.notify_all()
                else:
                    raise ValueError(f"unknown message kind {kind}")
        del proto[:pos]


def _check_strings(cmd: list[str], env: dict[str, str] | None) -> None:
    if not cmd:
        raise ValueError("empty command")
    values = list(cmd) + [s for kv in (env or {}).items() for s in kv]
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"command arguments and environment must be str, not {value!r}")
        if "\0" in value:
            raise ValueError("embedded null byte")
    if any("=" in key or not key for key in (env or {})):
        raise ValueError("environment variable names must be non-empty and contain no '='")


if __name__ == "__main__":
    serve()
