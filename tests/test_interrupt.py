"""Ctrl-C during a run: the CLI stops, says how to resume, and leaves no containers behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker


def test_ctrl_c_stops_the_run_and_removes_its_sandboxes(
    mini_copy: Path, tmp_path, image_tag, docker_client
):
    solve = mini_copy / "tasks/debugging/fix-answer/solution/solve.sh"
    solve.write_text("#!/bin/bash\nsleep 300\n")  # the oracle is busy when we interrupt
    rsibench = Path(sys.executable).with_name("rsibench")
    proc = subprocess.Popen(
        [
            str(rsibench),
            "validate",
            "--log-dir",
            str(tmp_path / "logs"),
            "--records-dir",
            str(tmp_path / "runs"),
        ],
        env={**os.environ, "RSIBENCH_ROOT": str(mini_copy)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    mine = {"label": "org.rsibench.task=fix-answer/easy"}
    deadline = time.monotonic() + 120
    while not docker_client.containers.list(filters=mine) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert docker_client.containers.list(filters=mine), "the run never started its sandboxes"
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGINT)
    interrupted = time.monotonic()
    out, _ = proc.communicate(timeout=120)
    text = out.decode()
    assert proc.returncode == 130, text
    assert time.monotonic() - interrupted < 20, "Ctrl-C waited for the running command"
    assert "run the same command again to resume" in text
    assert "passed," not in text  # no verdict on a run that did not finish
    assert docker_client.containers.list(all=True, filters=mine) == []
