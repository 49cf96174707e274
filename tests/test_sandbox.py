"""The rsibench sandbox against a real Docker daemon: isolation, limits, timeouts, cleanup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from rsibench import engine
from rsibench.cli import main
from rsibench.sandbox import (
    LABEL,
    OWNER_LABEL,
    RsibenchSandbox,
    SandboxConfig,
    _owner_labels,
    _where,
    owner_alive,
)
from rsibench.scoring import run_verifier

pytestmark = pytest.mark.docker


def leftovers(docker_client) -> list:
    return docker_client.containers.list(
        all=True, filters={"label": LABEL}
    ) + docker_client.volumes.list(filters={"label": LABEL})


@pytest.fixture
def pair(mini_task, docker_client):
    """A live (agent, verifier) pair for the fixture variant; removed afterwards."""
    variant = mini_task
    cfg = SandboxConfig.for_sample(mini_task)
    envs = anyio.run(RsibenchSandbox.sample_init, "test", cfg, {})
    agent = envs["default"].as_type(RsibenchSandbox)
    verifier = envs["verifier"].as_type(RsibenchSandbox)
    yield variant, agent, verifier
    anyio.run(RsibenchSandbox.sample_cleanup, "test", cfg, envs, False)


def sh(box: RsibenchSandbox, script: str, **kw) -> tuple[int, str, str]:
    code, out, err, _ = box.exec_bytes(["bash", "-c", script], **kw)
    return code, out.decode(), err.decode()


def test_agent_runs_unprivileged_in_workspace_with_starting_files(pair):
    _, agent, _ = pair
    code, out, _ = sh(agent, "id -un; pwd; cat answer.py")
    assert code == 0
    assert out.split("\n")[:3] == ["agent", "/workspace", "print(41)"]


def test_no_network_in_either_container(pair):
    _, agent, verifier = pair
    probe = (
        "import socket\n"
        "names = [name for _, name in socket.if_nameindex()]\n"
        "print(names)\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
        "    print('CONNECTED')\n"
        "except OSError as e:\n"
        "    print('blocked', e.errno)\n"
    )
    for box in (agent, verifier):
        code, out, _, _ = box.exec_bytes(["python3", "-"], input=probe.encode())
        assert code == 0
        assert out.decode().splitlines()[0] == "['lo']"
        assert "CONNECTED" not in out.decode()


def test_hidden_files_never_reach_the_agent_container(pair):
    variant, agent, verifier = pair
    result = run_verifier(agent, verifier, variant)
    assert result.error is None and result.success is False  # untouched workspace
    # after scoring, the checks and scorer exist in the verifier only
    code, out, _ = sh(
        agent,
        "ls /verifier 2>&1; find / -xdev \\( -name expected.txt -o -name output_match.py \\) "
        "2>/dev/null; find /workspace /tmp /home -name 'expected.txt' -o -name 'output_match*'",
        user="root",
    )
    assert "No such file" in out
    assert "expected.txt" not in out and "output_match" not in out
    code, out, _ = sh(verifier, "ls /verifier/checks /verifier/scorers", user="root")
    assert code == 0 and "expected.txt" in out and "output_match.py" in out
    # and the candidate's user cannot read them even there
    code, _, err = sh(verifier, "cat /verifier/checks/expected.txt", user="agent")
    assert code != 0 and "Permission denied" in err


def test_limits_enforced(pair, docker_client):
    task, agent, _ = pair
    res = task.resources
    host = docker_client.containers.get(agent.container.id).attrs["HostConfig"]
    assert host["NanoCpus"] == int(res.cpus * 1e9)
    assert host["PidsLimit"] == res.pids
    assert host["Memory"] == 512 * 1024**2 and host["ReadonlyRootfs"] is True
    # disk: /workspace is capped at resources.disk (64m)
    code, _, err = sh(agent, "dd if=/dev/zero of=big bs=1M count=100")
    assert code != 0 and "No space left" in err
    sh(agent, "rm -f big")
    # memory: allocating past the cap kills the process
    code, _, _ = sh(
        agent, "python3 -c 'b = bytearray(900 * 2**20); b[::4096] = b\"x\" * len(b[::4096])'"
    )
    assert code == 137
    # processes: a fork storm stops at the pids cap
    storm = (
        "import os, time\n"
        "n = 0\n"
        "while n < 1000:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    n += 1\n"
        "print(n)\n"
    )
    code, out, _, _ = agent.exec_bytes(["python3", "-"], input=storm.encode(), timeout=60)
    assert code == 0 and 0 < int(out) < res.pids
    # nothing can be written outside /workspace, /tmp and $HOME
    code, _, err = sh(agent, "touch /usr/local/x")
    assert code != 0 and "Read-only file system" in err


def test_timeout_kills_the_whole_process_tree(pair):
    _, agent, _ = pair
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        sh(agent, "(setsid sleep 300 &); nohup sleep 301 >/dev/null & sleep 302", timeout=2)
    assert time.monotonic() - started < 10
    _, out, _ = sh(agent, "ps -eo args --no-headers")
    assert "sleep 30" not in out, out


def test_programs_built_in_tmp_and_home_run(pair):
    _, agent, _ = pair
    build = "printf 'int main(){return 7;}' > $D/a.c && gcc -o $D/a $D/a.c && $D/a"
    for d in ("/tmp", "$HOME", "/workspace"):
        code, _, err = sh(agent, build.replace("$D", d))
        assert code == 7, (d, err)


def test_exec_input_and_files_round_trip(pair):
    _, agent, _ = pair
    code, out, _, _ = agent.exec_bytes(["python3", "-"], input=b"print(6 * 7)")
    assert (code, out) == (0, b"42\n")
    anyio.run(agent.write_file, "nested/dir/data.bin", b"\x00\x01binary")
    assert anyio.run(agent.read_file, "nested/dir/data.bin", False) == b"\x00\x01binary"
    with pytest.raises(FileNotFoundError):
        anyio.run(agent.read_file, "missing.txt")
    with pytest.raises(PermissionError):
        anyio.run(agent.write_file, "/usr/bin/evil", "x")


def test_verifier_ignores_edited_visible_tests_and_leftover_processes(pair):
    variant, agent, verifier = pair
    # the agent "passes" its visible test by rewriting it, and leaves a process that would fix
    # answer.py only after the workspace has been handed to the verifier
    sh(agent, "echo 'pass' > test_answer.py && python3 test_answer.py")
    sh(agent, "nohup sh -c 'sleep 3; echo print\\(42\\) > answer.py' >/dev/null 2>&1 &")
    result = run_verifier(agent, verifier, variant)
    assert result.error is None
    assert result.success is False
    assert result.details["stdout"] == "41\n"


def test_oracle_solution_is_scored_as_success(pair):
    variant, agent, verifier = pair
    sh(agent, "echo 'print(42)' > answer.py")
    result = run_verifier(agent, verifier, variant)
    assert result.success is True and result.score_normalised == 1.0


def test_containers_and_volumes_removed_even_when_init_fails(mini_task, docker_client):
    missing = mini_task.model_copy(update={"image": "rsibench/python-ml:does-not-exist"})
    cfg = SandboxConfig.for_sample(missing)
    before = len(leftovers(docker_client))
    with pytest.raises(RuntimeError, match="rsibench images build"):
        anyio.run(RsibenchSandbox.sample_init, "test", cfg, {})
    assert len(leftovers(docker_client)) == before


KILLED_RUN = """
import anyio, sys, time
from rsibench.sandbox import RsibenchSandbox
from rsibench.sandbox import SandboxConfig
from rsibench.suite import load_suite
from pathlib import Path
suite = load_suite(Path(sys.argv[1]))
cfg = SandboxConfig.for_sample(suite.sample_spec(suite.variants[0], sys.argv[2], None))
anyio.run(RsibenchSandbox.sample_init, "test", cfg, {})
print("up", flush=True)
time.sleep(600)
"""


def killed_run(mini_suite, image_tag) -> int:
    """A run that made a sample's sandboxes and was then killed: its pid."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(mini_suite.root), image_tag],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    assert proc.stdout.readline() == b"up\n"
    proc.kill()
    proc.wait()
    return proc.pid


def owned_by(docker_client, pid: int) -> list:
    label = [f"{OWNER_LABEL}.pid={pid}", f"{OWNER_LABEL}.where={_where()}"]
    return docker_client.containers.list(
        all=True, filters={"label": label}
    ) + docker_client.volumes.list(filters={"label": label})


def test_cleanup_removes_only_what_runs_no_longer_alive_left(mini_suite, image_tag, docker_client):
    dead = killed_run(mini_suite, image_tag)
    assert len(owned_by(docker_client, dead)) == 5  # two containers, three volumes
    cfg = SandboxConfig.for_sample(mini_suite.sample_spec(mini_suite.variants[0], image_tag, None))
    envs = anyio.run(RsibenchSandbox.sample_init, "test", cfg, {})  # a live run's
    try:
        result = CliRunner().invoke(main, ["cleanup"])
        assert result.exit_code == 0, result.output
        assert owned_by(docker_client, dead) == []
        assert len(owned_by(docker_client, os.getpid())) == 5
        assert "--all" in result.output  # and it says how to remove the live ones too
        # a run resuming after being killed starts by removing what its dead attempt left
        dead = killed_run(mini_suite, image_tag)
        anyio.run(RsibenchSandbox.task_init, "test", cfg)
        assert owned_by(docker_client, dead) == []
        assert len(owned_by(docker_client, os.getpid())) == 5
    finally:
        anyio.run(RsibenchSandbox.sample_cleanup, "test", cfg, envs, False)
    assert owned_by(docker_client, os.getpid()) == []


def test_owner_is_alive_only_while_its_process_runs():
    labels = _owner_labels()
    assert owner_alive(labels) is True
    reused = {**labels, f"{OWNER_LABEL}.started": str(int(labels[f"{OWNER_LABEL}.started"]) - 1)}
    assert owner_alive(reused) is False  # same pid, another process: the owner is gone
    assert owner_alive({**labels, f"{OWNER_LABEL}.where": "elsewhere"}) is None
    assert owner_alive({LABEL: "agent"}) is None  # made before owners were recorded


def test_dead_daemon_gives_one_clear_message(monkeypatch):
    engine.client.cache_clear()
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    try:
        with pytest.raises(engine.DockerUnavailable) as info:
            engine.client()
        assert "DOCKER_HOST is set to unix:///nonexistent/docker.sock" in str(info.value)
        assert "unset it" in str(info.value) and "systemctl" not in str(info.value)
    finally:
        engine.client.cache_clear()
