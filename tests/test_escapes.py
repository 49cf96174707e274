"""What a determined agent can try against the sandbox, each reproduced in the real Docker
sandbox and shown to fail closed: processes that outlive the turn, escape a timeout or fill the
process table, and workspaces that would blow up or break the export."""

from __future__ import annotations

import io
import tarfile
import time

import anyio
import pytest

from rsibench.sandbox import (
    EXPORT_MAX_ENTRIES,
    EXPORT_SECONDS,
    RsibenchSandbox,
    SandboxConfig,
    WorkspaceExportError,
    _ChunkReader,
    _filter_workspace,
    _link_stays_inside,
)
from rsibench.scoring import run_verifier

# a process that drops everything an environment-based sweep would look for, and leaves the
# command's session and process group
SCRUBBED = "env -i /usr/bin/setsid -f "

BOMB = (
    "import os, time\n"
    "while True:\n"
    "    try:\n"
    "        os.fork()\n"
    "    except OSError:\n"
    "        time.sleep(0.01)\n"
)


@pytest.fixture
def pair(mini_task, docker_client):
    variant = mini_task
    cfg = SandboxConfig.for_sample(mini_task)
    envs = anyio.run(RsibenchSandbox.sample_init, "test", cfg, {})
    yield (
        variant,
        envs["default"].as_type(RsibenchSandbox),
        envs["verifier"].as_type(RsibenchSandbox),
    )
    anyio.run(RsibenchSandbox.sample_cleanup, "test", cfg, envs, False)


def sh(box: RsibenchSandbox, script: str, **kw) -> tuple[int, str, str]:
    code, out, err, _ = box.exec_bytes(["bash", "-c", script], **kw)
    return code, out.decode(errors="replace"), err.decode(errors="replace")


def agent_processes(box: RsibenchSandbox) -> list[str]:
    """Everything in the container but docker-init, the exec server and this probe."""
    out = sh(box, "ps -eo pid=,args= | grep -v -e 'ps -eo' -e 'bash -c ps'", user="root")[1]
    return [
        line
        for line in out.splitlines()
        if line.split()[0] != "1" and "RSIBENCH_EXECD" not in line and "grep -v" not in line
    ]


# ---- the agent's processes end with its turn -------------------------------------------------


@pytest.mark.docker
def test_detached_process_cannot_edit_the_workspace_after_the_turn(pair, docker_client):
    variant, agent, verifier = pair
    # leaves the command's session, scrubs its environment, and writes the passing answer
    # once the agent's turn is over
    sh(
        agent,
        SCRUBBED + "sh -c 'sleep 2; while :; do echo \"print(42)\" > answer.py; sleep 0.2; done' "
        ">/dev/null 2>&1",
    )
    assert agent_processes(agent)
    agent.end_turn()  # what export_workspace, and so run_verifier, does first
    assert docker_client.containers.get(agent.container.id).status == "paused"
    time.sleep(3)  # the late edit would have landed by now
    result = run_verifier(agent, verifier, variant)
    assert result.error is None and result.success is False
    assert result.details["stdout"] == "41\n"
    # after the turn nothing of the agent is left (a later command thaws the container)
    assert agent_processes(agent) == []
    assert sh(agent, "cat answer.py")[1] == "print(41)\n"


@pytest.mark.docker
def test_every_verifier_run_ends_the_turn_first(pair, docker_client):
    variant, agent, verifier = pair
    sh(agent, SCRUBBED + "sh -c 'while :; do date >> log.txt; done' >/dev/null 2>&1")
    sh(agent, "nohup python3 -c 'import time; time.sleep(600)' >/dev/null 2>&1 &", user="root")
    run_verifier(agent, verifier, variant)
    assert docker_client.containers.get(agent.container.id).status == "paused"
    assert agent_processes(agent) == []  # killed, whatever their user
    size = sh(agent, "stat -c %s log.txt")[1]
    time.sleep(0.5)
    assert sh(agent, "stat -c %s log.txt")[1] == size


# ---- a timeout reaches every process of its command --------------------------------------------


@pytest.mark.docker
def test_timeout_kills_processes_that_clear_their_marker_and_call_setsid(pair):
    _, agent, _ = pair
    script = (
        SCRUBBED + "sh -c 'exec sleep 401' >/dev/null 2>&1; "
        "python3 -c 'import os\nos.environ.clear()\nif os.fork() == 0:\n os.setsid()\n"
        ' os.execve("/bin/sleep", ["sleep", "402"], {})\n\' ; sleep 403'
    )
    with pytest.raises(TimeoutError):
        sh(agent, script, timeout=2)
    assert not [p for p in agent_processes(agent) if "sleep 40" in p]
    # nor can a process drop the group that marks it, or gain the rights to
    code, _, err = sh(agent, "python3 -c 'import os; os.setgroups([])'")
    assert code != 0 and "PermissionError" in err
    assert sh(agent, "unshare -U -r true")[0] != 0


# ---- a fork storm left running does not lock the sandbox -------------------------------------


@pytest.mark.docker
def test_fork_bomb_left_running_does_not_block_later_commands(pair):
    variant, agent, verifier = pair
    sh(agent, SCRUBBED + f"python3 -c '{BOMB}' >/dev/null 2>&1")  # returns at once
    time.sleep(3)  # the pids cgroup is full
    started = time.monotonic()
    code, out, err = sh(agent, "echo ok")
    assert (code, out) == (0, "ok\n"), err
    assert "left running by earlier commands" in err
    assert time.monotonic() - started < 15
    # and at the end of the turn a storm is killed whole before the export
    sh(agent, SCRUBBED + f"python3 -c '{BOMB}' >/dev/null 2>&1")
    time.sleep(2)
    result = run_verifier(agent, verifier, variant)
    assert result.error is None and result.success is False
    assert agent_processes(agent) == []


# ---- the export is bounded and drops links that lead outside -----------------------------------


@pytest.mark.docker
def test_sparse_file_fails_closed_without_spooling_it(pair):
    variant, agent, verifier = pair
    sh(agent, "echo 'print(42)' > answer.py && truncate -s 8G huge.bin")
    started = time.monotonic()
    result = run_verifier(agent, verifier, variant)
    assert result.success is False
    assert "disk cap" in result.error and "huge.bin" in result.error
    # 8 GiB through the archive stream would take far longer than this on any machine
    assert time.monotonic() - started < 5


def test_oversized_entry_is_refused_from_its_header_alone():
    """The cap is checked before a byte of the file's data is read: the archive below holds
    only the header of a 4 GiB file, so reading on would fail with a different error."""
    header = tarfile.TarInfo("workspace/huge.bin")
    header.size = 4 * 1024**3
    src = io.BytesIO(header.tobuf(format=tarfile.GNU_FORMAT))
    with (
        tarfile.open(fileobj=src, mode="r|") as tar_in,
        tarfile.open(fileobj=io.BytesIO(), mode="w|") as tar_out,
        pytest.raises(WorkspaceExportError, match="disk cap of 67108864 bytes .* huge.bin"),
    ):
        _filter_workspace(tar_in, tar_out, 64 * 1024**2)


def test_too_many_entries_are_refused(monkeypatch):
    monkeypatch.setattr("rsibench.sandbox.EXPORT_MAX_ENTRIES", 10)
    src = io.BytesIO()
    with tarfile.open(fileobj=src, mode="w") as tar:
        for i in range(11):
            tar.addfile(tarfile.TarInfo(f"workspace/f{i}"), io.BytesIO())
    src.seek(0)
    with (
        tarfile.open(fileobj=src, mode="r|") as tar_in,
        tarfile.open(fileobj=io.BytesIO(), mode="w|") as tar_out,
        pytest.raises(WorkspaceExportError, match="more than 10 files"),
    ):
        _filter_workspace(tar_in, tar_out, 1024)
    assert EXPORT_MAX_ENTRIES >= 100_000  # the real cap leaves room for any sane workspace


@pytest.mark.docker
def test_links_leading_outside_the_workspace_are_dropped_with_a_note(pair):
    variant, agent, verifier = pair
    sh(
        agent,
        "echo 'print(42)' > answer.py && mkdir -p deep/er && ln -s answer.py ok "
        "&& ln -s ../../etc/passwd stray && ln -s /verifier/checks/expected.txt absolute "
        "&& ln -s .. deep/up && ln -s deep/up/.. chained && ln -s /workspace/answer.py inside "
        "&& ln answer.py hard && mkfifo pipe",
    )
    result = run_verifier(agent, verifier, variant)
    assert result.error is None and result.success is True  # the attempt itself is fine
    dropped = "\n".join(result.details["workspace_dropped"])
    for name in (
        "stray -> ../../etc/passwd",
        "absolute -> /verifier",
        "chained -> deep/up/..",
        "pipe: not a regular file",
    ):
        assert name in dropped
    code, out, _ = sh(verifier, "cd /workspace && readlink ok deep/up inside && ls", user="root")
    assert out.split()[:3] == ["answer.py", "..", "/workspace/answer.py"]
    assert "stray" not in out and "absolute" not in out and "chained" not in out
    assert sh(verifier, "cat /workspace/hard", user="root")[1] == "print(42)\n"


@pytest.mark.parametrize(
    ("name", "target", "inside"),
    [
        ("a", "b", True),
        ("a", "sub/../b", True),
        ("sub/a", "../b", True),
        ("a", "..", False),
        ("sub/a", "../..", False),
        ("a", "/workspace/b", True),
        ("a", "/workspace/../etc", False),
        ("a", "/etc/passwd", False),
        ("a", "/workspacex/b", False),
        ("a", "up/..", False),  # up -> .. : the chain climbs out
        ("a", "deep/up/..", False),  # deep/up -> .. : /workspace, then out
        ("a", "deep/up", True),
        ("a", "loop", False),  # loop -> loop
    ],
)
def test_link_resolution_follows_the_workspaces_own_links(name, target, inside):
    links = {"up": "..", "deep/up": "..", "loop": "loop", name: target}
    assert _link_stays_inside(name, links) is inside


def test_an_export_past_its_time_limit_fails():
    chunks = iter([b"x" * 512] * 4)
    reader = _ChunkReader(chunks, deadline=time.monotonic() - 1)
    with pytest.raises(WorkspaceExportError, match=f"longer than {EXPORT_SECONDS:.0f} s"):
        reader.read(512)
