"""The exec server (rsibench.execd) against a real Docker daemon: semantics, concurrency,
large and binary streams, timeouts, isolation from the agent, and failure modes."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from inspect_ai.util import SandboxEnvironmentLimits, SandboxUnavailableError

from rsibench import execd
from rsibench.sandbox import LABEL, RsibenchSandbox, SandboxConfig

pytestmark = pytest.mark.docker


def _make_pair(mini_task):
    cfg = SandboxConfig.for_sample(mini_task)
    envs = anyio.run(RsibenchSandbox.sample_init, "test", cfg, {})
    return cfg, envs


@pytest.fixture(scope="module")
def shared(mini_task, docker_client):
    """One pair for the tests that leave the containers usable."""
    cfg, envs = _make_pair(mini_task)
    yield envs["default"].as_type(RsibenchSandbox), envs["verifier"].as_type(RsibenchSandbox)
    anyio.run(RsibenchSandbox.sample_cleanup, "test", cfg, envs, False)


@pytest.fixture
def fresh(mini_task, docker_client):
    """A pair of its own, for tests that break it."""
    cfg, envs = _make_pair(mini_task)
    yield envs["default"].as_type(RsibenchSandbox), envs["verifier"].as_type(RsibenchSandbox)
    anyio.run(RsibenchSandbox.sample_cleanup, "test", cfg, envs, False)


@pytest.fixture
def agent(shared):
    return shared[0]


def sh(box, script: str, **kw) -> tuple[int, str, str]:
    code, out, err, _ = box.exec_bytes(["bash", "-c", script], **kw)
    return code, out.decode(errors="replace"), err.decode(errors="replace")


def processes(box) -> str:
    return sh(box, "ps -eo user,args --no-headers", user="root")[1]


# ---- semantics ----------------------------------------------------------------------------


def test_users_home_groups_and_environment(shared):
    agent, verifier = shared
    script = 'id; echo "$HOME"; pwd; env | sort'
    code, out, _ = sh(agent, script)
    assert code == 0
    lines = out.splitlines()
    ids, _, mark = lines[0].rpartition(",")  # the exec's mark gid comes last
    assert ids == "uid=1000(agent) gid=1000(agent) groups=1000(agent)"
    assert int(mark) >= execd.MARK_GID_BASE
    assert lines[1:3] == ["/home/agent", "/workspace"]
    env = dict(line.split("=", 1) for line in lines[3:])
    assert env["LANG"] == "C.UTF-8" and env["PATH"].startswith("/usr/local/sbin")
    assert not any(key.startswith("RSIBENCH") for key in env)  # nothing of the server's
    # the verifier's default user is root, with root's home
    assert sh(verifier, "id -u; echo $HOME")[1].split() == ["0", "/root"]
    # user by uid, by name, and a uid with no passwd entry (gid 0, HOME /), as docker exec does
    assert sh(verifier, "id -un", user="1000")[1] == "agent\n"
    assert sh(agent, "id -u; echo $HOME", user="root")[1].split() == ["0", "/root"]
    assert sh(agent, "id -u; id -g; echo $HOME", user="4321")[1].split() == ["4321", "0", "/"]
    # requested env wins over the container's and HOME; cwd is relative to /workspace
    code, out, _ = sh(agent, "echo $HOME $FOO; pwd", env={"HOME": "/tmp", "FOO": "bar"}, cwd="sub")
    assert code == 126  # no such directory yet
    sh(agent, "mkdir -p sub")
    _, out, _ = sh(agent, "echo $HOME $FOO; pwd", env={"HOME": "/tmp", "FOO": "bar"}, cwd="sub")
    assert out.split() == ["/tmp", "bar", "/workspace/sub"]


def test_command_resolved_through_the_requested_path(agent):
    sh(
        agent,
        "mkdir -p .mybin && printf '#!/bin/sh\\necho hello \"$@\"\\n' > .mybin/hi",
    )
    sh(agent, "chmod +x /workspace/.mybin/hi")
    code, out, err, _ = agent.exec_bytes(
        ["hi", "there"], env={"PATH": "/workspace/.mybin:/usr/bin:/bin"}
    )
    assert (code, out) == (0, b"hello there\n")
    code, out, err, _ = agent.exec_bytes(["hi"])
    assert code == 126 and b"executable file not found in $PATH" in err


def test_start_failures_are_results_not_exceptions(agent):
    cases = {
        "missing": (["no-such-command"], {}, b"executable file not found"),
        "not executable": (["/etc/passwd"], {}, b"Permission denied"),
        "bad cwd": (["true"], {"cwd": "does/not/exist"}, b"chdir to cwd"),
        "unknown user": (["true"], {"user": "nobody-here"}, b"unable to find user"),
    }
    for name, (cmd, kw, message) in cases.items():
        code, out, err, _ = agent.exec_bytes(cmd, **kw)
        assert code == 126 and out == b"" and message in err, name
    with pytest.raises(ValueError, match="embedded null byte"):
        agent.exec_bytes(["echo", "a\0b"])


def test_exit_statuses(agent):
    assert sh(agent, "exit 3")[0] == 3
    assert sh(agent, "kill -9 $$")[0] == 137
    assert sh(agent, "kill -TERM $$")[0] == 143
    assert sh(agent, "true")[0] == 0


def test_background_processes_holding_the_pipes(agent):
    # redirected: returns at once
    started = time.monotonic()
    code, out, _ = sh(agent, "sleep 30 >/dev/null 2>&1 & echo started")
    assert (code, out) == (0, "started\n")
    assert time.monotonic() - started < 1.5
    # not redirected: like docker exec, wait for the pipes, at most 2 s after the main process
    # exits, keeping what was written in that time
    started = time.monotonic()
    code, out, _ = sh(agent, "(sleep 0.5; echo late) & echo early; sleep 30 &")
    took = time.monotonic() - started
    assert (code, out) == (0, "early\nlate\n")
    assert execd.DRAIN_SECONDS - 0.5 < took < execd.DRAIN_SECONDS + 2
    # a command that closes its own stdout and stderr still ends with its process
    started = time.monotonic()
    assert sh(agent, "exec >&- 2>&-; sleep 1; exit 4")[0] == 4
    assert time.monotonic() - started < 3
    sh(agent, "pkill -u agent -x sleep; true")


# ---- streams ------------------------------------------------------------------------------


def test_large_binary_streams_both_ways(agent):
    blob = os.urandom(5 * 1024 * 1024) + bytes(range(256)) + b"\x10\x11\x10\x11"  # ctrl-p ctrl-q
    code, out, err, truncated = agent.exec_bytes(
        [
            "python3",
            "-c",
            "import sys; d = sys.stdin.buffer.read(); "
            "sys.stdout.buffer.write(d); sys.stderr.buffer.write(d[::-1])",
        ],
        input=blob,
    )
    assert code == 0 and not truncated
    assert out == blob and err == blob[::-1]
    # binary output larger than any pipe buffer, produced directly
    code, out, _, _ = agent.exec_bytes(["head", "-c", "3000000", "/dev/urandom"])
    assert code == 0 and len(out) == 3_000_000


def test_output_keeps_the_last_10_mib(agent):
    script = (
        "import sys\n"
        "for i in range(12 * 1024):\n"
        "    sys.stdout.write(f'{i:09d}\\n' * 102 + 'x' * 4 + '\\n')\n"
        "sys.stdout.write('END\\n')\n"
    )
    code, out, err, truncated = agent.exec_bytes(["python3", "-c", script])
    assert code == 0 and truncated and err == b""
    assert len(out) == SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE
    assert out.endswith(b"xxxx\nEND\n")


def test_stdin_not_read_or_closed_early(agent):
    big = os.urandom(8 * 1024 * 1024)
    started = time.monotonic()
    assert agent.exec_bytes(["true"], input=big)[0] == 0
    assert agent.exec_bytes(["sleep", "0.3"], input=big)[0] == 0
    code, out, _, _ = agent.exec_bytes(["head", "-c", "10"], input=big)
    assert (code, out) == (0, big[:10])
    code, _, _ = sh(agent, "exec 0<&-; sleep 0.3; echo done", input=big)
    assert code == 0
    assert time.monotonic() - started < 10
    # a command that never reads and never exits times out like any other
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        agent.exec_bytes(["sleep", "60"], input=big, timeout=2)
    assert time.monotonic() - started < 6
    digest = hashlib.sha256(big).hexdigest()
    assert sh(agent, "sha256sum", input=big)[1].split()[0] == digest


# ---- concurrency --------------------------------------------------------------------------


def test_many_concurrent_execs_from_threads(agent):
    def one(i: int) -> None:
        payload = f"{i}:".encode() * (1000 + i * 50)
        code, out, err, _ = agent.exec_bytes(
            ["bash", "-c", f"sleep 0.$((RANDOM % 3)); cat; echo err{i} >&2; exit {i % 7}"],
            input=payload,
        )
        assert (code, out, err) == (i % 7, payload, f"err{i}\n".encode())

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(120)))


def test_many_concurrent_execs_through_inspect(agent):
    async def main() -> list:
        results: list = [None] * 40

        async def one(i: int) -> None:
            results[i] = await agent.exec(["sh", "-c", f"echo {i}; echo e{i} >&2"], input="x")

        async with anyio.create_task_group() as tg:
            for i in range(40):
                tg.start_soon(one, i)
        return results

    results = anyio.run(main)
    for i, r in enumerate(results):
        assert r.success and r.stdout == f"{i}\n" and r.stderr == f"e{i}\n"


# ---- timeouts ------------------------------------------------------------------------------


def test_timeout_kills_only_its_own_processes(shared):
    agent, verifier = shared
    for box, user in ((agent, None), (verifier, None), (agent, "root")):
        survivor: list = []
        bystander = threading.Thread(
            target=lambda b=box, u=user, got=survivor: got.append(
                sh(b, "sleep 3; echo alive", user=u)
            )
        )
        bystander.start()
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="timed out after 2 s"):
            sh(
                box,
                "(setsid sleep 311 &); nohup sleep 312 >/dev/null 2>&1 & "
                "python3 -c 'import os,time\nif os.fork()==0:\n os.setsid()\n "
                "if os.fork()==0: time.sleep(313)\n os._exit(0)\ntime.sleep(314)' & sleep 315",
                user=user,
                timeout=2,
            )
        assert time.monotonic() - started < 6
        bystander.join()
        assert survivor == [(0, "alive\n", "")]  # another exec of the same user lives on
        assert "sleep 31" not in processes(box)
        assert "time.sleep(31" not in processes(box)


def test_timeout_during_a_fork_storm(fresh, mini_suite):
    agent, _ = fresh
    storm = (
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
        "        continue\n"
        "    if pid == 0:\n"
        "        os.setsid()\n"
        "        time.sleep(600)\n"
        "        os._exit(0)\n"
    )
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        agent.exec_bytes(["python3", "-c", storm], timeout=3)
    assert time.monotonic() - started < 15
    assert sh(agent, "echo ok")[1] == "ok\n"
    assert "python3 -c" not in processes(agent).replace("python3 -I -S -c", "")


# ---- isolation -----------------------------------------------------------------------------


def test_agent_cannot_reach_the_server(shared):
    agent, verifier = shared
    for box in (agent, verifier):
        server = box.execd_connection().info["pid"]
        script = (
            f"for p in 1 {server}; do "
            "  for f in 0 1 2; do "
            "    cat /proc/$p/fd/$f </dev/null >/dev/null 2>&1 && echo OPEN-$p-$f; "
            "  echo x 2>/dev/null >/proc/$p/fd/$f && echo WROTE-$p-$f; done; "
            "  ls /proc/$p/fd >/dev/null 2>&1 && echo LISTED-$p; "
            "  cat /proc/$p/environ >/dev/null 2>&1 && echo ENVIRON-$p; "
            "  kill -0 $p 2>/dev/null && echo SIGNAL-$p; "
            "done; "
            "ls -l /proc/self/fd | grep -c pipe; cat /proc/self/oom_score_adj; "
            f"cat /proc/{server}/oom_score_adj"
        )
        code, out, err = sh(box, script, user="agent")
        assert code == 0, err
        lines = out.split()
        assert lines == ["3", "500", "0"], out  # nothing reachable; only its own three pipes
        # root in the sandbox can see it is there: the probes above were real
        assert f"{server}" in sh(box, f"ls -d /proc/{server}", user="root")[1]


def test_server_process_is_what_ps_shows(agent):
    out = processes(agent)
    assert "/usr/bin/python3 -I -S -c import os; exec(os.environ['RSIBENCH_EXECD'])" in out
    assert len(out) < 4000  # the source is not in the process list


# ---- failures ------------------------------------------------------------------------------


def test_dead_server_raises_instead_of_hanging(fresh):
    agent, _ = fresh
    server = agent.execd_connection().info["pid"]
    errors: list = []

    def waiting() -> None:
        try:
            sh(agent, "sleep 60")
        except Exception as e:
            errors.append(e)

    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.5)
    agent.container.exec_run(["kill", "-9", str(server)], user="root")
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], SandboxUnavailableError)
    with pytest.raises(SandboxUnavailableError, match="exec server of sandbox .*exit code") as e:
        sh(agent, "true")
    assert "exited" in str(e.value)


def test_broken_attach_raises(fresh):
    agent, verifier = fresh
    conn = agent.execd_connection()
    errors: list = []
    thread = threading.Thread(
        target=lambda: errors.append(pytest.raises(SandboxUnavailableError, sh, agent, "sleep 60"))
    )
    thread.start()
    time.sleep(0.5)
    conn.sock.shutdown(socket.SHUT_RDWR)
    thread.join(timeout=20)
    assert not thread.is_alive() and len(errors) == 1
    with pytest.raises(SandboxUnavailableError, match="unavailable"):
        sh(agent, "true")
    assert sh(verifier, "echo fine")[1] == "fine\n"  # the other container is unaffected


def test_connection_attached_lazily_is_shared(fresh):
    agent, _ = fresh
    again = RsibenchSandbox(agent.container, "agent", "agent")  # no connection given
    assert sh(again, "id -un")[1] == "agent\n"
    assert again.execd_connection() is agent.execd_connection()


def test_no_docker_exec_and_no_container_log(fresh, docker_client):
    agent, verifier = fresh
    for box in (agent, verifier):
        for _ in range(3):
            assert sh(box, "echo hi")[1] == "hi\n"
        attrs = docker_client.api.inspect_container(box.container.id)
        assert attrs["ExecIDs"] is None  # every command went through the exec server
        assert attrs["Config"]["OpenStdin"] and not attrs["Config"]["Tty"]
        assert attrs["HostConfig"]["LogConfig"]["Type"] == "none"
        assert attrs["HostConfig"]["Init"] is True


def test_cancelled_exec_returns_at_once_and_kills_its_command(agent):
    async def main() -> float:
        started = time.monotonic()
        with anyio.move_on_after(1):
            await agent.exec(["bash", "-c", "(setsid sleep 321 &); sleep 322"], timeout=60)
        return time.monotonic() - started

    assert anyio.run(main) < 3
    time.sleep(0.2)
    assert "sleep 32" not in processes(agent)


def test_server_that_cannot_boot_gives_its_reason(image_tag, docker_client):
    container = docker_client.containers.create(
        image_tag,
        command=["sh", "-c", "echo no python here >&2; exit 3"],
        stdin_open=True,
        network_mode="none",
        labels={LABEL: "test"},
    )
    try:
        conn = execd.Connection.attach(
            docker_client.api, container.id, container.name, describe=lambda: "described"
        )
        container.start()
        started = time.monotonic()
        with pytest.raises(SandboxUnavailableError, match="no python here") as e:
            conn.ready(timeout=30)
        assert time.monotonic() - started < 10
        assert "described" in str(e.value)
    finally:
        container.remove(force=True)
